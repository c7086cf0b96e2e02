/**
 * Image files ↔ pixels, via sharp.
 *
 * Input follows upstream SEED preprocessing (PIL convert('RGB') → Resize((H,W), BICUBIC) → ToTensor →
 * Normalize) with three additions PIL's path lacks: EXIF orientation is applied (a phone photo is encoded
 * the way it is shown), transparency is flattened onto the manifest's background instead of PIL's
 * undefined RGB under alpha, and a pixel-count guard stops decompression bombs before any pixel is decoded.
 * Animated GIF/WebP contribute their first frame.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import type { ImageSpec } from '../../common/manifest';
import { sniff, type ByteSource } from './byte-source';
import { MediaError } from './errors';

/** Default guard: 64 megapixels (an 8K photo is 33 Mpx). Sharp refuses larger inputs before decoding. */
export const DEFAULT_MAX_INPUT_PIXELS = 64 * 1024 * 1024;
/** Files larger than this are refused before being read at all. */
export const MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024;

const ACCEPTED = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff']);

export interface ImageInput {
  /** Normalised float pixels, CHW, [3, height, width]. */
  pixels: Float32Array;
  width: number;
  height: number;
  source: { format: string; width: number; height: number };
  warnings: string[];
}

export async function readImage(
  src: ByteSource,
  input: ImageSpec['input'],
  maxPixels = DEFAULT_MAX_INPUT_PIXELS,
): Promise<ImageInput> {
  const what = src.name;
  if (src.size === 0) throw new MediaError(`${what} is empty (0 bytes); expected an image`, 'empty');
  if (src.size > MAX_IMAGE_FILE_BYTES)
    throw new MediaError(
      `${what} is ${(src.size / 2 ** 20).toFixed(0)} MiB, more than the ${MAX_IMAGE_FILE_BYTES / 2 ** 20} MiB accepted for an image`,
      'too-large',
    );
  const bytes = src.read(0, src.size);
  const warnings: string[] = [];

  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    const looks = sniff(bytes.subarray(0, 16));
    throw new MediaError(
      `${what} is not a readable image${looks ? ` (it looks like ${looks})` : ''}: ${reason(e)}. Accepted: PNG, JPEG, WebP, GIF, TIFF`,
      looks ? 'unsupported-format' : 'unreadable',
      { cause: e },
    );
  }
  const format = meta.format ?? 'unknown';
  if (!ACCEPTED.has(format))
    throw new MediaError(
      `${what} is a ${format.toUpperCase()} image, which is not accepted; use PNG, JPEG, WebP, GIF or TIFF`,
      'unsupported-format',
    );
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w * h > maxPixels)
    throw new MediaError(
      `${what} declares ${w}×${h} pixels (${((w * h) / 1e6).toFixed(1)} Mpx), more than the ${(maxPixels / 1e6).toFixed(1)} Mpx limit; refused as a possible decompression bomb. Downscale it first`,
      'too-large',
    );
  if ((meta.pages ?? 1) > 1) warnings.push(`${what} has ${meta.pages} frames; only the first is used`);

  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(bytes, { limitInputPixels: maxPixels, pages: 1, failOn: 'error' })
      .rotate() // applies and strips EXIF orientation
      .flatten({ background: input.background })
      .toColourspace('srgb')
      .resize(input.width, input.height, { fit: 'fill', kernel: 'cubic' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new MediaError(
      `${what} (${format.toUpperCase()}) could not be decoded, the file is truncated or corrupt: ${reason(e)}`,
      'unreadable',
      { cause: e },
    );
  }
  const { data, info } = raw;
  if (info.channels !== 3)
    throw new MediaError(`${what}: decoding produced ${info.channels} channels instead of RGB`, 'unreadable');
  const plane = input.width * input.height;
  const pixels = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = input.mean[c];
    const s = input.std[c];
    for (let i = 0; i < plane; i++) pixels[c * plane + i] = (data[i * 3 + c] / 255 - m) / s;
  }
  return { pixels, width: input.width, height: input.height, source: { format, width: w, height: h }, warnings };
}

/** RGB bytes (HWC) → PNG. */
export async function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/**
 * A PNG enlarged by a whole factor with nearest-neighbour so that its longer side reaches `minSide`: every
 * source pixel becomes an exact k×k block, so nothing is invented. Notebook UIs show images at their pixel
 * size, and a small model's 32×32 output is otherwise a speck. Returns the input when it is large enough.
 */
export async function enlargeForDisplay(
  png: Uint8Array,
  width: number,
  height: number,
  minSide = 256,
): Promise<{ png: Uint8Array; scale: number }> {
  const scale = Math.floor(minSide / Math.max(width, height));
  if (scale < 2) return { png, scale: 1 };
  const out = await sharp(png)
    .resize(width * scale, height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
  return { png: out, scale };
}

function reason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].replace(/\s+$/, '');
}
