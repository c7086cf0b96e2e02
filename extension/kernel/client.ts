/**
 * A small Jupyter client over ZeroMQ: shell and control DEALERs, an iopub SUBSCRIBER. Requests are
 * matched to replies by msg_id; iopub messages are routed to the execution whose request is their
 * parent. An execution ends when both its reply and `status: idle` have arrived (there is no ordering
 * across channels).
 */
import * as zmq from 'zeromq';
import type { ConnectionInfo } from './launcher';
import { decode, encode, newHeader, Signer, type Message } from '../../common/jupyter-wire';

type Channel = 'shell' | 'control';

interface Pending {
  onReply(msg: Message): void;
  onIopub?(msg: Message): void;
}

export class JupyterClient {
  private readonly session = `vscode-${Math.random().toString(36).slice(2)}`;
  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly control = new zmq.Dealer({ linger: 0 });
  private readonly iopub = new zmq.Subscriber({ linger: 0 });
  private readonly pending = new Map<string, Pending>();
  private readonly signer: Signer;
  private closed = false;

  constructor(private readonly info: ConnectionInfo) {
    this.signer = new Signer(info.key, info.signature_scheme);
  }

  connect(): void {
    const url = (port: number) => `${this.info.transport}://${this.info.ip}:${port}`;
    this.shell.connect(url(this.info.shell_port));
    this.control.connect(url(this.info.control_port));
    this.iopub.connect(url(this.info.iopub_port));
    this.iopub.subscribe();
    void this.pump(this.shell, false);
    void this.pump(this.control, false);
    void this.pump(this.iopub, true);
  }

  private async pump(socket: zmq.Dealer | zmq.Subscriber, iopub: boolean): Promise<void> {
    try {
      for await (const frames of socket) {
        let msg: Message;
        try {
          msg = decode(frames as Buffer[], this.signer);
        } catch {
          continue; // malformed or badly signed: not from our kernel
        }
        const parent = msg.parent_header.msg_id;
        if (!parent) continue;
        const p = this.pending.get(parent);
        if (!p) continue;
        if (iopub) p.onIopub?.(msg);
        else p.onReply(msg);
      }
    } catch (e) {
      if (!this.closed) console.error('[anygpt] socket loop ended', e);
    }
  }

  /** Send a request; resolves with the reply. */
  request(
    channel: Channel,
    msgType: string,
    content: unknown,
    opts: { metadata?: Record<string, unknown>; onIopub?: (m: Message) => void; timeoutMs?: number } = {},
  ): { msgId: string; reply: Promise<Message> } {
    const h = newHeader(msgType, this.session, 'vscode');
    const reply = new Promise<Message>((resolve, reject) => {
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            this.pending.delete(h.msg_id);
            reject(new Error(`${msgType}: no reply after ${opts.timeoutMs} ms`));
          }, opts.timeoutMs)
        : undefined;
      this.pending.set(h.msg_id, {
        onReply: (m) => {
          if (timer) clearTimeout(timer);
          if (!opts.onIopub) this.pending.delete(h.msg_id);
          resolve(m);
        },
        onIopub: opts.onIopub,
      });
    });
    const socket = channel === 'shell' ? this.shell : this.control;
    void socket.send(encode({ header: h, parent_header: {}, metadata: opts.metadata ?? {}, content }, this.signer));
    return { msgId: h.msg_id, reply };
  }

  /** Stop routing iopub messages of a finished request. */
  release(msgId: string): void {
    this.pending.delete(msgId);
  }

  /**
   * Poll kernel_info until the kernel answers on shell *and* we see its iopub status for that request:
   * a SUB socket joins late, and an execution started before it joined would lose its first messages.
   */
  async waitReady(timeoutMs: number, alive: () => boolean): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!alive()) throw new Error('kernel process exited during start-up');
      let iopubSeen = false;
      const { msgId, reply } = this.request('shell', 'kernel_info_request', {}, { onIopub: () => (iopubSeen = true) });
      const r = await Promise.race([reply, new Promise<undefined>((res) => setTimeout(res, 1000))]);
      if (r) {
        for (let i = 0; i < 20 && !iopubSeen; i++) await new Promise((res) => setTimeout(res, 25));
        this.release(msgId);
        if (iopubSeen) return r;
        continue;
      }
      this.release(msgId);
    }
    throw new Error(`kernel did not answer kernel_info within ${timeoutMs / 1000} s`);
  }

  close(): void {
    this.closed = true;
    for (const s of [this.shell, this.control, this.iopub]) s.close();
    this.pending.clear();
  }
}
