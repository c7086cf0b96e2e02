/**
 * Audio measurements for the nano scorecard, in plain TypeScript: WAV reading (kernel/codecs/wav-io.ts), FFT,
 * pitch by harmonic product spectrum, chord pitch classes by iterative harmonic salience, MFCC and DTW.
 */
import { readFileSync } from 'node:fs';
import { bytesSource } from '../../kernel/codecs/byte-source';
import { resample } from '../../kernel/codecs/resample';
import { parseWavHeader, readWavFrames } from '../../kernel/codecs/wav-io';

export interface Audio {
  samples: Float32Array;
  sampleRate: number;
}

/** WAV bytes (or a path) → mono float samples (channels averaged), optionally resampled. */
export function readWav(input: Uint8Array | string, rate?: number): Audio {
  const bytes = typeof input === 'string' ? new Uint8Array(readFileSync(input)) : input;
  const src = bytesSource(bytes, typeof input === 'string' ? input : 'wav');
  const info = parseWavHeader(src);
  const ch = readWavFrames(src, info, 0, info.frames);
  let mono = ch[0];
  if (ch.length > 1) {
    mono = new Float32Array(info.frames);
    for (const c of ch) for (let i = 0; i < mono.length; i++) mono[i] += c[i] / ch.length;
  }
  if (rate && rate !== info.sampleRate) return { samples: resample(mono, info.sampleRate, rate), sampleRate: rate };
  return { samples: mono, sampleRate: info.sampleRate };
}

/** A sum of sines (for tests): partials [[hz, amplitude], …], 20 ms attack / 50 ms release like world.synth. */
export function synthTone(partials: [number, number][], seconds: number, sampleRate: number, peak = 0.5): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const y = new Float32Array(n);
  let max = 0;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    let v = 0;
    for (const [f, a] of partials) if (f < sampleRate / 2 - 500) v += a * Math.sin(2 * Math.PI * f * t);
    v *= Math.min(1, t / 0.02, (seconds - t) / 0.05);
    y[i] = v;
    max = Math.max(max, Math.abs(v));
  }
  if (max > 0) for (let i = 0; i < n; i++) y[i] *= peak / max;
  return y;
}

// ---------------------------------------------------------------- FFT

/** In-place iterative radix-2 complex FFT (length a power of two). */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n & (n - 1)) throw new RangeError(`fft length ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

export interface Spectrum {
  /** Magnitudes of bins 0..N/2. */
  mag: Float64Array;
  /** Hz per bin. */
  binHz: number;
}

/** Hann-windowed magnitude spectrum of the whole clip, zero-padded ×`pad` (to a power of two) for fine bins. */
export function spectrum(y: Float32Array, sampleRate: number, pad = 8): Spectrum {
  let n = 1;
  while (n < y.length * pad) n <<= 1;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const L = y.length;
  for (let i = 0; i < L; i++) re[i] = y[i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / Math.max(1, L - 1)));
  fft(re, im);
  const mag = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) mag[k] = Math.hypot(re[k], im[k]);
  return { mag, binHz: sampleRate / n };
}

/** Largest magnitude within ±cents of f (0 beyond Nyquist). */
function peakNear(s: Spectrum, f: number, cents: number): number {
  const lo = Math.max(0, Math.floor((f * 2 ** (-cents / 1200)) / s.binHz));
  const hi = Math.min(s.mag.length - 1, Math.ceil((f * 2 ** (cents / 1200)) / s.binHz));
  let m = 0;
  for (let k = lo; k <= hi; k++) if (s.mag[k] > m) m = s.mag[k];
  return m;
}

export const midiHz = (m: number) => 440 * 2 ** ((m - 69) / 12);
export const cents = (f: number, ref: number) => 1200 * Math.log2(f / ref);

export interface PitchEstimate {
  hz: number;
  /** Nearest MIDI note and the distance to it in cents. */
  midi: number;
  centsOff: number;
}

/**
 * Fundamental by harmonic product spectrum: for candidates f (1-cent grid over [minHz, maxHz]) the score is
 * Σ_{h=1..H} log(|X(h·f)| + floor) (the log of the product), with |X| the largest bin within ±15 cents of h·f and
 * the floor 1e-3 of the spectrum's maximum (so a missing weak harmonic costs a bounded amount). The winner is
 * refined by parabolic interpolation of log |X| around the strongest bin near it.
 * Default range: the world's notes C4–B5 (261.6–987.8 Hz) ± a semitone.
 */
export function detectPitch(
  y: Float32Array,
  sampleRate: number,
  opts: { minHz?: number; maxHz?: number; harmonics?: number } = {},
): PitchEstimate | undefined {
  const s = spectrum(y, sampleRate);
  const minHz = opts.minHz ?? midiHz(59);
  const maxHz = opts.maxHz ?? midiHz(84);
  const H = opts.harmonics ?? 3;
  let maxMag = 0;
  for (const v of s.mag) if (v > maxMag) maxMag = v;
  if (!(maxMag > 0)) return undefined;
  const floor = 1e-3 * maxMag;
  let best = -Infinity;
  let bestF = 0;
  for (let c = 0; ; c++) {
    const f = minHz * 2 ** (c / 1200);
    if (f > maxHz) break;
    let score = 0;
    for (let h = 1; h <= H; h++) score += Math.log((h * f < sampleRate / 2 ? peakNear(s, h * f, 15) : 0) + floor);
    if (score > best) [best, bestF] = [score, f];
  }
  // Refine: the strongest bin within ±30 cents, then a parabola through log magnitudes.
  const lo = Math.floor((bestF * 2 ** (-30 / 1200)) / s.binHz);
  const hi = Math.ceil((bestF * 2 ** (30 / 1200)) / s.binHz);
  let k = lo;
  for (let i = lo; i <= hi; i++) if (s.mag[i] > s.mag[k]) k = i;
  let hz = k * s.binHz;
  if (k > 0 && k < s.mag.length - 1) {
    const a = Math.log(s.mag[k - 1] + 1e-12);
    const b = Math.log(s.mag[k] + 1e-12);
    const c = Math.log(s.mag[k + 1] + 1e-12);
    const d = a - 2 * b + c;
    if (d < 0) hz = (k + (0.5 * (a - c)) / d) * s.binHz;
  }
  const midi = Math.round(69 + 12 * Math.log2(hz / 440));
  return { hz, midi, centsOff: cents(hz, midiHz(midi)) };
}

/**
 * Pitch classes of a chord: iterative harmonic salience over the candidate notes (default MIDI 60–84, the world's
 * range). salience(m) = Σ_{h=1..8} 0.8^(h−1) · |X(h·f_m)| (±30 cents). Take the most salient note, record its
 * pitch class, remove its partials (±40 cents around h·f, h = 1..16) from the spectrum, and repeat. The harmonic
 * sum favours the true fundamental over a ghost at its 3rd or 5th harmonic (a fifth or major third above, which
 * would otherwise turn a minor chord major); removing the partials stops one tone being counted twice.
 * Also returns the 12-bin chroma of the first-pass salience (diagnostic).
 */
export function detectChord(
  y: Float32Array,
  sampleRate: number,
  n = 3,
  opts: { minMidi?: number; maxMidi?: number } = {},
): { pitchClasses: number[]; notes: number[]; chroma: number[] } {
  const s = spectrum(y, sampleRate);
  const minM = opts.minMidi ?? 60;
  const maxM = opts.maxMidi ?? 84;
  const chroma = new Array(12).fill(0);
  const notes: number[] = [];
  const pcs: number[] = [];
  const salience = (m: number) => {
    let v = 0;
    for (let h = 1; h <= 8; h++) {
      const f = h * midiHz(m);
      if (f >= sampleRate / 2) break;
      v += 0.8 ** (h - 1) * peakNear(s, f, 30);
    }
    return v;
  };
  for (let m = minM; m <= maxM; m++) chroma[m % 12] += salience(m) ** 2;
  for (let it = 0; it < 12 && pcs.length < n; it++) {
    let best = -1;
    let bestM = minM;
    for (let m = minM; m <= maxM; m++) {
      const v = salience(m);
      if (v > best) [best, bestM] = [v, m];
    }
    if (!(best > 0)) break;
    notes.push(bestM);
    if (!pcs.includes(bestM % 12)) pcs.push(bestM % 12);
    for (let h = 1; h <= 16; h++) {
      const f = h * midiHz(bestM);
      const lo = Math.max(0, Math.floor((f * 2 ** (-40 / 1200)) / s.binHz));
      const hi = Math.min(s.mag.length - 1, Math.ceil((f * 2 ** (40 / 1200)) / s.binHz));
      for (let k = lo; k <= hi; k++) s.mag[k] = 0;
    }
  }
  const total = chroma.reduce((a, b) => a + b, 0) || 1;
  return { pitchClasses: pcs, notes, chroma: chroma.map((v) => Math.round((1000 * v) / total) / 1000) };
}

// ---------------------------------------------------------------- speech: trimming, MFCC, DTW

/** Drops leading/trailing frames (10 ms) quieter than −40 dB below the loudest, and scales the peak to 0.7. */
export function trimAndNormalise(y: Float32Array, sampleRate: number): Float32Array {
  const hop = Math.max(1, Math.round(sampleRate / 100));
  const frames = Math.ceil(y.length / hop);
  const rms = new Float64Array(frames);
  let max = 0;
  for (let f = 0; f < frames; f++) {
    let e = 0;
    const end = Math.min(y.length, (f + 1) * hop);
    for (let i = f * hop; i < end; i++) e += y[i] * y[i];
    rms[f] = Math.sqrt(e / Math.max(1, end - f * hop));
    max = Math.max(max, rms[f]);
  }
  if (!(max > 0)) return y.slice();
  const th = max * 0.01;
  let a = 0;
  let b = frames - 1;
  while (a < b && rms[a] < th) a++;
  while (b > a && rms[b] < th) b--;
  const out = y.slice(a * hop, Math.min(y.length, (b + 1) * hop));
  let peak = 0;
  for (const v of out) peak = Math.max(peak, Math.abs(v));
  if (peak > 0) for (let i = 0; i < out.length; i++) out[i] *= 0.7 / peak;
  return out;
}

/**
 * MFCCs as tools/nano/evaluate.py computes them: 25 ms Hann frames every 10 ms (at 16 kHz: 400 / 160, padded by
 * 200 each side), |FFT 512|², 26 triangular mel filters 50–8000 Hz (HTK mel), log, DCT-II → 13 coefficients (c0
 * included). Input at another rate is resampled to 16 kHz first.
 */
export function mfcc(y: Float32Array, sampleRate: number, nMels = 26, nCeps = 13): Float64Array[] {
  const x = sampleRate === 16000 ? y : resample(y, sampleRate, 16000);
  const win = 400;
  const hop = 160;
  const nfft = 512;
  const padded = new Float32Array(x.length + 400);
  padded.set(x, 200);
  const hann = new Float64Array(win);
  for (let i = 0; i < win; i++) hann[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (win - 1));
  const mel = (f: number) => 2595 * Math.log10(1 + f / 700);
  const lo = mel(50);
  const hi = mel(8000);
  const bins: number[] = [];
  for (let i = 0; i < nMels + 2; i++)
    bins.push(Math.floor(((700 * (10 ** ((lo + ((hi - lo) * i) / (nMels + 1)) / 2595) - 1)) / 8000) * 256));
  const fb = Array.from({ length: nMels }, (_, i) => {
    const row = new Float64Array(nfft / 2 + 1);
    const [a, b, c] = [bins[i], bins[i + 1], bins[i + 2]];
    for (let k = a; k < b; k++) row[k] = (k - a) / Math.max(b - a, 1);
    for (let k = b; k < c; k++) row[k] = (c - k) / Math.max(c - b, 1);
    return row;
  });
  const dct = Array.from({ length: nCeps }, (_, j) =>
    Float64Array.from({ length: nMels }, (_, k) => Math.cos((Math.PI / nMels) * (k + 0.5) * j)),
  );
  const out: Float64Array[] = [];
  const re = new Float64Array(nfft);
  const im = new Float64Array(nfft);
  const power = new Float64Array(nfft / 2 + 1);
  const logmel = new Float64Array(nMels);
  for (let start = 0; start + win <= padded.length; start += hop) {
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < win; i++) re[i] = padded[start + i] * hann[i];
    fft(re, im);
    for (let k = 0; k <= nfft / 2; k++) power[k] = re[k] * re[k] + im[k] * im[k];
    for (let m = 0; m < nMels; m++) {
      let e = 0;
      const row = fb[m];
      for (let k = 0; k <= nfft / 2; k++) e += row[k] * power[k];
      logmel[m] = Math.log(e + 1e-8);
    }
    out.push(Float64Array.from(dct, (row) => row.reduce((acc, w, k) => acc + w * logmel[k], 0)));
  }
  return out;
}

/** DTW with Euclidean frame distance and steps (1,0), (0,1), (1,1); cost / (n + m), as evaluate.py. */
export function dtw(a: Float64Array[], b: Float64Array[]): number {
  const n = a.length;
  const m = b.length;
  if (!n || !m) return Infinity;
  let prev = new Float64Array(m + 1).fill(Infinity);
  let cur = new Float64Array(m + 1);
  prev[0] = 0;
  for (let i = 1; i <= n; i++) {
    cur.fill(Infinity);
    const ai = a[i - 1];
    for (let j = 1; j <= m; j++) {
      const bj = b[j - 1];
      let d = 0;
      for (let k = 0; k < ai.length; k++) d += (ai[k] - bj[k]) ** 2;
      cur[j] = Math.sqrt(d) + Math.min(prev[j], cur[j - 1], prev[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[m] / (n + m);
}

/**
 * The median fundamental of a speech clip (YIN: de Cheveigné & Kawahara 2002) over its voiced frames: 25 ms windows
 * every 10 ms, the first lag whose cumulative-mean-normalised difference dips below 0.15 (then its local minimum,
 * refined by a parabola), frames quieter than a tenth of the loudest one's RMS skipped. detectPitch's whole-clip
 * spectrum suits held notes; speech glides, and there it read 13 of 16 espeak canonical-voice references (97–111 Hz by YIN)
 * at 190–400 Hz.
 */
export function speechF0(
  y: Float32Array,
  sampleRate: number,
  opts: { minHz?: number; maxHz?: number } = {},
): number | undefined {
  const W = Math.round(0.025 * sampleRate);
  const hop = Math.round(0.01 * sampleRate);
  const tauMin = Math.floor(sampleRate / (opts.maxHz ?? 400));
  const tauMax = Math.ceil(sampleRate / (opts.minHz ?? 70));
  const starts: number[] = [];
  const rms: number[] = [];
  for (let s = 0; s + W + tauMax <= y.length; s += hop) {
    let e = 0;
    for (let j = 0; j < W; j++) e += y[s + j] * y[s + j];
    starts.push(s);
    rms.push(Math.sqrt(e / W));
  }
  const loudest = Math.max(0, ...rms);
  const d = new Float64Array(tauMax + 2);
  const f0s: number[] = [];
  for (const [i, s] of starts.entries()) {
    if (!(rms[i] > 0.1 * loudest)) continue;
    for (let tau = 1; tau <= tauMax + 1; tau++) {
      let sum = 0;
      for (let j = 0; j < W; j++) {
        const diff = y[s + j] - y[s + j + tau];
        sum += diff * diff;
      }
      d[tau] = sum;
    }
    // Cumulative-mean normalisation, in place from tau 1.
    let running = 0;
    for (let tau = 1; tau <= tauMax + 1; tau++) {
      running += d[tau];
      d[tau] = running > 0 ? (d[tau] * tau) / running : 1;
    }
    let tau = tauMin;
    while (tau <= tauMax && d[tau] >= 0.15) tau++;
    if (tau > tauMax) continue; // unvoiced
    while (tau + 1 <= tauMax && d[tau + 1] < d[tau]) tau++;
    const [a, b, c] = [d[tau - 1], d[tau], d[tau + 1]];
    const den = a - 2 * b + c;
    const t = den > 0 ? tau + (0.5 * (a - c)) / den : tau;
    f0s.push(sampleRate / t);
  }
  if (f0s.length < 5) return undefined;
  f0s.sort((p, q) => p - q);
  return f0s[Math.floor(f0s.length / 2)];
}
