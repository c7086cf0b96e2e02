/**
 * The decode loop: prefill in one run, then one token per run with the KV cache.
 * It knows nothing of ONNX beyond LlmSession.forward, and nothing of workers: cancellation and streaming are hooks.
 *
 * Per step: raw logits → (record raw log-prob, entropy, top-5) → constraints → processors → greedy/multinomial.
 * With numBeams > 1 it runs beam search (beam.ts), or with doSample transformers' beam-sample (beam-sample.ts).
 */
import type { GenerationParams, StopReason } from '../../common/generation';
import { PER_MODALITY_FIELDS } from '../../common/knobs';
import type { Manifest, Modality, SamplingPreset } from '../../common/manifest';
import { beamSearch } from './beam';
import { beamSample } from './beam-sample';
import { ModalityConstraints, TEXT_STATE, type SpanState } from './constraints';
import { stopIdsFor, type DecodeContext, type DecodeHooks, type DecodeResult } from './decode-context';
import type { KvCache } from './llm';
import { Xoshiro128 } from '../../common/prng';
import type { GeneratedStep } from './record';
import { RowStats } from './rowstats';
import { buildProcessors, SeenSet, type LogitsProcessor } from './sampling';
import { PickerRows, pickerFor, type TokenPicker } from './token-picker';

export { stopIdsFor, type DecodeContext, type DecodeHooks, type DecodeResult };

/** The sampling fields a modality preset switches (length limits stay those of the request). */
export function presetInside(params: GenerationParams, manifest: Manifest, modality: Modality): SamplingPreset {
  if (modality === 'text' || modality === params.preset) return params;
  const p = manifest.presets[modality];
  return { ...params, ...Object.fromEntries(PER_MODALITY_FIELDS.map((f) => [f, p[f]])) };
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
    const r = params.doSample
      ? await beamSample(ctx, constraints, first, state, promptIds, params, maxNew, hooks, new Xoshiro128(params.seed))
      : await beamSearch(ctx, constraints, first, state, promptIds, params, maxNew, hooks);
    return { ...r, warnings: [...warnings, ...r.warnings], prefillMs, decodeMs: performance.now() - t0 - prefillMs };
  }

  const rng = new Xoshiro128(params.seed);
  const stopIds = stopIdsFor(vocab, params.constrain);
  const generated: GeneratedStep[] = [];
  let stopReason: StopReason = 'max-new-tokens';
  let logits = first.logits;
  let cache: KvCache = first.cache;
  // Scratch rows shared by the pickers, reused every step (no per-token allocation in the loop besides the record
  // itself). With WebAssembly SIMD the raw and working rows live in the statistics kernel's memory (rowstats.ts).
  if (kernel && kernel.size !== logits.length) kernel = RowStats.shared(logits.length);
  const rows = new PickerRows(logits.length, kernel);
  // Processors and picker are made once per preset (a modality span may switch it) and reused for every step.
  const stepCache = new Map<Modality, { list: LogitsProcessor[]; picker: TokenPicker }>();
  const stepperFor = (m: Modality) => {
    const key = params.constrain ? m : 'text';
    let e = stepCache.get(key);
    if (!e) {
      const preset: SamplingPreset = params.constrain ? presetInside(params, manifest, key) : params;
      const list = buildProcessors(preset, stopIds, preset.doSample);
      const picker = pickerFor({ doSample: preset.doSample, masksOnly: list.every((p) => p.masksOnly) }, rows);
      e = { list, picker };
      stepCache.set(key, e);
    }
    return e;
  };

  let tPrev = performance.now();
  for (let step = 0; step < maxNew; step++) {
    if (hooks.cancelled?.()) {
      stopReason = 'aborted';
      break;
    }
    const { list, picker } = stepperFor(state.modality);
    // Masking-only pipelines (constraints, min-new-tokens, top-k/p: the presets' default) run on the kernel,
    // which leaves the exp pass for the record's statistics to finish(), after the next forward has started.
    const work = picker.begin(logits);
    if (params.constrain) constraints.apply(work, state);
    const pctx = { generated: step, seen };
    for (const p of list) p(work, pctx);
    const id = picker.choose(rng);
    // Read before the next forward starts: ORT overwrites `logits` in place on the bound cache.
    const rawAtId = picker.rawAt(id);
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
      const { raw, logZ } = picker.finish();
      const now = performance.now();
      const rec: GeneratedStep = {
        id,
        logprob: rawAtId - raw.logZ,
        logprobSampled: workAtId - logZ,
        entropy: raw.entropy,
        top: raw.top.map((t) => ({ id: t.id, prob: Math.exp(t.logprob) })),
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
