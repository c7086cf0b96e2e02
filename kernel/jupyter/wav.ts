/**
 * Minimal RIFF/WAVE read/write for the kernel's own needs: the waveform envelope in audio outputs and
 * the simulated backend. Real media IO (resampling, formats) belongs to kernel/codecs.
 */

export interface Pcm {
  sampleRate: number;
  channels: number;
  /** Interleaved samples in [-1, 1]. */
  samples: Float32Array;
}

export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const n = samples.length;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767), 44 + i * 2);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Decode PCM16 / float32 WAV. Throws an Error that says what is wrong with the file. */
export function decodeWav(bytes: Uint8Array): Pcm {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > b.length) throw new Error('corrupt WAV: truncated fmt chunk');
      fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2), rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) throw new Error('corrupt WAV: data chunk before fmt chunk');
      if (!fmt.channels || !fmt.rate) throw new Error('corrupt WAV: zero channels or sample rate');
      const end = Math.min(b.length, body + size);
      const pcm16 = fmt.format === 1 && fmt.bits === 16;
      const f32 = fmt.format === 3 && fmt.bits === 32;
      if (!pcm16 && !f32) throw new Error(`unsupported WAV encoding (format ${fmt.format}, ${fmt.bits}-bit); use 16-bit PCM or 32-bit float`);
      const step = pcm16 ? 2 : 4;
      const n = Math.floor((end - body) / step);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = pcm16 ? b.readInt16LE(body + i * 2) / 32768 : b.readFloatLE(body + i * 4);
      return { sampleRate: fmt.rate, channels: fmt.channels, samples };
    }
    off = body + size + (size & 1);
  }
  throw new Error('corrupt WAV: no data chunk');
}

/** Peak |x| per bucket, rounded to 3 decimals: a cheap waveform for renderers. */
export function envelope(pcm: Pcm, buckets = 200): number[] {
  const frames = Math.floor(pcm.samples.length / pcm.channels);
  const n = Math.max(1, Math.min(buckets, frames));
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const a = Math.floor((k * frames) / n) * pcm.channels;
    const z = Math.floor(((k + 1) * frames) / n) * pcm.channels;
    let peak = 0;
    for (let i = a; i < z; i++) peak = Math.max(peak, Math.abs(pcm.samples[i]));
    out.push(Math.round(peak * 1000) / 1000);
  }
  return out;
}
