/**
 * The five kernel sockets. ROUTER for shell/control/stdin, PUB for iopub, REP for heartbeat.
 * zeromq@6 allows only one send in flight per socket (a second concurrent send on a socket that cannot
 * send immediately rejects with EBUSY), so every socket sends through its own promise chain.
 */
import * as zmq from 'zeromq';
import { endpoint, type Channel, type ConnectionInfo } from './connection';
import { decode, encode, SignatureHistory, Signer, WireError, type Message } from './wire';

/** Serialises sends on one socket; failures are logged, never thrown into the protocol loop. */
export class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(
    private readonly socket: zmq.Writable & { closed: boolean },
    private readonly log: (msg: string) => void,
  ) {}

  send(frames: Buffer[]): Promise<void> {
    this.tail = this.tail.then(async () => {
      if (this.socket.closed) return;
      try {
        await this.socket.send(frames);
      } catch (e) {
        this.log(`send failed: ${(e as Error).message}`);
      }
    });
    return this.tail;
  }

  /** Resolves when everything queued so far has been handed to libzmq. */
  drain(): Promise<void> {
    return this.tail;
  }
}

export type Incoming = (channel: 'shell' | 'control' | 'stdin', msg: Message) => void;

export class KernelSockets {
  readonly signer: Signer;
  /** One history for shell, control and stdin: a message replayed on another channel is a replay too. */
  private readonly history = new SignatureHistory();
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private readonly hb = new zmq.Reply();
  private readonly queues: Record<Exclude<Channel, 'hb'>, SendQueue>;
  private closing = false;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly log: (msg: string) => void,
  ) {
    this.signer = new Signer(info.key, info.signature_scheme);
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.linger = 1000; // default −1 can hang exit
    this.queues = {
      shell: new SendQueue(this.shell, log),
      control: new SendQueue(this.control, log),
      stdin: new SendQueue(this.stdin, log),
      iopub: new SendQueue(this.iopub, log),
    };
  }

  /** Bind everything first: VS Code waits for the ports to be in use before it talks. */
  async bind(): Promise<void> {
    await Promise.all([
      this.shell.bind(endpoint(this.info, 'shell')),
      this.control.bind(endpoint(this.info, 'control')),
      this.stdin.bind(endpoint(this.info, 'stdin')),
      this.iopub.bind(endpoint(this.info, 'iopub')),
      this.hb.bind(endpoint(this.info, 'hb')),
    ]);
  }

  /** One receive loop per channel: control keeps flowing while a shell handler awaits. */
  start(onMessage: Incoming): void {
    void this.heartbeat();
    for (const [name, sock] of [
      ['shell', this.shell],
      ['control', this.control],
      ['stdin', this.stdin],
    ] as const) {
      void this.receive(name, sock, onMessage);
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      for await (const frames of this.hb) await this.hb.send(frames);
    } catch (e) {
      if (!this.closing) this.log(`heartbeat stopped: ${(e as Error).message}`);
    }
  }

  private async receive(name: 'shell' | 'control' | 'stdin', sock: zmq.Router, onMessage: Incoming): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: Message;
        try {
          msg = decode(frames, this.signer, this.history);
        } catch (e) {
          // Bad signatures and garbage are dropped (never answered) and logged.
          this.log(`${name}: dropped message: ${e instanceof WireError ? e.message : String(e)}`);
          continue;
        }
        try {
          onMessage(name, msg);
        } catch (e) {
          this.log(`${name}: handler threw: ${(e as Error).stack ?? e}`);
        }
      }
    } catch (e) {
      if (!this.closing) this.log(`${name} loop stopped: ${(e as Error).message}`);
    }
  }

  send(channel: Exclude<Channel, 'hb'>, msg: Omit<Message<unknown>, 'buffers'>): Promise<void> {
    return this.queues[channel].send(encode(msg, this.signer));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(Object.values(this.queues).map((q) => q.drain()));
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.close();
  }
}
