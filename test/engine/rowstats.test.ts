/** The WebAssembly statistics kernel (kernel/engine/rowstats.ts) against sampling.ts, and its build. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Xoshiro128 } from '../../common/prng';
import { RowStats } from '../../kernel/engine/rowstats';
import { greedyStats, maskedLogZ, rawStats, sampleMasked } from '../../kernel/engine/sampling';

function fill(k: RowStats, rng: Xoshiro128, spread: number, maskEvery = 0): void {
  for (let i = 0; i < k.size; i++) k.raw[i] = (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * spread;
  k.work.set(k.raw);
  if (maskEvery) for (let i = 0; i < k.size; i += maskEvery) k.work[i] = -Infinity;
}

describe('engine/rowstats: WebAssembly SIMD statistics', () => {
  it('the committed rowstats-wasm.ts is what tools/build-wasm.mjs makes from rowstats.wat', () => {
    execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'tools', 'build-wasm.mjs'), '--check'], {
      stdio: 'pipe',
    });
  });

  for (const V of [53516, 1657, 7, 3]) {
    it(`V = ${V}: raw log Z, entropy, top-5, the masked log Z and argmax equal sampling.ts's`, () => {
      const k = RowStats.create(V)!;
      assert.ok(k, 'WebAssembly SIMD is available in Node 20');
      const rng = new Xoshiro128(V);
      for (const spread of [0.5, 4, 30]) {
        fill(k, rng, spread, 3);
        if (V > 100) k.raw[V - 2] = k.raw[77] = k.raw[1234 % V]; // ties resolve to the lower id
        k.work.set(k.raw);
        for (let i = 0; i < V; i += 3) k.work[i] = -Infinity;
        const got = k.stats(5, false)!;
        const want = greedyStats(k.raw, k.work, 5);
        assert.deepEqual(
          got.raw.top.map((t) => t.id),
          want.raw.top.map((t) => t.id),
          `spread ${spread}`,
        );
        assert.equal(got.raw.max, want.raw.max);
        assert.equal(got.id, want.id);
        assert.ok(Math.abs(got.raw.logZ - want.raw.logZ) < 1e-6, `logZ ${got.raw.logZ} vs ${want.raw.logZ}`);
        assert.ok(
          Math.abs(got.raw.entropy - want.raw.entropy) < 1e-6,
          `entropy ${got.raw.entropy} vs ${want.raw.entropy}`,
        );
        assert.ok(Math.abs(got.logZ - want.logZ) < 1e-6, `masked logZ ${got.logZ} vs ${want.logZ}`);
        got.raw.top.forEach((t, j) => assert.ok(Math.abs(t.logprob - want.raw.top[j].logprob) < 1e-6));
      }
    });
  }

  it('scanCopy + masks + afterMasks: the working row is the raw one, and the argmax equals a scan of the masked row (kept or masked away; ties to the lower id)', () => {
    for (const V of [53516, 1657, 7]) {
      const k = RowStats.create(V)!;
      const rng = new Xoshiro128(V + 1);
      for (const mask of ['none', 'argmax', 'every third'] as const) {
        fill(k, rng, 4);
        k.work.fill(123); // stale contents: scanCopy must overwrite every entry, the tail included
        if (V > 100) k.raw[V - 1] = k.raw[900] = k.raw[40] = 99; // the raw argmax, tied three times
        if (V > 100) k.raw[36] = k.raw[41] = NaN; // a NaN never wins (lanes 0 and 1 of the argmax's rounds)
        const head = k.scanCopy(5)!;
        assert.deepEqual(Array.from(k.work), Array.from(k.raw), `${V} ${mask}: work = raw`);
        const ref = greedyStats(k.raw, k.raw, 5);
        assert.equal(head.id, ref.id);
        assert.deepEqual(
          k.finish(head, false).raw.top.map((t) => t.id),
          ref.raw.top.map((t) => t.id),
        );
        if (mask === 'argmax') k.work[head.id] = -Infinity;
        if (mask === 'every third') for (let i = 0; i < V; i += 3) k.work[i] = -Infinity;
        const settled = k.afterMasks(head, 5);
        const want = greedyStats(k.raw, k.work, 5);
        assert.equal(settled.id, want.id, `${V} ${mask}: argmax after masks`);
        assert.equal(k.finish(settled, false).logZ, k.stats(5, false)!.logZ);
      }
      if (V > 100) assert.equal(k.raw[40], 99);
    }
  });

  it("maskedZ: the bits of finish()'s working Z, and draws from its exps equal draws from finish()'s (sparse and dense masks, rows with a tail)", () => {
    for (const V of [53516, 1657, 7]) {
      const k = RowStats.create(V)!;
      const rng = new Xoshiro128(V + 2);
      for (const keep of [(i: number) => i % 997 === 5 || i === V - 1, (i: number) => i % 3 !== 0, () => true]) {
        fill(k, rng, 5);
        for (let i = 0; i < V; i++) if (!keep(i)) k.work[i] = -Infinity;
        const head = k.scan(5)!;
        const zw = k.maskedZ(head);
        const u = [0, 0.001, 0.37, 0.5, 0.999999];
        const fromMasked = u.map((x) => k.sample(x, zw));
        const full = k.finish(head, true);
        assert.equal(zw, full.zw, `V ${V}: the same bits`);
        assert.deepEqual(
          fromMasked,
          u.map((x) => k.sample(x, full.zw)),
          `V ${V}: the same draws`,
        );
        for (const id of fromMasked) assert.ok(k.work[id] > -Infinity);
      }
    }
  });

  it('rows with -Infinity entries, fewer finite entries than n, up to 64 requested; an all -Infinity row is left to sampling.ts', () => {
    const k = RowStats.create(10)!;
    k.raw.set([3, -Infinity, 3, 1, -Infinity, 2, -Infinity, -Infinity, -Infinity, 0.5]);
    k.work.set(k.raw);
    k.work[0] = -Infinity;
    const got = k.stats(64, false)!;
    const want = rawStats(k.raw, 64);
    assert.deepEqual(
      got.raw.top.map((t) => t.id),
      want.top.map((t) => t.id),
    );
    assert.deepEqual(
      got.raw.top.map((t) => t.id),
      [0, 2, 5, 3, 9],
    );
    assert.equal(got.id, 2, 'first argmax of the masked row');
    k.raw.fill(-Infinity);
    assert.equal(k.stats(5, false), undefined);
    assert.throws(() => k.stats(65, false), RangeError);
  });

  it('sampling: the same draws as sampleMasked for the same uniforms (except within float32 rounding of a boundary)', () => {
    const V = 53516;
    const k = RowStats.create(V)!;
    const rng = new Xoshiro128(9);
    fill(k, rng, 3, 0);
    for (let i = 0; i < V; i++) if (i % 7 !== 0) k.work[i] = -Infinity; // a top-k-like mask
    const got = k.stats(5, true)!;
    const exps = new Float64Array(V);
    const raw = rawStats(k.raw, 5, exps);
    const logZ = maskedLogZ(k.work, exps, raw.max);
    assert.ok(Math.abs(got.logZ - logZ) < 1e-6);
    const a = new Xoshiro128(4);
    const b = new Xoshiro128(4);
    let differ = 0;
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const x = k.sample(a.uniform(), got.zw);
      const y = sampleMasked(k.work, exps, raw.max, logZ, b);
      if (x !== y) differ++;
      assert.ok(k.work[x] > -Infinity, 'a draw is never a masked entry');
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    assert.ok(differ <= 2, `${differ} of 2000 draws differ`);
    assert.ok(counts.size > 100, 'draws spread over the unmasked entries');
  });

  it('the kernel is deterministic: the same row gives the same bits', () => {
    const k1 = RowStats.create(4099)!;
    const k2 = RowStats.create(4099)!;
    fill(k1, new Xoshiro128(2), 5, 4);
    k2.raw.set(k1.raw);
    k2.work.set(k1.work);
    assert.deepEqual(k1.stats(8, true), k2.stats(8, true));
  });
});
