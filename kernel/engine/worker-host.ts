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

/** Requests received and not yet answered, and when the last one arrived or ended (for background work). */
let inFlight = 0;
let lastActivity = performance.now();

/**
 * Resolves once no request has been queued or running for `quietMs` (or at once when `stopped()` says so).
 * Background work (the codec preload) runs one short step after each such wait, so a request that arrives waits
 * for at most one step, and back-to-back requests (a cell's model load then its generation) for none.
 */
/** True while a request is queued or running (background work gives way). */
export function requestsWaiting(): boolean {
  return inFlight > 0;
}

export async function whenQuiet(quietMs: number, stopped: () => boolean): Promise<void> {
  for (;;) {
    if (stopped()) return;
    const idleFor = performance.now() - lastActivity;
    if (inFlight === 0 && idleFor >= quietMs) return;
    await new Promise((r) => setTimeout(r, inFlight === 0 ? Math.max(5, quietMs - idleFor) : 20));
  }
}

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
    inFlight++;
    lastActivity = performance.now();
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
      inFlight--;
      lastActivity = performance.now();
      // The caller replaced this worker while the request ran (a native call that could not be interrupted). The
      // thread ends itself now that it is back in JavaScript; terminating it from outside while it was inside
      // onnxruntime would make the binding throw into a dying isolate and abort the whole process.
      if (Atomics.load(flag, 0) === ABANDONED) process.exit(0);
    });
  });
}
