import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Codecs, MediaError } from '../../kernel/codecs';
import { FIXTURES, loadManifest, makeWav, sine } from './fixtures';

async function speechWith(encoderPath: string): Promise<Codecs> {
  const modalities = structuredClone(loadManifest().modalities);
  modalities.speech!.encoder = { path: encoderPath };
  return Codecs.open({ dir: FIXTURES, manifest: { modalities }, ort });
}

describe('codecs/package contract errors', () => {
  const wav = makeWav([sine(200, 16000, 0.5)], 16000, '16');

  it('names a missing graph file', async () => {
    const c = await speechWith('nope.onnx');
    await assert.rejects(
      c.encodeSpeech(wav, 'input'),
      (e: unknown) =>
        e instanceof MediaError &&
        e.code === 'model' &&
        /speech encoder graph nope\.onnx could not be opened/.test(e.message),
    );
  });

  it('names a graph whose inputs break the contract', async () => {
    const c = await speechWith('image_encoder.onnx');
    await assert.rejects(
      c.encodeSpeech(wav, 'input'),
      (e: unknown) =>
        e instanceof MediaError && /has inputs \[pixel_values\] but its contract needs \[waveform\]/.test(e.message),
    );
    await c.dispose();
  });

  it('says when the package has no codec for a modality', async () => {
    const c = await Codecs.open({ dir: FIXTURES, manifest: { modalities: {} }, ort });
    await assert.rejects(c.encodeMusic(wav), /this model package has no music codec/);
    await assert.rejects(c.decodeTokens('<soim><👀1><eoim>'), /is not a media token of this model/);
  });
});
