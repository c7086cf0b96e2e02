/**
 * unCLIP empty-prompt text embedding (tools/convert/clip_text.py: replica of the SD-2.1-unclip `text_encoder`,
 * transformers CLIPTextModel layout) — the converter computes the constant [1,77,D] with torch; here an ONNX
 * export of the same replica on the same random weights runs in onnxruntime-node on the empty prompt's ids and
 * must reproduce the constant within 1e-3 (and random ids too). Also checks the tokenisation the converter
 * uses: [BOS, EOS] + 75 × pad, pad = "!" (id 0) from special_tokens_map.json over tokenizer_config.json.
 * Fixtures: tools/convert/make_image_fixtures.py (small widths).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

const DIR = path.join(__dirname, '..', 'fixtures', 'convert', 'image');
const fix = JSON.parse(readFileSync(path.join(DIR, 'parity.json'), 'utf8')).text as {
  dims: { hidden_size: number };
  empty_ids: number[];
  bos: [string, number];
  eos: [string, number];
  pad: [string, number];
  embedding: string;
  random_ids: number[];
  random_out: string;
};
const f32 = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe('convert: unCLIP empty-prompt text embedding (onnxruntime-node CPU vs the torch constant)', () => {
  it('the empty prompt tokenises to [BOS, EOS, "!" × 75]', () => {
    assert.equal(fix.empty_ids.length, 77);
    assert.deepEqual(fix.bos[0], '<|startoftext|>');
    assert.deepEqual(fix.eos[0], '<|endoftext|>');
    assert.deepEqual(fix.pad, ['!', 0]);
    assert.deepEqual(fix.empty_ids, [fix.bos[1], fix.eos[1], ...Array(75).fill(0)]);
  });

  it('input_ids → last_hidden_state within 1e-3 of torch (empty prompt = the shipped constant; random ids)', async () => {
    const s = await ort.InferenceSession.create(path.join(DIR, 'clip_text.onnx'));
    try {
      for (const [ids, ref, label] of [
        [fix.empty_ids, fix.embedding, 'empty prompt'],
        [fix.random_ids, fix.random_out, 'random ids'],
      ] as const) {
        const r = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, 77]) });
        assert.deepEqual(r.last_hidden_state.dims, [1, 77, fix.dims.hidden_size]);
        const want = f32(ref);
        const got = r.last_hidden_state.data as Float32Array;
        let m = 0;
        want.forEach((v, i) => (m = Math.max(m, Math.abs(got[i] - v))));
        console.log(`      ${label}: max-abs ${m.toExponential(1)}`);
        assert.ok(m <= 1e-3, `${label}: max-abs ${m}`);
      }
    } finally {
      await s.release();
    }
  });
});
