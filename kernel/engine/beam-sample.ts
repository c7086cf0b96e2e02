/**
 * Beam-sample (numBeams > 1 with doSample): transformers' beam-sample as the version AnyGPT pins (4.34.1) runs
 * it, with our seeded PRNG instead of torch's. Upstream's chat default (config/generate_config.json: 5 beams,
 * sampling) is this. The semantics, read from that version's generation/utils.py and beam_search.py
 * (docs/engine.md "Beam-sample" lists them with the differences):
 *
 * - All numBeams beams start as copies of the prompt with score 0 (beam-sample, unlike beam search, does not
 *   give the copies -1e9), so the first step may pick the same token on several beams.
 * - Per beam: log-softmax of the raw logits → processors (constraints, min-new-tokens, repetition penalty: on
 *   the log-probs) → + the beam's running score → warpers (temperature, top-k with at least 2 kept, top-p) on that
 *   cumulative row.
 * - The numBeams rows are flattened into one distribution (softmax), 2·numBeams candidates are drawn from it
 *   without replacement, and ordered by their warped cumulative score (descending; draw order on ties).
 * - BeamSearchScorer: walking that order, a stop token ranked below numBeams closes a hypothesis scored
 *   score / (prompt + generated tokens before it)^lengthPenalty (a stop token ranked numBeams or lower is
 *   skipped); other candidates fill the next beams until numBeams are live. The hypotheses keep the numBeams
 *   best. The search is done when numBeams hypotheses exist and the worst of them ≥ the best candidate score
 *   / (current sequence length)^lengthPenalty (early_stopping false), or at maxNewTokens; then, if not done,
 *   every live beam becomes a hypothesis (its whole length), and the best hypothesis is the result.
 * - The beam score carried forward is the warped one: with temperature ≠ 1 it is rescaled every step, as upstream.
 *
 * Tokens are streamed only at the end, because until then no beam is final.
 */
import type { GenerationParams, StopReason } from '../../common/generation';
import type { Xoshiro128 } from '../../common/prng';
import type { ModalityConstraints, SpanState } from './constraints';
import { growBeams, type Beam } from './beam-grow';
import { stopIdsFor, type DecodeContext, type DecodeHooks } from './decode-context';
import type { StepResult } from './llm';
import type { GeneratedStep } from './record';
import {
  logSumExp,
  minNewTokens,
  rawStats,
  repetitionPenalty,
  SeenSet,
  temperature,
  topK,
  topP,
  type LogitsProcessor,
} from './sampling';

/** transformers' default; upstream's configs set none. */
export const LENGTH_PENALTY = 1;

interface Hypothesis {
  steps: GeneratedStep[];
  score: number;
  stopReason: StopReason;
}

/** transformers' BeamHypotheses (4.34): the numBeams best finished sequences and the early-stopping test. */
export class Hypotheses {
  readonly list: Hypothesis[] = [];
  private worst = 1e9;

  constructor(
    private readonly numBeams: number,
    private readonly lengthPenalty = LENGTH_PENALTY,
  ) {}

  /** `length`: the tokens of the sequence the score is divided by (prompt + generated, without the stop token). */
  add(h: Omit<Hypothesis, 'score'>, sumLogprobs: number, length: number): void {
    const score = sumLogprobs / Math.pow(length, this.lengthPenalty);
    if (this.list.length < this.numBeams || score > this.worst) {
      this.list.push({ ...h, score });
      if (this.list.length > this.numBeams) {
        // Sorted by (score, index): the lowest goes, the next lowest is the new worst.
        const order = this.list.map((x, i) => ({ s: x.score, i })).sort((a, b) => a.s - b.s || a.i - b.i);
        this.list.splice(order[0].i, 1);
        this.worst = order[1].s;
      } else this.worst = Math.min(score, this.worst);
    }
  }

  /** early_stopping=false: no live beam can still beat the worst kept hypothesis (transformers' heuristic). */
  isDone(bestCandidateScore: number, curLength: number): boolean {
    if (this.list.length < this.numBeams) return false;
    return this.worst >= bestCandidateScore / Math.pow(curLength, this.lengthPenalty);
  }

  /** The best: the highest score, the later one on ties (transformers sorts by score and pops the last). */
  best(): Hypothesis | undefined {
    let best: Hypothesis | undefined;
    for (const h of this.list) if (!best || h.score >= best.score) best = h;
    return best;
  }
}

/**
 * `count` draws without replacement from softmax(rows) over all rows together (one row per beam), in draw order:
 * each draw is an inverse-CDF pick with one uniform over the weights left. Fewer when fewer entries are finite.
 */
export function drawWithoutReplacement(
  rows: Float64Array[],
  count: number,
  rng: Xoshiro128,
): { row: number; id: number }[] {
  let max = -Infinity;
  for (const r of rows) for (let i = 0; i < r.length; i++) if (r[i] > max) max = r[i];
  const out: { row: number; id: number }[] = [];
  if (max === -Infinity) return out;
  const w = rows.map((r) => {
    const e = new Float64Array(r.length);
    for (let i = 0; i < r.length; i++) e[i] = r[i] === -Infinity ? 0 : Math.exp(r[i] - max);
    return e;
  });
  for (let k = 0; k < count; k++) {
    let total = 0;
    for (const e of w) for (let i = 0; i < e.length; i++) total += e[i];
    if (!(total > 0)) break;
    const target = rng.uniform() * total;
    let cum = 0;
    let pick: { row: number; id: number } | undefined;
    let last: { row: number; id: number } | undefined;
    outer: for (let b = 0; b < w.length; b++) {
      const e = w[b];
      for (let i = 0; i < e.length; i++) {
        if (e[i] === 0) continue;
        cum += e[i];
        last = { row: b, id: i };
        if (target < cum) {
          pick = last;
          break outer;
        }
      }
    }
    pick ??= last!; // rounding: cum ended just below total
    w[pick.row][pick.id] = 0;
    out.push(pick);
  }
  return out;
}

/** The warpers as transformers' _get_logits_warper builds them for beams (top-k keeps at least 2). */
export function beamWarpers(p: GenerationParams): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (p.temperature !== 1) list.push(temperature(p.temperature));
  if (p.topK > 0) list.push(topK(Math.max(p.topK, 2)));
  if (p.topP < 1) list.push(topP(p.topP));
  return list;
}

export async function beamSample(
  ctx: DecodeContext,
  constraints: ModalityConstraints,
  first: StepResult,
  startState: SpanState,
  promptIds: number[],
  params: GenerationParams,
  maxNew: number,
  hooks: DecodeHooks,
  rng: Xoshiro128,
): Promise<{ generated: GeneratedStep[]; stopReason: StopReason; warnings: string[] }> {
  const { vocab, llm } = ctx;
  const K = params.numBeams;
  const stopIds = stopIdsFor(vocab, params.constrain);
  const processors: LogitsProcessor[] = [];
  if (params.minNewTokens > 0) processors.push(minNewTokens(params.minNewTokens, stopIds));
  if (params.repetitionPenalty !== 1) processors.push(repetitionPenalty(params.repetitionPenalty));
  const warpers = beamWarpers(params);
  const seen0 = new SeenSet(vocab.size, promptIds);
  let beams: Beam[] = Array.from({ length: K }, () => ({
    steps: [],
    score: 0,
    logits: first.logits,
    cache: first.cache,
    state: startState,
    seen: seen0.clone(),
  }));
  const hyps = new Hypotheses(K);
  let done = false;
  let aborted = false;
  let tPrev = performance.now();

  for (let step = 0; step < maxNew && !done && beams.length > 0; step++) {
    if (hooks.cancelled?.()) {
      aborted = true;
      break;
    }
    const now = performance.now();
    const rows: Float64Array[] = [];
    const recs: ((id: number) => GeneratedStep)[] = [];
    for (const beam of beams) {
      const raw = rawStats(beam.logits);
      // log-softmax, then the processors on the log-probs (as transformers does for beams).
      const work = new Float32Array(beam.logits.length);
      for (let i = 0; i < work.length; i++) work[i] = beam.logits[i] - raw.logZ;
      if (params.constrain) constraints.apply(work, beam.state);
      for (const p of processors) p(work, { generated: step, seen: beam.seen });
      for (let i = 0; i < work.length; i++) work[i] += beam.score;
      for (const w of warpers) w(work, { generated: step, seen: beam.seen });
      const logZw = logSumExp(work);
      rows.push(Float64Array.from(work));
      const stepMs = (now - tPrev) / beams.length;
      recs.push((id) => ({
        id,
        logprob: beam.logits[id] - raw.logZ,
        logprobSampled: work[id] - logZw,
        entropy: raw.entropy,
        top: raw.top.map((t) => ({ id: t.id, prob: Math.exp(t.logprob) })),
        stepMs,
      }));
    }
    tPrev = now;
    const drawn = drawWithoutReplacement(rows, 2 * K, rng);
    // Descending by warped score; a stable sort keeps the draw order on ties.
    const cands = drawn.map((d) => ({ ...d, score: rows[d.row][d.id] })).sort((a, b) => b.score - a.score);
    const curLength = promptIds.length + step;
    const next: { parent: Beam; id: number; score: number; rec: GeneratedStep }[] = [];
    for (let rank = 0; rank < cands.length && next.length < K; rank++) {
      const c = cands[rank];
      const parent = beams[c.row];
      if (stopIds.has(c.id)) {
        if (rank >= K) continue;
        hyps.add(
          {
            steps: [...parent.steps, recs[c.row](c.id)],
            stopReason: c.id === vocab.eosId ? 'eos' : 'stop-token',
          },
          c.score,
          curLength,
        );
      } else next.push({ parent, id: c.id, score: c.score, rec: recs[c.row](c.id) });
    }
    if (cands.length && hyps.isDone(cands[0].score, curLength)) done = true;
    hooks.onProgress?.('beam', step + 1, maxNew);
    if (done) break;
    beams = await growBeams(next, llm, constraints, step + 1 >= maxNew);
  }
  if (!done)
    for (const b of beams)
      hyps.add(
        { steps: b.steps, stopReason: aborted ? 'aborted' : 'max-new-tokens' },
        b.score,
        promptIds.length + b.steps.length,
      );
  const best = hyps.best() ?? { steps: [], score: 0, stopReason: 'aborted' as StopReason };
  for (const s of best.steps) hooks.onToken?.(s);
  return { generated: best.steps, stopReason: aborted ? 'aborted' : best.stopReason, warnings: [] };
}
