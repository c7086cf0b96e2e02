/**
 * The worker side of the protocol: a dispatch table from operation name to handler, and the message loop.
 * Handlers run one at a time in arrival order (ORT sessions are not shared between concurrent runs here);
 * cancellation goes through the request's SharedArrayBuffer flag, so it is seen even while a handler is busy.
 */
import { parentPort } from 'node:worker_threads';
import type { GenerationEvent } from '../../common/generation';
import {
  ABANDONED,
  type OpName,
  type OpParams,
  type OpResult,
  type RequestMessage,
  type ResponseMessage,
} from './protocol';

export interface OpContext {
  /** True once the caller aborted this request. */
  cancelled(): boolean;
  /** Streams an event to the caller's onEvent. */
  emit(event: GenerationEvent): void;
}

export type OpHandler<K extends OpName> = (params: OpParams<K>, ctx: OpContext) => Promise<OpResult<K>>;

const handlers = new Map<OpName, OpHandler<OpName>>();

export function registerOp<K extends OpName>(op: K, handler: OpHandler<K>): void {
  if (handlers.has(op)) throw new Error(`worker op "${op}" registered twice`);
  handlers.set(op, handler as unknown as OpHandler<OpName>);
}

/** Starts serving requests from the parent thread. */
export function serve(): void {
  const port = parentPort;
  if (!port) throw new Error('engine worker: must run in a worker thread');
  const post = (m: ResponseMessage) => port.postMessage(m);
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: RequestMessage) => {
    queue = queue.then(async () => {
      const flag = new Int32Array(msg.cancel);
      const ctx: OpContext = {
        cancelled: () => Atomics.load(flag, 0) !== 0,
        emit: (event) => post({ kind: 'event', id: msg.id, event }),
      };
      try {
        const h = handlers.get(msg.op);
        if (!h) throw new Error(`engine worker: unknown op "${String(msg.op)}"`);
        const result = await h(msg.params, ctx);
        post({ kind: 'result', id: msg.id, result });
      } catch (e) {
        const err = e as Error & { code?: unknown };
        const code = typeof err.code === 'string' ? err.code : undefined;
        post({
          kind: 'error',
          id: msg.id,
          error: { name: err.name ?? 'Error', message: err.message ?? String(e), code, stack: err.stack },
        });
      }
      // The caller replaced this worker while the request ran (a native call that could not be interrupted). The
      // thread ends itself now that it is back in JavaScript; terminating it from outside while it was inside
      // onnxruntime would make the binding throw into a dying isolate and abort the whole process.
      if (Atomics.load(flag, 0) === ABANDONED) process.exit(0);
    });
  });
}
