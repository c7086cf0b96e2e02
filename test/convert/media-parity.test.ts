/**
 * Media component exports (tools/convert/{seanet,soundstorm,unclip}.py) in onnxruntime-node vs their torch
 * replicas on the same random weights (fixtures from tools/convert/make_media_fixtures.py, small dims; every
 * component was built from a fake checkpoint with upstream file and key names). fp32, max-abs ≤ 1e-3; RVQ codes
 * must match exactly. Waveform lengths are not multiples of the hop, and each graph runs at two lengths, so
 * the dynamic-length-safe padding is exercised.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

const DIR = path.join(__dirname, '..', 'fixtures', 'convert', 'media');
const fix = JSON.parse(readFileSync(path.join(DIR, 'parity.json'), 'utf8'));
const f32 = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const i64 = (xs: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
async function session(name: string) {
  return ort.InferenceSession.create(path.join(DIR, name));
}
const TOL = 1e-3;

describe('convert: media export parity (onnxruntime-node CPU vs torch replicas)', () => {
  it('EnCodec 32 kHz encoder: waveform [1,1,T] → audio_codes [1,1,Q,F], codes equal', async () => {
    const s = await session('music_encoder.onnx');
    for (const c of fix.music.cases) {
      const r = await s.run({ waveform: new ort.Tensor('float32', f32(c.waveform), [1, 1, c.T]) });
      const F = Math.ceil(c.T / fix.music.hop);
      assert.deepEqual(r.audio_codes.dims, [1, 1, fix.music.Q, F]);
      assert.deepEqual(Array.from(r.audio_codes.data as BigInt64Array, Number), c.codes.flat());
    }
    await s.release();
  });

  it('EnCodec 32 kHz decoder: audio_codes → waveform [1,1,640·F] within 1e-3', async () => {
    const s = await session('music_decoder.onnx');
    for (const c of fix.music.cases) {
      const F = c.codes[0].length;
      const r = await s.run({ audio_codes: i64(c.codes.flat(), [1, 1, fix.music.Q, F]) });
      assert.deepEqual(r.waveform.dims, [1, 1, 640 * F]);
      const m = maxAbs(r.waveform.data as Float32Array, f32(c.out));
      console.log(`      F=${F}: max-abs ${m.toExponential(1)}`);
      assert.ok(m <= TOL, `max-abs ${m}`);
    }
    await s.release();
  });

  it('decoders at 1–3 frames (shorter than the first reflect pad: upstream zero-extends) within 1e-3', async () => {
    for (const [file, key, input, hop] of [
      ['music_decoder.onnx', 'music', 'audio_codes', 640],
      ['speech_decoder.onnx', 'speech', 'codes', 320],
    ] as const) {
      const s = await session(file);
      for (const c of fix[key].short) {
        const Q = c.codes.length;
        const F = c.codes[0].length;
        const r = await s.run({ [input]: i64(c.codes.flat(), key === 'music' ? [1, 1, Q, F] : [Q, 1, F]) });
        assert.deepEqual(r.waveform.dims, [1, 1, hop * F]);
        const m = maxAbs(r.waveform.data as Float32Array, f32(c.out));
        assert.ok(m <= TOL, `${key} F=${F}: max-abs ${m}`);
      }
      await s.release();
    }
  });

  it('SpeechTokenizer encoder (Snake, BiLSTM): waveform → codes [Q,1,F], codes equal', async () => {
    const s = await session('speech_encoder.onnx');
    for (const c of fix.speech.cases) {
      const r = await s.run({ waveform: new ort.Tensor('float32', f32(c.waveform), [1, 1, c.T]) });
      assert.deepEqual(r.codes.dims, [fix.speech.Q, 1, Math.ceil(c.T / fix.speech.hop)]);
      assert.deepEqual(Array.from(r.codes.data as BigInt64Array, Number), c.codes.flat());
    }
    await s.release();
  });

  it('SpeechTokenizer decoder: codes [8,1,F] and [1,1,F] → waveform [1,1,320·F] within 1e-3', async () => {
    const s = await session('speech_decoder.onnx');
    for (const c of fix.speech.cases) {
      const F = c.codes[0].length;
      for (const [codes, ref] of [
        [c.codes, c.out],
        [[c.codes[0]], c.out_semantic_only],
      ] as [number[][], string][]) {
        const r = await s.run({ codes: i64(codes.flat(), [codes.length, 1, F]) });
        assert.deepEqual(r.waveform.dims, [1, 1, 320 * F]);
        const m = maxAbs(r.waveform.data as Float32Array, f32(ref));
        console.log(`      Q'=${codes.length} F=${F}: max-abs ${m.toExponential(1)}`);
        assert.ok(m <= TOL, `max-abs ${m}`);
      }
    }
    await s.release();
  });

  it('SoundStorm net: codes [1,L·7] + cond_ids [1,L] → logits [1,L·7,C] within 1e-3', async () => {
    const s = await session('speech_acoustic.onnx');
    assert.deepEqual(s.inputNames, ['codes', 'cond_ids']);
    for (const c of fix.soundstorm.cases) {
      const r = await s.run({ codes: i64(c.codes, [1, c.L * 7]), cond_ids: i64(c.cond_ids, [1, c.L]) });
      assert.deepEqual(r.logits.dims, [1, c.L * 7, fix.soundstorm.C]);
      const m = maxAbs(r.logits.data as Float32Array, f32(c.logits));
      console.log(`      L=${c.L}: max-abs ${m.toExponential(1)}`);
      assert.ok(m <= TOL, `max-abs ${m}`);
    }
    await s.release();
  });

  it('unCLIP UNet (tiny dims, class_labels): out_sample within 1e-3', async () => {
    const u = fix.unclip;
    const s = await session('image_unet.onnx');
    const r = await s.run({
      sample: new ort.Tensor('float32', f32(u.sample), [2, 4, 8, 8]),
      timestep: new ort.Tensor('float32', new Float32Array([u.timestep, u.timestep]), [2]),
      encoder_hidden_states: new ort.Tensor('float32', new Float32Array([...f32(u.text), ...f32(u.text)]), [
        2,
        77,
        u.text_dim,
      ]),
      class_labels: new ort.Tensor('float32', f32(u.class_labels), [2, u.label_dim]),
    });
    const m = maxAbs(r.out_sample.data as Float32Array, f32(u.out_sample));
    console.log(`      max-abs ${m.toExponential(1)}`);
    assert.ok(m <= TOL, `max-abs ${m}`);
    await s.release();
  });

  it('VAE decoder (tiny dims): latent_sample → sample within 1e-3', async () => {
    const u = fix.unclip;
    const s = await session('image_vae_decoder.onnx');
    const r = await s.run({ latent_sample: new ort.Tensor('float32', f32(u.latent), [1, 4, 8, 8]) });
    assert.deepEqual(r.sample.dims, u.image_shape);
    const m = maxAbs(r.sample.data as Float32Array, f32(u.image));
    console.log(`      max-abs ${m.toExponential(1)}`);
    assert.ok(m <= TOL, `max-abs ${m}`);
    await s.release();
  });
});
