import assert from 'node:assert/strict';
import sharp from 'sharp';
import { bytesSource } from '../../kernel/codecs/byte-source';
import { MediaError, type Codecs } from '../../kernel/codecs';
import { readImage } from '../../kernel/codecs/image-io';
import { runFixedUnclip } from './unclip-reference';
import { fixtureJson, greyBlocks, loadManifest, openCodecs } from './fixtures';

const LEVELS = [20, 60, 100, 140, 180, 220, 250, 5];

async function rejects(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MediaError, `expected MediaError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

/** Grey value (0..255) of the normalised CHW pixel at (x, y), channel 0. */
function grey(pixels: Float32Array, x: number, y: number, w = 32): number {
  const { mean, std } = loadManifest().modalities.image!.input;
  return (pixels[y * w + x] * std[0] + mean[0]) * 255;
}

describe('codecs/image', () => {
  let codecs: Codecs;
  before(async () => {
    codecs = await openCodecs('direct');
  });
  after(() => codecs.dispose());

  for (const format of ['png', 'jpeg', 'webp', 'gif', 'tiff'] as const) {
    it(`round-trips a ${format.toUpperCase()} through the encoder and the direct decoder`, async () => {
      const file = await greyBlocks(LEVELS, 64, 48, format);
      assert.equal((await sharp(file).metadata()).format, format);
      const { codes, warnings } = await codecs.encodeImage(file);
      assert.equal(codes.length, 8);
      assert.deepEqual(warnings, []);
      codes.forEach((c, i) => assert.ok(Math.abs(c - LEVELS[i]) <= 4, `cell ${i}: ${c} vs ${LEVELS[i]}`));
      const img = await codecs.decodeImage(codes);
      assert.equal(img.width, 32);
      assert.equal(img.height, 32);
      const { data, info } = await sharp(img.png).raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.format, 'raw');
      assert.equal(data[(8 * 32 + 4) * 3], codes[0]); // top-left cell centre
      assert.equal(data[(24 * 32 + 28) * 3], codes[7]); // bottom-right
    });
  }

  it('uses the first frame of an animated GIF and says so', async () => {
    const frame = (v: number) => Buffer.alloc(16 * 16 * 4, v);
    const gif = await sharp(Buffer.concat([frame(200), frame(30)]), {
      raw: { width: 16, height: 32, channels: 4, pageHeight: 16 } as never,
    })
      .gif()
      .toBuffer();
    const r = await readImage(bytesSource(gif, 'anim.gif'), loadManifest().modalities.image!.input);
    assert.ok(Math.abs(grey(r.pixels, 16, 16) - 200) < 3, `${grey(r.pixels, 16, 16)}`);
    assert.match(r.warnings.join(), /anim\.gif has 2 frames; only the first is used/);
  });

  it('applies EXIF orientation before resizing', async () => {
    // 40×20 landscape: left half black, right half white. Orientation 6 = rotate 90° clockwise for display,
    // so the left (black) half ends up on top.
    const rgb = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 20; x < 40; x++) rgb.fill(255, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
    const jpeg = await sharp(rgb, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const r = await readImage(bytesSource(jpeg), loadManifest().modalities.image!.input);
    assert.ok(grey(r.pixels, 16, 4) < 20, `top ${grey(r.pixels, 16, 4)}`);
    assert.ok(grey(r.pixels, 16, 28) > 235, `bottom ${grey(r.pixels, 16, 28)}`);
    assert.equal(r.source.width, 40);
  });

  it('flattens transparency onto the manifest background', async () => {
    const png = await sharp({
      create: { width: 10, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const r = await readImage(bytesSource(png), { ...loadManifest().modalities.image!.input, background: '#ffffff' });
    assert.ok(Math.abs(grey(r.pixels, 5, 5) - 255) < 0.5);
    const r2 = await readImage(bytesSource(png), { ...loadManifest().modalities.image!.input, background: '#000000' });
    assert.ok(Math.abs(grey(r2.pixels, 5, 5)) < 0.5);
  });

  it('normalises with the manifest mean/std into CHW floats', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 128 } } })
      .png()
      .toBuffer();
    const { input } = loadManifest().modalities.image!;
    const r = await readImage(bytesSource(png), input);
    assert.equal(r.pixels.length, 3 * 32 * 32);
    assert.ok(Math.abs(r.pixels[0] - (1 - input.mean[0]) / input.std[0]) < 1e-5);
    assert.ok(Math.abs(r.pixels[1024] - (0 - input.mean[1]) / input.std[1]) < 1e-5);
    assert.ok(Math.abs(r.pixels[2048] - (128 / 255 - input.mean[2]) / input.std[2]) < 1e-5);
  });

  describe('bad images give precise errors', () => {
    it('truncated PNG', async () => {
      const png = await greyBlocks(LEVELS, 300, 200);
      await rejects(
        codecs.encodeImage(png.subarray(0, Math.floor(png.length / 2))),
        'unreadable',
        /truncated or corrupt/,
      );
    });
    it('garbage bytes', () =>
      rejects(
        codecs.encodeImage(Buffer.from('definitely not an image, only words')),
        'unreadable',
        /not a readable image.*Accepted: PNG, JPEG, WebP, GIF, TIFF/,
      ));
    it('empty input', () => rejects(codecs.encodeImage(new Uint8Array(0)), 'empty', /is empty \(0 bytes\)/));
    it('a WAV given as an image', async () => {
      const wav = Buffer.alloc(64);
      wav.write('RIFF', 0);
      wav.write('WAVE', 8);
      await rejects(codecs.encodeImage(wav), 'unsupported-format', /it looks like a WAV file/);
    });
    it('an SVG (readable but not accepted)', () =>
      rejects(
        codecs.encodeImage(
          Buffer.from(
            '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>',
          ),
        ),
        'unsupported-format',
        /SVG image, which is not accepted/,
      ));
    it('decompression bomb: a PNG header declaring 100000×100000', async () => {
      const png = Buffer.from(
        await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
          .png()
          .toBuffer(),
      );
      png.writeUInt32BE(100000, 16);
      png.writeUInt32BE(100000, 20);
      png.writeUInt32BE(crc32(png.subarray(12, 29)), 29); // keep the IHDR CRC valid
      await rejects(codecs.encodeImage(png), 'too-large', /declares 100000×100000 pixels .* decompression bomb/);
    });
  });

  describe('decode validation', () => {
    it('rejects a span of the wrong length, naming the counts', () =>
      rejects(
        codecs.decodeImage([1, 2, 3]),
        'invalid-tokens',
        /exactly 8 tokens, the span has 3 \(it was cut short\)/,
      ));
    it('rejects an out-of-range code, naming the token', () =>
      rejects(
        codecs.decodeImage([1, 2, 3, 4, 5, 6, 300, 8]),
        'invalid-tokens',
        /image token 6 has code 300, outside 0\.\.255/,
      ));
  });
});

describe('codecs/image unCLIP path', () => {
  let codecs: Codecs;
  before(async () => {
    codecs = await openCodecs('unclip');
  });
  after(() => codecs.dispose());

  it('runs 20 steps as 21 UNet evaluations with progress per step and a PNG of the VAE size', async () => {
    const progress: number[] = [];
    const img = await codecs.decodeImage([3, 250, 17, 99, 0, 255, 128, 64], {
      seed: 7,
      onProgress: (d, t) => progress.push(d, t),
    });
    assert.equal(progress.length / 2, 21);
    assert.deepEqual(progress.slice(-2), [21, 21]);
    assert.equal(img.width, 64);
    assert.equal(img.height, 64);
    const meta = await sharp(img.png).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 64);
  });

  it('is deterministic under a seed and varies with it', async () => {
    const codes = [1, 2, 3, 4, 5, 6, 7, 8];
    const a = await codecs.decodeImage(codes, { seed: 1 });
    const b = await codecs.decodeImage(codes, { seed: 1 });
    const c = await codecs.decodeImage(codes, { seed: 2 });
    assert.ok(a.png.equals(b.png));
    assert.ok(!a.png.equals(c.png));
  });

  it('aborts between steps', async () => {
    const ctl = new AbortController();
    await rejects(
      codecs.decodeImage([1, 2, 3, 4, 5, 6, 7, 8], { signal: ctl.signal, onProgress: (d) => d === 3 && ctl.abort() }),
      'aborted',
      /image decoding was aborted/,
    );
  });

  it('matches the torch reference of the whole loop (fixed latents, zero embedding noise)', async () => {
    const ref = fixtureJson<{ codes: number[]; classLabels: number[]; latentsFinal: number[] }>('unclip.json');
    const r = await runFixedUnclip(ref.codes);
    r.classLabels.forEach((v, i) =>
      assert.ok(Math.abs(v - ref.classLabels[i]) < 1e-5, `class label ${i}: ${v} vs ${ref.classLabels[i]}`),
    );
    let maxErr = 0;
    r.latents.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - ref.latentsFinal[i]))));
    assert.ok(maxErr < 1e-3, `max latent error ${maxErr}`);
  });
});

function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
