/**
 * The KV-cache modes (docs/engine.md "KV cache"), one strategy object each behind one interface. LlmSession
 * keeps one for single-sequence decoding (its `kvMode`) and the dynamic one for beams, and routes a forward to the
 * strategy that made the cache.
 *
 * - DynamicKv (any graph): feed past, read back a fresh present; the cache is immutable, so beams can fork it.
 * - SharedBufferKv (GroupQueryAttention graphs): one static buffer per key/value fed as past and bound as the
 *   preallocated present fetch, so GQA writes the new rows in place; mutable, one live sequence. A graph that
 *   refuses it on the first run hands the sequence to the dynamic strategy for good.
 * - BoundKv: the same in-place cache through onnxruntime's C API with IoBinding (llm-bound.ts): nothing copied
 *   per step. Its CUDA branch is EXPERIMENTAL: written, never run on a GPU (docs/engine.md "GPU").
 */
import './ort-env';
import * as ort from 'onnxruntime-node';
import type { LlmSpec } from '../../common/manifest';
import type { BoundRunner } from './llm-bound';

export type KvMode = 'dynamic' | 'shared-buffer' | 'bound';

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

export interface StepResult {
  /** Logits of the last position, length vocabSize. */
  logits: Float32Array;
  cache: KvCache;
}

/** One KV-cache mode: how a sequence's cache starts and how a run feeds and grows it. */
export interface KvStrategy {
  readonly mode: KvMode;
  /** The cache a sequence of `promptLength` + about `plannedNew` tokens starts with. */
  start(promptLength: number, plannedNew: number): KvCache;
  /** Runs `ids` after `cache` (checked against maxPositions by the caller). */
  forward(ids: ArrayLike<number>, cache: KvCache): Promise<StepResult>;
}

/** What the onnxruntime-node strategies need from their session. */
export interface JsRunner {
  readonly spec: LlmSpec;
  session(): Promise<ort.InferenceSession>;
  /** input_ids / attention_mask / position_ids for the new ids after P (reused objects). */
  inputFeeds(ids: ArrayLike<number>, P: number): Record<string, ort.Tensor>;
  /** The last position's logits row of a logits output. */
  lastLogits(t: ort.Tensor): Float32Array;
  /** Counts a graph run's time. */
  ran(ms: number): void;
}

/** Tokens added to a shared buffer's capacity when it grows (the binding copies the whole present per run). */
const KV_CHUNK = 128;

function feedPast(feeds: Record<string, ort.Tensor>, cache: KvCache, numLayers: number): void {
  for (let i = 0; i < numLayers; i++) {
    feeds[`past_key_values.${i}.key`] = cache.tensors[2 * i];
    feeds[`past_key_values.${i}.value`] = cache.tensors[2 * i + 1];
  }
}

export class DynamicKv implements KvStrategy {
  readonly mode = 'dynamic';

  constructor(private readonly js: JsRunner) {}

  start(): KvCache {
    const { numLayers, numKvHeads, headDim, kvDtype } = this.js.spec;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * numLayers; i++) {
      const data = kvDtype === 'float16' ? new Uint16Array(0) : new Float32Array(0);
      tensors.push(new ort.Tensor(kvDtype, data, [1, numKvHeads, 0, headDim]));
    }
    return { length: 0, tensors };
  }

  async forward(ids: ArrayLike<number>, cache: KvCache): Promise<StepResult> {
    const { spec } = this.js;
    const S = ids.length;
    const P = cache.length;
    const feeds = this.js.inputFeeds(ids, P);
    const session = await this.js.session();
    feedPast(feeds, cache, spec.numLayers);
    const t0 = performance.now();
    const out = await session.run(feeds);
    this.js.ran(performance.now() - t0);
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < spec.numLayers; i++) tensors.push(out[`present.${i}.key`], out[`present.${i}.value`]);
    const grown = tensors[0].dims[2];
    if (grown !== P + S)
      throw new Error(`${spec.graph.path}: present.0.key has length ${grown}, expected past ${P} + new ${S}`);
    return { logits: this.js.lastLogits(out.logits), cache: { length: P + S, tensors } };
  }
}

export class SharedBufferKv implements KvStrategy {
  readonly mode = 'shared-buffer';
  /** Until a run succeeded, ORT's own error log for a refusal is silenced (the reason is kept). */
  private confirmed = false;

  constructor(
    private readonly js: JsRunner,
    /** Called once if the graph refuses the shared buffer on a first run; returns the strategy to go on with. */
    private readonly refused: (reason: string) => DynamicKv,
  ) {}

  /**
   * Static buffers with room for the prompt + 64 rounded up to 128 tokens, grown by chunks (128 tokens or 1/8 of
   * the capacity) as tokens come: onnxruntime-node copies every present output into a fresh ArrayBuffer on each
   * run, so a tight capacity keeps that copy, and the garbage it makes, as small as the dynamic cache's.
   */
  start(promptLength: number): KvCache {
    const cache: KvCache = { length: 0, tensors: [] };
    // ≥ 64 tokens of headroom, so a short generation after a long prompt never pays a growth copy.
    this.grow(cache, Math.min(this.js.spec.maxPositions, Math.max(promptLength, 1) + 64));
    return cache;
  }

  /** (Re)allocates the static buffers with room for `need` tokens, copying rows [0, length). */
  private grow(cache: KvCache, need: number): void {
    const { numLayers, numKvHeads: kvH, headDim: hd, kvDtype, maxPositions } = this.js.spec;
    // Chunks of 128 tokens, or 1/8 of the current capacity when larger (growth copies stay ≤ ~1/8 per token).
    const chunk = Math.max(KV_CHUNK, Math.ceil((cache.shared?.capacity ?? 0) / 8 / KV_CHUNK) * KV_CHUNK);
    const capacity = Math.min(maxPositions, Math.ceil(need / chunk) * chunk);
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

  async forward(ids: ArrayLike<number>, cache: KvCache): Promise<StepResult> {
    const S = ids.length;
    const P = cache.length;
    const shared = cache.shared!;
    const feeds = this.js.inputFeeds(ids, P);
    const session = await this.js.session();
    if (P + S > shared.capacity) this.grow(cache, P + S);
    feedPast(feeds, cache, this.js.spec.numLayers);
    let out: ort.InferenceSession.OnnxValueMapType;
    const t0 = performance.now();
    try {
      out = this.confirmed
        ? await session.run(feeds, cache.shared!.fetches)
        : await session.run(feeds, cache.shared!.fetches, { logSeverityLevel: 4 });
      this.confirmed = true;
    } catch (e) {
      if (P > 0) throw e;
      // The graph does not take a shared past/present buffer (not GQA-style): the dynamic cache from now on.
      const dynamic = this.refused(firstLine((e as Error).message));
      const empty = dynamic.start();
      cache.tensors = empty.tensors;
      cache.shared = undefined;
      return dynamic.forward(ids, cache);
    }
    this.js.ran(performance.now() - t0);
    cache.length = P + S;
    return { logits: this.js.lastLogits(out.logits), cache };
  }
}

/**
 * The bound cache: the runner owns the KV tensors (one live sequence per session). On CUDA this is EXPERIMENTAL:
 * the device branch of llm-bound.ts has never run on a GPU.
 */
export class BoundKv implements KvStrategy {
  readonly mode = 'bound';

  constructor(
    readonly runner: BoundRunner,
    private readonly maxPositions: number,
    /** The runner's execution provider; 'cuda' is the experimental branch. */
    readonly executionProvider: 'cpu' | 'cuda',
  ) {}

  get experimental(): boolean {
    return this.executionProvider === 'cuda';
  }

  /**
   * Room for the prompt and `plannedNew` tokens at once: it copies nothing per step, and growing mid-generation
   * would copy every row.
   */
  start(promptLength: number, plannedNew: number): KvCache {
    this.runner.reset(Math.min(this.maxPositions, Math.max(promptLength, 1) + plannedNew));
    return { length: 0, tensors: [], bound: this.runner };
  }

  async forward(ids: ArrayLike<number>, cache: KvCache): Promise<StepResult> {
    const P = cache.length;
    if (this.runner.tokens !== P)
      throw new Error(
        `forward: the bound cache holds ${this.runner.tokens} tokens, this sequence ${P} (one live sequence per session)`,
      );
    const logits = await this.runner.run(ids);
    cache.length = P + ids.length;
    return { logits, cache };
  }
}

export function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.length > 300 ? line.slice(0, 297) + '...' : line;
}
