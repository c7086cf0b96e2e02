/**
 * The logits pipeline: small composable processors with Hugging Face semantics, and the samplers.
 *
 * A processor edits a logits row in place (masked entries become -Infinity). The loop applies, in HF order:
 * constraints → min-new-tokens → repetition penalty, then — only when sampling — temperature → top-k → top-p.
 * Greedy decoding and beam search do not apply the warpers (as HF does not).
 */
import type { SamplingPreset } from '../../common/manifest';
import type { Xoshiro128 } from '../../common/prng';

/** What processors may look at besides the logits. */
export interface StepContext {
  /** Tokens generated so far (not counting the prompt). */
  generated: number;
  /** Distinct ids present in prompt + generated (for the repetition penalty). */
  seen: SeenSet;
}

/** `masksOnly`: the processor only sets entries to -Infinity (lets the loop reuse the raw row's exps). */
export type LogitsProcessor = ((logits: Float32Array, ctx: StepContext) => void) & { masksOnly?: boolean };

function masking(p: (logits: Float32Array, ctx: StepContext) => void): LogitsProcessor {
  return Object.assign(p, { masksOnly: true });
}

/** Distinct ids of a sequence, O(1) add/has and iteration over the ids present. */
export class SeenSet {
  private readonly flags: Uint8Array;
  readonly ids: number[] = [];

  constructor(size: number, initial: Iterable<number> = []) {
    this.flags = new Uint8Array(size);
    for (const id of initial) this.add(id);
  }

  add(id: number): void {
    if (!this.flags[id]) {
      this.flags[id] = 1;
      this.ids.push(id);
    }
  }

  has(id: number): boolean {
    return this.flags[id] === 1;
  }

  clone(): SeenSet {
    const s = new SeenSet(this.flags.length);
    for (const id of this.ids) s.add(id);
    return s;
  }
}

/** HF RepetitionPenaltyLogitsProcessor: every id already in the sequence gets l/p if l > 0, else l·p. */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  return (logits, ctx) => {
    if (penalty === 1) return;
    for (const id of ctx.seen.ids) {
      const l = logits[id];
      logits[id] = l > 0 ? l / penalty : l * penalty;
    }
  };
}

/** HF MinNewTokensLengthLogitsProcessor: the stop ids are banned until `min` tokens were generated. */
export function minNewTokens(min: number, stopIds: Iterable<number>): LogitsProcessor {
  const ids = [...stopIds];
  return masking((logits, ctx) => {
    if (ctx.generated < min) for (const id of ids) logits[id] = -Infinity;
  });
}

export function temperature(t: number): LogitsProcessor {
  return (logits) => {
    if (t === 1) return;
    for (let i = 0; i < logits.length; i++) logits[i] /= t;
  };
}

/** HF TopKLogitsWarper: keep the k largest (ties with the k-th are kept). */
export function topK(k: number): LogitsProcessor {
  return masking((logits) => {
    if (k <= 0 || k >= logits.length) return;
    const threshold = kthLargest(logits, k);
    for (let i = 0; i < logits.length; i++) if (logits[i] < threshold) logits[i] = -Infinity;
  });
}

/** HF TopPLogitsWarper: drop the least likely tokens whose cumulative probability is ≤ 1 − p (keep ≥ 1). */
export function topP(p: number): LogitsProcessor {
  return masking((logits) => {
    if (p >= 1) return;
    const idx: number[] = [];
    for (let i = 0; i < logits.length; i++) if (logits[i] !== -Infinity) idx.push(i);
    idx.sort((a, b) => logits[a] - logits[b]); // ascending, as HF
    const max = logits[idx[idx.length - 1]];
    let z = 0;
    for (const i of idx) z += Math.exp(logits[i] - max);
    let cum = 0;
    for (let j = 0; j < idx.length - 1; j++) {
      cum += Math.exp(logits[idx[j]] - max) / z;
      if (cum <= 1 - p) logits[idx[j]] = -Infinity;
      else break;
    }
  });
}

/** The k-th largest value (1-based) by quickselect on a copy; O(V) on average. */
export function kthLargest(values: Float32Array, k: number): number {
  const a = Float32Array.from(values);
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

/** Processors for one preset. `stopIds` are EOS and the template stop tokens. */
export function buildProcessors(p: SamplingPreset, stopIds: Iterable<number>, sampling: boolean): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (p.minNewTokens > 0) list.push(minNewTokens(p.minNewTokens, stopIds));
  if (p.repetitionPenalty !== 1) list.push(repetitionPenalty(p.repetitionPenalty));
  if (sampling) {
    if (p.temperature !== 1) list.push(temperature(p.temperature));
    if (p.topK > 0) list.push(topK(p.topK));
    if (p.topP < 1) list.push(topP(p.topP));
  }
  return list;
}

/** log-sum-exp of a row (float64 accumulation). */
export function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - max);
  return max + Math.log(s);
}

export interface RawStats {
  max: number;
  logZ: number;
  entropy: number;
  top: { id: number; logprob: number }[];
}

/** 2^(j/256) for j = 0 … 255. */
const POW2_FRAC = (() => {
  const t = new Float64Array(256);
  for (let j = 0; j < 256; j++) t[j] = Math.pow(2, j / 256);
  return t;
})();
/** 2^-k for k = 0 … 1023 (exact powers of two). */
const POW2_NEG = (() => {
  const t = new Float64Array(1024);
  for (let k = 0; k < t.length; k++) t[k] = Math.pow(2, -k);
  return t;
})();
/** Below this (d = l − max) an entry contributes < 2e-35 of Z: it is counted as 0 (no exp). */
const EXP_CUTOFF = -80;
const LOG2E_256 = 256 * Math.LOG2E;
const LN2_256 = Math.LN2 / 256;

/**
 * exp(d) for d ≤ 0 without Math.exp: with y = 256·d·log2 e and n = trunc(y) = 256·k + j (0 ≤ j < 256),
 * exp(d) = 2^k · 2^(j/256) · e^r, r = (y − n)·ln2/256 ∈ (−0.0028, 0], e^r ≈ 1 + r + r²/2.
 * Relative error < 4e-9 (float32 logits carry 6e-8); ≈ 2× cheaper than Math.exp in V8 (measured in bench/).
 */
export function expNeg(d: number): number {
  if (!(d > EXP_CUTOFF)) return 0; // also -Infinity and NaN
  const y = d * LOG2E_256;
  const n = y | 0;
  const r = (y - n) * LN2_256;
  return POW2_FRAC[n & 255] * POW2_NEG[-(n >> 8)] * (1 + r * (1 + r * 0.5));
}

/** The top-n (id, value) of a row by one compare per entry against the current n-th best; -Infinity entries are
 * never listed (-1 ids when fewer than n are finite). */
function topN(logits: Float32Array, n: number, ids: Int32Array, vals: Float64Array): void {
  ids.fill(-1);
  vals.fill(-Infinity);
  let thr = -Infinity;
  let filled = 0;
  for (let i = 0; i < logits.length; i++) {
    const l = logits[i];
    if (l > thr) {
      // insertion into the sorted (descending) list; equal values keep the lower id first
      let j = filled < n ? filled++ : n - 1;
      while (j > 0 && vals[j - 1] < l) {
        vals[j] = vals[j - 1];
        ids[j] = ids[j - 1];
        j--;
      }
      vals[j] = l;
      ids[j] = i;
      if (filled === n) thr = vals[n - 1];
    }
  }
}

const scratchIds = new Int32Array(64);
const scratchVals = new Float64Array(64);

/**
 * Entropy (nats), log Z and the top-n ids of softmax(logits). Two passes over the row: compares only (top-n,
 * whose first entry is the max), then one fused pass computing exp(l − max) (expNeg, no Math.exp), Z and
 * Σ e·(l − max) for the entropy. No allocation besides the returned record (scratch is module-level).
 * When `exps` is given it receives exp(l − max), so the loop can reuse it for a distribution that differs from
 * the raw one only by masking (see maskedLogZ / sampleMasked).
 */
export function rawStats(logits: Float32Array, n = 5, exps?: Float64Array): RawStats {
  const V = logits.length;
  const ids = n <= scratchIds.length ? scratchIds.subarray(0, n) : new Int32Array(n);
  const vals = n <= scratchVals.length ? scratchVals.subarray(0, n) : new Float64Array(n);
  topN(logits, n, ids, vals);
  const max = vals[0];
  if (!(max > -Infinity)) {
    if (exps) exps.fill(0);
    const top: { id: number; logprob: number }[] = [];
    for (let j = 0; j < n && j < V; j++) top.push({ id: ids[j] < 0 ? j : ids[j], logprob: NaN });
    return { max, logZ: -Infinity, entropy: NaN, top };
  }
  // entropy = log Z − Σ e·(l − max) / Z, with e = exp(l − max) and Z = Σ e.
  let z = 0;
  let t = 0;
  if (exps) {
    for (let i = 0; i < V; i++) {
      const d = logits[i] - max;
      const e = expNeg(d);
      exps[i] = e;
      z += e;
      if (e > 0) t += e * d;
    }
  } else {
    for (let i = 0; i < V; i++) {
      const d = logits[i] - max;
      const e = expNeg(d);
      z += e;
      if (e > 0) t += e * d;
    }
  }
  const logZ = max + Math.log(z);
  const entropy = Math.log(z) - t / z;
  const top: { id: number; logprob: number }[] = [];
  for (let j = 0; j < n && j < V; j++) {
    const id = ids[j];
    if (id < 0) break;
    top.push({ id, logprob: vals[j] - logZ });
  }
  return { max, logZ, entropy, top };
}

/** Below this Z (in exps' scale) the masked row kept only entries far below the raw max: recompute exactly. */
const TINY_Z = 1e-200;

/** log Z of `masked` when it equals the raw row except for -Infinity entries; `exps` from rawStats. */
export function maskedLogZ(masked: Float32Array, exps: Float64Array, rawMax: number): number {
  let z = 0;
  for (let i = 0; i < masked.length; i++) if (masked[i] !== -Infinity) z += exps[i];
  // Everything left is ≥ 80 nats below the raw max (counted as 0 by rawStats): exact log-sum-exp instead.
  if (!(z > TINY_Z)) return logSumExp(masked);
  return rawMax + Math.log(z);
}

/**
 * Greedy over a masked raw row in one pass: the argmax of `masked` and its log Z (as maskedLogZ), so greedy
 * decoding reads the row once after rawStats instead of twice.
 */
export function maskedArgmaxLogZ(
  masked: Float32Array,
  exps: Float64Array,
  rawMax: number,
): { id: number; logZ: number } {
  let z = 0;
  let best = 0;
  let bestV = masked[0];
  for (let i = 0; i < masked.length; i++) {
    const l = masked[i];
    if (l === -Infinity) continue;
    z += exps[i];
    if (l > bestV) {
      bestV = l;
      best = i;
    }
  }
  return { id: best, logZ: z > TINY_Z ? rawMax + Math.log(z) : logSumExp(masked) };
}

/**
 * Greedy decoding's whole per-token statistics in ONE pass over the raw row and its masked copy (masked = raw
 * except -Infinity entries): raw max / log Z / entropy / top-n (the record's fields), the masked row's log Z and
 * its argmax. Online softmax: sums are kept relative to the running max and rescaled by exp(old − new) when it
 * rises (O(log V) times for a typical row). Same results as rawStats + maskedArgmaxLogZ within float rounding.
 */
export function greedyStats(
  logits: Float32Array,
  masked: Float32Array,
  n = 5,
): { raw: RawStats; id: number; logZ: number } {
  const ids = n <= scratchIds.length ? scratchIds.subarray(0, n) : new Int32Array(n);
  const vals = n <= scratchVals.length ? scratchVals.subarray(0, n) : new Float64Array(n);
  ids.fill(-1);
  vals.fill(-Infinity);
  let thr = -Infinity;
  let filled = 0;
  let m = -Infinity;
  let z = 0;
  let t = 0;
  let zm = 0;
  let best = 0;
  let bestV = masked[0];
  for (let i = 0; i < logits.length; i++) {
    const l = logits[i];
    if (l > m) {
      if (m > -Infinity) {
        const r = expNeg(m - l);
        t = r * (t + (m - l) * z);
        z *= r;
        zm *= r;
      }
      m = l;
    }
    const d = l - m;
    const e = expNeg(d);
    z += e;
    if (e > 0) t += e * d;
    const w = masked[i];
    if (w !== -Infinity) {
      zm += e;
      if (w > bestV) {
        bestV = w;
        best = i;
      }
    }
    if (l > thr) {
      let j = filled < n ? filled++ : n - 1;
      while (j > 0 && vals[j - 1] < l) {
        vals[j] = vals[j - 1];
        ids[j] = ids[j - 1];
        j--;
      }
      vals[j] = l;
      ids[j] = i;
      if (filled === n) thr = vals[n - 1];
    }
  }
  if (!(m > -Infinity)) {
    const raw = rawStats(logits, n);
    return { raw, id: best, logZ: logSumExp(masked) };
  }
  const logZ = m + Math.log(z);
  const top: { id: number; logprob: number }[] = [];
  for (let j = 0; j < n; j++) {
    if (ids[j] < 0) break;
    top.push({ id: ids[j], logprob: vals[j] - logZ });
  }
  const raw = { max: m, logZ, entropy: Math.log(z) - t / z, top };
  return { raw, id: best, logZ: zm > TINY_Z ? m + Math.log(zm) : logSumExp(masked) };
}

/** Multinomial draw from a masked raw row, reusing the exps (no exp per entry). */
export function sampleMasked(
  masked: Float32Array,
  exps: Float64Array,
  rawMax: number,
  logZ: number,
  rng: Xoshiro128,
): number {
  const scale = Math.exp(logZ - rawMax); // Z in exps' scale
  if (!(scale > TINY_Z)) return sampleMultinomial(masked, rng, logZ); // see maskedLogZ
  const target = rng.uniform() * scale;
  let cum = 0;
  let last = -1;
  for (let i = 0; i < masked.length; i++) {
    if (masked[i] === -Infinity) continue;
    cum += exps[i];
    last = i;
    if (target < cum) return i;
  }
  return last;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Draws from softmax(logits) by inverse CDF with one uniform from the seeded PRNG. */
export function sampleMultinomial(logits: Float32Array, rng: Xoshiro128, logZ = logSumExp(logits)): number {
  const u = rng.uniform();
  let cum = 0;
  let last = -1;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] === -Infinity) continue;
    cum += Math.exp(logits[i] - logZ);
    last = i;
    if (u < cum) return i;
  }
  return last; // rounding: cum ended just below 1
}
