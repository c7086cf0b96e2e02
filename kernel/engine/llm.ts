/**
 * The LLM session: one onnxruntime-node InferenceSession plus the KV-cache plumbing.
 *
 * Convention (docs/model-package.md): feed `past_key_values.{i}.key/value` [1,kvH,P,hd], read back
 * `present.{i}.key/value` [1,kvH,P+S,hd]; the first run gets zero-length past (P = 0). A KvCache is immutable
 * (each run returns fresh present tensors), so beam search can keep one per beam and drop the rest.
 *
 * Two KV-cache modes (docs/engine.md "KV cache"):
 * - `dynamic` (any graph): as above; ORT concatenates past + new into a fresh present every run.
 * - `shared-buffer` (GroupQueryAttention graphs: `seqlens_k`/`total_sequence_length` from the attention mask, as
 *   tools/convert/llm_builder.py and ORT GenAI emit): one static buffer [1,kvH,capacity,hd] per key/value is fed
 *   as past *and* bound as the preallocated present fetch, so GQA writes the new rows in place and nothing is
 *   concatenated. Such a cache is mutable (one live sequence): greedy/sampling use it, beam search keeps dynamic.
 *
 * `run()` blocks the thread it is called on; the engine calls this only inside the worker.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { LlmSpec } from '../../common/manifest';
import { BoundRunner } from './llm-bound';
import { RowStats } from './rowstats';
import { checkLlmGraph, PackageError, type LlmGraphInfo } from './package';

export type ExecutionProviderChoice = 'auto' | 'cpu' | 'cuda';
/**
 * `auto`: anygpt.json llm.kvCache if set, else shared-buffer when the graph uses GroupQueryAttention.
 * `bound`: shared-buffer through onnxruntime's C API with IoBinding (llm-bound.ts): no per-run copy of the cache
 * or the logits; falls back to shared-buffer (with the reason) where the C API cannot be used.
 */
export type KvCacheChoice = 'auto' | 'dynamic' | 'shared-buffer' | 'bound';
export type KvMode = 'dynamic' | 'shared-buffer' | 'bound';

export interface SessionConfig {
  executionProvider?: ExecutionProviderChoice;
  /** intra-op threads; 0 or undefined = ORT default. */
  threads?: number;
  /** Merged over our defaults (e.g. graphOptimizationLevel, extra config entries). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
  kvCache?: KvCacheChoice;
}

export interface KvCache {
  /** Sequence length held (P). */
  length: number;
  tensors: ort.Tensor[]; // [key0, value0, key1, value1, …]
  /**
   * Set for a shared-buffer cache: tensors are [1,kvH,capacity,hd] static buffers that forward() updates in
   * place (the same object is returned, its length grown). Only rows [0, length) are meaningful.
   */
  shared?: { capacity: number; fetches: Record<string, ort.Tensor | null> };
  /** Set for a bound cache: the runner holds the KV tensors (one live sequence); `tensors` is empty. */
  bound?: BoundRunner;
}

/** Tokens added to a shared buffer's capacity when it grows (the binding copies the whole present per run). */
const KV_CHUNK = 128;

export interface StepResult {
  /** Logits of the last position, length vocabSize. */
  logits: Float32Array;
  cache: KvCache;
}

/**
 * Default session options. allow_spinning=0 stops ORT's idle threads from busy-waiting between decode steps,
 * which on a shared or small machine was measured to halve step time (engine-onnxruntime.md §1).
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

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.length > 300 ? line.slice(0, 297) + '...' : line;
}

export class LlmSession {
  private jsRunMs = 0;
  private jsRuns = 0;
  /** Why shared-buffer was requested/detected but is not used (e.g. the graph refused it); undefined otherwise. */
  kvFallbackReason?: string;
  /** Until a shared-buffer run succeeded, ORT's own error log for a refusal is silenced (the reason is kept). */
  private sharedConfirmed = false;

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
    /** The KV-cache mode decode() uses for single-sequence generation. */
    public kvMode: KvMode,
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
   * manifest throws, as on the JS path. EP `auto` tries CUDA first where its provider libraries are installed.
   */
  private static openBound(file: string, spec: LlmSpec, cfg: SessionConfig, gqa: boolean): LlmSession | string {
    if (!gqa) return `${path.basename(file)} has no GroupQueryAttention, so its cache cannot be updated in place`;
    const choice = cfg.executionProvider ?? 'auto';
    const eps: ('cpu' | 'cuda')[] =
      choice === 'cuda' ? ['cuda'] : choice === 'cpu' || missingCudaLibraries() ? ['cpu'] : ['cuda', 'cpu'];
    const reasons: string[] = [];
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
      const fallback = reasons.length ? `CUDA unavailable (${reasons.join('; ')}); using CPU` : undefined;
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

  emptyCache(): KvCache {
    const { numLayers, numKvHeads, headDim, kvDtype } = this.spec;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * numLayers; i++) {
      const data = kvDtype === 'float16' ? new Uint16Array(0) : new Float32Array(0);
      tensors.push(new ort.Tensor(kvDtype, data, [1, numKvHeads, 0, headDim]));
    }
    return { length: 0, tensors };
  }

  /**
   * The cache decode() starts a single sequence with: for shared-buffer mode, static buffers with room for the
   * prompt + 64 rounded up to 128 tokens, grown by chunks (128 tokens or 1/8 of the capacity) as tokens come (onnxruntime-node copies every
   * present output into a fresh ArrayBuffer on each run, so a tight capacity keeps that copy, and the garbage it
   * makes, as small as the dynamic cache's); for the bound cache, room for the prompt and `plannedNew` tokens at
   * once (it copies nothing per step, and growing mid-generation would copy every row); otherwise an empty
   * dynamic cache.
   */
  decodeCache(promptLength: number, plannedNew = 64): KvCache {
    if (this.bound) {
      this.bound.runner.reset(Math.min(this.spec.maxPositions, Math.max(promptLength, 1) + plannedNew));
      return { length: 0, tensors: [], bound: this.bound.runner };
    }
    if (this.kvMode !== 'shared-buffer') return this.emptyCache();
    const cache: KvCache = { length: 0, tensors: [] };
    // ≥ 64 tokens of headroom, so a short generation after a long prompt never pays a growth copy.
    this.growShared(cache, Math.min(this.spec.maxPositions, Math.max(promptLength, 1) + 64));
    return cache;
  }

  /** (Re)allocates the static buffers with room for `need` tokens, copying rows [0, length). */
  private growShared(cache: KvCache, need: number): void {
    const { numLayers, numKvHeads: kvH, headDim: hd, kvDtype } = this.spec;
    // Chunks of 128 tokens, or 1/8 of the current capacity when larger (growth copies stay ≤ ~1/8 per token).
    const chunk = Math.max(KV_CHUNK, Math.ceil((cache.shared?.capacity ?? 0) / 8 / KV_CHUNK) * KV_CHUNK);
    const capacity = Math.min(this.spec.maxPositions, Math.ceil(need / chunk) * chunk);
    const old = cache.shared ? cache.tensors : null;
    const oldCap = cache.shared?.capacity ?? 0;
    const tensors: ort.Tensor[] = [];
    const fetches: Record<string, ort.Tensor | null> = { logits: null };
    for (let i = 0; i < 2 * numLayers; i++) {
      const data = kvDtype === 'float16' ? new Uint16Array(kvH * capacity * hd) : new Float32Array(kvH * capacity * hd);
      if (old && cache.length > 0) {
        const src = old[i].data as Float32Array | Uint16Array;
        for (let h = 0; h < kvH; h++) {
          (data as Float32Array).set(
            (src as Float32Array).subarray(h * oldCap * hd, (h * oldCap + cache.length) * hd),
            h * capacity * hd,
          );
        }
      }
      const t = new ort.Tensor(kvDtype, data, [1, kvH, capacity, hd]);
      tensors.push(t);
      fetches[`present.${i >> 1}.${i & 1 ? 'value' : 'key'}`] = t;
    }
    cache.tensors = tensors;
    cache.shared = { capacity, fetches };
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
    if (cache.bound) {
      if (cache.bound.tokens !== P)
        throw new Error(
          `forward: the bound cache holds ${cache.bound.tokens} tokens, this sequence ${P} (one live sequence per session)`,
        );
      const logits = await cache.bound.run(ids);
      cache.length = P + S;
      return { logits, cache };
    }
    const feeds = this.inputFeeds(ids, P);
    const session = await this.session();
    if (cache.shared) {
      if (P + S > cache.shared.capacity) this.growShared(cache, P + S);
      for (let i = 0; i < this.spec.numLayers; i++) {
        feeds[`past_key_values.${i}.key`] = cache.tensors[2 * i];
        feeds[`past_key_values.${i}.value`] = cache.tensors[2 * i + 1];
      }
      let out: ort.InferenceSession.OnnxValueMapType;
      const t0 = performance.now();
      try {
        out = this.sharedConfirmed
          ? await session.run(feeds, cache.shared.fetches)
          : await session.run(feeds, cache.shared.fetches, { logSeverityLevel: 4 });
        this.sharedConfirmed = true;
      } catch (e) {
        if (P > 0) throw e;
        // The graph does not take a shared past/present buffer (not GQA-style): fall back for good, with the reason.
        this.kvMode = 'dynamic';
        this.kvFallbackReason = `shared-buffer KV cache refused by ${this.spec.graph.path} (${firstLine((e as Error).message)}); using the dynamic cache`;
        const empty = this.emptyCache();
        cache.tensors = empty.tensors;
        cache.shared = undefined;
        return this.forward(ids, cache);
      }
      this.jsRunMs += performance.now() - t0;
      this.jsRuns++;
      cache.length = P + S;
      return { logits: this.lastLogits(out.logits), cache };
    }
    for (let i = 0; i < this.spec.numLayers; i++) {
      feeds[`past_key_values.${i}.key`] = cache.tensors[2 * i];
      feeds[`past_key_values.${i}.value`] = cache.tensors[2 * i + 1];
    }
    const t0 = performance.now();
    const out = await session.run(feeds);
    this.jsRunMs += performance.now() - t0;
    this.jsRuns++;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < this.spec.numLayers; i++) {
      tensors.push(out[`present.${i}.key`], out[`present.${i}.value`]);
    }
    const grown = tensors[0].dims[2];
    if (grown !== P + S)
      throw new Error(`${this.spec.graph.path}: present.0.key has length ${grown}, expected past ${P} + new ${S}`);
    return { logits: this.lastLogits(out.logits), cache: { length: P + S, tensors } };
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
