/**
 * PNDM scheduler in its PLMS form (skip_prk_steps), as Stable Diffusion 2.1 unCLIP runs it (docs/anygpt.md, "Images"):
 * "leading" timestep spacing plus steps_offset, the second-to-last timestep evaluated twice (so N steps
 * cost N+1 model evaluations), v-prediction converted to epsilon inside the update, and linear multistep
 * combinations of up to four past outputs.
 *
 * The beta/alpha tables are computed the way torch does in float32 (diffusers builds them with
 * torch.linspace(..., dtype=float32) ** 2 and torch.cumprod), so our alphas match the reference to float32
 * precision, relative 1e-6 (torch's vectorised linspace uses fused multiply-adds in 8-wide blocks, which we do not
 * imitate); the update itself runs in float64.
 */
import type { ImageSpec } from '../../common/manifest';

export type PndmConfig = Extract<ImageSpec['decoder'], { kind: 'seed-unclip' }>['scheduler'];

const f = Math.fround;

/** torch.linspace(start, end, n, dtype=float32) on CPU. */
export function linspaceF32(start: number, end: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (n - 1));
  const halfway = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < halfway ? f(s + f(step * i)) : f(e - f(step * (n - i - 1)));
  return out;
}

/** alphas_cumprod for the scaled_linear schedule, as float32 values. */
export function scaledLinearAlphasCumprod(numTrain: number, betaStart: number, betaEnd: number): Float64Array {
  const sq = linspaceF32(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrain);
  const out = new Float64Array(numTrain);
  let acc = 1; // torch's CPU cumprod accumulates in double and rounds each output to float
  for (let i = 0; i < numTrain; i++) {
    const beta = f(sq[i] * sq[i]);
    acc *= f(1 - beta);
    out[i] = f(acc);
  }
  return out;
}

/** Timesteps PLMS visits for `steps` inference steps: e.g. 20 → 951, 901, 901, 851, …, 51, 1 (21 values). */
export function pndmTimesteps(steps: number, numTrain: number, offset: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > numTrain)
    throw new RangeError(`steps must be an integer in 1..${numTrain}, got ${steps}`);
  const ratio = Math.floor(numTrain / steps);
  const leading = Array.from({ length: steps }, (_, i) => i * ratio + offset);
  return [...leading.slice(0, -1), ...leading.slice(-2, -1), ...leading.slice(-1)].reverse();
}

export class PndmScheduler {
  readonly timesteps: number[];
  readonly alphasCumprod: Float64Array;
  private readonly finalAlpha: number;
  private readonly ratio: number;
  private ets: Float64Array[] = [];
  private counter = 0;
  private held?: Float64Array;

  constructor(
    readonly config: PndmConfig,
    readonly steps: number,
  ) {
    this.alphasCumprod = scaledLinearAlphasCumprod(config.numTrainTimesteps, config.betaStart, config.betaEnd);
    this.finalAlpha = config.setAlphaToOne ? 1 : this.alphasCumprod[0];
    this.ratio = Math.floor(config.numTrainTimesteps / steps);
    this.timesteps = pndmTimesteps(steps, config.numTrainTimesteps, config.stepsOffset);
  }

  /** Model evaluations one run needs (= timesteps.length). */
  get evaluations(): number {
    return this.timesteps.length;
  }

  /** One PLMS update: model output at `timestep` and the current sample → the previous (less noisy) sample. */
  step(modelOutput: ArrayLike<number>, timestep: number, sample: ArrayLike<number>): Float32Array {
    let t = timestep;
    let prev = t - this.ratio;
    const out = Float64Array.from(modelOutput);
    let cur: Float64Array = Float64Array.from(sample);
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(out);
    } else {
      // The repeated timestep: the update goes from t+ratio to t using the average of both outputs.
      prev = t;
      t = t + this.ratio;
    }
    const e = this.ets;
    const n = out.length;
    const combined = new Float64Array(n);
    if (e.length === 1 && this.counter === 0) {
      combined.set(out);
      this.held = cur;
    } else if (e.length === 1 && this.counter === 1) {
      for (let i = 0; i < n; i++) combined[i] = (out[i] + e[0][i]) / 2;
      cur = this.held!;
      this.held = undefined;
    } else if (e.length === 2) {
      for (let i = 0; i < n; i++) combined[i] = (3 * e[1][i] - e[0][i]) / 2;
    } else if (e.length === 3) {
      for (let i = 0; i < n; i++) combined[i] = (23 * e[2][i] - 16 * e[1][i] + 5 * e[0][i]) / 12;
    } else {
      for (let i = 0; i < n; i++) combined[i] = (55 * e[3][i] - 59 * e[2][i] + 37 * e[1][i] - 9 * e[0][i]) / 24;
    }
    this.counter++;
    return this.previousSample(cur, t, prev, combined);
  }

  private previousSample(sample: Float64Array, t: number, prev: number, out: Float64Array): Float32Array {
    const aT = this.alphasCumprod[t];
    const aP = prev >= 0 ? this.alphasCumprod[prev] : this.finalAlpha;
    const bT = 1 - aT;
    const bP = 1 - aP;
    const v = this.config.predictionType === 'v_prediction';
    const coeff = Math.sqrt(aP / aT);
    const denom = aT * Math.sqrt(bP) + Math.sqrt(aT * bT * aP);
    const res = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const eps = v ? Math.sqrt(aT) * out[i] + Math.sqrt(bT) * sample[i] : out[i];
      res[i] = coeff * sample[i] - ((aP - aT) * eps) / denom;
    }
    return res;
  }
}
