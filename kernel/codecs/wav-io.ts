/**
 * WAV reading and writing.
 *
 * Reading parses the RIFF header ourselves and decodes only the frames asked for, straight from the
 * ByteSource. wavefile's reader decodes a whole file into Float64 samples, which for a 2-hour recording is
 * gigabytes; checking the header first lets us trim (or reject a lying header) without touching the data.
 * Writing goes through wavefile (16-bit PCM).
 */
import { WaveFile } from 'wavefile';
import { sniff, type ByteSource } from './byte-source';
import { MediaError } from './errors';

export interface WavInfo {
  encoding: 'pcm' | 'float';
  bitsPerSample: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  dataOffset: number;
  /** Whole frames available to read. */
  frames: number;
  warnings: string[];
}

const FORMAT_NAMES: Record<number, string> = { 2: 'MS ADPCM', 6: 'A-law', 7: 'µ-law', 0x11: 'IMA ADPCM', 0x55: 'MP3' };

export function describeSeconds(s: number): string {
  if (s >= 3600) return `${(s / 3600).toFixed(2)} h`;
  if (s >= 60) return `${(s / 60).toFixed(1)} min`;
  return `${s.toFixed(s < 10 ? 3 : 1)} s`;
}

/** Reads and validates the header; throws MediaError with the reason when the file cannot be used. */
export function parseWavHeader(src: ByteSource): WavInfo {
  const what = `${src.name}`;
  if (src.size === 0) throw new MediaError(`${what} is empty (0 bytes); expected a WAV file`, 'empty');
  const head = src.read(0, 12);
  const tag = (b: Uint8Array, o: number) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
  if (head.length < 12 || tag(head, 0) !== 'RIFF' || tag(head, 8) !== 'WAVE') {
    if (head.length >= 4 && (tag(head, 0) === 'RF64' || tag(head, 0) === 'BW64'))
      throw new MediaError(
        `${what} is an RF64/BW64 (over 4 GB) WAV, which is not supported; export a shorter RIFF WAV`,
        'unsupported-format',
      );
    const looks = sniff(src.read(0, 16));
    throw new MediaError(
      `${what} is not a WAV file${looks ? ` (it looks like ${looks})` : head.length < 12 ? ` (only ${src.size} bytes)` : ''}: expected a RIFF/WAVE header. Convert it to WAV (PCM or float)`,
      'unsupported-format',
    );
  }

  let pos = 12;
  let fmt: Omit<WavInfo, 'dataOffset' | 'frames' | 'warnings'> | undefined;
  for (let chunks = 0; chunks < 100000; chunks++) {
    const h = src.read(pos, 8);
    if (h.length < 8)
      throw new MediaError(
        `${what} has no data chunk: the RIFF chunks end at byte ${pos} before any audio data (truncated or not a real WAV)`,
        'unreadable',
      );
    const id = tag(h, 0);
    const size = new DataView(h.buffer, h.byteOffset, 8).getUint32(4, true);
    if (id === 'fmt ') {
      const f = src.read(pos + 8, Math.min(size, 40));
      if (f.length < 16)
        throw new MediaError(`${what} has a truncated fmt chunk (${f.length} of at least 16 bytes)`, 'unreadable');
      fmt = readFmt(new DataView(f.buffer, f.byteOffset, f.length), what);
    } else if (id === 'data') {
      if (!fmt)
        throw new MediaError(
          `${what} has its data chunk before the fmt chunk, so the sample format is unknown`,
          'unreadable',
        );
      const dataOffset = pos + 8;
      const available = Math.max(0, src.size - dataOffset);
      const warnings: string[] = [];
      let bytes = size;
      const seconds = (b: number) => b / fmt!.blockAlign / fmt!.sampleRate;
      if (size === 0xffffffff || (size === 0 && available > 0)) {
        // Streaming writers leave the size unset; the data runs to the end of the file.
        bytes = available;
        warnings.push(
          `${what}: the WAV data size is unset (streamed file); read ${describeSeconds(seconds(bytes))} to the end of the file`,
        );
      } else if (size > available) {
        throw new MediaError(
          `${what} is truncated: its header declares ${describeSeconds(seconds(size))} of audio (${size} bytes) but only ${available} bytes (${describeSeconds(seconds(available))}) follow. The file is incomplete or its header is wrong`,
          'unreadable',
        );
      }
      const frames = Math.floor(bytes / fmt.blockAlign);
      if (frames === 0) throw new MediaError(`${what} contains no audio: its data chunk holds 0 samples`, 'empty');
      return { ...fmt, dataOffset, frames, warnings };
    }
    pos += 8 + size + (size & 1);
  }
  throw new MediaError(`${what} has too many RIFF chunks before the audio data`, 'unreadable');
}

function readFmt(v: DataView, what: string): Omit<WavInfo, 'dataOffset' | 'frames' | 'warnings'> {
  let format = v.getUint16(0, true);
  const channels = v.getUint16(2, true);
  const sampleRate = v.getUint32(4, true);
  const blockAlign = v.getUint16(12, true);
  const bitsPerSample = v.getUint16(14, true);
  if (format === 0xfffe && v.byteLength >= 26) format = v.getUint16(24, true); // WAVE_FORMAT_EXTENSIBLE: sub-format GUID
  let encoding: 'pcm' | 'float';
  if (format === 1 && [8, 16, 24, 32].includes(bitsPerSample)) encoding = 'pcm';
  else if (format === 3 && (bitsPerSample === 32 || bitsPerSample === 64)) encoding = 'float';
  else {
    const name = FORMAT_NAMES[format] ?? (format === 1 ? 'PCM' : format === 3 ? 'float' : `format code ${format}`);
    throw new MediaError(
      `${what} uses ${name} with ${bitsPerSample}-bit samples, which is not supported; use PCM 8/16/24/32-bit or 32-bit float WAV`,
      'unsupported-format',
    );
  }
  if (channels < 1 || channels > 256)
    throw new MediaError(`${what} declares ${channels} channels; expected 1 to 256`, 'unreadable');
  if (sampleRate < 1000 || sampleRate > 768000)
    throw new MediaError(
      `${what} declares a sample rate of ${sampleRate} Hz; expected 1000 to 768000 Hz`,
      'unreadable',
    );
  if (blockAlign !== (channels * bitsPerSample) / 8)
    throw new MediaError(
      `${what} has an inconsistent fmt chunk: block align ${blockAlign} ≠ ${channels} channels × ${bitsPerSample / 8} bytes`,
      'unreadable',
    );
  return { encoding, bitsPerSample, channels, sampleRate, blockAlign };
}

/**
 * Decodes `count` frames from `start` into one Float32Array per channel, in [-1, 1] for PCM. Non-finite
 * float samples are rejected: they would poison every later stage (resampler, encoder) silently.
 */
export function readWavFrames(src: ByteSource, info: WavInfo, start: number, count: number): Float32Array[] {
  const { channels, blockAlign, bitsPerSample, encoding } = info;
  count = Math.max(0, Math.min(count, info.frames - start));
  const bytes = src.read(info.dataOffset + start * blockAlign, count * blockAlign);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = Array.from({ length: channels }, () => new Float32Array(count));
  const step = bitsPerSample / 8;
  for (let f = 0; f < count; f++) {
    for (let c = 0; c < channels; c++) {
      const o = f * blockAlign + c * step;
      let x: number;
      if (encoding === 'float') {
        x = bitsPerSample === 32 ? v.getFloat32(o, true) : v.getFloat64(o, true);
        if (!Number.isFinite(x))
          throw new MediaError(
            `${src.name} contains an invalid sample: channel ${c}, frame ${start + f} (at ${((start + f) / info.sampleRate).toFixed(3)} s) is ${x}. Float WAVs must hold finite numbers`,
            'invalid-samples',
          );
      } else if (bitsPerSample === 8) x = (v.getUint8(o) - 128) / 128;
      else if (bitsPerSample === 16) x = v.getInt16(o, true) / 32768;
      else if (bitsPerSample === 24)
        x = ((v.getInt8(o + 2) << 16) | (v.getUint8(o + 1) << 8) | v.getUint8(o)) / 8388608;
      else x = v.getInt32(o, true) / 2147483648;
      out[c][f] = x;
    }
  }
  return out;
}

/** Mono float samples → 16-bit PCM WAV bytes. Samples outside [-1, 1] are clipped. */
export function encodeWav16(samples: Float32Array, sampleRate: number): Buffer {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, Number.isFinite(samples[i]) ? samples[i] : 0));
    pcm[i] = Math.round(s < 0 ? s * 32768 : s * 32767);
  }
  const wav = new WaveFile();
  wav.fromScratch(1, sampleRate, '16', pcm);
  return Buffer.from(wav.toBuffer());
}
