/**
 * One request in flight to a kernel, after JupyterLab's KernelFutureHandler: hooks for its iopub messages, its
 * reply and the kernel's stdin requests, and two promises. `reply` settles with the shell or control reply;
 * `done` settles once the reply *and* the iopub `status: idle` whose parent is this request have both arrived,
 * in either order (there is no ordering across channels, so outputs may still follow the reply). A future that
 * times out, is disposed, or whose kernel is lost rejects both promises that are still open.
 */
import { isMessageType, type ContentMap, type ReplyTo, type RequestType, type TypedMessage } from './jupyter-messages';
import type { ClientChannel } from './jupyter-transport';
import type { Header, Message } from './jupyter-wire';

export interface FutureHooks<R extends RequestType> {
  /** Every iopub message whose parent is this request, status messages included, in arrival order. */
  onIOPub?: (msg: Message) => void;
  onReply?: (msg: ReplyTo<R>) => void;
  /** An input_request on stdin for this request; answer it with future.sendInputReply. */
  onStdin?: (msg: TypedMessage<'input_request'>) => void;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  const d = { settled: false } as Deferred<T>;
  d.promise = new Promise<T>((resolve, reject) => {
    d.resolve = (v) => {
      d.settled = true;
      resolve(v);
    };
    d.reject = (e) => {
      d.settled = true;
      reject(e);
    };
  });
  // A caller may await only one of the two promises; the other must not become an unhandled rejection.
  d.promise.catch(() => undefined);
  return d;
}

export class KernelFuture<R extends RequestType = RequestType> implements FutureHooks<R> {
  onIOPub?: (msg: Message) => void;
  onReply?: (msg: ReplyTo<R>) => void;
  onStdin?: (msg: TypedMessage<'input_request'>) => void;
  private readonly replied = deferred<ReplyTo<R>>();
  private readonly finished = deferred<ReplyTo<R>>();
  private replyMsg?: ReplyTo<R>;
  private idle = false;
  private timer?: ReturnType<typeof setTimeout>;
  private disposed = false;

  constructor(
    /** The request's header (its msg_id is the parent of everything routed here). */
    readonly header: Header & { msg_type: R },
    readonly channel: 'shell' | 'control',
    private readonly hooks: {
      /** Removes this future from its client's routing table. */
      release: () => void;
      sendInputReply: (content: ContentMap['input_reply'], parent: Header) => Promise<void>;
    },
    timeoutMs?: number,
  ) {
    if (timeoutMs)
      this.timer = setTimeout(() => {
        const what = this.replyMsg ? 'idle status' : 'reply';
        this.fail(new Error(`${header.msg_type}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
  }

  get msgId(): string {
    return this.header.msg_id;
  }

  /** The reply, as soon as it arrives (outputs of this request may still be on their way). */
  get reply(): Promise<ReplyTo<R>> {
    return this.replied.promise;
  }

  /** The reply, once the kernel is also idle again after this request: every output has arrived. */
  get done(): Promise<ReplyTo<R>> {
    return this.finished.promise;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Answers the kernel's input_request `parent` on stdin. */
  sendInputReply(value: string, parent: TypedMessage<'input_request'>): Promise<void> {
    return this.hooks.sendInputReply({ value }, parent.header);
  }

  /** Called by the client for each message whose parent is this request. */
  handle(channel: ClientChannel, msg: Message): void {
    if (this.disposed) return;
    if (channel === 'iopub') {
      this.onIOPub?.(msg);
      if (isMessageType(msg, 'status') && msg.content.execution_state === 'idle') {
        this.idle = true;
        this.settleIfDone();
      }
    } else if (channel === 'stdin') {
      if (msg.header.msg_type === 'input_request') this.onStdin?.(msg as TypedMessage<'input_request'>);
    } else if (!this.replyMsg) {
      this.replyMsg = msg as ReplyTo<R>;
      this.onReply?.(this.replyMsg);
      this.replied.resolve(this.replyMsg);
      this.settleIfDone();
    }
  }

  private settleIfDone(): void {
    if (this.replyMsg && this.idle) {
      this.finished.resolve(this.replyMsg);
      this.dispose();
    }
  }

  /** Rejects what is still open (kernel lost, timeout, client closed) and stops routing to this future. */
  fail(error: Error): void {
    if (this.disposed) return;
    if (!this.replied.settled) this.replied.reject(error);
    if (!this.finished.settled) this.finished.reject(error);
    this.dispose();
  }

  /** Stops routing to this future; promises still open reject. */
  dispose(): void {
    if (this.disposed) return;
    if (!this.finished.settled) {
      const e = new Error(`${this.header.msg_type}: future disposed before the kernel was done`);
      if (!this.replied.settled) this.replied.reject(e);
      this.finished.reject(e);
    }
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.hooks.release();
  }
}
