/**
 * AnyGPT-nano's speech output voice, through the engine: without a voice prompt the package's default voice keeps
 * espeak's canonical pitch; a prompt in a voice never heard in training moves the pitch towards the prompt's.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Span } from '../../common/generation';
import { Engine } from '../../kernel/engine/index';
import { basePrompt } from '../../kernel/prompt/templates';
import { readWav, speechF0 } from '../../tools/eval/audio';

const ROOT = path.join(__dirname, '..', '..');
const NANO = path.join(ROOT, 'models', 'anygpt-nano');
const EVAL = path.join(ROOT, 'test', 'fixtures', 'nano-eval');

interface EvalCases {
  tts: { text: string; espeakReference: string }[];
  asr_heldout: { audio: string }[];
}

describe('nano speech output: the voice', function () {
  this.timeout(120000);
  let engine: Engine;
  let cases: EvalCases;
  before(async function () {
    if (!existsSync(path.join(NANO, 'anygpt.json'))) this.skip();
    engine = await Engine.open(NANO, { executionProvider: 'cpu' });
    cases = (
      JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'nano-eval.json'), 'utf8')) as { cases: EvalCases }
    ).cases;
  });
  after(async () => engine?.close());

  const f0Of = (wav: Uint8Array | string) => {
    const { samples, sampleRate } = readWav(wav);
    const f = speechF0(samples, sampleRate);
    assert.ok(f !== undefined, 'no voiced frames');
    return f;
  };
  const speak = async (text: string): Promise<Extract<Span, { kind: 'speech' }>> => {
    const prompt = basePrompt(engine.pkg.manifest, 'tts', text, [], 1, { forceOutput: true });
    const g = await engine.generate(prompt, { preset: 'speech', seed: 1, doSample: false, minNewTokens: 0 });
    const span = g.spans.find(
      (s): s is Extract<Span, { kind: 'speech' }> => s.kind === 'speech' && s.role === 'generated',
    );
    assert.ok(span && span.codes.length > 0, `no speech for "${text}": ${g.text}`);
    return span;
  };

  it('names a default voice prompt, which decodes without a warning', async () => {
    assert.equal(engine.pkg.manifest.modalities.speech?.acoustic?.defaultVoice?.file.path, 'default_voice.wav');
    const out = await engine.decodeSpan(await speak(cases.tts[0].text), { seed: 1 });
    assert.deepEqual(out.warnings, []);
  });

  it("speaks at espeak's canonical pitch without a prompt, and nearer a held-out voice's pitch with one", async () => {
    // espeak's canonical voice: the median f0 of its renderings of the evaluation texts (one text's can be 10 % off);
    // nano's outputs are compared by their median over texts too (a short text's can be 20 % low).
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
    const canonical = median(cases.tts.map((c) => f0Of(path.join(EVAL, c.espeakReference))));
    const plain: number[] = [];
    const prompted: number[] = [];
    for (const [i, c] of cases.tts.slice(0, 5).entries()) {
      const span = await speak(c.text);
      plain.push(f0Of((await engine.decodeSpan(span, { seed: 1 })).data));
      const clip = path.join(EVAL, cases.asr_heldout[i].audio);
      const voice = await engine.encodeMedia('speech', { path: clip }, 'voice-prompt');
      prompted.push(f0Of((await engine.decodeSpan(span, { seed: 1, voicePrompt: voice.codes as number[][] })).data));
      const target = f0Of(clip);
      assert.ok(target > 1.3 * canonical, `the held-out clip (${target.toFixed(0)} Hz) is a higher voice`);
      assert.ok(
        prompted[i] > 1.15 * plain[i] && prompted[i] < 1.1 * target,
        `"${c.text}": ${prompted[i].toFixed(0)} Hz with a ${target.toFixed(0)} Hz prompt, ${plain[i].toFixed(0)} Hz without`,
      );
    }
    const show = (xs: number[]) => xs.map((v) => v.toFixed(0)).join(', ');
    assert.ok(
      Math.abs(Math.log(median(plain) / canonical)) < Math.log(1.15),
      `unprompted ${show(plain)} Hz; espeak ${canonical.toFixed(0)} Hz`,
    );
    assert.ok(median(prompted) > 1.3 * median(plain), `prompted ${show(prompted)} Hz; unprompted ${show(plain)} Hz`);
  });
});
