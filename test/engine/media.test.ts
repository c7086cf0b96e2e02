/**
 * The codecs hosted in the engine worker (real ORT sessions): encodeMedia, decodeSpan, decodeTokens, abort,
 * errors crossing the thread boundary, and the main thread staying free while a decode runs.
 * Package: test/engine/media-fixture.ts (tiny codec graphs + the mode/last-token LLM).
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Generation, Span } from '../../common/generation';
import { MediaError } from '../../kernel/codecs/errors';
import { Engine, type MediaSpan } from '../../kernel/engine';
import { greyBlocks, loadManifest, makeWav, sine } from '../codecs/fixtures';
import { editJson } from './fixtures';
import { cleanupMediaPackages, mediaPackage } from './media-fixture';

const GREYS = [0, 40, 80, 120, 160, 200, 240, 255];
const opts = { executionProvider: 'cpu' as const, threads: 1 };

function mediaSpan(g: Generation, kind: Span['kind']): MediaSpan {
  const s = g.spans.find((x) => x.kind === kind && x.role === 'generated');
  assert.ok(s && s.kind !== 'text', `no generated ${kind} span in ${JSON.stringify(g.spans)}`);
  return s;
}

const prompt = (word: string) => `[Human]: ${word}<eoh> [MMGPT]:`;

/** A package whose image decoder is the unCLIP path (21 UNet evaluations): something with steps to abort. */
function unclipPackage(steps?: number): string {
  const dir = mediaPackage();
  editJson(path.join(dir, 'anygpt.json'), (j) => {
    j.modalities.image.decoder = loadManifest().unclipDecoder;
    if (steps !== undefined) j.modalities.image.decoder.steps = steps;
  });
  return dir;
}

/** Diffusion steps of the abort test's package: enough that the worker cannot finish them all before the main
 * thread (slow under a loaded test run) has seen the first step's progress and raised the flag (900 of at most 1000). */
const ABORT_STEPS = 900;

describe('engine: media through the worker', function () {
  let engine: Engine;
  before(async () => {
    engine = await Engine.open(mediaPackage(), opts);
  });
  after(async () => {
    await engine?.close();
    cleanupMediaPackages();
  });

  it('encodes an image (bytes or path) to codes and the vocabulary token string', async () => {
    const png = await greyBlocks(GREYS);
    const r = await engine.encodeMedia('image', { bytes: png, name: 'blocks.png' });
    const codes = r.codes as number[];
    // The tiny encoder stores each cell's mean grey after a bicubic resize: within a level or two.
    codes.forEach((c, i) => assert.ok(Math.abs(c - GREYS[i]) <= 2, `cell ${i}: ${c} vs ${GREYS[i]}`));
    assert.equal(r.tokens, `<soim>${codes.map((k) => `<👀${k}>`).join('')}<eoim>`);
    // The string is what the tokenizer turns back into the block's ids.
    const b = engine.pkg.vocab.blocks.image!;
    assert.deepEqual(engine.pkg.tokenizer.encode(r.tokens), [b.startId, ...codes.map((k) => b.base + k), b.endId]);
    const file = path.join(tmpdir(), `anygpt-media-${process.pid}.png`);
    writeFileSync(file, png);
    try {
      assert.deepEqual((await engine.encodeMedia('image', { path: file })).codes, codes);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('encodes speech: the semantic layer for input, all layers for a voice prompt', async () => {
    const wav = makeWav([sine(300, 16000, 0.5)], 16000, '16');
    const input = await engine.encodeMedia('speech', { bytes: wav });
    assert.ok(Array.isArray(input.codes) && typeof input.codes[0] === 'number');
    assert.equal(input.codes.length, 25); // 0.5 s at 50 Hz
    assert.equal(input.tokens, `<sosp>${(input.codes as number[]).map((k) => `<🗣️${k}>`).join('')}<eosp>`);
    const voice = await engine.encodeMedia('speech', { bytes: wav }, 'voice-prompt');
    const layers = voice.codes as number[][];
    assert.equal(layers.length, 8);
    assert.deepEqual(layers[0], input.codes);
    assert.equal(voice.tokens, input.tokens);
  });

  it('encodes music frame-major with codebook offsets', async () => {
    const r = await engine.encodeMedia('music', { bytes: makeWav([sine(440, 32000, 0.2)], 32000, '16') });
    const codes = r.codes as number[][];
    assert.equal(codes.length, 4);
    const T = codes[0].length;
    assert.ok(T > 0);
    const expected = Array.from({ length: T }, (_, t) =>
      codes.map((row, q) => `<🎶${row[t] + 2048 * q}>`).join(''),
    ).join('');
    assert.equal(r.tokens, `<somu>${expected}<eomu>`);
  });

  it('decodes a generated image span to a PNG that shows the codes', async () => {
    const g = await engine.generate(prompt('img'), { seed: 1 });
    const span = mediaSpan(g, 'image');
    assert.deepEqual(span.codes, GREYS);
    const stages: string[] = [];
    const r = await engine.decodeSpan(span, {
      seed: 1,
      onProgress: (stage, done, total) => stages.push(`${stage} ${done}/${total}`),
    });
    assert.equal(r.mime, 'image/png');
    assert.deepEqual([r.width, r.height], [32, 32]);
    assert.deepEqual(stages, ['image decode 1/1']);
    const { data, info } = await sharp(r.data).raw().toBuffer({ resolveWithObject: true });
    // Cell 1 (top row, second column) was painted with code 40.
    assert.equal(data[(4 * info.width + 12) * info.channels], 40);
  });

  it('decodes speech with SoundStorm progress, seeded and with a voice prompt', async () => {
    const g = await engine.generate(prompt('say'), { seed: 1 });
    const span = mediaSpan(g, 'speech');
    const progress: number[] = [];
    const a = await engine.decodeSpan(span, {
      seed: 5,
      onProgress: (stage, done, total) => {
        assert.equal(stage, 'soundstorm');
        progress.push(done / total);
      },
    });
    assert.equal(a.mime, 'audio/wav');
    assert.equal(a.sampleRate, 16000);
    assert.equal(a.durationSec, (span.codes as number[]).length / 50);
    assert.equal(progress.length, 10); // steps 3 → 4 passes on layer 1, then one per other acoustic layer
    assert.equal(progress.at(-1), 1);
    assert.equal(String.fromCharCode(...a.data.subarray(0, 4)), 'RIFF');
    const b = await engine.decodeSpan(span, { seed: 5 });
    assert.deepEqual(b.data, a.data);
    const voice = await engine.encodeMedia(
      'speech',
      { bytes: makeWav([sine(200, 16000, 0.3)], 16000, '16') },
      'voice-prompt',
    );
    const c = await engine.decodeSpan(span, { seed: 5, voicePrompt: voice.codes as number[][] });
    assert.ok(!c.warnings.some((w) => /voice prompt/.test(w)), c.warnings.join('; '));
    assert.notDeepEqual(c.data, a.data);
  });

  it('decodes music spans to 32 kHz WAV', async () => {
    const g = await engine.generate(prompt('music'), { seed: 1 });
    const span = mediaSpan(g, 'music');
    const r = await engine.decodeSpan(span);
    assert.equal(r.mime, 'audio/wav');
    assert.equal(r.sampleRate, 32000);
    assert.equal(r.durationSec, 3 / 50);
  });

  it('decodes raw tokens: a token string, token ids, code values', async () => {
    const str = `<soim>${GREYS.map((k) => `<👀${k}>`).join('')}<eoim>`;
    const fromString = await engine.decodeTokens(str);
    assert.equal(fromString.modality, 'image');
    const b = engine.pkg.vocab.blocks.image!;
    const fromIds = await engine.decodeTokens([b.startId, ...GREYS.map((k) => b.base + k), b.endId]);
    assert.deepEqual(fromIds.data, fromString.data);
    const fromCodes = await engine.decodeTokens(GREYS, 'image', { numbers: 'codes' });
    assert.deepEqual(fromCodes.data, fromString.data);
    const speech = await engine.decodeTokens('<sosp><🗣️1><🗣️2><🗣️3>', undefined, { seed: 2 });
    assert.equal(speech.modality, 'speech');
    assert.ok(speech.warnings.some((w) => /no end tag/.test(w)));
  });

  it('names the wrong token, as a MediaError from the worker', async () => {
    const err = await engine.decodeTokens('<sosp><🗣️1><👀2><eosp>').catch((e: unknown) => e);
    assert.ok(err instanceof MediaError, String(err));
    assert.equal(err.code, 'invalid-tokens');
    assert.match(
      err.message,
      /^token 2 \(<👀2>\) is an image token, but this is a speech span; it accepts <sosp>, <🗣️0> … <🗣️31>, <eosp>$/,
    );
    const sp = engine.pkg.vocab.blocks.speech!;
    await assert.rejects(
      engine.decodeTokens([sp.startId, sp.base + 1, 5]),
      (e: unknown) => e instanceof MediaError && /^token 2 \(id 5\) is not a media token/.test(e.message),
    );
  });

  it('carries media errors across the boundary with their message and code', async () => {
    const cases: [Promise<unknown>, string, RegExp][] = [
      [
        engine.encodeMedia('image', { bytes: new Uint8Array([1, 2, 3]), name: 'x.png' }),
        'unreadable',
        /^x\.png is not a readable image/,
      ],
      [engine.encodeMedia('speech', { bytes: new Uint8Array(0), name: 'empty.wav' }), 'empty', /empty\.wav/],
    ];
    for (const [p, code, message] of cases) {
      const e = await p.catch((x: unknown) => x);
      assert.ok(e instanceof MediaError, `expected a MediaError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
    }
    // Other errors keep their name, message and code too (a missing file is Node's ENOENT, from the worker).
    const missing = path.join(tmpdir(), 'anygpt-no-such-file.wav');
    const e = (await engine.encodeMedia('speech', { path: missing }).catch((x: unknown) => x)) as Error & {
      code?: string;
    };
    assert.equal(e.code, 'ENOENT');
    assert.ok(e.message.includes(missing), e.message);
    // The worker is still serving.
    assert.equal((await engine.encodeMedia('image', { bytes: await greyBlocks(GREYS) })).codes.length, 8);
  });
});

describe('engine: media decode abort and responsiveness', function () {
  let engine: Engine;
  let span: MediaSpan;
  before(async () => {
    engine = await Engine.open(unclipPackage(ABORT_STEPS), opts);
    span = mediaSpan(await engine.generate(prompt('img'), { seed: 1 }), 'image');
  });
  after(async () => {
    await engine?.close();
    cleanupMediaPackages();
  });

  it('aborts a diffusion decode between steps, then decodes again', async () => {
    const ac = new AbortController();
    const steps: number[] = [];
    const err = await engine
      .decodeSpan(span, {
        signal: ac.signal,
        onProgress: (stage, done) => {
          assert.equal(stage, 'diffusion');
          steps.push(done);
          if (done === 1) ac.abort();
        },
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof MediaError, String(err));
    assert.equal(err.code, 'aborted');
    // Progress events trail the worker; it stops within a few steps of the flag, far short of all of them.
    assert.ok(steps.length >= 1 && steps.length < ABORT_STEPS / 2, `steps ${steps.join(',')}`);
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(
      engine.decodeSpan(span, { signal: pre.signal }),
      (e: unknown) => e instanceof MediaError && e.code === 'aborted',
    );
    const full: number[] = [];
    const r = await engine.decodeSpan(span, { seed: 3, onProgress: (_s, done) => full.push(done) });
    assert.equal(full.length, ABORT_STEPS + 1); // PNDM: one UNet evaluation more than steps
    assert.equal(r.mime, 'image/png');
  });

  it('keeps the main thread responsive while a decode runs', async () => {
    // A long speech span makes the SoundStorm loop (JS between ORT runs) take a while.
    const long = `<sosp>${Array.from({ length: 1500 }, (_, i) => `<🗣️${(i * 7) % 32}>`).join('')}<eosp>`;
    let last = performance.now();
    let worst = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 2);
    const runs: number[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        await engine.decodeTokens(long, 'speech', { seed: i });
        runs.push(performance.now() - t0);
      }
    } finally {
      clearInterval(timer);
    }
    // Were the codecs running on this thread, the worst gap would be most of a decode.
    const one = Math.min(...runs);
    assert.ok(
      worst < Math.max(40, one / 2),
      `event loop blocked for ${worst.toFixed(1)} ms (one decode: ${one.toFixed(0)} ms)`,
    );
  });
});

describe('engine: an abandoned media run leaves the LLM session alone', function () {
  after(cleanupMediaPackages);

  it('abandons only the media worker; generation goes on without reopening the LLM', async () => {
    // No grace: the aborted decode's thread is abandoned at once, as a stuck ORT run's would be.
    const engine = await Engine.open(unclipPackage(ABORT_STEPS), { ...opts, abortGraceMs: 0 });
    try {
      const before = await engine.generate(prompt('hi'), { seed: 1 });
      const span = mediaSpan(await engine.generate(prompt('img'), { seed: 1 }), 'image');
      const ac = new AbortController();
      const err = await engine
        .decodeSpan(span, { signal: ac.signal, onProgress: (_s, done) => done === 1 && ac.abort() })
        .catch((e: unknown) => e);
      assert.ok(err instanceof MediaError && err.code === 'aborted', String(err));
      assert.deepEqual(engine.workerRestarts, { llm: 0, media: 1 });
      assert.equal((await engine.generate(prompt('hi'), { seed: 1 })).text, before.text);
      // The replacement media worker reopened the package and decodes again.
      assert.equal((await engine.decodeSpan(span, { seed: 3 })).mime, 'image/png');
    } finally {
      await engine.close();
    }
  });
});

describe('engine: codecs open lazily', () => {
  after(cleanupMediaPackages);

  it('opens a package whose codec graph is broken, and fails on first use with a MediaError', async () => {
    const dir = mediaPackage();
    writeFileSync(path.join(dir, 'image_encoder.onnx'), 'not an onnx graph');
    const engine = await Engine.open(dir, opts);
    try {
      const g = await engine.generate(prompt('hi'), { seed: 1 });
      assert.equal(g.text, 'hi there');
      const e = await engine.encodeMedia('image', { bytes: await greyBlocks(GREYS) }).catch((x: unknown) => x);
      assert.ok(e instanceof MediaError, String(e));
      assert.equal(e.code, 'model');
      assert.match(e.message, /image_encoder\.onnx/);
      // Other modalities are unaffected.
      assert.equal(
        (await engine.encodeMedia('speech', { bytes: makeWav([sine(300, 16000, 0.1)], 16000, '16') })).codes.length,
        5,
      );
    } finally {
      await engine.close();
    }
  });
});
