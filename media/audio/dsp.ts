/** Signal summaries for drawing: a min/max envelope per pixel column and a log-magnitude spectrogram. */

/** [min,max] per column, so a waveform of any length draws in O(width). */
export function envelope(samples: Float32Array, columns: number): Float32Array {
  const out = new Float32Array(columns * 2);
  const per = samples.length / columns;
  for (let c = 0; c < columns; c++) {
    const a = Math.floor(c * per),
      b = Math.max(a + 1, Math.floor((c + 1) * per));
    let lo = 0,
      hi = 0;
    for (let i = a; i < b && i < samples.length; i++) {
      const s = samples[i];
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    out[2 * c] = lo;
    out[2 * c + 1] = hi;
  }
  return out;
}

/** In-place radix-2 FFT (re, im of length n = power of two). */
function fft(re: Float32Array, im: Float32Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang),
      wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1,
        ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k,
          b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci,
          ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

export interface Spectrogram {
  columns: number;
  bins: number;
  /** dB values normalised to [0,1], column-major: data[c * bins + b], b = 0 is the lowest frequency. */
  data: Float32Array;
}

/** Hann-windowed STFT with at most `maxColumns` frames, spread evenly over the signal; 60 dB range. */
export function spectrogram(samples: Float32Array, maxColumns: number, size = 512): Spectrogram {
  const columns = Math.max(1, Math.min(maxColumns, Math.floor(samples.length / (size / 4)) || 1));
  const bins = size / 2;
  const data = new Float32Array(columns * bins);
  const win = new Float32Array(size);
  for (let i = 0; i < size; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (size - 1));
  const re = new Float32Array(size),
    im = new Float32Array(size);
  const step = columns > 1 ? (samples.length - size) / (columns - 1) : 0;
  let peak = -Infinity;
  for (let c = 0; c < columns; c++) {
    const start = Math.max(0, Math.round(c * step));
    for (let i = 0; i < size; i++) {
      re[i] = (samples[start + i] ?? 0) * win[i];
      im[i] = 0;
    }
    fft(re, im);
    for (let b = 0; b < bins; b++) {
      const db = 10 * Math.log10(re[b] * re[b] + im[b] * im[b] + 1e-12);
      data[c * bins + b] = db;
      if (db > peak) peak = db;
    }
  }
  const floor = peak - 60;
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, (data[i] - floor) / 60);
  return { columns, bins, data };
}

export function formatTime(sec: number): string {
  const m = Math.floor(sec / 60);
  const s = sec - m * 60;
  return `${m}:${s.toFixed(2).padStart(5, '0')}`;
}
