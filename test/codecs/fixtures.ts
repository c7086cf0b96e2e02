/** Shared set-up for the codec tests: the tiny-graph manifest, Codecs instances and media generators. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { WaveFile } from 'wavefile';
import type { ImageSpec, Manifest } from '../../common/manifest';
import { Codecs } from '../../kernel/codecs';

export const FIXTURES = join(__dirname, '..', 'fixtures', 'codecs');

interface TestManifest {
  modalities: Manifest['modalities'];
  unclipDecoder: ImageSpec['decoder'];
}

export function loadManifest(): TestManifest {
  return JSON.parse(readFileSync(join(FIXTURES, 'codecs-manifest.json'), 'utf8')) as TestManifest;
}

export function fixtureJson<T>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

export type Variant = 'direct' | 'unclip' | 'no-acoustic' | 'default-voice' | 'missing-default-voice';

/** The WAV (a 0.3 s 220 Hz tone, made with makeWav) that the 'default-voice' variant names as its default voice. */
export const DEFAULT_VOICE = 'default_voice.wav';

export async function openCodecs(variant: Variant = 'direct'): Promise<Codecs> {
  const m = loadManifest();
  const modalities = structuredClone(m.modalities);
  if (variant === 'unclip') modalities.image!.decoder = m.unclipDecoder;
  if (variant === 'no-acoustic') delete modalities.speech!.acoustic;
  if (variant === 'default-voice' || variant === 'missing-default-voice')
    modalities.speech!.acoustic!.defaultVoice = {
      file: { path: variant === 'default-voice' ? DEFAULT_VOICE : 'no_such_voice.wav' },
      name: 'a test tone',
    };
  return Codecs.open({
    dir: FIXTURES,
    manifest: { modalities },
    ort,
    sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
}

export function sine(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** Writes a WAV with wavefile (independent of our reader). bitDepth: '8' | '16' | '24' | '32' | '32f'. */
export function makeWav(
  channels: Float32Array[],
  rate: number,
  bitDepth: '8' | '16' | '24' | '32' | '32f',
): Uint8Array {
  const w = new WaveFile();
  const scale: Record<string, number> = { '8': 127, '16': 32767, '24': 8388607, '32': 2147483647, '32f': 1 };
  const conv = channels.map((c) =>
    Array.from(c, (v) =>
      bitDepth === '32f'
        ? v
        : bitDepth === '8'
          ? Math.round(v * scale[bitDepth]) + 128
          : Math.round(v * scale[bitDepth]),
    ),
  );
  w.fromScratch(channels.length, rate, bitDepth, channels.length === 1 ? conv[0] : conv);
  return w.toBuffer();
}

/** An image of 2 rows × 4 columns of grey blocks (the tiny encoder stores one grey per block). */
export async function greyBlocks(
  levels: number[],
  width = 64,
  height = 48,
  format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' = 'png',
): Promise<Buffer> {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const cell = Math.floor((y * 2) / height) * 4 + Math.floor((x * 4) / width);
      rgb.fill(levels[cell], (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  const img = sharp(rgb, { raw: { width, height, channels: 3 } });
  // sharp pipelines are mutable: pick exactly one output format.
  const encoded = {
    png: () => img.png(),
    jpeg: () => img.jpeg({ quality: 100 }),
    webp: () => img.webp({ lossless: true }),
    gif: () => img.gif(),
    tiff: () => img.tiff(),
  };
  return encoded[format]().toBuffer();
}

/** Frequency of a sine by linearly interpolated zero crossings between 10 % and 90 % of the signal. */
export function measureFrequency(x: Float32Array, rate: number): number {
  const from = Math.floor(x.length * 0.1);
  const to = Math.floor(x.length * 0.9);
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = from; i < to; i++) {
    if (x[i] <= 0 && x[i + 1] > 0) {
      const t = i + x[i] / (x[i] - x[i + 1]);
      if (first < 0) first = t;
      last = t;
      count++;
    }
  }
  return ((count - 1) * rate) / (last - first);
}
