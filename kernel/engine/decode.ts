/**
 * The decode loop: prefill in one run, then one token per run with the KV cache.
 * It knows nothing of ONNX beyond LlmSession.forward, and nothing of workers: cancellation and streaming are hooks.
 *
 * Per step: raw logits → (record raw log-prob, entropy, top-5) → constraints → processors → greedy/multinomial.
 * With numBeams > 1 it runs beam search instead (beam.ts).
 */
import type { GenerationParams, StopReason } from '../../common/generation';
import { PER_MODALITY_FIELDS } from '../../common/knobs';
import type { Manifest, Modality, SamplingPreset } from '../../common/manifest';
import { beamSearch } from './beam';
import { ModalityConstraints, TEXT_STATE, type SpanState } from './constraints';
import type { KvCache, LlmSession } from './llm';
import { Xoshiro128 } from '../../common/prng';
import type { GeneratedStep } from './record';
import { RowStats, TINY_Z, type RowScan } from './rowstats';
import {
  argmax,
  buildProcessors,
  greedyStats,
  logSumExp,
  maskedLogZ,
  rawStats,
  sampleMasked,
  sampleMultinomial,
  SeenSet,
  type LogitsProcessor,
  type RawStats,
} from './sampling';
import type { Vocabulary } from './vocab';

export interface DecodeContext {
  /** decodeCache: the shared-buffer cache for single-sequence decoding (falls back to emptyCache when absent). */
  llm: Pick<LlmSession, 'forward' | 'emptyCache' | 'spec'> & Partial<Pick<LlmSession, 'decodeCache' | 'statsKernel'>>;
  vocab: Vocabulary;
  manifest: Manifest;
}

export interface DecodeHooks {
  /** Polled before every step; true stops the loop with stopReason 'aborted'. */
  cancelled?: () => boolean;
  onToken?: (step: GeneratedStep) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface DecodeResult {
  generated: GeneratedStep[];
  stopReason: StopReason;
  warnings: string[];
  prefillMs: number;
  decodeMs: number;
}

/** The sampling fields a modality preset switches (length limits stay those of the request). */
export function presetInside(params: GenerationParams, manifest: Manifest, modality: Modality): SamplingPreset {
  if (modality === 'text' || modality === params.preset) return params;
  const p = manifest.presets[modality];
  return { ...params, ...Object.fromEntries(PER_MODALITY_FIELDS.map((f) => [f, p[f]])) };
}

/** Ids that end generation: EOS always; the template stop tokens when modality-aware decoding is on. */
export function stopIdsFor(vocab: Vocabulary, constrain: boolean): Set<number> {
  return new Set(constrain ? [vocab.eosId, ...vocab.stopIds] : [vocab.eosId]);
}

export async function decode(
  ctx: DecodeContext,
  promptIds: number[],
  params: GenerationParams,
  hooks: DecodeHooks = {},
): Promise<DecodeResult> {
  const warnings: string[] = [];
  const { vocab, manifest, llm } = ctx;
  const maxPos = llm.spec.maxPositions;
  if (promptIds.length >= maxPos) {
    throw new Error(`prompt has ${promptIds.length} tokens; the model's context (llm.maxPositions) is ${maxPos}`);
  }
  let maxNew = params.maxNewTokens;
  if (promptIds.length + maxNew > maxPos) {
    maxNew = maxPos - promptIds.length;
    warnings.push(
      `maxNewTokens reduced to ${maxNew}: the prompt (${promptIds.length} tokens) plus ${params.maxNewTokens} exceeds llm.maxPositions ${maxPos}`,
    );
  }
  const constraints = new ModalityConstraints(vocab, manifest);
  let state: SpanState = TEXT_STATE;
  for (const id of promptIds) state = constraints.next(state, id); // a prompt may open a span (forced "<soim>")

  hooks.onProgress?.('prefill', 0, promptIds.length);
  const t0 = performance.now();
  // One sequence (greedy/sampling): the session's decode cache (a static shared buffer for GQA graphs, updated in
  // place). Beam search forks caches per beam, so it keeps immutable dynamic caches.
  const cache0 = params.numBeams > 1 || !llm.decodeCache ? llm.emptyCache() : llm.decodeCache(promptIds.length, maxNew);
  const prefill = llm.forward(promptIds, cache0);
  // Set-up that does not need the prefill's logits is done while it runs (on the bound cache ORT works on another
  // thread): the statistics kernel (made, paged in and warmed up once per thread) and the seen-token set. Before,
  // they cost the first token of a generation 1–3 ms at a 53 k vocabulary and a 4 k prompt.
  let kernel = params.numBeams > 1 ? undefined : (llm.statsKernel ?? RowStats.shared(llm.spec.vocabSize));
  const seen = new SeenSet(vocab.size, promptIds);
  const first = await prefill;
  const prefillMs = performance.now() - t0;
  hooks.onProgress?.('prefill', promptIds.length, promptIds.length);

  if (params.numBeams > 1) {
    if (params.doSample) warnings.push('beam search is deterministic here: doSample is ignored when numBeams > 1');
    const r = await beamSearch(ctx, constraints, first, state, promptIds, params, maxNew, hooks);
    return { ...r, warnings: [...warnings, ...r.warnings], prefillMs, decodeMs: performance.now() - t0 - prefillMs };
  }

  const rng = new Xoshiro128(params.seed);
  const stopIds = stopIdsFor(vocab, params.constrain);
  const processorCache = new Map<Modality, { preset: SamplingPreset; list: LogitsProcessor[]; masksOnly: boolean }>();
  const processorsFor = (m: Modality) => {
    const key = params.constrain ? m : 'text';
    let e = processorCache.get(key);
    if (!e) {
      const preset = params.constrain ? presetInside(params, manifest, key) : params;
      const list = buildProcessors(preset, stopIds, preset.doSample);
      e = { preset, list, masksOnly: list.every((p) => p.masksOnly) };
      processorCache.set(key, e);
    }
    return e;
  };

  const generated: GeneratedStep[] = [];
  let stopReason: StopReason = 'max-new-tokens';
  let logits = first.logits;
  let cache: KvCache = first.cache;
  // Scratch rows reused every step (no per-token allocation in the loop besides the record itself). With
  // WebAssembly SIMD the raw and working rows live in the statistics kernel's memory (rowstats.ts).
  if (kernel && kernel.size !== logits.length) kernel = RowStats.shared(logits.length);
  const work = kernel?.work ?? new Float32Array(logits.length);
  let jsExps: Float64Array | undefined; // the JS path's exps (every step without the kernel, or with a value-changing processor)
  let tPrev = performance.now();
  for (let step = 0; step < maxNew; step++) {
    if (hooks.cancelled?.()) {
      stopReason = 'aborted';
      break;
    }
    const { preset, list, masksOnly } = processorsFor(state.modality);
    // Masking-only pipelines (constraints, min-new-tokens, top-k/p: the presets' default) use the kernel. On a
    // bound session ORT wrote the logits into one of the kernel's raw rows, so load() copies nothing; the scan
    // that finds the raw top-n and argmax writes the working copy in the same pass, and the masks follow.
    const onKernel = masksOnly ? kernel : undefined;
    let head: RowScan | undefined;
    if (onKernel) {
      onKernel.load(logits);
      head = onKernel.scanCopy(5);
    } else work.set(logits);
    if (params.constrain) constraints.apply(work, state);
    const pctx = { generated: step, seen };
    for (const p of list) p(work, pctx);
    let id: number;
    let raw: RawStats | undefined;
    let logZ = 0;
    // On the kernel the exp pass for the raw statistics (raw and working log Z, entropy, top log-probs) waits
    // until the next forward has started: greedy has its argmax from the scan (unless a mask removed it).
    let deferred: RowScan | undefined;
    if (head && !preset.doSample) {
      deferred = onKernel!.afterMasks(head, 5);
      id = deferred.id;
    } else if (head) {
      // A draw needs only the working row's Z and exps (the working log Z that the deferred finish() returns is
      // max + log zw, the same).
      const zw = onKernel!.maskedZ(head);
      if (zw > TINY_Z) {
        id = onKernel!.sample(rng.uniform(), zw);
        deferred = head;
      } else {
        ({ raw, logZ } = onKernel!.finish(head, true));
        id = sampleMultinomial(work, rng, logZ);
      }
    } else if (!preset.doSample && masksOnly) {
      // Greedy with masking-only processors (the common case): raw statistics, the masked log Z and the argmax
      // in a single pass over the raw and masked rows.
      ({ raw, id, logZ } = greedyStats(logits, work, 5));
    } else {
      const exps = (jsExps ??= new Float64Array(logits.length));
      raw = rawStats(logits, 5, exps);
      // Masking-only pipelines (constraints, min-new-tokens, top-k/p) reuse the raw exps: no second exp pass.
      logZ = masksOnly ? maskedLogZ(work, exps, raw.max) : logSumExp(work);
      id = preset.doSample
        ? masksOnly
          ? sampleMasked(work, exps, raw.max, logZ, rng)
          : sampleMultinomial(work, rng, logZ)
        : argmax(work);
    }
    // Read before the next forward starts: ORT overwrites `logits` in place on the bound cache.
    const rawAtId = head ? onKernel!.raw[id] : logits[id];
    const workAtId = work[id];
    seen.add(id);
    state = constraints.next(state, id);
    let more = true;
    if (id === vocab.eosId) {
      stopReason = 'eos';
      more = false;
    } else if (stopIds.has(id)) {
      stopReason = 'stop-token';
      more = false;
    } else if (step + 1 >= maxNew) {
      // An image has a fixed length, and a cut one cannot be decoded: with constraints on, finish it past
      // max_new_tokens (as far as the context allows) and say so.
      const left = params.constrain ? constraints.remainingToClose(state) : 0;
      if (left === 0 || cache.length + left > maxPos) more = false;
      else {
        maxNew += left;
        warnings.push(
          `generated ${left} token(s) past max_new_tokens (${params.maxNewTokens}) to finish the image span`,
        );
      }
    }
    if (more && cache.length + 1 > maxPos) {
      stopReason = 'context-full';
      more = false;
    }
    // The next forward starts before this step's record is finished: on the bound cache ORT runs on another
    // thread, so the statistics below cost no wall time (they read a raw row that the next run does not write).
    const pending = more ? llm.forward([id], cache) : undefined;
    try {
      if (deferred) ({ raw, logZ } = onKernel!.finish(deferred, false));
      const now = performance.now();
      const rec: GeneratedStep = {
        id,
        logprob: rawAtId - raw!.logZ,
        logprobSampled: workAtId - logZ,
        entropy: raw!.entropy,
        top: raw!.top.map((t) => ({ id: t.id, prob: Math.exp(t.logprob) })),
        stepMs: now - tPrev,
      };
      tPrev = now;
      generated.push(rec);
      hooks.onToken?.(rec);
    } catch (e) {
      await pending?.catch(() => undefined); // the session must be idle before the error leaves the loop
      throw e;
    }
    if (!pending) break;
    const next = await pending;
    logits = next.logits;
    cache = next.cache;
  }
  if (stopReason === 'max-new-tokens' && maxNew < params.maxNewTokens && generated.length === maxNew)
    stopReason = 'context-full';
  return { generated, stopReason, warnings, prefillMs, decodeMs: performance.now() - t0 - prefillMs };
}
