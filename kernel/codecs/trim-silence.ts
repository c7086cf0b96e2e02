/**
 * Cuts leading and trailing near-silence from a waveform and pads it back to a fixed margin of digital silence:
 * the preprocessing a package's speech was trained with (manifest `speech.trimSilence`; nano's clips went through
 * sox `silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse … pad 0.04 0.04`). A model that never heard long
 * pauses around its clips reads them as extra words.
 */
import type { TrimSilenceSpec } from '../../common/manifest';

/** Loud enough for this long (seconds) counts as sound; a shorter click does not. */
const MIN_SOUND_SECONDS = 0.02;
const FRAME_SECONDS = 0.005;

/** The trimmed waveform; the input itself when it holds no run of sound (or nothing to cut). */
export function trimSilence(x: Float32Array, rate: number, spec: TrimSilenceSpec): Float32Array {
  let peak = 0;
  for (const v of x) peak = Math.max(peak, Math.abs(v));
  if (!(peak > 0)) return x;
  const level = spec.threshold * peak;
  const frame = Math.max(1, Math.round(FRAME_SECONDS * rate));
  const frames = Math.ceil(x.length / frame);
  const loud = new Uint8Array(frames);
  for (let f = 0; f < frames; f++) {
    const end = Math.min(x.length, (f + 1) * frame);
    for (let i = f * frame; i < end; i++)
      if (Math.abs(x[i]) > level) {
        loud[f] = 1;
        break;
      }
  }
  const run = Math.max(1, Math.round(MIN_SOUND_SECONDS / FRAME_SECONDS));
  const startsRun = (f: number, step: 1 | -1) => {
    for (let k = 0; k < run; k++) if (!loud[f + k * step]) return false;
    return true;
  };
  let first = -1;
  for (let f = 0; f + run <= frames; f++)
    if (startsRun(f, 1)) {
      first = f;
      break;
    }
  if (first < 0) return x;
  let last = first;
  for (let f = frames - 1; f - run + 1 >= first; f--)
    if (startsRun(f, -1)) {
      last = f;
      break;
    }
  // Within the edge frames, cut at the first and last loud sample.
  let a = first * frame;
  while (Math.abs(x[a]) <= level) a++;
  let b = Math.min(x.length, (last + 1) * frame) - 1;
  while (Math.abs(x[b]) <= level) b--;
  const pad = Math.round(spec.padSeconds * rate);
  if (a <= pad && x.length - 1 - b <= pad) return x;
  const out = new Float32Array(pad + (b - a + 1) + pad);
  out.set(x.subarray(a, b + 1), pad);
  return out;
}
