import assert from 'node:assert/strict';
import { Xoshiro128 } from '../../common/prng';
import {
  maskCounts,
  soundstormGenerate,
  soundstormPasses,
  type SoundStormConfig,
  type SoundStormNet,
} from '../../kernel/codecs/soundstorm';
import { fixtureJson } from './fixtures';

const ref = fixtureJson<{ counts: Record<string, Record<string, number[]>>; topkKept: Record<string, number> }>(
  'soundstorm.json',
);
const cfg: SoundStormConfig = { numAcoustic: 7, codebookSize: 32, maskId: 32, steps: 3, topkFraction: 0.7 };

/** A deterministic stand-in net: logits depend on the position, the code there and the condition. */
const fakeNet: SoundStormNet = async (codes, cond) => {
  const A = cfg.numAcoustic;
  const C = cfg.codebookSize;
  const out = new Float32Array(codes.length * C);
  for (let pos = 0; pos < codes.length; pos++) {
    const fr = Math.floor(pos / A);
    for (let c = 0; c < C; c++)
      out[pos * C + c] = Math.sin(0.7 * c + 1.3 * (pos % A) + 0.1 * cond[fr] + 0.01 * (codes[pos] % 33) * c);
  }
  return out;
};

describe('codecs/soundstorm', () => {
  it('mask counts per step match torch float32 for every L in the fixture', () => {
    for (const [steps, byL] of Object.entries(ref.counts))
      for (const [L, counts] of Object.entries(byL))
        assert.deepEqual(maskCounts(Number(L), Number(steps)), counts, `steps ${steps}, L ${L}`);
    assert.deepEqual(maskCounts(400, 3), [400, 346, 200, 0]);
  });

  it('makes (steps+1) passes for layer 0 and one per other layer, masking per the schedule', async () => {
    const calls: { layer: number; iteration: number; masked: number }[] = [];
    const semantic = Array.from({ length: 20 }, (_, i) => (i * 7) % 32);
    const out = await soundstormGenerate(fakeNet, semantic, cfg, {
      rng: new Xoshiro128(1),
      onNetCall: ({ layer, iteration, masked }) => calls.push({ layer, iteration, masked }),
    });
    assert.equal(calls.length, soundstormPasses(cfg));
    assert.equal(calls.length, 10);
    assert.deepEqual(
      calls.map((c) => c.layer),
      [0, 0, 0, 0, 1, 2, 3, 4, 5, 6],
    );
    // Pass 0: everything masked. Pass i ≥ 1 sees layers 1..6 fully masked (6·L) plus at most counts[i-1]
    // positions of layer 0 (the re-masking after pass i-1 ranks all L·7 positions).
    const L = 20;
    const counts = maskCounts(L, 3);
    assert.equal(calls[0].masked, 7 * L);
    for (let i = 1; i <= 3; i++) {
      assert.ok(calls[i].masked >= 6 * L && calls[i].masked <= 6 * L + counts[i - 1], `pass ${i}: ${calls[i].masked}`);
    }
    // Layers ≥ 1 see no mask ids at all (upstream fills every layer at the last layer-0 pass).
    for (let i = 4; i < 10; i++) assert.equal(calls[i].masked, 0);
    assert.equal(out.length, 8);
    assert.deepEqual(out[0], semantic);
    for (const row of out) {
      assert.equal(row.length, 20);
      for (const c of row) assert.ok(c >= 0 && c < 32);
    }
  });

  it('is deterministic under a seed and depends on it', async () => {
    const semantic = Array.from({ length: 30 }, (_, i) => (i * 5) % 32);
    const a = await soundstormGenerate(fakeNet, semantic, cfg, { rng: new Xoshiro128(42) });
    const b = await soundstormGenerate(fakeNet, semantic, cfg, { rng: new Xoshiro128(42) });
    assert.deepEqual(a, b);
    const others = await Promise.all(
      [1, 2, 3, 4].map((s) => soundstormGenerate(fakeNet, semantic, cfg, { rng: new Xoshiro128(s) })),
    );
    assert.ok(
      others.some((o) => JSON.stringify(o) !== JSON.stringify(a)),
      'gumbel noise at i ≥ 1 must make seeds matter',
    );
  });

  it('keeps voice-prompt frames in the net input and conditions on prompt + target semantics', async () => {
    const P = 6;
    const prompt = Array.from({ length: 8 }, (_, q) => Array.from({ length: P }, (_, p) => (q * 3 + p) % 32));
    const semantic = [1, 2, 3, 4, 5];
    const seen: Int32Array[] = [];
    const conds: Int32Array[] = [];
    const net: SoundStormNet = async (codes, cond) => {
      conds.push(cond.slice());
      return fakeNet(codes, cond);
    };
    const out = await soundstormGenerate(net, semantic, cfg, {
      prompt,
      rng: new Xoshiro128(3),
      onNetCall: ({ layer, codes }) => layer === 0 && seen.push(codes),
    });
    assert.equal(seen.length, 4);
    for (const codes of seen)
      for (let p = 0; p < P; p++)
        for (let a = 0; a < 7; a++)
          assert.equal(codes[p * 7 + a], prompt[a + 1][p], `prompt frame ${p} layer ${a + 1}`);
    for (const cond of conds) assert.deepEqual(Array.from(cond), [...prompt[0], ...semantic]);
    assert.equal(out[0].length, semantic.length);
    assert.equal(out.length, 8);
  });

  it('top-k keeps ceil((1-0.7)·C) logits as upstream', () => {
    assert.equal(Math.ceil((1 - 0.7) * 32), ref.topkKept['32']);
    assert.equal(Math.ceil((1 - 0.7) * 1024), ref.topkKept['1024']);
  });

  it('aborts between net passes', async () => {
    const ctl = new AbortController();
    await assert.rejects(
      soundstormGenerate(fakeNet, [1, 2, 3], cfg, {
        rng: new Xoshiro128(0),
        signal: ctl.signal,
        onProgress: (d) => d === 2 && ctl.abort(),
      }),
      /speech decoding was aborted/,
    );
  });
});
