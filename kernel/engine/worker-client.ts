/**
 * The main-thread side of the worker protocol: starts the worker, sends typed requests, routes events,
 * and maps an AbortSignal onto the request's shared cancel flag.
 *
 * Interrupts: the worker checks the flag between steps (decode, diffusion, SoundStorm), but one ORT run (an
 * EnCodec decode of 10,000 codes, a vocoder pass) cannot be stopped from JavaScript. So an aborted request that
 * has not settled within `abortGraceMs` abandons its worker thread: the request rejects at once, the thread is
 * flagged ABANDONED and ends itself when its native call returns (Worker.terminate() on a thread inside
 * onnxruntime aborts the process when the binding returns into the dying isolate), and a fresh worker replays the
 * init request (the engine's `open`), queued ahead of any later call.
 */
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { GenerationEvent } from '../../common/generation';
import { MediaError, type MediaErrorCode } from '../codecs/errors';
import { PackageError } from './manifest-schema';
import { busyThreadEnded, busyThreadStarted } from './busy-threads';
import {
  ABANDONED,
  type OpName,
  type OpParams,
  type OpResult,
  type RequestMessage,
  type ResponseMessage,
  type WorkerError,
} from './protocol';

/** Default time an aborted request may take to settle on its own (one decode / diffusion step) before its worker is abandoned. */
export const ABORT_GRACE_MS = 100;

/** Operations whose abort rejects with MediaError "aborted" (the codecs' contract); others with an AbortError. */
const MEDIA_OPS: ReadonlySet<string> = new Set(['encodeMedia', 'decodeSpan', 'decodeTokens']);

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onEvent?: (e: GenerationEvent) => void;
  /** The request's cancel flag (protocol.ts). */
  flag: Int32Array;
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

export interface WorkerClientOptions {
  /** How long an aborted request may take to settle before its worker thread is abandoned (default ABORT_GRACE_MS). */
  abortGraceMs?: number;
}

export class WorkerClient {
  private worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;
  private init?: { op: OpName; params: unknown };
  private readonly abortGraceMs: number;
  /** Worker threads abandoned after an interrupt, counted in busy-threads.ts until they exit. */
  private restarts = 0;

  constructor(opts: WorkerClientOptions = {}) {
    this.abortGraceMs = opts.abortGraceMs ?? ABORT_GRACE_MS;
    this.worker = this.spawn();
  }

  /** How many times a worker thread was abandoned after an interrupt (for tests and logs). */
  get restartCount(): number {
    return this.restarts;
  }

  /** True while a request is in flight (the worker may be inside a long native call). */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /**
   * The request that brings a fresh worker to this one's state (the engine's `open`). Replayed first on the worker
   * that replaces an abandoned one, so later calls queue behind it.
   */
  setInit<K extends OpName>(op: K, params: OpParams<K>): void {
    this.init = { op, params };
  }

  private spawn(): Worker {
    const w = startWorker();
    w.on('message', (m: ResponseMessage) => this.onMessage(m));
    w.on('error', (e) => this.failAll(e));
    w.on('exit', (code) => this.failAll(new Error(`engine worker exited (code ${code})`)));
    return w;
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
    let watchdog: NodeJS.Timeout | undefined;
    const onAbort = () => {
      Atomics.store(flag, 0, 1);
      watchdog ??= setTimeout(() => this.abandon(id, op), this.abortGraceMs);
    };
    return new Promise<OpResult<K>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent: opts.onEvent, flag });
      // An already-aborted request reaches the worker cancelled: set after postMessage, the worker (a thread of its
      // own) could run steps before this thread got to it, e.g. when the machine is busy.
      if (opts.signal?.aborted) onAbort();
      const msg: RequestMessage<K> = { kind: 'request', id, op, params, cancel };
      this.worker.postMessage(msg);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    }).finally(() => {
      clearTimeout(watchdog);
      opts.signal?.removeEventListener('abort', onAbort);
    });
  }

  /**
   * The aborted request `id` did not settle in time: reject it (and anything queued behind it), leave its thread
   * to end when its native call returns, and start a fresh worker that replays the init request.
   */
  private abandon(id: number, op: OpName): void {
    if (!this.pending.has(id) || this.dead) return;
    this.restarts++;
    this.letGo(this.worker);
    const stopped = [...this.pending.entries()];
    this.pending.clear();
    for (const [pid, p] of stopped) {
      if (pid === id)
        p.reject(
          MEDIA_OPS.has(op) ? new MediaError(`${op} was interrupted`, 'aborted') : abortError(`${op} was interrupted`),
        );
      else p.reject(new Error('the engine worker was restarted after an interrupt; run the request again'));
    }
    this.worker = this.spawn();
    if (this.init) {
      const init = this.init;
      const initId = this.nextId++;
      const cancel = new SharedArrayBuffer(4);
      this.pending.set(initId, {
        flag: new Int32Array(cancel),
        resolve: () => {},
        reject: (e) => {
          this.dead = new Error(`the engine could not be reopened after an interrupt: ${e.message}`);
          this.failAll(this.dead);
        },
      });
      this.worker.postMessage({ kind: 'request', id: initId, op: init.op, params: init.params, cancel });
    }
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
    this.dead ??= e;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }

  /**
   * Gives up on worker `w` while requests run on it: their flags say ABANDONED, so it ends itself once back in
   * JavaScript; until then it is counted in busy-threads.ts, so the process's exit path knows not to wait for it.
   */
  private letGo(w: Worker): void {
    for (const p of this.pending.values()) Atomics.store(p.flag, 0, ABANDONED);
    w.removeAllListeners();
    w.on('error', () => {});
    busyThreadStarted();
    w.once('exit', busyThreadEnded);
    w.unref();
  }

  /**
   * Stops the worker. An idle worker is terminated and awaited; a busy one (a shutdown during a long decode) is not
   * waited for: its queue would run anything only after the decode, so it is let go (letGo) instead.
   */
  async terminate(): Promise<void> {
    this.dead ??= new Error('engine closed');
    const w = this.worker;
    if (this.pending.size) {
      this.letGo(w);
      this.failAll(this.dead);
      return;
    }
    w.removeAllListeners();
    w.on('error', () => {});
    await w.terminate().catch(() => {});
  }
}

function abortError(message: string): Error {
  const e = new Error(message);
  e.name = 'AbortError';
  return e;
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
