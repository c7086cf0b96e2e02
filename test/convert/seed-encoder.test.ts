/**
 * SEED-2 image tokenizer encoder export (tools/convert/seed_encoder.py: EVA ViT → causal Q-Former → VQ) in
 * onnxruntime-node vs the torch replica on the same random weights (fixtures from
 * tools/convert/make_image_fixtures.py: small widths, real 224×224 input, 32 queries, 8192-entry codebook).
 * The graph's contract is the engine's image encoder (kernel/codecs/image.ts): input `pixel_values` f32
 * [1,3,224,224], output `codes` i64 [1,32]; `features` (pre-quantisation) is extra. Codes must match exactly;
 * features within 1e-3 (fp32).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

const DIR = path.join(__dirname, '..', 'fixtures', 'convert', 'image');

interface Case {
  name: string;
  u8: string;
  codes: number[];
  features: string;
  min_gap: number;
}
const fix = JSON.parse(readFileSync(path.join(DIR, 'parity.json'), 'utf8')).encoder as {
  mean: number[];
  std: number[];
  scale: number;
  dims: { n_embed: number; code_dim: number };
  cases: Case[];
};
const f32 = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** [3,28,28] bytes → [1,3,224,224]: ×8 nearest, x/255, (x − mean)/std, each step rounded to float32 (as the fixture script). */
function pixels(b64: string): Float32Array {
  const u8 = Buffer.from(b64, 'base64');
  const s = fix.scale;
  const n = 28;
  const N = n * s;
  const out = new Float32Array(3 * N * N);
  const fr = Math.fround;
  for (let c = 0; c < 3; c++) {
    const mean = fr(fix.mean[c]);
    const std = fr(fix.std[c]);
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++) {
        const v = fr(u8[c * n * n + Math.floor(y / s) * n + Math.floor(x / s)] / 255);
        out[c * N * N + y * N + x] = fr(fr(v - mean) / std);
      }
  }
  return out;
}

describe('convert: SEED image encoder export parity (onnxruntime-node CPU)', () => {
  it('pixel_values → codes equal to torch, features within 1e-3', async () => {
    const s = await ort.InferenceSession.create(path.join(DIR, 'seed_encoder.onnx'));
    try {
      assert.deepEqual(s.inputNames, ['pixel_values']);
      assert.ok(s.outputNames.includes('codes'), `outputs ${s.outputNames}`);
      for (const c of fix.cases) {
        const r = await s.run({ pixel_values: new ort.Tensor('float32', pixels(c.u8), [1, 3, 224, 224]) });
        assert.equal(r.codes.type, 'int64');
        assert.deepEqual(r.codes.dims, [1, 32]);
        const codes = Array.from(r.codes.data as BigInt64Array, Number);
        const want = f32(c.features);
        const got = r.features.data as Float32Array;
        assert.deepEqual(r.features.dims, [1, 32, fix.dims.code_dim]);
        let m = 0;
        want.forEach((v, i) => (m = Math.max(m, Math.abs(got[i] - v))));
        console.log(
          `      ${c.name}: features max-abs ${m.toExponential(1)}, ${new Set(codes).size} distinct codes (torch's nearest/second gap ≥ ${c.min_gap.toExponential(1)})`,
        );
        assert.ok(m <= 1e-3, `${c.name}: features max-abs ${m}`);
        assert.deepEqual(codes, c.codes, c.name);
        for (const v of codes) assert.ok(v >= 0 && v < fix.dims.n_embed);
      }
    } finally {
      await s.release();
    }
  });
});
