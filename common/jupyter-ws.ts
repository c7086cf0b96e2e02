/**
 * The Jupyter Server transport of the one client (common/jupyter-client.ts): messages travel over a kernel's
 * WebSocket as @jupyterlab/services' KernelConnection speaks it (its serializer, its reconnects, the server's
 * wire-protocol negotiation), so nothing of the REST or WebSocket protocol is written here. The connection's own
 * futures are not used for routing: every received message is handed to our client as it arrives, and our client
 * routes it by parent msg_id exactly as it does for ZeroMQ. The transport does not own the KernelConnection
 * (common/jupyter-server.ts does): close() only detaches, so a restart can put a fresh client on the same kernel.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { ClientChannel, KernelTransport, SendChannel, TransportEvents } from './jupyter-transport';
import type { Header, Message, OutgoingMessage } from './jupyter-wire';

const CHANNELS: readonly ClientChannel[] = ['shell', 'control', 'stdin', 'iopub'];

export class WsTransport implements KernelTransport {
  private events?: TransportEvents;
  private closed = false;

  constructor(private readonly kernel: Kernel.IKernelConnection) {}

  connect(events: TransportEvents): void {
    this.events = events;
    this.kernel.anyMessage.connect(this.onAny, this);
    this.kernel.statusChanged.connect(this.onStatus, this);
    this.kernel.connectionStatusChanged.connect(this.onConnection, this);
    this.kernel.disposed.connect(this.onDisposed, this);
  }

  private onAny(_: Kernel.IKernelConnection, args: Kernel.IAnyMessageArgs): void {
    if (this.closed || args.direction !== 'recv') return;
    const m = args.msg;
    const channel = m.channel as ClientChannel;
    if (!CHANNELS.includes(channel)) return;
    this.events?.message(channel, fromLab(m));
  }

  private onStatus(_: Kernel.IKernelConnection, status: Kernel.Status): void {
    // 'autorestarting': the server restarted a kernel that died; whatever was running is gone, as with 'dead'.
    if (status === 'dead') this.lose(new Error('the kernel is dead'));
    else if (status === 'autorestarting') this.lose(new Error('the kernel died and the server restarted it'));
  }

  private onConnection(_: Kernel.IKernelConnection, status: Kernel.ConnectionStatus): void {
    // 'disconnected' comes after KernelConnection gave up reconnecting; 'connecting' is a retry and may recover.
    if (status === 'disconnected') this.lose(new Error('the WebSocket to the Jupyter Server closed'));
  }

  private onDisposed(): void {
    this.lose(new Error('the kernel connection was disposed'));
  }

  private lose(error: Error): void {
    if (this.closed) return;
    const events = this.events;
    this.close();
    events?.closed?.(error);
  }

  async send(channel: SendChannel, msg: OutgoingMessage): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    const lab = toLab(channel, msg);
    if (channel === 'stdin') {
      // KernelConnection sends stdin only as input_reply, with a header of its own; the parent is what routes it.
      this.kernel.sendInputReply(
        lab.content as KernelMessage.IInputReplyMsg['content'],
        msg.parent_header as KernelMessage.IHeader<'input_request'>,
      );
      return;
    }
    // Its future is a side effect of the only public send; our client routes the replies itself. It resolves on
    // idle, and is cancelled (rejected) by a restart: either is of no interest here.
    const future =
      channel === 'shell'
        ? this.kernel.sendShellMessage(lab as KernelMessage.IShellMessage, false, true)
        : this.kernel.sendControlMessage(lab as KernelMessage.IControlMessage, false, true);
    future.done.catch(() => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kernel.anyMessage.disconnect(this.onAny, this);
    this.kernel.statusChanged.disconnect(this.onStatus, this);
    this.kernel.connectionStatusChanged.disconnect(this.onConnection, this);
    this.kernel.disposed.disconnect(this.onDisposed, this);
    this.events = undefined;
  }
}

function toLab(channel: SendChannel, msg: OutgoingMessage): KernelMessage.IMessage {
  return {
    channel,
    header: msg.header as KernelMessage.IHeader,
    parent_header: msg.parent_header as KernelMessage.IHeader,
    metadata: msg.metadata as KernelMessage.IMessage['metadata'],
    content: msg.content as KernelMessage.IMessage['content'],
    buffers: msg.buffers?.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice().buffer),
  } as KernelMessage.IMessage;
}

function fromLab(m: KernelMessage.IMessage): Message {
  return {
    idents: [],
    header: m.header as unknown as Header,
    parent_header: (m.parent_header ?? {}) as Message['parent_header'],
    metadata: (m.metadata ?? {}) as Record<string, unknown>,
    content: (m.content ?? {}) as Record<string, unknown>,
    buffers: (m.buffers ?? []).map((b) =>
      ArrayBuffer.isView(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.from(b),
    ),
  };
}
