/**
 * SEED-2 de-tokenizer export (tools/convert/seed_decoder.py): codes i64 [1,32] → image_embeds f32 [1,D] in
 * onnxruntime-node vs the torch replica on the same random weights (small dims here; the full-size export is in
 * e2e.test.ts). Tolerance: max-abs ≤ 1e-3 (fp32).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

const DIR = path.join(__dirname, '..', 'fixtures', 'convert', 'seed');

describe('convert: SEED decoder export parity (onnxruntime-node CPU)', () => {
  it('codes → image_embeds within 1e-3 of torch', async () => {
    const fix = JSON.parse(readFileSync(path.join(DIR, 'parity.json'), 'utf8')) as {
      cases: { codes: number[]; image_embeds: number[] }[];
    };
    const s = await ort.InferenceSession.create(path.join(DIR, 'image_seed_decoder.onnx'));
    try {
      assert.deepEqual(s.inputNames, ['codes']);
      assert.deepEqual(s.outputNames, ['image_embeds']);
      for (const c of fix.cases) {
        const r = await s.run({ codes: new ort.Tensor('int64', BigInt64Array.from(c.codes.map(BigInt)), [1, 32]) });
        const out = r.image_embeds;
        assert.deepEqual(out.dims, [1, c.image_embeds.length]);
        let m = 0;
        c.image_embeds.forEach((v, i) => (m = Math.max(m, Math.abs((out.data as Float32Array)[i] - v))));
        console.log(`      max-abs ${m.toExponential(1)}`);
        assert.ok(m <= 1e-3, `max-abs ${m}`);
      }
    } finally {
      await s.release();
    }
  });
});
