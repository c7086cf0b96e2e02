/**
 * The token pickers decode() chooses once per preset (kernel/engine/token-picker.ts): every fast picker against
 * the reference picker (sampling.ts's plain passes) on the same rows, masks and uniforms.
 */
import assert from 'node:assert/strict';
import { Xoshiro128 } from '../../common/prng';
import { RowStats } from '../../kernel/engine/rowstats';
import { topK } from '../../kernel/engine/sampling';
import { SeenSet } from '../../kernel/engine/sampling';
import {
  JsGreedyPicker,
  KernelGreedyPicker,
  KernelSamplingPicker,
  PickerRows,
  pickerFor,
  ReferencePicker,
  type TokenPicker,
} from '../../kernel/engine/token-picker';

type Mask = 'none' | 'every third' | 'top-k 40' | 'all but one';

function row(rng: Xoshiro128, V: number, spread: number): Float32Array {
  const l = new Float32Array(V);
  for (let i = 0; i < V; i++) l[i] = (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * spread;
  return l;
}

function applyMask(work: Float32Array, mask: Mask): void {
  if (mask === 'every third') for (let i = 0; i < work.length; i += 3) work[i] = -Infinity;
  else if (mask === 'top-k 40') topK(40)(work, { generated: 0, seen: new SeenSet(work.length) });
  else if (mask === 'all but one') for (let i = 0; i < work.length; i++) if (i !== 7) work[i] = -Infinity;
}

function step(p: TokenPicker, logits: Float32Array, mask: Mask, rng: Xoshiro128) {
  const work = p.begin(logits);
  applyMask(work, mask);
  const id = p.choose(rng);
  const rawAtId = p.rawAt(id);
  const workAtId = work[id];
  const { raw, logZ } = p.finish();
  return { id, rawAtId, workAtId, raw, logZ };
}

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

describe('engine/token-picker: one interface for the per-token statistics', () => {
  it('pickerFor: the kernel for masking-only pipelines, the one-pass JS greedy without it, else the reference', () => {
    const V = 1657;
    const kernel = RowStats.create(V)!;
    assert.ok(kernel, 'WebAssembly SIMD is available in Node 20');
    const withK = new PickerRows(V, kernel);
    const without = new PickerRows(V);
    assert.ok(pickerFor({ doSample: false, masksOnly: true }, withK) instanceof KernelGreedyPicker);
    assert.ok(pickerFor({ doSample: true, masksOnly: true }, withK) instanceof KernelSamplingPicker);
    assert.ok(pickerFor({ doSample: true, masksOnly: false }, withK) instanceof ReferencePicker);
    assert.ok(pickerFor({ doSample: false, masksOnly: true }, without) instanceof JsGreedyPicker);
    assert.ok(pickerFor({ doSample: true, masksOnly: true }, without) instanceof ReferencePicker);
    assert.ok(pickerFor({ doSample: false, masksOnly: true }, withK, { reference: true }) instanceof ReferencePicker);
  });

  for (const V of [53516, 1657, 9]) {
    for (const doSample of [false, true]) {
      it(`V = ${V}, ${doSample ? 'sampling' : 'greedy'}: kernel and JS pickers pick the reference's ids with its statistics`, () => {
        const kernel = RowStats.create(V)!;
        const fast = [
          { name: 'kernel', p: pickerFor({ doSample, masksOnly: true }, new PickerRows(V, kernel)) },
          { name: 'js', p: pickerFor({ doSample, masksOnly: true }, new PickerRows(V)) },
        ];
        const ref = pickerFor({ doSample, masksOnly: true }, new PickerRows(V), { reference: true });
        const data = new Xoshiro128(V + (doSample ? 1 : 0));
        let n = 0;
        for (const spread of [0.5, 4, 30]) {
          for (const mask of ['none', 'every third', 'top-k 40', 'all but one'] as Mask[]) {
            const logits = row(data, V, spread);
            if (V > 100) logits[V - 2] = logits[77] = logits[1234 % V]; // ties resolve to the lower id
            const seed = 1000 * spread + n++;
            const want = step(ref, logits, mask, new Xoshiro128(seed));
            for (const { name, p } of fast) {
              const got = step(p, logits, mask, new Xoshiro128(seed));
              const at = `${name}, spread ${spread}, mask ${mask}`;
              assert.equal(got.id, want.id, at);
              assert.equal(got.rawAtId, want.rawAtId, at);
              assert.equal(got.workAtId, want.workAtId, at);
              assert.deepEqual(
                got.raw.top.map((t) => t.id),
                want.raw.top.map((t) => t.id),
                at,
              );
              assert.equal(got.raw.max, want.raw.max, at);
              assert.ok(
                close(got.raw.logZ, want.raw.logZ, 1e-6),
                `${at}: raw log Z ${got.raw.logZ} vs ${want.raw.logZ}`,
              );
              assert.ok(close(got.raw.entropy, want.raw.entropy, 1e-5), `${at}: entropy`);
              // The kernel forms l − max in float32: when the mask leaves only entries tens of nats below the max,
              // that difference carries up to ~4e-6 of rounding.
              assert.ok(close(got.logZ, want.logZ, 1e-5), `${at}: working log Z ${got.logZ} vs ${want.logZ}`);
              got.raw.top.forEach((t, j) => assert.ok(close(t.logprob, want.raw.top[j].logprob, 1e-6), at));
            }
          }
        }
      });
    }
  }

  it('a raw row without a finite entry goes to the JS path on the kernel too (same pick, same statistics)', () => {
    const V = 1657;
    const logits = new Float32Array(V).fill(-Infinity);
    for (const doSample of [false, true]) {
      const k = pickerFor({ doSample, masksOnly: true }, new PickerRows(V, RowStats.create(V)!));
      const r = pickerFor({ doSample, masksOnly: true }, new PickerRows(V), { reference: true });
      const got = step(k, logits, 'none', new Xoshiro128(3));
      const want = step(r, logits, 'none', new Xoshiro128(3));
      assert.equal(got.id, want.id);
      assert.deepEqual(got.raw.top, want.raw.top);
      assert.equal(got.logZ, want.logZ);
    }
  });

  it('value-changing processors take the reference path, whose statistics are those of the processed row', () => {
    const V = 1657;
    const logits = row(new Xoshiro128(9), V, 4);
    const p = pickerFor({ doSample: false, masksOnly: false }, new PickerRows(V, RowStats.create(V)!));
    const work = p.begin(logits);
    for (let i = 0; i < V; i++) work[i] = logits[i] / 0.5; // temperature 0.5
    const id = p.choose(new Xoshiro128(1));
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    assert.equal(id, best);
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp(work[i] - work[best]);
    assert.ok(close(p.finish().logZ, work[best] + Math.log(z), 1e-9));
  });
});
