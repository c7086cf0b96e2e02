/**
 * Codec benchmark (not a timed test): encode/decode time per second of audio, per image, per diffusion step
 * and per SoundStorm pass, on the tiny fixture graphs (test/fixtures/codecs). With graphs this small the
 * numbers measure our TypeScript around ORT (resampling, WAV/PNG IO, the unCLIP and MaskGIT loops and
 * session overhead), not model compute. Each value is the best of RUNS, in milliseconds.
 * Run alone: `node --import tsx bench/codecs.ts`.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import '../kernel/engine/ort-env';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { WaveFile } from 'wavefile';
import type { ImageSpec, Manifest } from '../common/manifest';
import { Codecs } from '../kernel/codecs';
import { resample } from '../kernel/codecs/resample';

const FIXTURES = path.join(__dirname, '..', 'test', 'fixtures', 'codecs');
const RUNS = 3;

function wav(seconds: number, rate: number, channels: number): Uint8Array {
  const n = Math.round(seconds * rate);
  const chans = Array.from({ length: channels }, (_, c) =>
    Array.from({ length: n }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * (220 + 110 * c) * i) / rate))),
  );
  const w = new WaveFile();
  w.fromScratch(channels, rate, '16', channels === 1 ? chans[0] : chans);
  return w.toBuffer();
}

async function best(fn: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

async function open(unclip: boolean): Promise<Codecs> {
  const m = JSON.parse(readFileSync(path.join(FIXTURES, 'codecs-manifest.json'), 'utf8')) as {
    modalities: Manifest['modalities'];
    unclipDecoder: ImageSpec['decoder'];
  };
  if (unclip) m.modalities.image!.decoder = m.unclipDecoder;
  return Codecs.open({ dir: FIXTURES, manifest: m, ort, sessionOptions: { intraOpNumThreads: 1 } });
}

/** Milliseconds per unit; keys name the unit. */
export async function benchCodecs(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const direct = await open(false);
  const unclip = await open(true);
  try {
    const seconds = 4;
    const speechWav = wav(seconds, 44100, 2);
    const musicWav = wav(2, 44100, 2);
    await direct.encodeSpeech(speechWav, 'input'); // warm-up: session creation is not what we time
    out['speech.encode.msPerAudioSecond'] = (await best(() => direct.encodeSpeech(speechWav, 'input'))) / seconds;
    const semantic = (await direct.encodeSpeech(speechWav, 'input')).codes[0];
    const prompt = (await direct.encodeSpeech(wav(1, 16000, 1), 'voice-prompt')).codes;
    await direct.decodeSpeech(semantic.slice(0, 10), { voicePrompt: prompt });
    out['speech.decode.msPerAudioSecond'] =
      (await best(() => direct.decodeSpeech(semantic, { voicePrompt: prompt, seed: 1 }))) / seconds;

    await direct.encodeMusic(musicWav);
    out['music.encode.msPerAudioSecond'] = (await best(() => direct.encodeMusic(musicWav))) / 2;
    const music = (await direct.encodeMusic(musicWav)).codes;
    await direct.decodeMusic(music);
    out['music.decode.msPerAudioSecond'] = (await best(() => direct.decodeMusic(music))) / 2;

    const x = new Float32Array(44100 * 10).map((_, i) => Math.sin(i / 7));
    out['resample.44100to16000.msPerAudioSecond'] = (await best(async () => resample(x, 44100, 16000))) / 10;

    const photo = await sharp({ create: { width: 1024, height: 768, channels: 3, background: '#4080c0' } })
      .jpeg()
      .toBuffer();
    await direct.encodeImage(photo);
    out['image.encode.msPerImage'] = await best(() => direct.encodeImage(photo));
    const ids = (await direct.encodeImage(photo)).codes;
    out['image.decodeDirect.msPerImage'] = await best(() => direct.decodeImage(ids));
    await unclip.decodeImage(ids);
    let steps = 0;
    const total = await best(() => unclip.decodeImage(ids, { seed: 1, onProgress: (d) => (steps = d) }));
    out['image.decodeUnclip.msPerImage'] = total;
    out['image.decodeUnclip.msPerDiffusionStep'] = total / steps;
  } finally {
    await direct.dispose();
    await unclip.dispose();
  }
  return out;
}

if (process.argv[1]?.endsWith('codecs.ts')) {
  benchCodecs().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
