/** The fused raw-statistics pass (sampling.ts rawStats/expNeg) against a plain Math.exp reference. */
import assert from 'node:assert/strict';
import { Xoshiro128 } from '../../common/prng';
import {
  expNeg,
  greedyStats,
  maskedArgmaxLogZ,
  maskedLogZ,
  rawStats,
  sampleMasked,
} from '../../kernel/engine/sampling';

function reference(l: Float32Array, n: number) {
  let max = -Infinity;
  for (const x of l) max = Math.max(max, x);
  let z = 0;
  for (const x of l) z += Math.exp(x - max);
  const logZ = max + Math.log(z);
  let h = 0;
  for (const x of l) {
    const lp = x - logZ;
    if (lp > -Infinity) h -= Math.exp(lp) * lp;
  }
  const order = [...l.keys()].sort((a, b) => l[b] - l[a] || a - b).slice(0, n);
  return { max, logZ, entropy: h, top: order.map((id) => ({ id, logprob: l[id] - logZ })) };
}

describe('engine/sampling: fused raw statistics', () => {
  it('expNeg matches Math.exp to < 1e-8 relative on (−80, 0], and is 0 below', () => {
    let worst = 0;
    for (let i = 0; i <= 200000; i++) {
      const d = -80 * (i / 200000) + 1e-12;
      if (d > 0) continue;
      worst = Math.max(worst, Math.abs(expNeg(d) / Math.exp(d) - 1));
    }
    assert.ok(worst < 1e-8, `worst relative error ${worst}`);
    assert.equal(expNeg(0), 1);
    assert.equal(expNeg(-81), 0);
    assert.equal(expNeg(-Infinity), 0);
  });

  it('53 516-entry rows: log Z, entropy, top-5 (ids and log-probs) and exps as the reference', () => {
    const rng = new Xoshiro128(5);
    for (const spread of [0.5, 4, 20]) {
      const l = new Float32Array(53516);
      for (let i = 0; i < l.length; i++) l[i] = (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * spread;
      l[1234] = l[77]; // a tie inside the top-5 region is resolved by the lower id
      const exps = new Float64Array(l.length);
      const got = rawStats(l, 5, exps);
      const want = reference(l, 5);
      assert.equal(got.max, want.max);
      assert.ok(
        Math.abs(got.logZ - want.logZ) < 1e-9 * Math.max(1, Math.abs(want.logZ)),
        `logZ ${got.logZ} vs ${want.logZ}`,
      );
      assert.ok(Math.abs(got.entropy - want.entropy) < 1e-7, `entropy ${got.entropy} vs ${want.entropy}`);
      assert.deepEqual(
        got.top.map((t) => t.id),
        want.top.map((t) => t.id),
      );
      got.top.forEach((t, j) => assert.ok(Math.abs(t.logprob - want.top[j].logprob) < 1e-9));
      for (let i = 0; i < l.length; i += 997) {
        const e = Math.exp(l[i] - want.max);
        assert.ok(e < 1e-34 ? exps[i] === 0 : Math.abs(exps[i] / e - 1) < 1e-8);
      }
    }
  });

  it('rows with ties and -Infinity entries; more than 64 requested (beam candidates)', () => {
    const l = new Float32Array([3, -Infinity, 3, 1, -Infinity, 2]);
    const s = rawStats(l, 5);
    assert.deepEqual(
      s.top.map((t) => t.id),
      [0, 2, 5, 3],
    ); // only 4 finite entries
    const big = new Float32Array(500).map((_, i) => Math.sin(i));
    assert.deepEqual(
      rawStats(big, 100).top.map((t) => t.id),
      reference(big, 100).top.map((t) => t.id),
    );
  });

  it('a mask that keeps only entries far below the raw max falls back to exact arithmetic', () => {
    const l = new Float32Array([0, -200, -201]);
    const exps = new Float64Array(3);
    const raw = rawStats(l, 2, exps);
    const masked = new Float32Array([-Infinity, -200, -201]);
    const logZ = maskedLogZ(masked, exps, raw.max);
    assert.ok(Math.abs(logZ - (-200 + Math.log(1 + Math.exp(-1)))) < 1e-9);
    const id = sampleMasked(masked, exps, raw.max, logZ, new Xoshiro128(1));
    assert.ok(id === 1 || id === 2);
  });
});

describe('engine/sampling: greedyStats (one pass)', () => {
  it('equals rawStats + masked argmax/log Z on masked 53 516-entry rows', () => {
    const rng = new Xoshiro128(9);
    for (const spread of [0.5, 4, 30]) {
      const l = new Float32Array(53516);
      for (let i = 0; i < l.length; i++) l[i] = (rng.uniform() + rng.uniform() - 1) * spread;
      const masked = Float32Array.from(l);
      for (let i = 0; i < masked.length; i++) if (rng.uniform() < 0.3 || i === 0) masked[i] = -Infinity;
      const exps = new Float64Array(l.length);
      const raw = rawStats(l, 5, exps);
      const want = maskedArgmaxLogZ(masked, exps, raw.max);
      const got = greedyStats(l, masked, 5);
      assert.equal(got.id, want.id);
      assert.ok(Math.abs(got.logZ - want.logZ) < 1e-9 * Math.max(1, Math.abs(want.logZ)));
      assert.ok(Math.abs(got.raw.logZ - raw.logZ) < 1e-9 * Math.max(1, Math.abs(raw.logZ)));
      assert.ok(Math.abs(got.raw.entropy - raw.entropy) < 1e-7, `${got.raw.entropy} vs ${raw.entropy}`);
      assert.deepEqual(
        got.raw.top.map((t) => t.id),
        raw.top.map((t) => t.id),
      );
      got.raw.top.forEach((t, j) => assert.ok(Math.abs(t.logprob - raw.top[j].logprob) < 1e-8));
    }
  });
});
