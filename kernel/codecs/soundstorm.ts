/**
 * SoundStorm acoustic generation (AnyGPT's vendored copy; docs/anygpt.md, "Speech"): MaskGIT over the first acoustic
 * layer with a cosine schedule, then one greedy pass per remaining layer, around a `net` that maps
 * frame-major codes plus semantic condition ids to logits.
 *
 * Upstream quirks kept on purpose, because the checkpoint was trained/tuned with them:
 *  - mask counts are floor(cos(π/2·i/steps)·L) over ALL L = prompt + target frames, computed in float32;
 *  - confidence ranking runs over all L·A positions (every layer), then layers above the current one are
 *    re-masked and prompt frames are never masked, so fewer than n positions of the layer may be masked;
 *  - the sampling branch (top-k filter, keep ceil((1−0.7)·C), gumbel at temperature i/steps, floored at
 *    1e-10 so i = 0 is effectively greedy) also supplies the probabilities the confidence uses;
 *  - passes for layers ≥ 1 write their argmax into that layer and every layer above it, prompt frames too.
 * Deterministic choices where torch leaves them open: ties in top-k and in the confidence ranking go to
 * the lower index; gumbel noise is drawn only for the kept top-k entries, in index order.
 */
import { MediaError, throwIfAborted } from './errors';
import type { Xoshiro128 } from '../../common/prng';

export interface SoundStormConfig {
  /** Acoustic layers generated (AnyGPT: 7). */
  numAcoustic: number;
  /** Codes per layer (AnyGPT: 1024). */
  codebookSize: number;
  /** Input id of a masked position (AnyGPT: 1024). */
  maskId: number;
  steps: number;
  /** top_k threshold: keep ceil((1 − topkFraction)·C) logits. */
  topkFraction: number;
}

/** codes [L·A] frame-major (maskId where masked), cond [L] → logits [L·A·C]. */
export type SoundStormNet = (codes: Int32Array, cond: Int32Array) => Promise<Float32Array>;

export interface SoundStormOptions {
  /** Voice prompt codes, layer-major [1 + A][P]: semantic layer then A acoustic layers. */
  prompt?: number[][];
  rng: Xoshiro128;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Test hook: sees every net input (codes are copied). */
  onNetCall?: (call: { layer: number; iteration: number; codes: Int32Array; masked: number }) => void;
}

const f = Math.fround;

/** Mask counts per iteration for L frames: (cos(linspace(0,1,steps+1)·π/2)·L).long() in float32. */
export function maskCounts(frames: number, steps: number): number[] {
  const n = steps + 1;
  const step = f(1 / steps);
  const half = Math.floor(n / 2);
  const pi = f(Math.PI);
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = i < half ? f(f(step * i)) : f(1 - f(step * (n - i - 1)));
    const p = f(Math.cos(f(f(t * pi) * 0.5)));
    counts.push(Math.trunc(f(p * frames)) + 0); // + 0: cos(π/2) is slightly negative, and -0 is not 0
  }
  return counts;
}

/** Net passes one generation makes: (steps + 1) for layer 0, then one per other acoustic layer. */
export function soundstormPasses(cfg: SoundStormConfig): number {
  return cfg.steps + 1 + (cfg.numAcoustic - 1);
}

/** Generates acoustic codes for `semantic`; returns layer-major [1 + A][N] (semantic layer first). */
export async function soundstormGenerate(
  net: SoundStormNet,
  semantic: readonly number[],
  cfg: SoundStormConfig,
  opts: SoundStormOptions,
): Promise<number[][]> {
  const A = cfg.numAcoustic;
  const C = cfg.codebookSize;
  const N = semantic.length;
  const prompt = opts.prompt;
  const P = prompt ? prompt[0].length : 0;
  if (prompt && (prompt.length !== A + 1 || prompt.some((row) => row.length !== P)))
    throw new MediaError(
      `the voice prompt must have ${A + 1} code layers of equal length; got ${prompt.length} layers`,
      'invalid-tokens',
    );
  const L = P + N;
  const cond = new Int32Array(L);
  const codes = new Int32Array(L * A).fill(cfg.maskId);
  let mask = new Uint8Array(L * A);
  for (let p = 0; p < P; p++) {
    cond[p] = prompt![0][p];
    for (let a = 0; a < A; a++) codes[p * A + a] = prompt![a + 1][p];
  }
  for (let n = 0; n < N; n++) cond[P + n] = semantic[n];
  mask.fill(1, P * A);
  const promptMask = mask.slice();
  const counts = maskCounts(L, cfg.steps);
  const keep = Math.ceil((1 - cfg.topkFraction) * C);
  const total = soundstormPasses(cfg);
  let done = 0;

  const ids = new Int32Array(L * A);
  const prob = new Float64Array(L * A);
  const sortBuf = new Float32Array(C);

  for (let q = 0; q < A; q++) {
    const iters = q < 1 ? counts : [0];
    for (let i = 0; i < iters.length; i++) {
      throwIfAborted(opts.signal, 'speech decoding');
      const nMask = iters[i];
      opts.onNetCall?.({ layer: q, iteration: i, codes: codes.slice(), masked: countMasked(codes, cfg.maskId) });
      const logits = await net(codes, cond);
      if (logits.length !== L * A * C)
        throw new MediaError(
          `the SoundStorm net returned ${logits.length} logits; expected ${L}·${A}·${C} = ${L * A * C}`,
          'model',
        );
      const greedy = q >= 1 || nMask === 0;
      const temperature = Math.max(i / cfg.steps, 1e-10);
      for (let pos = 0; pos < L * A; pos++) {
        const row = logits.subarray(pos * C, (pos + 1) * C);
        if (greedy) {
          ids[pos] = argmax(row);
          continue;
        }
        // top-k filter: the k-th largest value is the threshold; ties at it go to the lower index.
        sortBuf.set(row);
        sortBuf.sort();
        const thr = sortBuf[C - keep];
        let above = 0;
        for (let c = 0; c < C; c++) if (row[c] > thr) above++;
        let tiesLeft = keep - above;
        let best = -1;
        let bestScore = -Infinity;
        let rowMax = -Infinity;
        const kept: number[] = [];
        for (let c = 0; c < C; c++) {
          const v = row[c];
          if (v > thr || (v === thr && tiesLeft-- > 0)) {
            kept.push(c);
            if (v > rowMax) rowMax = v;
            const s = v / temperature + opts.rng.gumbel();
            if (s > bestScore) {
              bestScore = s;
              best = c;
            }
          }
        }
        const max = rowMax;
        let z = 0;
        for (const c of kept) z += Math.exp(row[c] - max);
        ids[pos] = best;
        prob[pos] = Math.exp(row[best] - max) / z;
      }
      opts.onProgress?.(++done, total);

      if (q >= 1) {
        for (let fr = 0; fr < L; fr++) for (let a = q; a < A; a++) codes[fr * A + a] = ids[fr * A + a];
        for (let fr = 0; fr < L; fr++) mask[fr * A + q] = 0;
        continue;
      }
      for (let pos = 0; pos < L * A; pos++) if (mask[pos]) codes[pos] = ids[pos];
      if (nMask === 0) continue;

      // Re-mask the nMask least confident positions (score = 1 − p, highest first; ties → lower index).
      const order = Array.from({ length: L * A }, (_, k) => k);
      order.sort((x, y) => prob[x] - prob[y] || x - y);
      const next = new Uint8Array(L * A);
      for (let r = 0; r < nMask && r < order.length; r++) next[order[r]] = 1;
      for (let fr = 0; fr < L; fr++) for (let a = q + 1; a < A; a++) next[fr * A + a] = 1;
      for (let pos = 0; pos < L * A; pos++) {
        next[pos] &= promptMask[pos];
        if (next[pos]) codes[pos] = cfg.maskId;
      }
      mask = next;
    }
  }

  const out: number[][] = [Array.from(semantic)];
  for (let a = 0; a < A; a++) {
    const row = new Array<number>(N);
    for (let n = 0; n < N; n++) row[n] = codes[(P + n) * A + a];
    out.push(row);
  }
  return out;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
}

function countMasked(codes: Int32Array, maskId: number): number {
  let n = 0;
  for (const c of codes) if (c === maskId) n++;
  return n;
}
