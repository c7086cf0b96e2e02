/**
 * Band-limited sample-rate conversion: a Kaiser-windowed sinc low-pass evaluated in polyphase form.
 *
 * Why not linear interpolation: speech at 44.1 kHz resampled to 16 kHz must lose everything above 8 kHz
 * first, or it folds back as audible aliasing that the codec encodes. The filter's cutoff is
 * `rolloff · min(fromRate, toRate) / 2`, so it serves both directions. Integer rates make the ratio rational
 * (L/M after dividing by the gcd): output n sits at input position n·M/L, whose fractional part is one of
 * L phases, so the taps are computed once per phase. Each phase is normalised to unit DC gain. Samples
 * outside the signal count as zero. Output length is ceil(n·L/M).
 */
export interface ResampleOptions {
  /** Sinc zero crossings on each side of the centre (filter length ~ 2·zeroCrossings/cutoff). */
  zeroCrossings?: number;
  /** Cutoff as a fraction of the lower Nyquist frequency. */
  rolloff?: number;
  /** Kaiser window shape; 8.6 gives about 90 dB stop-band attenuation. */
  kaiserBeta?: number;
}

const MAX_TABLE_PHASES = 4096;

export function resample(x: Float32Array, fromRate: number, toRate: number, opts: ResampleOptions = {}): Float32Array {
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0)
    throw new RangeError(`sample rates must be positive integers, got ${fromRate} → ${toRate}`);
  if (fromRate === toRate) return x.slice();
  const zc = opts.zeroCrossings ?? 16;
  const rolloff = opts.rolloff ?? 0.945;
  const beta = opts.kaiserBeta ?? 8.6;
  const g = gcd(fromRate, toRate);
  const up = toRate / g; // L
  const down = fromRate / g; // M
  const fc = 0.5 * Math.min(1, up / down) * rolloff; // cycles per input sample
  const half = Math.ceil(zc / (2 * fc)); // taps each side, in input samples
  const taps = 2 * half;
  const i0b = besselI0(beta);

  const phaseTaps = (phase: number, into: Float64Array) => {
    const frac = phase / up;
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const d = half - 1 - j + frac; // distance from the output position to input sample (i0 - half + 1 + j)
      const r = d / half;
      let h = 0;
      if (Math.abs(r) < 1) {
        const a = 2 * fc * d;
        const sinc = a === 0 ? 1 : Math.sin(Math.PI * a) / (Math.PI * a);
        h = sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0b);
      }
      into[j] = h;
      sum += h;
    }
    for (let j = 0; j < taps; j++) into[j] /= sum;
  };

  const table = up <= MAX_TABLE_PHASES ? new Float64Array(up * taps) : undefined;
  if (table) for (let p = 0; p < up; p++) phaseTaps(p, table.subarray(p * taps, (p + 1) * taps));
  const scratch = new Float64Array(taps);

  const n = x.length;
  const outLen = Math.ceil((n * up) / down);
  const out = new Float32Array(outLen);
  for (let k = 0; k < outLen; k++) {
    // k*down can exceed 2^53 only for absurd lengths; inputs are capped long before that.
    const pos = k * down;
    const i0 = Math.floor(pos / up);
    const phase = pos - i0 * up;
    let h: Float64Array;
    if (table) h = table.subarray(phase * taps, (phase + 1) * taps);
    else {
      phaseTaps(phase, scratch);
      h = scratch;
    }
    const first = i0 - half + 1;
    const jStart = Math.max(0, -first);
    const jEnd = Math.min(taps, n - first);
    let acc = 0;
    for (let j = jStart; j < jEnd; j++) acc += h[j] * x[first + j];
    out[k] = acc;
  }
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for beta < 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}
