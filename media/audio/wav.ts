/** WAV parsing for display: RIFF/WAVE with PCM 8/16/24/32-bit or IEEE float 32, mixed down to mono. */
export interface DecodedWav {
  sampleRate: number;
  channels: number;
  /** Mono samples in [-1, 1]. */
  samples: Float32Array;
}

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function decodeWav(bytes: Uint8Array): DecodedWav {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let off = 12;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const size = v.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      let format = v.getUint16(body, true);
      if (format === 0xfffe && size >= 26) format = v.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE
      fmt = {
        format,
        channels: v.getUint16(body + 2, true),
        rate: v.getUint32(body + 4, true),
        bits: v.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk before fmt chunk');
      const end = Math.min(bytes.length, body + size);
      return { sampleRate: fmt.rate, channels: fmt.channels, samples: readSamples(v, body, end, fmt) };
    }
    off = body + size + (size & 1);
  }
  throw new Error('WAV has no data chunk');
}

function readSamples(
  v: DataView,
  start: number,
  end: number,
  f: { format: number; channels: number; bits: number },
): Float32Array {
  const bps = f.bits / 8;
  const frame = bps * f.channels;
  const n = Math.floor((end - start) / frame);
  const out = new Float32Array(n);
  const read = (o: number): number => {
    if (f.format === 3 && f.bits === 32) return v.getFloat32(o, true);
    if (f.format === 3 && f.bits === 64) return v.getFloat64(o, true);
    switch (f.bits) {
      case 8:
        return (v.getUint8(o) - 128) / 128;
      case 16:
        return v.getInt16(o, true) / 32768;
      case 24:
        return (((v.getUint8(o + 2) << 24) | (v.getUint8(o + 1) << 16) | (v.getUint8(o) << 8)) >> 8) / 8388608;
      case 32:
        return v.getInt32(o, true) / 2147483648;
      default:
        throw new Error(`unsupported WAV sample format ${f.format}/${f.bits} bit`);
    }
  };
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < f.channels; c++) s += read(start + i * frame + c * bps);
    out[i] = s / f.channels;
  }
  return out;
}
