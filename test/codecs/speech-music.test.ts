import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaError, type Codecs } from '../../kernel/codecs';
import { bytesSource } from '../../kernel/codecs/byte-source';
import { parseWavHeader } from '../../kernel/codecs/wav-io';
import { DEFAULT_VOICE, FIXTURES, makeWav, openCodecs, sine } from './fixtures';

async function rejects(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MediaError, `expected MediaError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

describe('codecs/speech', () => {
  let codecs: Codecs;
  let plain: Codecs;
  before(async () => {
    codecs = await openCodecs('direct');
    plain = await openCodecs('no-acoustic');
  });
  after(async () => {
    await codecs.dispose();
    await plain.dispose();
  });

  it('encodes a 44.1 kHz stereo WAV to 8 RVQ layers at 50 Hz', async () => {
    const wav = makeWav([sine(220, 44100, 1), sine(330, 44100, 1)], 44100, '16');
    const { codes, warnings } = await codecs.encodeSpeech(wav, 'input');
    assert.equal(codes.length, 8);
    assert.equal(codes[0].length, 50);
    assert.deepEqual(warnings, []);
    for (const row of codes) for (const c of row) assert.ok(Number.isInteger(c) && c >= 0 && c < 32);
  });

  it('reads from a path too, and trims to maxInputSeconds with a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'codecs-'));
    try {
      const path = join(dir, 'long.wav');
      writeFileSync(path, makeWav([sine(200, 16000, 6)], 16000, '16'));
      const { codes, warnings } = await codecs.encodeSpeech({ path }, 'input');
      assert.equal(codes[0].length, 200); // 4 s at 50 Hz
      assert.match(warnings.join(), /speech input long\.wav is 6\.000 s long; kept the first 4\.000 s/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('round-trips through SoundStorm with a voice prompt: 16 kHz WAV, 320 samples per token', async () => {
    const prompt = await codecs.encodeSpeech(
      makeWav([sine(150, 16000, 0.5), sine(160, 16000, 0.5)], 16000, '32f'),
      'voice-prompt',
    );
    const speech = await codecs.encodeSpeech(makeWav([sine(300, 16000, 0.4)], 16000, '24'), 'input');
    const progress: number[] = [];
    const out = await codecs.decodeSpeech(speech.codes[0], {
      voicePrompt: prompt.codes,
      seed: 5,
      onProgress: (d) => progress.push(d),
    });
    assert.equal(out.sampleRate, 16000);
    assert.equal(out.samples.length, 320 * speech.codes[0].length);
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const info = parseWavHeader(bytesSource(out.wav));
    assert.equal(info.bitsPerSample, 16);
    assert.equal(info.sampleRate, 16000);
    assert.equal(info.frames, out.samples.length);
    const again = await codecs.decodeSpeech(speech.codes[0], { voicePrompt: prompt.codes, seed: 5 });
    assert.ok(again.wav.equals(out.wav), 'same seed, same audio');
  });

  it('warns that an unprompted voice is arbitrary, unless the package names a default voice prompt, which it then uses', async () => {
    const speech = await codecs.encodeSpeech(makeWav([sine(300, 16000, 0.2)], 16000, '16'), 'input');
    const arbitrary = await codecs.decodeSpeech(speech.codes[0], { seed: 1 });
    assert.match(arbitrary.warnings.join(), /no voice prompt: the voice is whatever the acoustic model picks/);
    const withDefault = await openCodecs('default-voice');
    try {
      const out = await withDefault.decodeSpeech(speech.codes[0], { seed: 1 });
      assert.deepEqual(out.warnings, []);
      const prompt = await codecs.encodeSpeech(readFileSync(join(FIXTURES, DEFAULT_VOICE)), 'voice-prompt');
      const explicit = await codecs.decodeSpeech(speech.codes[0], { seed: 1, voicePrompt: prompt.codes });
      assert.ok(out.wav.equals(explicit.wav), 'the default voice is used exactly as the same WAV given as a prompt');
      assert.ok(!out.wav.equals(arbitrary.wav), 'and it changes the audio');
      const other = await withDefault.decodeSpeech(speech.codes[0], {
        seed: 1,
        voicePrompt: (await codecs.encodeSpeech(makeWav([sine(150, 16000, 0.4)], 16000, '16'), 'voice-prompt')).codes,
      });
      assert.ok(!other.wav.equals(out.wav), "a caller's prompt replaces the default");
    } finally {
      await withDefault.dispose();
    }
  });

  it('names the default voice file when it cannot be read, and still decodes with a given prompt', async () => {
    const broken = await openCodecs('missing-default-voice');
    try {
      const speech = await broken.encodeSpeech(makeWav([sine(300, 16000, 0.2)], 16000, '16'), 'input');
      await rejects(
        broken.decodeSpeech(speech.codes[0], { seed: 1 }),
        'model',
        /default voice prompt no_such_voice\.wav could not be used: .*ENOENT/,
      );
      await rejects(broken.decodeSpeech(speech.codes[0], { seed: 1 }), 'model', /no_such_voice\.wav/); // retried, not a cached success
      const prompt = await broken.encodeSpeech(makeWav([sine(150, 16000, 0.4)], 16000, '16'), 'voice-prompt');
      const out = await broken.decodeSpeech(speech.codes[0], { seed: 1, voicePrompt: prompt.codes });
      assert.ok(out.samples.length > 0);
    } finally {
      await broken.dispose();
    }
  });

  it('without an acoustic stage the decoder takes the semantic codes directly (and ignores a prompt, saying so)', async () => {
    const out = await plain.decodeSpeech([1, 2, 3, 4, 5], { voicePrompt: [[1]] });
    assert.equal(out.samples.length, 5 * 320);
    assert.match(out.warnings.join(), /voice prompt was ignored/);
  });

  it('rejects out-of-range codes and malformed voice prompts precisely', async () => {
    await rejects(codecs.decodeSpeech([1, 2, 99]), 'invalid-tokens', /speech token 2 has code 99, outside 0\.\.31/);
    await rejects(codecs.decodeSpeech([]), 'empty', /holds no tokens/);
    await rejects(
      codecs.decodeSpeech([1, 2], { voicePrompt: [[1, 2]] }),
      'invalid-tokens',
      /voice prompt has 1 code layers; the acoustic generator needs 8/,
    );
  });
});

describe('codecs/music', () => {
  let codecs: Codecs;
  before(async () => {
    codecs = await openCodecs('direct');
  });
  after(() => codecs.dispose());

  it('round-trips: 48 kHz stereo → 4 codebooks at 50 Hz → 32 kHz WAV of 640 samples per frame', async () => {
    const wav = makeWav([sine(440, 48000, 1), sine(660, 48000, 1)], 48000, '16');
    const { codes } = await codecs.encodeMusic(wav);
    assert.equal(codes.length, 4);
    assert.equal(codes[0].length, 50);
    for (const row of codes) for (const c of row) assert.ok(c >= 0 && c < 2048);
    const out = await codecs.decodeMusic(codes);
    assert.equal(out.sampleRate, 32000);
    assert.equal(out.samples.length, 50 * 640);
    assert.equal(parseWavHeader(bytesSource(out.wav)).sampleRate, 32000);
  });

  it('trims to the manifest limit (2 s) from the start', async () => {
    const { codes, warnings } = await codecs.encodeMusic(makeWav([sine(440, 32000, 3)], 32000, '16'));
    assert.equal(codes[0].length, 100);
    assert.match(warnings.join(), /the music input is 3\.000 s long; kept the first 2\.000 s/);
  });

  it('rejects ragged or out-of-range codes', async () => {
    await rejects(codecs.decodeMusic([[1], [2], [3]]), 'invalid-tokens', /need 4 codebooks, got 3/);
    await rejects(
      codecs.decodeMusic([
        [1, 2],
        [2, 3],
        [3, 4],
        [4, 5000],
      ]),
      'invalid-tokens',
      /codebook 3 frame 1 has code 5000, outside 0\.\.2047/,
    );
  });
});
