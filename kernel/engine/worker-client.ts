/**
 * The main-thread side of the worker protocol: starts the worker, sends typed requests, routes events,
 * and maps an AbortSignal onto the request's shared cancel flag.
 */
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { GenerationEvent } from '../../common/generation';
import { MediaError, type MediaErrorCode } from '../codecs/errors';
import { PackageError } from './manifest-schema';
import type { OpName, OpParams, OpResult, RequestMessage, ResponseMessage, WorkerError } from './protocol';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onEvent?: (e: GenerationEvent) => void;
}

/**
 * Built: dist/engine-worker.js beside the bundle. From TypeScript sources (mocha, tsx): worker.ts through tsx's
 * CommonJS hook — Worker refuses a .ts filename, so an eval'd bootstrap requires it. ANYGPT_ENGINE_WORKER overrides.
 */
function startWorker(): Worker {
  const override = process.env.ANYGPT_ENGINE_WORKER;
  if (override) return new Worker(override);
  if (__filename.endsWith('.ts')) {
    const tsx = require.resolve('tsx/cjs');
    const entry = path.join(__dirname, 'worker.ts');
    return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(entry)});`, { eval: true });
  }
  const built = path.join(__dirname, 'engine-worker.js');
  if (!existsSync(built)) throw new Error(`engine worker not found at ${built}; run "npm run build"`);
  return new Worker(built);
}

export class WorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  constructor() {
    this.worker = startWorker();
    this.worker.on('message', (m: ResponseMessage) => this.onMessage(m));
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`engine worker exited (code ${code})`)));
  }

  call<K extends OpName>(
    op: K,
    params: OpParams<K>,
    opts: { signal?: AbortSignal; onEvent?: (e: GenerationEvent) => void } = {},
  ): Promise<OpResult<K>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const cancel = new SharedArrayBuffer(4);
    const flag = new Int32Array(cancel);
    const onAbort = () => Atomics.store(flag, 0, 1);
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    return new Promise<OpResult<K>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent: opts.onEvent });
      const msg: RequestMessage<K> = { kind: 'request', id, op, params, cancel };
      this.worker.postMessage(msg);
    }).finally(() => opts.signal?.removeEventListener('abort', onAbort));
  }

  private onMessage(m: ResponseMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.kind === 'event') {
      try {
        p.onEvent?.(m.event);
      } catch {
        // a throwing listener must not break the protocol
      }
      return;
    }
    this.pending.delete(m.id);
    if (m.kind === 'result') p.resolve(m.result);
    else p.reject(reviveError(m.error));
  }

  private failAll(e: Error): void {
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async terminate(): Promise<void> {
    this.dead = new Error('engine closed');
    await this.worker.terminate();
  }
}

/**
 * Rebuilds a worker error on this thread: MediaError and PackageError come back as themselves (callers branch on
 * `instanceof` and `code`), anything else as an Error with the same name, message and code. The stack is the
 * worker's, which is where the failure happened.
 */
export function reviveError(w: WorkerError): Error {
  let e: Error & { code?: string };
  if (w.name === 'MediaError' && w.code) e = new MediaError(w.message, w.code as MediaErrorCode);
  else if (w.name === 'PackageError') e = new PackageError(w.message);
  else {
    e = new Error(w.message);
    e.name = w.name;
    if (w.code !== undefined) e.code = w.code;
  }
  if (w.stack) e.stack = w.stack;
  return e;
}
