/**
 * The ZeroMQ transport of a Jupyter client: shell, control and stdin DEALERs and an iopub SUBSCRIBER connected to
 * the ports of a connection file, messages signed and verified with its HMAC key (common/jupyter-wire.ts).
 * zeromq@6 allows one send in flight per socket, so each socket sends through its own promise chain.
 */
import { randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';
import { endpoint, type ConnectionInfo } from './jupyter-connection';
import type { ClientChannel, KernelTransport, SendChannel, TransportEvents } from './jupyter-transport';
import { decode, encode, Signer, type Message, type OutgoingMessage } from './jupyter-wire';

export class ZmqTransport implements KernelTransport {
  readonly signer: Signer;
  private readonly sockets: Record<SendChannel, zmq.Dealer>;
  private readonly iopub = new zmq.Subscriber({ linger: 0 });
  private readonly sendTails: Record<SendChannel, Promise<void>> = {
    shell: Promise.resolve(),
    control: Promise.resolve(),
    stdin: Promise.resolve(),
  };
  private closed = false;

  constructor(readonly info: ConnectionInfo) {
    this.signer = new Signer(info.key, info.signature_scheme);
    // shell and stdin share one routing id: the kernel sends input_request to the identity of the shell request.
    const routingId = randomUUID();
    this.sockets = {
      shell: new zmq.Dealer({ linger: 0, routingId }),
      control: new zmq.Dealer({ linger: 0 }),
      stdin: new zmq.Dealer({ linger: 0, routingId }),
    };
  }

  connect(events: TransportEvents): void {
    for (const ch of ['shell', 'control', 'stdin'] as const) this.sockets[ch].connect(endpoint(this.info, ch));
    this.iopub.connect(endpoint(this.info, 'iopub'));
    this.iopub.subscribe();
    const loops = [
      this.receive(this.sockets.shell, 'shell', events),
      this.receive(this.sockets.control, 'control', events),
      this.receive(this.sockets.stdin, 'stdin', events),
      this.receive(this.iopub, 'iopub', events),
    ];
    void Promise.all(loops).then((errors) => events.closed?.(errors.find((e) => e)));
  }

  private async receive(
    socket: zmq.Dealer | zmq.Subscriber,
    channel: ClientChannel,
    events: TransportEvents,
  ): Promise<Error | undefined> {
    try {
      for await (const frames of socket) {
        let msg: Message;
        try {
          msg = decode(frames as Buffer[], this.signer);
        } catch {
          continue; // malformed or badly signed: not from our kernel
        }
        events.message(channel, msg);
      }
      return undefined;
    } catch (e) {
      return this.closed ? undefined : (e as Error);
    }
  }

  send(channel: SendChannel, msg: OutgoingMessage): Promise<void> {
    return this.sendRaw(channel, encode(msg, this.signer));
  }

  /** Sends frames as they are (tests use it for messages with a wrong signature). */
  sendRaw(channel: SendChannel, frames: Buffer[]): Promise<void> {
    const socket = this.sockets[channel];
    const next = this.sendTails[channel].then(async () => {
      if (!socket.closed) await socket.send(frames);
    });
    this.sendTails[channel] = next.catch(() => undefined);
    return next;
  }

  /** Heartbeat round trip in ms (REQ/REP echo), or throws after timeoutMs. */
  async heartbeat(timeoutMs = 1000): Promise<number> {
    const req = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs });
    req.connect(endpoint(this.info, 'hb'));
    const t0 = performance.now();
    try {
      await req.send('ping');
      await req.receive();
      return performance.now() - t0;
    } finally {
      req.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [this.sockets.shell, this.sockets.control, this.sockets.stdin, this.iopub]) s.close();
  }
}
