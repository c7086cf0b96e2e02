/**
 * The LLM session: one onnxruntime-node InferenceSession plus the KV-cache plumbing.
 *
 * Convention (docs/model-package.md): feed `past_key_values.{i}.key/value` [1,kvH,P,hd], read back
 * `present.{i}.key/value` [1,kvH,P+S,hd]; the first run gets zero-length past (P = 0). A KvCache is immutable
 * (each run returns fresh present tensors), so beam search can keep one per beam and drop the rest.
 *
 * The KV-cache modes (dynamic, shared-buffer, bound) are strategy objects in kv-cache.ts; the session keeps the one
 * single-sequence decoding uses (`kvMode`) and the dynamic one for beam search, and routes each forward to the
 * strategy that made its cache.
 *
 * `run()` blocks the thread it is called on; the engine calls this only inside the worker.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';
import './ort-env';
import * as ort from 'onnxruntime-node';
import type { LlmSpec } from '../../common/manifest';
import { BoundRunner } from './llm-bound';
import {
  BoundKv,
  DynamicKv,
  firstLine,
  SharedBufferKv,
  type KvCache,
  type KvMode,
  type KvStrategy,
  type StepResult,
} from './kv-cache';
import { RowStats } from './rowstats';
import { checkLlmGraph, PackageError, type LlmGraphInfo } from './package';

export type ExecutionProviderChoice = 'auto' | 'cpu' | 'cuda';
/**
 * `auto`: anygpt.json llm.kvCache if set, else shared-buffer when the graph uses GroupQueryAttention.
 * `bound`: shared-buffer through onnxruntime's C API with IoBinding (llm-bound.ts): no per-run copy of the cache
 * or the logits; falls back to shared-buffer (with the reason) where the C API cannot be used.
 */
export type KvCacheChoice = 'auto' | 'dynamic' | 'shared-buffer' | 'bound';
export type { KvCache, KvMode, StepResult };

export interface SessionConfig {
  executionProvider?: ExecutionProviderChoice;
  /** intra-op threads; 0 or undefined = ORT default. */
  threads?: number;
  /** Merged over our defaults (e.g. graphOptimizationLevel, extra config entries). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
  kvCache?: KvCacheChoice;
}

/**
 * Default session options. allow_spinning=0 stops ORT's idle threads from busy-waiting between decode steps,
 * which on a shared or small machine was measured to halve step time (docs/engine.md, "onnxruntime-node: what the engine relies on").
 */
function baseOptions(cfg: SessionConfig): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(cfg.threads ? { intraOpNumThreads: cfg.threads } : {}),
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    ...cfg.sessionOptions,
  };
}

/** Creates a session on the chosen EP; `auto` tries CUDA and falls back to CPU, keeping the reason. */
export async function createSession(
  file: string,
  cfg: SessionConfig,
): Promise<{ session: ort.InferenceSession; executionProvider: 'cpu' | 'cuda'; fallbackReason?: string }> {
  const choice = cfg.executionProvider ?? 'auto';
  const opts = baseOptions(cfg);
  if (choice === 'cuda' || choice === 'auto') {
    const missing = missingCudaLibraries();
    if (missing) {
      const reason = `CUDA provider library not installed (${missing})`;
      if (choice === 'cuda')
        throw new Error(`CUDA execution provider unavailable: ${reason}. See the README (GPU set-up).`);
      const session = await ort.InferenceSession.create(file, { ...opts, executionProviders: ['cpu'] });
      return { session, executionProvider: 'cpu', fallbackReason: `${reason}; using CPU` };
    }
    try {
      // In auto mode the probe is silent (severity 4 = fatal only): the fallback reason is reported instead.
      const probeOpts =
        choice === 'auto' && opts.logSeverityLevel === undefined ? { ...opts, logSeverityLevel: 4 as const } : opts;
      const session = await ort.InferenceSession.create(file, { ...probeOpts, executionProviders: ['cuda'] });
      return { session, executionProvider: 'cuda' };
    } catch (e) {
      const reason = firstLine((e as Error).message);
      if (choice === 'cuda') {
        throw new Error(
          `CUDA execution provider failed to load for ${file}: ${reason}. See the README (GPU set-up) for the provider libraries.`,
          { cause: e },
        );
      }
      const session = await ort.InferenceSession.create(file, { ...opts, executionProviders: ['cpu'] });
      return { session, executionProvider: 'cpu', fallbackReason: `CUDA unavailable (${reason}); using CPU` };
    }
  }
  return {
    session: await ort.InferenceSession.create(file, { ...opts, executionProviders: ['cpu'] }),
    executionProvider: 'cpu',
  };
}

/**
 * The CUDA provider library missing next to onnxruntime-node's binding (as "<path> missing"), or undefined.
 * onnxruntime-node ships without them (they come from the postinstall download or a manual copy); checking first
 * gives a clear reason and avoids ORT printing a load error to stderr.
 */
export function missingCudaLibraries(): string | undefined {
  if (process.platform !== 'linux') return undefined; // other platforms: let ORT decide
  let dir: string;
  try {
    dir = path.join(
      path.dirname(require.resolve('onnxruntime-node/package.json')),
      'bin',
      'napi-v6',
      'linux',
      process.arch,
    );
  } catch {
    return undefined;
  }
  for (const lib of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) {
    if (!existsSync(path.join(dir, lib))) return path.join(dir, lib) + ' missing';
  }
  return undefined;
}

export class LlmSession {
  private jsRunMs = 0;
  private jsRuns = 0;
  /** Why shared-buffer was requested/detected but is not used (e.g. the graph refused it); undefined otherwise. */
  kvFallbackReason?: string;
  /** The cache mode of beam search (caches forked per beam), and of graphs without an in-place cache. */
  private readonly dynamicKv: DynamicKv;
  /** The cache mode decode() uses for one sequence (greedy, sampling). */
  private decodeKv: KvStrategy;
  private sharedKv?: SharedBufferKv;
  private readonly boundKv?: BoundKv;

  // Reused per-run inputs (no per-token typed-array allocation): ids/positions for one-token steps, a row of ones
  // for the attention mask (fed as a prefix view), and the one-token tensors themselves.
  private readonly ids1 = new BigInt64Array(1);
  private readonly pos1 = new BigInt64Array(1);
  private readonly ids1T: ort.Tensor;
  private readonly pos1T: ort.Tensor;
  private ones = new BigInt64Array(0);
  private readonly feeds: Record<string, ort.Tensor> = {};

  private constructor(
    /** The onnxruntime-node session; for a bound session, opened only when a dynamic cache is asked for (beams). */
    private jsSession: ort.InferenceSession | undefined,
    readonly spec: LlmSpec,
    readonly info: LlmGraphInfo,
    readonly executionProvider: 'cpu' | 'cuda',
    kvMode: KvMode,
    readonly fallbackReason?: string,
    private readonly bound?: { runner: BoundRunner; file: string; cfg: SessionConfig },
    /**
     * A bound session's own statistics kernel, whose two raw rows are the logits output of one-token runs (decode()
     * then reads them without copying). Its own, not the thread's shared kernel: ORT writes these rows while a run
     * is in flight, and only this session's single live sequence may read them.
     */
    readonly statsKernel?: RowStats,
  ) {
    this.ids1T = new ort.Tensor('int64', this.ids1, [1, 1]);
    this.pos1T = new ort.Tensor('int64', this.pos1, [1, 1]);
    const js = {
      spec,
      session: () => this.session(),
      inputFeeds: (ids: ArrayLike<number>, P: number) => this.inputFeeds(ids, P),
      lastLogits: (t: ort.Tensor) => this.lastLogits(t),
      ran: (ms: number) => {
        this.jsRunMs += ms;
        this.jsRuns++;
      },
    };
    this.dynamicKv = new DynamicKv(js);
    if (bound) this.boundKv = new BoundKv(bound.runner, spec.maxPositions, executionProvider);
    if (kvMode === 'shared-buffer')
      this.sharedKv = new SharedBufferKv(js, (reason) => {
        this.decodeKv = this.dynamicKv;
        this.kvFallbackReason = `shared-buffer KV cache refused by ${spec.graph.path} (${reason}); using the dynamic cache`;
        return this.dynamicKv;
      });
    this.decodeKv = this.boundKv ?? this.sharedKv ?? this.dynamicKv;
  }

  /** The KV-cache mode decode() uses for single-sequence generation. */
  get kvMode(): KvMode {
    return this.decodeKv.mode;
  }

  /** Whether that mode is the experimental one: the bound cache on CUDA, never run on a GPU (docs/engine.md). */
  get kvExperimental(): boolean {
    return this.decodeKv === this.boundKv && !!this.boundKv?.experimental;
  }

  static async open(file: string, spec: LlmSpec, cfg: SessionConfig = {}): Promise<LlmSession> {
    const choice = cfg.kvCache ?? 'auto';
    let gqa: boolean | undefined; // the file scan (up to 256 MiB) runs at most once
    const usesGqa = () => (gqa ??= graphUsesGqa(file));
    // In auto mode an in-place graph (GQA, or declared shared-buffer) runs bound when the C API is usable here;
    // otherwise it silently keeps the JS binding's shared buffer (an explicit 'bound' says why it could not).
    let boundRefused: string | undefined;
    if (
      choice === 'bound' ||
      (choice === 'auto' && spec.kvCache !== 'dynamic' && (spec.kvCache === 'shared-buffer' || usesGqa()))
    ) {
      const r = LlmSession.openBound(file, spec, cfg, usesGqa());
      if (r instanceof LlmSession) return r;
      if (choice === 'bound') boundRefused = r;
    }
    const { session, executionProvider, fallbackReason } = await createSession(file, cfg);
    const meta = {
      inputs: session.inputMetadata.map((m) =>
        m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name },
      ),
      outputs: session.outputMetadata.map((m) =>
        m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name },
      ),
    };
    let info: LlmGraphInfo;
    try {
      info = checkLlmGraph(spec, meta);
    } catch (e) {
      await session.release();
      throw e;
    }
    const kvMode =
      choice === 'auto' || choice === 'bound' ? (spec.kvCache ?? (usesGqa() ? 'shared-buffer' : 'dynamic')) : choice;
    const llm = new LlmSession(session, spec, info, executionProvider, kvMode, fallbackReason);
    if (boundRefused) llm.kvFallbackReason = `bound KV cache unavailable (${boundRefused}); using ${kvMode}`;
    return llm;
  }

  /**
   * A bound session, or why not (no koffi/C API, not a GQA graph, the EP failed). A graph that contradicts the
   * manifest throws, as on the JS path. EP `auto` tries CUDA first where its provider libraries are installed;
   * that CUDA branch is EXPERIMENTAL (written, never run on a GPU).
   */
  private static openBound(file: string, spec: LlmSpec, cfg: SessionConfig, gqa: boolean): LlmSession | string {
    if (!gqa) return `${path.basename(file)} has no GroupQueryAttention, so its cache cannot be updated in place`;
    const choice = cfg.executionProvider ?? 'auto';
    const missing = choice === 'auto' ? missingCudaLibraries() : undefined;
    const eps: ('cpu' | 'cuda')[] =
      choice === 'cuda' ? ['cuda'] : choice === 'cpu' || missing ? ['cpu'] : ['cuda', 'cpu'];
    const reasons: string[] = [];
    // auto without the CUDA provider libraries: say so, as createSession does (the CLI and kernel print it).
    const noCuda = missing ? `CUDA provider library not installed (${missing}); using CPU` : undefined;
    for (const ep of eps) {
      let runner: BoundRunner;
      try {
        runner = BoundRunner.open(file, {
          executionProvider: ep,
          threads: cfg.threads,
          numLayers: spec.numLayers,
          numKvHeads: spec.numKvHeads,
          headDim: spec.headDim,
          kvDtype: spec.kvDtype,
          vocabSize: spec.vocabSize,
          maxPositions: spec.maxPositions,
          hasPositionIds: false,
        });
      } catch (e) {
        reasons.push(`${ep}: ${firstLine((e as Error).message)}`);
        continue;
      }
      let info: LlmGraphInfo;
      try {
        info = checkLlmGraph(spec, { inputs: runner.inputs, outputs: runner.outputs });
      } catch (e) {
        runner.release();
        throw e;
      }
      runner.hasPositionIds = info.hasPositionIds;
      const kernel = RowStats.create(spec.vocabSize);
      if (kernel) runner.setLogitsRows(kernel.rawRows);
      const fallback = reasons.length ? `CUDA unavailable (${reasons.join('; ')}); using CPU` : noCuda;
      return new LlmSession(undefined, spec, info, ep, 'bound', fallback, { runner, file, cfg }, kernel);
    }
    return reasons.join('; ');
  }

  /** The onnxruntime-node session (a bound session opens one on first use, for beam search's dynamic caches). */
  private async session(): Promise<ort.InferenceSession> {
    if (!this.jsSession) {
      if (!this.bound) throw new Error('LlmSession: no session');
      this.jsSession = (await createSession(this.bound.file, { ...this.bound.cfg, kvCache: 'dynamic' })).session;
    }
    return this.jsSession;
  }

  /** An empty dynamic cache (beam search forks these). */
  emptyCache(): KvCache {
    return this.dynamicKv.start();
  }

  /**
   * The cache decode() starts a single sequence with, from the session's mode (kv-cache.ts): a shared buffer with
   * some headroom that grows by chunks, the bound cache with room for the prompt and `plannedNew` tokens at once,
   * or an empty dynamic cache.
   */
  decodeCache(promptLength: number, plannedNew = 64): KvCache {
    return this.decodeKv.start(promptLength, plannedNew);
  }

  /** Runs `ids` after `cache` and returns the last position's logits and the grown cache. */
  async forward(ids: ArrayLike<number>, cache: KvCache): Promise<StepResult> {
    const S = ids.length;
    const P = cache.length;
    if (S === 0) throw new Error('forward: no input ids');
    if (P + S > this.spec.maxPositions) {
      throw new PackageError(
        `context full: ${P + S} tokens exceed anygpt.json llm.maxPositions = ${this.spec.maxPositions}`,
      );
    }
    return this.strategyOf(cache).forward(ids, cache);
  }

  /** The strategy that made `cache`. */
  private strategyOf(cache: KvCache): KvStrategy {
    if (cache.bound) {
      if (!this.boundKv || cache.bound !== this.boundKv.runner)
        throw new Error('forward: a bound cache of another session');
      return this.boundKv;
    }
    if (cache.shared) {
      if (!this.sharedKv) throw new Error('forward: a shared-buffer cache in a session without that mode');
      return this.sharedKv;
    }
    return this.dynamicKv;
  }

  /** input_ids / attention_mask / position_ids for S new tokens after P; one-token steps reuse their arrays. */
  private inputFeeds(ids: ArrayLike<number>, P: number): Record<string, ort.Tensor> {
    const S = ids.length;
    const T = P + S;
    const feeds = this.feeds;
    if (S === 1) {
      this.ids1[0] = BigInt(ids[0]);
      feeds.input_ids = this.ids1T;
    } else {
      const inputIds = new BigInt64Array(S);
      for (let i = 0; i < S; i++) inputIds[i] = BigInt(ids[i]);
      feeds.input_ids = new ort.Tensor('int64', inputIds, [1, S]);
    }
    if (this.ones.length < T)
      this.ones = new BigInt64Array(Math.max(T, Math.min(this.spec.maxPositions, 2 * this.ones.length, T + 1024))).fill(
        1n,
      );
    // The mask's dims change every step, so ORT's JS API needs a new Tensor object; its data is a view of `ones`.
    feeds.attention_mask = new ort.Tensor('int64', this.ones.subarray(0, T), [1, T]);
    if (this.info.hasPositionIds) {
      if (S === 1) {
        this.pos1[0] = BigInt(P);
        feeds.position_ids = this.pos1T;
      } else {
        const pos = new BigInt64Array(S);
        for (let i = 0; i < S; i++) pos[i] = BigInt(P + i);
        feeds.position_ids = new ort.Tensor('int64', pos, [1, S]);
      }
    }
    return feeds;
  }

  /** [1,S,V] or [1,1,V]: the last row either way (a view, no copy). */
  private lastLogits(t: ort.Tensor): Float32Array {
    const all = t.data as Float32Array;
    const V = this.spec.vocabSize;
    return all.length === V ? all : all.subarray(all.length - V);
  }

  /** Time inside the graph runs, ms (the bench subtracts it to get per-token overhead). */
  get runMs(): number {
    return this.jsRunMs + (this.bound?.runner.runMs ?? 0);
  }

  get runs(): number {
    return this.jsRuns + (this.bound?.runner.runs ?? 0);
  }

  async release(): Promise<void> {
    this.bound?.runner.release();
    await this.jsSession?.release();
  }
}

/** Longest prefix of a graph file scanned for the operator name (nodes precede initializers in ModelProto). */
const GQA_SCAN_BYTES = 256 * 2 ** 20;

/**
 * Whether the ONNX file contains a com.microsoft GroupQueryAttention node: a byte search for the op_type string
 * in the first 256 MiB (the graph's nodes are serialised before its initializers; weights usually live in
 * external data). A false positive is caught at the first run (ORT refuses the preallocated present), which
 * then falls back to the dynamic cache.
 */
export function graphUsesGqa(file: string): boolean {
  const needle = Buffer.from('GroupQueryAttention');
  const chunk = Buffer.alloc(4 * 2 ** 20);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    let pos = 0;
    let carry = 0;
    while (pos < GQA_SCAN_BYTES) {
      const n = readSync(fd, chunk, carry, chunk.length - carry, pos);
      if (n <= 0) break;
      const view = chunk.subarray(0, carry + n);
      if (view.indexOf(needle) >= 0) return true;
      carry = Math.min(needle.length - 1, view.length);
      view.copy(chunk, 0, view.length - carry);
      pos += n;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}
