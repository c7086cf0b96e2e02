import assert from 'node:assert/strict';
import type { ImageSpec } from '../../common/manifest';
import { PndmScheduler, pndmTimesteps, scaledLinearAlphasCumprod } from '../../kernel/codecs/pndm';
import { noisingAlpha0, timestepEmbedding } from '../../kernel/codecs/unclip';
import { fixtureJson, loadManifest } from './fixtures';

interface SchedulerRef {
  timesteps: Record<string, number[]>;
  alphasCumprod: Record<string, number>;
  plms: { steps: number; sampleInit: number[]; trajectory: number[][] };
  noisingAlpha0: number;
  timestepEmbedding: { dim: number; t0: number[]; t100: number[] };
}

const ref = fixtureJson<SchedulerRef>('scheduler.json');
const config = (loadManifest().unclipDecoder as Extract<ImageSpec['decoder'], { kind: 'seed-unclip' }>).scheduler;

describe('codecs/pndm (PLMS, v-prediction) against the torch reference', () => {
  it('20 steps visit 21 timesteps: 951, 901, 901, 851, …, 1', () => {
    const ts = pndmTimesteps(20, 1000, 1);
    assert.equal(ts.length, 21);
    assert.deepEqual(ts.slice(0, 4), [951, 901, 901, 851]);
    assert.equal(ts[20], 1);
    assert.equal(new PndmScheduler(config, 20).evaluations, 21);
  });

  for (const steps of Object.keys(ref.timesteps))
    it(`timesteps for ${steps} steps match the fixture`, () =>
      assert.deepEqual(pndmTimesteps(Number(steps), 1000, 1), ref.timesteps[steps]));

  it('alphas_cumprod match torch float32 to float32 precision (relative 1e-6)', () => {
    const ac = scaledLinearAlphasCumprod(1000, 0.00085, 0.012);
    for (const [i, v] of Object.entries(ref.alphasCumprod))
      assert.ok(Math.abs(ac[Number(i)] - v) <= v * 1e-6, `alphas_cumprod[${i}]: ${ac[Number(i)]} vs ${v}`);
  });

  it('a 21-step PLMS trajectory on fixed inputs matches (every step)', () => {
    const s = new PndmScheduler(config, ref.plms.steps);
    let sample: Float32Array = Float32Array.from(ref.plms.sampleInit);
    s.timesteps.forEach((t, k) => {
      const out = Float32Array.from({ length: 16 }, (_, j) => 0.5 * Math.sin(0.11 * j + 0.7 * k));
      sample = s.step(out, t, sample);
      ref.plms.trajectory[k].forEach((v, j) =>
        assert.ok(Math.abs(sample[j] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `step ${k} [${j}]: ${sample[j]} vs ${v}`),
      );
    });
  });

  it('image-noising alpha at t=0 and the timestep embedding match', () => {
    assert.equal(noisingAlpha0(), ref.noisingAlpha0);
    const e0 = timestepEmbedding(0, ref.timestepEmbedding.dim);
    const e100 = timestepEmbedding(100, ref.timestepEmbedding.dim);
    ref.timestepEmbedding.t0.forEach((v, i) => assert.ok(Math.abs(e0[i] - v) < 1e-6));
    ref.timestepEmbedding.t100.forEach((v, i) => assert.ok(Math.abs(e100[i] - v) < 1e-5, `${i}: ${e100[i]} vs ${v}`));
    assert.deepEqual(Array.from(e0), [...new Array(8).fill(1), ...new Array(8).fill(0)]);
  });
});
