/**
 * Fake full set of upstream checkpoints (LLM with the full vocabulary layout + SpeechTokenizer, SoundStorm,
 * EnCodec 32 kHz, SEED encoder (EVA ViT + Q-Former + VQ) and decoder, unCLIP UNet/VAE and text encoder, all at
 * small dims) → ONE package via tools/convert/convert.py → the engine loads it and runs every task: encode
 * image/speech/music, generate each modality (forced start tag, constrained decoding), decode the spans (speech
 * through SoundStorm, image through 21 UNet passes). The image encoder is our SEED encoder export and the
 * text embedding is computed from the fake text_encoder/ (no --image-encoder, no text_embedding.f32).
 * Needs Debian's /usr/bin/python3 with torch 1.13 + onnx 1.12; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Generation, Span } from '../../common/generation';
import { Engine, type MediaSpan } from '../../kernel/engine';
import { greyBlocks, makeWav, sine } from '../codecs/fixtures';

const ROOT = path.join(__dirname, '..', '..');
const PY = '/usr/bin/python3';

function span(g: Generation, kind: Span['kind']): MediaSpan {
  const s = g.spans.find((x) => x.kind === kind && x.role === 'generated');
  assert.ok(s && s.kind !== 'text', `no generated ${kind} span in ${JSON.stringify(g.spans)}`);
  return s;
}

describe('convert: fake full checkpoint set (LLM + all media) → one package → engine, every task', function () {
  this.timeout(600_000);
  let tmp = '';
  let engine: Engine | undefined;
  let log = '';
  before(async function () {
    const probe = spawnSync(PY, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log(`      skipped: ${PY} with torch+onnx not available`);
      this.skip();
    }
    tmp = mkdtempSync(path.join(tmpdir(), 'anygpt-convert-media-'));
    const run = (args: string[]) =>
      execFileSync('nice', ['-n', '10', PY, ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const m = path.join(tmp, 'media');
    run([
      'tools/convert/fake_checkpoints.py',
      '--out',
      path.join(tmp, 'src'),
      '--hidden',
      '64',
      '--layers',
      '2',
      '--heads',
      '4',
    ]);
    run(['tools/convert/fake_media.py', '--out', m]);
    log = run([
      'tools/convert/convert.py',
      '--src',
      path.join(tmp, 'src'),
      '--out',
      path.join(tmp, 'pkg'),
      '--llm-dtype',
      'int4',
      '--speech-modules',
      path.join(m, 'AnyGPT-speech-modules'),
      '--encodec',
      path.join(m, 'encodec_32khz'),
      '--seed',
      path.join(m, 'seed-tokenizer-2'),
      '--unclip',
      path.join(m, 'stable-diffusion-2-1-unclip'),
    ]);
    engine = await Engine.open(path.join(tmp, 'pkg'), { executionProvider: 'cpu', threads: 1 });
  });
  after(async () => {
    await engine?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('convert.py writes every component into the manifest, hashed', () => {
    assert.match(log, /SpeechTokenizer: 8×1024 RVQ/);
    assert.match(log, /EnCodec: 4×2048 RVQ/);
    assert.match(log, /SEED encoder: ViT 16×2 .* 32 causal queries, 8192×8 codebook/);
    assert.match(log, /text embedding: computed from text_encoder\/ .* empty prompt \[512, 513, 0 × 75\]/);
    const man = JSON.parse(readFileSync(path.join(tmp, 'pkg', 'anygpt.json'), 'utf8'));
    assert.deepEqual(Object.keys(man.modalities).sort(), ['image', 'music', 'speech']);
    assert.equal(man.modalities.image.decoder.kind, 'seed-unclip');
    assert.match(man.modalities.image.encoder.sha256, /^[0-9a-f]{64}$/);
    assert.equal(man.modalities.speech.acoustic.maskId, 1024);
    assert.match(man.modalities.music.encoder.sha256, /^[0-9a-f]{64}$/);
  });

  it('convert.py refuses an incomplete image set before converting anything', () => {
    const r = spawnSync(
      PY,
      [
        'tools/convert/convert.py',
        '--src',
        path.join(tmp, 'src'),
        '--out',
        path.join(tmp, 'x'),
        '--seed',
        path.join(tmp, 'media', 'seed-tokenizer-2'),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /needs --seed and --unclip \(--image-encoder optional\); missing --unclip/);
  });

  it('encodes speech (semantic layer, all 8 layers for a voice prompt) and music ([4][F])', async () => {
    const wav = makeWav([sine(300, 16000, 0.5)], 16000, '16');
    const sp = await engine!.encodeMedia('speech', { bytes: wav });
    assert.equal((sp.codes as number[]).length, 25);
    const vp = await engine!.encodeMedia('speech', { bytes: wav }, 'voice-prompt');
    assert.equal((vp.codes as number[][]).length, 8);
    assert.deepEqual((vp.codes as number[][])[0], sp.codes);
    const mu = await engine!.encodeMedia('music', { bytes: makeWav([sine(440, 32000, 0.3)], 32000, '16') });
    assert.equal((mu.codes as number[][]).length, 4);
    assert.equal((mu.codes as number[][])[0].length, 15);
    for (const row of mu.codes as number[][]) for (const c of row) assert.ok(c >= 0 && c < 2048);
  });

  it('caption / ASR / music→text prompts with encoded media generate', async () => {
    const img = await engine!.encodeMedia('image', { bytes: await greyBlocks([0, 80, 160, 240]) });
    assert.equal((img.codes as number[]).length, 32);
    const other = await engine!.encodeMedia('image', { bytes: await greyBlocks([240, 160, 80, 0]) });
    assert.notDeepEqual(other.codes, img.codes, 'the SEED encoder gives the same ids for two different images');
    const sp = await engine!.encodeMedia('speech', { bytes: makeWav([sine(300, 16000, 0.3)], 16000, '16') });
    const mu = await engine!.encodeMedia('music', { bytes: makeWav([sine(440, 32000, 0.1)], 32000, '16') });
    for (const media of [img.tokens, sp.tokens, mu.tokens]) {
      const g = await engine!.generate(`[Human]: Describe this. ${media}<eoh> [MMGPT]:`, { seed: 1, maxNewTokens: 4 });
      assert.ok(g.stats.generatedTokens >= 1);
    }
  });

  it('text → speech: 20 generated semantic tokens → SoundStorm (10 passes) → 16 kHz WAV, with a voice prompt', async () => {
    const g = await engine!.generate('[Human]: Read this aloud. This is input: hello<eoh> [MMGPT]: <sosp>', {
      seed: 2,
      maxNewTokens: 20,
      doSample: true,
    });
    const s = span(g, 'speech');
    const n = (s.codes as number[]).length;
    assert.ok(n >= 1);
    const passes: number[] = [];
    const vp = await engine!.encodeMedia(
      'speech',
      { bytes: makeWav([sine(200, 16000, 0.2)], 16000, '16') },
      'voice-prompt',
    );
    const r = await engine!.decodeSpan(s, {
      seed: 3,
      voicePrompt: vp.codes as number[][],
      onProgress: (_s, d) => passes.push(d),
    });
    assert.equal(passes.length, 10);
    assert.equal(r.sampleRate, 16000);
    assert.equal(r.durationSec, n / 50);
  });

  it('text → music: generated frames → EnCodec decoder → 32 kHz WAV', async () => {
    const g = await engine!.generate('[Human]: Compose. This is input: calm piano<eoh> [MMGPT]: <somu>', {
      seed: 4,
      maxNewTokens: 24,
      doSample: true,
    });
    const s = span(g, 'music');
    const r = await engine!.decodeSpan(s);
    assert.equal(r.sampleRate, 32000);
    assert.equal(r.durationSec, Math.floor((s.codes as number[][])[0].length) / 50);
  });

  it('text → image: 32 generated ids → SEED decoder → 21 UNet passes → VAE → PNG', async () => {
    const g = await engine!.generate('[Human]: Draw. This is input: a cat<eoh> [MMGPT]: <soim>', {
      seed: 5,
      maxNewTokens: 40,
      doSample: true,
    });
    const s = span(g, 'image');
    assert.equal((s.codes as number[]).length, 32);
    let steps = 0;
    const r = await engine!.decodeSpan(s, { seed: 1, onProgress: () => steps++ });
    assert.equal(steps, 21);
    assert.equal(r.mime, 'image/png');
    const meta = await sharp(r.data).metadata();
    assert.deepEqual([meta.width, meta.height], [16, 16]);
  });
});
