import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAudio, type AudioRequest } from '../../kernel/codecs/audio-input';
import { bytesSource, withSource } from '../../kernel/codecs/byte-source';
import { MediaError } from '../../kernel/codecs/errors';
import { parseWavHeader, readWavFrames, encodeWav16 } from '../../kernel/codecs/wav-io';
import { resample } from '../../kernel/codecs/resample';
import { makeWav, measureFrequency, sine } from './fixtures';

const req = (over: Partial<AudioRequest> = {}): AudioRequest => ({
  label: 'speech input',
  targetRate: 16000,
  maxSeconds: 10,
  channels: 'first',
  minSamples: 320,
  ...over,
});

/** A WAV header (PCM 16-bit mono 44.1 kHz) whose data chunk claims `dataBytes`, followed by `actual` bytes. */
function wavHeader(dataBytes: number, actual: number, opts: { format?: number; bits?: number } = {}): Buffer {
  const bits = opts.bits ?? 16;
  const b = Buffer.alloc(44 + actual);
  b.write('RIFF', 0);
  b.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  b.write('WAVE', 8);
  b.write('fmt ', 12);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(opts.format ?? 1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(44100, 24);
  b.writeUInt32LE((44100 * bits) / 8, 28);
  b.writeUInt16LE(bits / 8, 32);
  b.writeUInt16LE(bits, 34);
  b.write('data', 36);
  b.writeUInt32LE(dataBytes, 40);
  return b;
}

function expectMediaError(fn: () => unknown, code: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MediaError, `expected MediaError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

describe('codecs/wav reading', () => {
  for (const bits of ['8', '16', '24', '32', '32f'] as const) {
    it(`reads ${bits === '32f' ? 'float32' : `PCM ${bits}-bit`} stereo with the right values`, () => {
      const l = sine(440, 8000, 0.1, 0.5);
      const r = sine(880, 8000, 0.1, 0.25);
      const src = bytesSource(makeWav([l, r], 8000, bits));
      const info = parseWavHeader(src);
      assert.equal(info.channels, 2);
      assert.equal(info.sampleRate, 8000);
      assert.equal(info.frames, 800);
      const [a, b] = readWavFrames(src, info, 0, info.frames);
      const tol = bits === '8' ? 0.01 : 1e-4;
      for (let i = 0; i < 800; i += 37) {
        assert.ok(Math.abs(a[i] - l[i]) < tol, `L[${i}] ${a[i]} vs ${l[i]}`);
        assert.ok(Math.abs(b[i] - r[i]) < tol, `R[${i}] ${b[i]} vs ${r[i]}`);
      }
    });
  }

  it('applies the channel policy: speech input takes channel 0, voice prompts and music average', () => {
    const left = new Float32Array(16000).fill(0.5);
    const right = new Float32Array(16000).fill(-0.25);
    const wav = makeWav([left, right], 16000, '32f');
    const first = readAudio(bytesSource(wav), req({ channels: 'first' }));
    const avg = readAudio(bytesSource(wav), req({ channels: 'average' }));
    assert.ok(Math.abs(first.samples[8000] - 0.5) < 1e-6);
    assert.ok(Math.abs(avg.samples[8000] - 0.125) < 1e-6);
  });

  it('trims over-long input from the start, deterministically, with a warning', () => {
    const x = new Float32Array(16000 * 3);
    for (let i = 0; i < x.length; i++) x[i] = ((i % 1000) / 1000) * 0.5;
    const wav = makeWav([x], 16000, '32f');
    const a = readAudio(bytesSource(wav, 'long.wav'), req({ maxSeconds: 1.5 }));
    const b = readAudio(bytesSource(wav, 'long.wav'), req({ maxSeconds: 1.5 }));
    assert.equal(a.samples.length, 24000);
    assert.deepEqual(a.samples, b.samples);
    assert.equal(a.samples[1234], x[1234]);
    assert.match(a.warnings.join('\n'), /long\.wav is 3\.000 s long; kept the first 1\.500 s/);
  });

  it('trims a real (complete) 2-hour WAV quickly, reading only the kept prefix from disk', async () => {
    // 2 h of 8 kHz 8-bit mono = 57.6 MB, written as a sparse-ish file; only 10 s must be read.
    const dir = mkdtempSync(join(tmpdir(), 'codecs-'));
    const path = join(dir, 'two-hours.wav');
    const bytes = 2 * 3600 * 8000;
    const head = wavHeader(bytes, 0, { bits: 8 });
    head.writeUInt32LE(8000, 24);
    head.writeUInt32LE(8000, 28);
    writeFileSync(path, head);
    const { truncateSync } = await import('node:fs');
    truncateSync(path, 44 + bytes);
    try {
      const t0 = Date.now();
      const r = await withSource({ path }, (src) => readAudio(src, req({ maxSeconds: 10 })));
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
      assert.equal(r.samples.length, 160000);
      assert.equal(r.sourceSeconds, 7200);
      assert.match(r.warnings[0], /is 2\.00 h long; kept the first 10\.0 s/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  describe('bad files give precise errors', () => {
    it('0-byte file', () =>
      expectMediaError(
        () => readAudio(bytesSource(new Uint8Array(0), 'empty.wav'), req()),
        'empty',
        /empty\.wav is empty \(0 bytes\)/,
      ));
    it('0-length data chunk', () =>
      expectMediaError(
        () => readAudio(bytesSource(wavHeader(0, 0)), req()),
        'empty',
        /contains no audio: its data chunk holds 0 samples/,
      ));
    it('header claiming 2 hours over a tiny file', () =>
      expectMediaError(
        () => readAudio(bytesSource(wavHeader(2 * 3600 * 44100 * 2, 1000), 'liar.wav'), req()),
        'unreadable',
        /liar\.wav is truncated: its header declares 2\.00 h of audio .* only 1000 bytes/,
      ));
    it('NaN samples in a float WAV', () => {
      const x = sine(440, 16000, 0.5);
      x[4000] = NaN;
      expectMediaError(
        () => readAudio(bytesSource(makeWav([x], 16000, '32f'), 'nan.wav'), req()),
        'invalid-samples',
        /nan\.wav contains an invalid sample: channel 0, frame 4000 \(at 0\.250 s\) is NaN/,
      );
    });
    it('garbage bytes', () =>
      expectMediaError(
        () => readAudio(bytesSource(Buffer.from('this is not audio at all, just text'), 'junk.wav'), req()),
        'unsupported-format',
        /junk\.wav is not a WAV file/,
      ));
    it('a PNG given as audio', () => {
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
      expectMediaError(
        () => readAudio(bytesSource(png, 'pic.wav'), req()),
        'unsupported-format',
        /not a WAV file \(it looks like a PNG image\)/,
      );
    });
    it('µ-law encoding', () =>
      expectMediaError(
        () => readAudio(bytesSource(wavHeader(100, 100, { format: 7, bits: 8 })), req()),
        'unsupported-format',
        /µ-law with 8-bit samples, which is not supported/,
      ));
    it('truncated header', () =>
      expectMediaError(
        () => readAudio(bytesSource(wavHeader(100, 100).subarray(0, 30)), req()),
        'unreadable',
        /truncated fmt chunk|no data chunk/,
      ));
    it('too short to make one token', () =>
      expectMediaError(
        () => readAudio(bytesSource(makeWav([sine(440, 16000, 0.01)], 16000, '16'), 'blip.wav'), req()),
        'invalid-samples',
        /blip\.wav is too short: 0\.010 s; at least 0\.020 s/,
      ));
  });
});

describe('codecs/resample', () => {
  it('keeps a 1 kHz sine at 1 kHz (±1 Hz) from 44.1 kHz to 16 kHz', () => {
    const y = resample(sine(1000, 44100, 1), 44100, 16000);
    assert.equal(y.length, 16000);
    assert.ok(Math.abs(measureFrequency(y, 16000) - 1000) < 1, `${measureFrequency(y, 16000)} Hz`);
  });

  it('keeps a 1 kHz sine at 1 kHz (±1 Hz) from 16 kHz to 32 kHz, with unity gain', () => {
    const y = resample(sine(1000, 16000, 1), 16000, 32000);
    assert.equal(y.length, 32000);
    assert.ok(Math.abs(measureFrequency(y, 32000) - 1000) < 1);
    let peak = 0;
    for (let i = 3000; i < 29000; i++) peak = Math.max(peak, Math.abs(y[i]));
    assert.ok(Math.abs(peak - 0.5) < 0.005, `peak ${peak}`);
  });

  it('removes content above the new Nyquist instead of aliasing it', () => {
    // 12 kHz at 44.1 kHz would alias to 4 kHz at 16 kHz; a band-limited resampler leaves ~nothing.
    const y = resample(sine(12000, 44100, 0.5), 44100, 16000);
    let energy = 0;
    for (let i = 500; i < y.length - 500; i++) energy += y[i] * y[i];
    const rms = Math.sqrt(energy / (y.length - 1000));
    assert.ok(rms < 1e-3, `rms ${rms}`);
  });

  it('round-trips 16-bit WAV output', () => {
    const x = sine(300, 16000, 0.2, 0.9);
    const wav = encodeWav16(x, 16000);
    const src = bytesSource(wav);
    const info = parseWavHeader(src);
    assert.equal(info.bitsPerSample, 16);
    const [y] = readWavFrames(src, info, 0, info.frames);
    for (let i = 0; i < x.length; i += 17) assert.ok(Math.abs(x[i] - y[i]) < 1e-4);
  });
});
