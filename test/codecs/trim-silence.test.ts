import assert from 'node:assert/strict';
import { trimSilence } from '../../kernel/codecs/trim-silence';
import { sine } from './fixtures';

const RATE = 16000;
const SPEC = { threshold: 0.005, padSeconds: 0.04 };
const PAD = 0.04 * RATE;
const silence = (seconds: number, noise = 0) =>
  Float32Array.from({ length: Math.round(seconds * RATE) }, (_, i) => noise * Math.sin(i * 1.7));
const concat = (...xs: Float32Array[]) => {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) out.set(x, (o += x.length) - x.length);
  return out;
};

describe('codecs: trimSilence (a package trained on trimmed clips)', () => {
  it('cuts long silence (and low noise) around the sound to the pad, keeping the sound sample for sample', () => {
    const tone = sine(220, RATE, 0.3);
    const x = concat(silence(0.7, 0.001), tone, silence(1.2));
    const y = trimSilence(x, RATE, SPEC);
    // The tone starts at sin(0) = 0: the cut lands on its first sample above the threshold, its last likewise.
    const first = tone.findIndex((v) => Math.abs(v) > 0.005 * 0.5);
    let last = tone.length - 1;
    while (Math.abs(tone[last]) <= 0.005 * 0.5) last--;
    assert.equal(y.length, PAD + (last - first + 1) + PAD);
    assert.deepEqual(y.subarray(PAD, PAD + last - first + 1), tone.subarray(first, last + 1));
    assert.ok(y.subarray(0, PAD).every((v) => v === 0) && y.subarray(y.length - PAD).every((v) => v === 0));
  });

  it('measures the threshold against the clip’s own peak, so a quiet recording is trimmed the same way', () => {
    const loud = concat(silence(0.5), sine(300, RATE, 0.2, 0.8), silence(0.5));
    const quiet = loud.map((v) => v / 100);
    assert.equal(trimSilence(quiet, RATE, SPEC).length, trimSilence(loud, RATE, SPEC).length);
  });

  it('ignores a click shorter than 20 ms before the sound', () => {
    const click = Float32Array.from({ length: 80 }, () => 0.9); // 5 ms
    const tone = sine(440, RATE, 0.25);
    const withClick = trimSilence(concat(silence(0.3), click, silence(0.3), tone, silence(0.3)), RATE, SPEC);
    const without = trimSilence(concat(silence(0.6), tone, silence(0.3)), RATE, SPEC);
    assert.equal(withClick.length, without.length);
  });

  it('leaves alone what it cannot or need not trim: digital silence, and a clip already within the pad', () => {
    const zeros = silence(1);
    assert.equal(trimSilence(zeros, RATE, SPEC), zeros);
    const tight = concat(silence(0.01), sine(200, RATE, 0.2), silence(0.01));
    assert.equal(trimSilence(tight, RATE, SPEC), tight);
  });
});
