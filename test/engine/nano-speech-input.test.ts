/**
 * AnyGPT-nano's speech input through the engine: its clips were trimmed to 40 ms of silence (manifest
 * speech.trimSilence), and pauses around a user's recording must not turn into words.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { encodeWav16 } from '../../kernel/codecs/wav-io';
import { Engine } from '../../kernel/engine/index';
import { basePrompt } from '../../kernel/prompt/templates';
import { readWav } from '../../tools/eval/audio';

const ROOT = path.join(__dirname, '..', '..');
const NANO = path.join(ROOT, 'models', 'anygpt-nano');
const EVAL = path.join(ROOT, 'test', 'fixtures', 'nano-eval');

describe('nano speech input: silence around a clip', function () {
  this.timeout(120000);
  let engine: Engine;
  before(async function () {
    if (!existsSync(path.join(NANO, 'anygpt.json'))) this.skip();
    engine = await Engine.open(NANO, { executionProvider: 'cpu' });
  });
  after(async () => engine?.close());

  const transcribe = async (bytes: Uint8Array) => {
    const enc = await engine.encodeMedia('speech', { bytes, name: 'clip.wav' });
    const prompt = basePrompt(engine.pkg.manifest, 'asr', '', [{ modality: 'speech', tokens: enc.tokens }]);
    return (await engine.generate(prompt, { preset: 'text', seed: 1, doSample: false, minNewTokens: 0 })).text.trim();
  };

  it('the package asks for it', () => {
    assert.deepEqual(engine.pkg.manifest.modalities.speech?.trimSilence, { threshold: 0.005, padSeconds: 0.04 });
  });

  it('reads the sample notebook’s untrimmed espeak-ng file (0.3 s of trailing silence, 22.05 kHz) as "red circle"', async () => {
    assert.equal(await transcribe(readFileSync(path.join(ROOT, 'samples', 'media', 'voice.wav'))), 'red circle');
  });

  it('gives the same transcript for evaluation clips with a second of quiet noise added before and after', async () => {
    const cases = (
      JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'nano-eval.json'), 'utf8')) as {
        cases: { asr_seen: { audio: string }[] };
      }
    ).cases.asr_seen.slice(0, 6);
    for (const c of cases) {
      const { samples, sampleRate } = readWav(path.join(EVAL, c.audio));
      const quiet = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.0005 * Math.sin(i * 2.3));
      const padded = new Float32Array(samples.length + 2 * sampleRate);
      padded.set(quiet(sampleRate), 0);
      padded.set(samples, sampleRate);
      padded.set(quiet(sampleRate), sampleRate + samples.length);
      const plain = await transcribe(readFileSync(path.join(EVAL, c.audio)));
      assert.equal(await transcribe(new Uint8Array(encodeWav16(padded, sampleRate))), plain, c.audio);
    }
  });
});
