/**
 * Beam search (deterministic), for text outputs; upstream's chat default is 5 beams and ASR quality depends on it.
 *
 * Each beam keeps its own immutable KV cache, span state and seen-set; a step runs the model once per live beam
 * (batch 1, which is what the graph contract offers). Candidates: the 2·numBeams best continuations of every beam
 * under the processed distribution (constraints, min-new-tokens, repetition penalty — no warpers, as HF).
 * A hypothesis ends on EOS or a stop token; its score is sum(log p) / (generated length)^lengthPenalty
 * (lengthPenalty 1). The search stops when numBeams hypotheses are finished and no live beam can beat the worst
 * of them (HF's early_stopping=false heuristic), or at maxNewTokens (live beams then count as hypotheses).
 * Tokens are streamed only at the end, because until then no beam is final.
 */
import type { GenerationParams, StopReason } from '../../common/generation';
import type { ModalityConstraints, SpanState } from './constraints';
import { growBeams, type Beam } from './beam-grow';
import { stopIdsFor, type DecodeContext, type DecodeHooks } from './decode-context';
import type { StepResult } from './llm';
import type { GeneratedStep } from './record';
import { buildProcessors, logSumExp, rawStats, SeenSet } from './sampling';

interface Hypothesis {
  steps: GeneratedStep[];
  norm: number;
  stopReason: StopReason;
}

const LENGTH_PENALTY = 1;
const norm = (score: number, len: number) => score / Math.pow(Math.max(len, 1), LENGTH_PENALTY);

export async function beamSearch(
  ctx: DecodeContext,
  constraints: ModalityConstraints,
  first: StepResult,
  startState: SpanState,
  promptIds: number[],
  params: GenerationParams,
  maxNew: number,
  hooks: DecodeHooks,
): Promise<{ generated: GeneratedStep[]; stopReason: StopReason; warnings: string[] }> {
  const { vocab, llm } = ctx;
  const K = params.numBeams;
  const stopIds = stopIdsFor(vocab, params.constrain);
  const processors = buildProcessors(params, stopIds, false);
  let beams: Beam[] = [
    {
      steps: [],
      score: 0,
      logits: first.logits,
      cache: first.cache,
      state: startState,
      seen: new SeenSet(vocab.size, promptIds),
    },
  ];
  const finished: Hypothesis[] = [];
  let aborted = false;
  let tPrev = performance.now();

  for (let step = 0; step < maxNew && beams.length > 0; step++) {
    if (hooks.cancelled?.()) {
      aborted = true;
      break;
    }
    type Cand = { beam: Beam; id: number; total: number; rec: GeneratedStep };
    const cands: Cand[] = [];
    const now = performance.now();
    for (const beam of beams) {
      const raw = rawStats(beam.logits);
      const work = Float32Array.from(beam.logits);
      if (params.constrain) constraints.apply(work, beam.state);
      for (const p of processors) p(work, { generated: step, seen: beam.seen });
      const logZ = logSumExp(work);
      const best = rawStats(work, 2 * K).top; // top candidates of the processed distribution
      for (const c of best) {
        if (c.logprob === -Infinity || Number.isNaN(c.logprob)) continue;
        cands.push({
          beam,
          id: c.id,
          total: beam.score + c.logprob,
          rec: {
            id: c.id,
            logprob: beam.logits[c.id] - raw.logZ,
            logprobSampled: work[c.id] - logZ,
            entropy: raw.entropy,
            top: raw.top.map((t) => ({ id: t.id, prob: Math.exp(t.logprob) })),
            stepMs: (now - tPrev) / beams.length,
          },
        });
      }
    }
    tPrev = now;
    cands.sort((a, b) => b.total - a.total);
    const next: { parent: Beam; id: number; total: number; rec: GeneratedStep }[] = [];
    for (const c of cands) {
      if (next.length >= K) break;
      const steps = [...c.beam.steps, c.rec];
      if (stopIds.has(c.id)) {
        finished.push({
          steps,
          norm: norm(c.total, steps.length),
          stopReason: c.id === vocab.eosId ? 'eos' : 'stop-token',
        });
      } else next.push({ parent: c.beam, id: c.id, total: c.total, rec: c.rec });
    }
    hooks.onProgress?.('beam', step + 1, maxNew);
    finished.sort((a, b) => b.norm - a.norm);
    if (finished.length >= K) {
      const worstKept = finished[K - 1].norm;
      const bestAlive = next.length
        ? Math.max(...next.map((n) => norm(n.total, n.parent.steps.length + 1)))
        : -Infinity;
      if (bestAlive <= worstKept) {
        beams = [];
        break;
      }
    }
    beams = await growBeams(
      next.map((n) => ({ ...n, score: n.total })),
      llm,
      constraints,
      step + 1 >= maxNew,
    );
  }
  const pool: Hypothesis[] = [...finished];
  for (const b of beams)
    pool.push({
      steps: b.steps,
      norm: norm(b.score, b.steps.length),
      stopReason: aborted ? 'aborted' : 'max-new-tokens',
    });
  pool.sort((a, b) => b.norm - a.norm);
  const best = pool[0] ?? { steps: [], norm: 0, stopReason: 'aborted' as StopReason };
  for (const s of best.steps) hooks.onToken?.(s);
  return { generated: best.steps, stopReason: aborted ? 'aborted' : best.stopReason, warnings: [] };
}
