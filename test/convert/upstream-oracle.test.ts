/**
 * Upstream oracle: checkpoints made by the upstream modules themselves (random weights, small widths, upstream
 * file formats) and those modules' outputs on fixed inputs, all committed under test/fixtures/upstream by
 * tools/convert/oracle/make_fixtures.py (upstream repositories and commits are recorded in each
 * reference.json). Here our converter's loaders and exporters turn those checkpoints into ONNX
 * (tools/convert/oracle/export_oracle.py) and onnxruntime-node must reproduce the upstream outputs: fp32
 * max-abs ≤ 1e-4, codes exactly. Needs Debian's /usr/bin/python3 with torch 1.13 + onnx 1.12 (installed by
 * tools/setup-system.sh); skipped with the reason otherwise. No upstream code runs here.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Xoshiro128 } from '../../common/prng';
import { soundstormGenerate, type SoundStormNet } from '../../kernel/codecs/soundstorm';
import { unclipClassLabel } from '../../kernel/codecs/unclip';

const ROOT = path.join(__dirname, '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'upstream');
const PY = '/usr/bin/python3';
const TOL = 1e-4;

const ref = (component: string) => JSON.parse(readFileSync(path.join(FIX, component, 'reference.json'), 'utf8'));
const f32 = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const i64 = (xs: readonly number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('convert: upstream oracle (upstream-made checkpoints → our converter → onnxruntime-node vs upstream outputs)', function () {
  this.timeout(300000);
  let dir = '';

  before(function () {
    const probe = spawnSync(PY, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log(
        `      skipped: ${PY} with torch + onnx is needed (${(probe.stderr || '').trim().split('\n').pop()})`,
      );
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), 'anygpt-oracle-'));
    execFileSync('nice', ['-n', '10', PY, 'tools/convert/oracle/export_oracle.py', '--fixtures', FIX, '--out', dir], {
      cwd: ROOT,
      encoding: 'utf8',
    });
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const session = (name: string) => ort.InferenceSession.create(path.join(dir, name));

  it('SoundStorm net: logits equal upstream ConformerWrapper within 1e-4 (to_out biases, EinMix head)', async () => {
    const r = ref('soundstorm');
    const s = await session('speech_acoustic.onnx');
    for (const c of r.net) {
      const out = await s.run({ codes: i64(c.codes, [1, c.L * 7]), cond_ids: i64(c.cond, [1, c.L]) });
      assert.deepEqual(out.logits.dims, [1, c.L * 7, r.config.codebook]);
      const m = maxAbs(out.logits.data as Float32Array, f32(c.logits));
      console.log(`      L=${c.L}: max-abs ${m.toExponential(1)}`);
      assert.ok(m <= TOL, `L=${c.L}: max-abs ${m}`);
    }
    await s.release();
  });

  it('SoundStorm MaskGIT loop (kernel/codecs/soundstorm.ts) reproduces upstream SoundStorm.generate codes', async () => {
    const r = ref('soundstorm');
    const g = r.generate;
    const s = await session('speech_acoustic_peaked.onnx');
    const C = r.config.codebook;
    const net: SoundStormNet = async (codes, cond) => {
      const L = cond.length;
      const out = await s.run({
        codes: new ort.Tensor('int64', BigInt64Array.from(codes, BigInt), [1, codes.length]),
        cond_ids: new ort.Tensor('int64', BigInt64Array.from(cond, BigInt), [1, L]),
      });
      return out.logits.data as Float32Array;
    };
    for (const c of g.cases) {
      const got = await soundstormGenerate(
        net,
        c.semantic,
        { numAcoustic: 7, codebookSize: C, maskId: C, steps: c.steps, topkFraction: g.topk_pres },
        { rng: new Xoshiro128(3), prompt: c.prompt ?? undefined },
      );
      assert.deepEqual(got, c.codes, `steps ${c.steps}, prompt ${c.prompt ? c.prompt[0].length : 0}`);
    }
    await s.release();
  });

  it('SpeechTokenizer encoder: codes equal upstream SpeechTokenizer.encode', async () => {
    const r = ref('speechtokenizer');
    const s = await session('speech_encoder.onnx');
    for (const c of r.cases) {
      const out = await s.run({ waveform: new ort.Tensor('float32', f32(c.waveform), [1, 1, c.T]) });
      const F = c.codes[0].length;
      assert.deepEqual(out.codes.dims, [r.config.n_q, 1, F]);
      assert.deepEqual(Array.from(out.codes.data as BigInt64Array, Number), c.codes.flat());
    }
    await s.release();
  });

  it('SpeechTokenizer decoder: waveform equals upstream SpeechTokenizer.decode within 1e-4 (all layers, semantic only)', async () => {
    const r = ref('speechtokenizer');
    const s = await session('speech_decoder.onnx');
    for (const c of r.cases) {
      const F = c.codes[0].length;
      for (const [codes, want] of [
        [c.codes as number[][], c.decoded],
        [c.codes.slice(0, 1) as number[][], c.decodedSemantic],
      ] as const) {
        const out = await s.run({ codes: i64(codes.flat(), [codes.length, 1, F]) });
        assert.deepEqual(out.waveform.dims, [1, 1, r.hop * F]);
        const m = maxAbs(out.waveform.data as Float32Array, f32(want));
        console.log(`      T=${c.T}, ${codes.length} layer(s): max-abs ${m.toExponential(1)}`);
        assert.ok(m <= TOL, `max-abs ${m}`);
      }
    }
    await s.release();
  });

  it('EnCodec encoder: codes equal upstream transformers EncodecModel.encode', async () => {
    const r = ref('encodec');
    const s = await session('music_encoder.onnx');
    for (const c of r.cases) {
      const out = await s.run({ waveform: new ort.Tensor('float32', f32(c.waveform), [1, 1, c.T]) });
      const Q = c.codes.length;
      const F = c.codes[0].length;
      assert.equal(F, Math.ceil(c.T / r.hop));
      assert.deepEqual(out.audio_codes.dims, [1, 1, Q, F]);
      assert.deepEqual(Array.from(out.audio_codes.data as BigInt64Array, Number), c.codes.flat());
    }
    await s.release();
  });

  it('EnCodec decoder: waveform equals upstream transformers EncodecModel.decode within 1e-4', async () => {
    const r = ref('encodec');
    const s = await session('music_decoder.onnx');
    for (const c of r.cases) {
      const Q = c.codes.length;
      const F = c.codes[0].length;
      const out = await s.run({ audio_codes: i64(c.codes.flat(), [1, 1, Q, F]) });
      assert.deepEqual(out.waveform.dims, [1, 1, r.hop * F]);
      const m = maxAbs(out.waveform.data as Float32Array, f32(c.decoded));
      console.log(`      T=${c.T}: max-abs ${m.toExponential(1)}`);
      assert.ok(m <= TOL, `max-abs ${m}`);
    }
    await s.release();
  });

  it('SEED encoder: codes equal upstream Blip2QformerQuantizer.get_codebook_indices; pre-quantisation features within 1e-4', async () => {
    const r = ref('seed');
    const s = await session('image_encoder.onnx');
    for (const c of r.encode.cases) {
      const out = await s.run({ pixel_values: new ort.Tensor('float32', f32(c.pixels), [1, 3, 224, 224]) });
      assert.deepEqual(Array.from(out.codes.data as BigInt64Array, Number), c.codes, c.image);
      const m = maxAbs(out.features.data as Float32Array, f32(c.features));
      console.log(
        `      ${c.image}: features max-abs ${m.toExponential(1)}, nearest-code gap ${c.minCodeGap.toExponential(1)}`,
      );
      assert.ok(m <= TOL, `${c.image}: max-abs ${m}`);
    }
    await s.release();
  });

  it('SEED decoder: image_embeds equal upstream Blip2QformerQuantizer.get_codebook_entry within 1e-4', async () => {
    const r = ref('seed');
    const s = await session('image_seed_decoder.onnx');
    for (const c of r.decode.cases) {
      const out = await s.run({ codes: i64(c.codes, [1, 32]) });
      const want = f32(c.image_embeds);
      assert.deepEqual(out.image_embeds.dims, [1, want.length]);
      const m = maxAbs(out.image_embeds.data as Float32Array, want);
      console.log(`      max-abs ${m.toExponential(1)}`);
      assert.ok(m <= TOL, `max-abs ${m}`);
    }
    await s.release();
  });

  it('unCLIP UNet (class_labels) and VAE decoder: equal upstream diffusers 0.20.2 within 1e-4', async () => {
    const r = ref('unclip');
    const u = await session('image_unet.onnx');
    const D = r.unet.labelDim;
    const text = f32(r.unet.text);
    const ctx = new Float32Array(2 * text.length);
    ctx.set(text);
    ctx.set(text, text.length);
    const out = await u.run({
      sample: new ort.Tensor('float32', f32(r.unet.sample), [2, 4, 8, 8]),
      timestep: new ort.Tensor('float32', Float32Array.of(r.unet.timestep, r.unet.timestep), [2]),
      encoder_hidden_states: new ort.Tensor('float32', ctx, [2, 77, text.length / 77]),
      class_labels: new ort.Tensor('float32', f32(r.unet.class_labels), [2, D]),
    });
    const mu = maxAbs(out.out_sample.data as Float32Array, f32(r.unet.out_sample));
    const v = await session('image_vae_decoder.onnx');
    const img = await v.run({ latent_sample: new ort.Tensor('float32', f32(r.vae.latent), [1, 4, 8, 8]) });
    assert.deepEqual(img.sample.dims, r.vae.imageShape);
    const mv = maxAbs(img.sample.data as Float32Array, f32(r.vae.image));
    console.log(`      UNet max-abs ${mu.toExponential(1)}, VAE max-abs ${mv.toExponential(1)}`);
    assert.ok(mu <= TOL && mv <= TOL, `UNet ${mu}, VAE ${mv}`);
    await u.release();
    await v.release();
  });

  it('unCLIP class label (kernel/codecs/unclip.ts, with the converted image normaliser) equals upstream noise_image_embeddings', () => {
    const r = ref('unclip');
    const raw = (name: string) => {
      const b = readFileSync(path.join(dir, name));
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    };
    const c = r.classLabel;
    const got = unclipClassLabel(f32(c.embeds), f32(c.noise), {
      mean: raw('image_norm_mean.f32'),
      std: raw('image_norm_std.f32'),
    });
    const m = maxAbs(got, f32(c.label));
    console.log(`      max-abs ${m.toExponential(1)}`);
    assert.ok(m <= 1e-5, `max-abs ${m}`);
  });

  it('loaders are strict (SoundStorm, SpeechTokenizer, UNet, VAE, image normaliser, text encoder): an unused or missing key stops the loader naming it', function () {
    const tmp = mkdtempSync(path.join(tmpdir(), 'anygpt-strict-'));
    try {
      const said = JSON.parse(
        execFileSync(
          'nice',
          ['-n', '10', PY, 'tools/convert/oracle/strict_probe.py', '--fixtures', FIX, '--tmp', tmp],
          { cwd: ROOT, encoding: 'utf8' },
        ),
      ) as Record<string, string>;
      const want: Record<string, string> = {
        soundstorm_extra: 'net.conformer.layers.1.attn.fn.to_q.bias',
        soundstorm_missing: 'net.conformer.layers.0.attn.fn.to_out.bias',
        speechtokenizer_extra: 'encoder.model.0.conv.conv.extra',
        speechtokenizer_missing: 'decoder.model.1.lstm.bias_hh_l1',
        unet_extra: 'time_embedding.cond_proj.weight',
        vae_extra: 'decoder.up_blocks.9.extra',
        normaliser_extra: 'scale',
        text_encoder_extra: 'text_model.final_layer_norm.extra',
      };
      for (const [k, key] of Object.entries(want)) {
        assert.notEqual(said[k], 'loaded', `${k}: loaded anyway`);
        assert.ok(said[k].includes(key), `${k}: ${said[k]}`);
        assert.match(said[k], k.endsWith('extra') ? /would not use/ : /missing/);
      }
      // Known unused keys (the VAE's encoder half, the text encoder's position_ids buffer) load.
      assert.equal(said.vae_encoder_half, 'loaded');
      assert.equal(said.text_encoder_position_ids, 'loaded');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
