/**
 * The one Jupyter client of this project (the extension's kernel session, `anygpt verify`, the demo, the bench and
 * the tests all use it). It sends requests through a KernelTransport and routes what comes back by parent msg_id to
 * one KernelFuture per request (common/jupyter-future.ts). It does not know how messages travel or how the kernel
 * process lives: whoever owns the kernel calls `kernelLost` when it dies, and every open future rejects.
 */
import { randomUUID } from 'node:crypto';
import { KernelFuture, type FutureHooks } from './jupyter-future';
import type { ContentMap, ExecuteRequestContent, ReplyTo, RequestType } from './jupyter-messages';
import type { ClientChannel, KernelTransport, SendChannel } from './jupyter-transport';
import { newHeader, type Header, type Message } from './jupyter-wire';

export interface RequestOptions<R extends RequestType> extends FutureHooks<R> {
  metadata?: Record<string, unknown>;
  /** Rejects the future when it is not done (reply and idle) within this many ms. */
  timeoutMs?: number;
  /** The request header, when the caller needs its msg_id before sending (default: a fresh one). */
  header?: Header;
}

export class JupyterClient {
  readonly session: string;
  private readonly username: string;
  private readonly futures = new Map<string, KernelFuture>();
  private readonly iopubListeners = new Set<(msg: Message) => void>();
  private lost?: Error;
  private readonly lostListeners: ((error: Error) => void)[] = [];

  constructor(
    private readonly transport: KernelTransport,
    opts: { session?: string; username?: string } = {},
  ) {
    this.session = opts.session ?? randomUUID();
    this.username = opts.username ?? 'anygpt';
  }

  connect(): void {
    this.transport.connect({
      message: (channel, msg) => this.route(channel, msg),
      closed: (error) => {
        if (error) this.kernelLost(new Error(`connection to the kernel lost: ${error.message}`, { cause: error }));
      },
    });
  }

  private route(channel: ClientChannel, msg: Message): void {
    if (channel === 'iopub') for (const l of this.iopubListeners) l(msg);
    const parent = msg.parent_header.msg_id;
    if (parent) this.futures.get(parent)?.handle(channel, msg);
  }

  /** Sees every iopub message, whoever's request it belongs to; returns the unsubscribe function. */
  onAnyIOPub(listener: (msg: Message) => void): () => void {
    this.iopubListeners.add(listener);
    return () => this.iopubListeners.delete(listener);
  }

  header(msgType: string): Header {
    return newHeader(msgType, this.session, this.username);
  }

  /** Sends a request on shell or control and returns its future. */
  request<R extends RequestType>(
    channel: 'shell' | 'control',
    msgType: R,
    content: ContentMap[R],
    opts: RequestOptions<R> = {},
  ): KernelFuture<R> {
    const header = { ...(opts.header ?? this.header(msgType)), msg_type: msgType };
    const future = new KernelFuture<R>(
      header,
      channel,
      {
        release: () => this.futures.delete(header.msg_id),
        sendInputReply: (c, parent) => this.send('stdin', 'input_reply', c, { parent }),
      },
      opts.timeoutMs,
    );
    future.onIOPub = opts.onIOPub;
    future.onReply = opts.onReply;
    future.onStdin = opts.onStdin;
    if (this.lost) {
      future.fail(this.lost);
      return future;
    }
    this.futures.set(header.msg_id, future as unknown as KernelFuture);
    this.transport
      .send(channel, { header, parent_header: {}, metadata: opts.metadata ?? {}, content })
      .catch((e: Error) => future.fail(new Error(`${msgType}: cannot send: ${e.message}`, { cause: e })));
    return future;
  }

  /** execute_request with the defaults of a notebook front end (stdin off unless asked, stop on error). */
  execute(
    content: ExecuteRequestContent,
    opts: RequestOptions<'execute_request'> = {},
  ): KernelFuture<'execute_request'> {
    return this.request(
      'shell',
      'execute_request',
      {
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: !!opts.onStdin,
        stop_on_error: true,
        ...content,
      },
      opts,
    );
  }

  /** Sends a message that expects no future (input_reply, comm messages). */
  send<T extends keyof ContentMap>(
    channel: SendChannel,
    msgType: T,
    content: ContentMap[T],
    opts: { parent?: Header; metadata?: Record<string, unknown>; header?: Header } = {},
  ): Promise<void> {
    return this.transport.send(channel, {
      header: opts.header ?? this.header(msgType),
      parent_header: opts.parent ?? {},
      metadata: opts.metadata ?? {},
      content,
    });
  }

  /**
   * Waits until the kernel answers kernel_info on shell *and* its iopub status for that request arrives: a SUB
   * socket joins late (the slow joiner), and an execution started before it joined would lose its first
   * outputs. Asks again every `attemptMs` until `timeoutMs`, as jupyter_client does.
   */
  async waitReady(timeoutMs: number, attemptMs = 500): Promise<ReplyTo<'kernel_info_request'>> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.lost) throw this.lost;
      const future = this.request('shell', 'kernel_info_request', {}, { timeoutMs: attemptMs });
      try {
        return await future.done;
      } catch {
        if (this.lost) throw this.lost;
      }
    }
    throw new Error(`kernel did not answer kernel_info within ${timeoutMs / 1000} s`);
  }

  /** The kernel is gone: every open future rejects with `error`, and so does every later request. */
  kernelLost(error: Error): void {
    const first = !this.lost;
    this.lost ??= error;
    for (const f of [...this.futures.values()]) f.fail(this.lost);
    if (first) for (const l of this.lostListeners.splice(0)) l(this.lost);
  }

  /** Called once, when the client is lost (the kernel died, the connection broke, or close()). */
  onLost(listener: (error: Error) => void): void {
    if (this.lost) listener(this.lost);
    else this.lostListeners.push(listener);
  }

  get isLost(): boolean {
    return !!this.lost;
  }

  /** Stops the transport; open futures reject. */
  close(): void {
    this.kernelLost(new Error('client closed'));
    this.transport.close();
  }
}
