/**
 * The PNDM/PLMS schedule and the unCLIP noise-level pieces against diffusers 0.20.2 itself: the numbers in
 * test/fixtures/upstream/unclip/reference.json were made by diffusers' PNDMScheduler, DDPMScheduler and
 * get_timestep_embedding with the SD 2.1 unCLIP scheduler configs (tools/convert/oracle/make_fixtures.py
 * --only unclip). No Python runs here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PndmScheduler, pndmTimesteps, scaledLinearAlphasCumprod, type PndmConfig } from '../../kernel/codecs/pndm';
import { noisingAlpha0, timestepEmbedding } from '../../kernel/codecs/unclip';

const REF = path.join(__dirname, '..', 'fixtures', 'upstream', 'unclip', 'reference.json');
const s = JSON.parse(readFileSync(REF, 'utf8')).scheduler as {
  config: Record<string, number | string | boolean>;
  timesteps: Record<string, number[]>;
  alphasCumprod: number[];
  plms: { steps: number; sampleInit: number[]; trajectory: number[][] };
  noising: { alphasCumprod0: number };
  timestepEmbedding: { dim: number; '0': number[]; '100': number[] };
};
const config: PndmConfig = {
  numTrainTimesteps: s.config.num_train_timesteps as number,
  betaStart: s.config.beta_start as number,
  betaEnd: s.config.beta_end as number,
  betaSchedule: 'scaled_linear',
  stepsOffset: s.config.steps_offset as number,
  setAlphaToOne: s.config.set_alpha_to_one as boolean,
  predictionType: s.config.prediction_type as PndmConfig['predictionType'],
};
assert.equal(s.config.beta_schedule, 'scaled_linear');

describe('codecs/pndm against upstream diffusers 0.20.2 (PNDMScheduler, skip_prk_steps, v-prediction)', () => {
  for (const [steps, want] of Object.entries(s.timesteps))
    it(`${steps} steps: the timesteps diffusers visits`, () => {
      assert.deepEqual(pndmTimesteps(Number(steps), config.numTrainTimesteps, config.stepsOffset), want);
      assert.deepEqual(new PndmScheduler(config, Number(steps)).timesteps, want);
    });

  it('all 1000 alphas_cumprod within float32 precision (relative 1e-6)', () => {
    const ac = scaledLinearAlphasCumprod(config.numTrainTimesteps, config.betaStart, config.betaEnd);
    s.alphasCumprod.forEach((v, i) => assert.ok(Math.abs(ac[i] - v) <= 1e-6 * v, `[${i}] ${ac[i]} vs ${v}`));
  });

  it('a 20-step PLMS run (21 model evaluations) matches PNDMScheduler.step at every step', () => {
    const sch = new PndmScheduler(config, s.plms.steps);
    let sample: Float32Array = Float32Array.from(s.plms.sampleInit);
    sch.timesteps.forEach((t, k) => {
      const out = Float32Array.from({ length: 16 }, (_, j) => 0.5 * Math.sin(0.11 * j + 0.7 * k));
      sample = sch.step(out, t, sample);
      s.plms.trajectory[k].forEach((v, j) =>
        assert.ok(Math.abs(sample[j] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `step ${k} [${j}]: ${sample[j]} vs ${v}`),
      );
    });
  });

  it('image-noising DDPM alphas_cumprod[0] (squaredcos_cap_v2) and get_timestep_embedding(flip_sin_to_cos)', () => {
    assert.ok(Math.abs(noisingAlpha0() - s.noising.alphasCumprod0) <= 1e-7, `${noisingAlpha0()}`);
    const d = s.timestepEmbedding.dim;
    for (const t of [0, 100] as const) {
      const got = timestepEmbedding(t, d);
      s.timestepEmbedding[t].forEach((v, i) =>
        assert.ok(Math.abs(got[i] - v) <= 1e-5, `t=${t} [${i}]: ${got[i]} vs ${v}`),
      );
    }
  });
});
