/**
 * The image codec: encoder graph → ids; ids → pixels through a direct decoder graph (small models) or the
 * real AnyGPT path (SEED decoder → unCLIP diffusion → VAE).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileRef, ImageSpec } from '../../common/manifest';
import type { ByteSource } from './byte-source';
import { MediaError } from './errors';
import { encodePng, readImage } from './image-io';
import { Component, type ComponentHost, tensorFloats, tensorNumbers } from './onnx';
import { PndmScheduler } from './pndm';
import { Xoshiro128 } from '../../common/prng';
import { runUnclip, unclipClassLabel, vaeToRgb } from './unclip';

export interface DecodeProgress {
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface DecodedImage {
  png: Buffer;
  width: number;
  height: number;
  warnings: string[];
}

type Unclip = Extract<ImageSpec['decoder'], { kind: 'seed-unclip' }>;

/** Text-embedding rows (CLIP context length); the width is file size / 4 / 77. */
export const TEXT_TOKENS = 77;

export class ImageCodec {
  private readonly encoder: Component;
  private readonly direct?: Component;
  private readonly seed?: Component;
  private readonly unet?: Component;
  private readonly vae?: Component;
  private constants?: { text: Float32Array; normalizer?: { mean: Float32Array; std: Float32Array } };

  constructor(
    private readonly host: ComponentHost,
    readonly spec: ImageSpec,
    private readonly maxPixels?: number,
  ) {
    this.encoder = new Component(host, 'image encoder', spec.encoder, ['pixel_values']);
    const d = spec.decoder;
    if (d.kind === 'direct') this.direct = new Component(host, 'image decoder', d.graph, ['codes']);
    else {
      this.seed = new Component(host, 'SEED decoder', d.seedDecoder, ['codes']);
      this.unet = new Component(host, 'UNet', d.unet, ['sample', 'timestep', 'encoder_hidden_states', 'class_labels']);
      this.vae = new Component(host, 'VAE decoder', d.vae, ['latent_sample']);
    }
  }

  async encode(src: ByteSource): Promise<{ codes: number[]; warnings: string[] }> {
    const img = await readImage(src, this.spec.input, this.maxPixels);
    const out = await this.encoder.run(
      { pixel_values: this.encoder.tensor('float32', img.pixels, [1, 3, img.height, img.width]) },
      'codes',
    );
    const codes = tensorNumbers(out, 'image encoder');
    if (codes.length !== this.spec.tokensPerImage)
      throw new MediaError(
        `the image encoder ${this.encoder.file} produced ${codes.length} ids; the manifest says ${this.spec.tokensPerImage} per image`,
        'model',
      );
    const bad = codes.findIndex((c) => c < 0 || c >= this.spec.tokens.size);
    if (bad >= 0)
      throw new MediaError(
        `the image encoder ${this.encoder.file} produced id ${codes[bad]} at ${bad}, outside 0..${this.spec.tokens.size - 1}`,
        'model',
      );
    return { codes, warnings: img.warnings };
  }

  /** Checks a span's ids before any graph runs. */
  validate(codes: readonly number[]): void {
    const n = this.spec.tokensPerImage;
    if (codes.length !== n)
      throw new MediaError(
        `an image needs exactly ${n} tokens, the span has ${codes.length}${codes.length < n ? ' (it was cut short)' : ''}`,
        'invalid-tokens',
      );
    const bad = codes.findIndex((c) => !Number.isInteger(c) || c < 0 || c >= this.spec.tokens.size);
    if (bad >= 0)
      throw new MediaError(
        `image token ${bad} has code ${codes[bad]}, outside 0..${this.spec.tokens.size - 1}`,
        'invalid-tokens',
      );
  }

  async decode(codes: readonly number[], opts: DecodeProgress = {}): Promise<DecodedImage> {
    this.validate(codes);
    const d = this.spec.decoder;
    if (d.kind === 'direct') {
      const dec = this.direct!;
      const out = await dec.run({ codes: dec.int64(codes, [1, codes.length]) }, 'pixels');
      const [, h, w, c] = out.dims;
      if (out.dims.length !== 4 || c !== 3)
        throw new MediaError(
          `the image decoder ${dec.file} returned shape [${out.dims.join(',')}], expected [1,H,W,3]`,
          'model',
        );
      const px = tensorFloats(out, 'image decoder');
      const rgb = new Uint8Array(px.length);
      for (let i = 0; i < px.length; i++) rgb[i] = Math.max(0, Math.min(255, Math.round(px[i])));
      opts.onProgress?.(1, 1);
      return { png: await encodePng(rgb, w, h), width: w, height: h, warnings: [] };
    }
    return this.decodeUnclip(codes, d, opts);
  }

  private async decodeUnclip(codes: readonly number[], d: Unclip, opts: DecodeProgress): Promise<DecodedImage> {
    const { text, normalizer } = this.loadConstants(d);
    const seedOut = await this.seed!.run({ codes: this.seed!.int64(codes, [1, codes.length]) }, 'image_embeds');
    const embeds = tensorFloats(seedOut, 'SEED decoder');
    if (normalizer && normalizer.mean.length !== embeds.length)
      throw new MediaError(
        `the image normaliser has ${normalizer.mean.length} values but the SEED decoder gives ${embeds.length}-d embeddings`,
        'model',
      );

    // Noise order is part of the seed contract (docs/codecs.md): latents first, then the embedding noise.
    const rng = new Xoshiro128(opts.seed ?? 0);
    const latentCount = d.latentShape.reduce((a, b) => a * b, 1);
    const latents = rng.normals(latentCount);
    const positive = unclipClassLabel(embeds, rng.normals(embeds.length), normalizer);

    const scheduler = new PndmScheduler(d.scheduler, d.steps);
    const unet = this.unet!;
    const ts = await unet.inputType('timestep');
    const textDim = text.length / TEXT_TOKENS;
    const [, ...latentRest] = d.latentShape;
    const batches = new Map<number, { text: Float32Array; labels: Float32Array }>();
    const fixed = (batch: 1 | 2) => {
      let b = batches.get(batch);
      if (!b) {
        const t = new Float32Array(batch * text.length);
        for (let i = 0; i < batch; i++) t.set(text, i * text.length);
        // batch 2: row 0 = unconditional (zero class label), row 1 = conditional.
        const labels = new Float32Array(batch * positive.length);
        labels.set(positive, (batch - 1) * positive.length);
        b = { text: t, labels };
        batches.set(batch, b);
      }
      return b;
    };
    const timestepTensor = (t: number, batch: number) => {
      const dims = ts.rank === 0 ? [] : ts.dims?.[0] === 1 ? [1] : [batch];
      const n = dims.length ? dims[0] : 1;
      if (ts.type === 'int64') return unet.int64(new Array(n).fill(t), dims);
      return unet.tensor('float32', new Float32Array(n).fill(t), dims);
    };
    const final = await runUnclip({
      scheduler,
      guidanceScale: d.guidanceScale,
      latents,
      signal: opts.signal,
      onProgress: opts.onProgress,
      unet: async (x, batch, t) => {
        const fx = fixed(batch);
        const out = await unet.run(
          {
            sample: unet.tensor('float32', x, [batch, ...latentRest]),
            timestep: timestepTensor(t, batch),
            encoder_hidden_states: unet.tensor('float32', fx.text, [batch, TEXT_TOKENS, textDim]),
            class_labels: unet.tensor('float32', fx.labels, [batch, positive.length]),
          },
          'out_sample',
        );
        return tensorFloats(out, 'UNet');
      },
    });
    const scaled = new Float32Array(final.length);
    for (let i = 0; i < final.length; i++) scaled[i] = final[i] / d.vaeScale;
    const vae = this.vae!;
    const img = await vae.run({ latent_sample: vae.tensor('float32', scaled, d.latentShape) }, 'sample');
    if (img.dims.length !== 4 || img.dims[1] !== 3)
      throw new MediaError(
        `the VAE decoder ${vae.file} returned shape [${img.dims.join(',')}], expected [1,3,H,W]`,
        'model',
      );
    const [, , h, w] = img.dims;
    const rgb = vaeToRgb(tensorFloats(img, 'VAE decoder'), h, w);
    return { png: await encodePng(rgb, w, h), width: w, height: h, warnings: [] };
  }

  private loadConstants(d: Unclip): { text: Float32Array; normalizer?: { mean: Float32Array; std: Float32Array } } {
    if (!this.constants) {
      const text = this.readF32(d.textEmbedding, 'text embedding');
      if (text.length % TEXT_TOKENS !== 0)
        throw new MediaError(
          `the text embedding ${d.textEmbedding.path} holds ${text.length} floats, not a multiple of ${TEXT_TOKENS} rows`,
          'model',
        );
      const normalizer = d.imageNormalizer && {
        mean: this.readF32(d.imageNormalizer.mean, 'image normaliser mean'),
        std: this.readF32(d.imageNormalizer.std, 'image normaliser std'),
      };
      this.constants = { text, normalizer };
    }
    return this.constants;
  }

  private readF32(ref: FileRef, label: string): Float32Array {
    let b: Buffer;
    try {
      b = readFileSync(join(this.host.dir, ref.path));
    } catch (e) {
      throw new MediaError(`the ${label} file ${ref.path} could not be read: ${(e as Error).message}`, 'model', {
        cause: e,
      });
    }
    if (b.byteLength % 4)
      throw new MediaError(`the ${label} file ${ref.path} is ${b.byteLength} bytes, not whole float32 values`, 'model');
    const out = new Float32Array(b.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
    return out;
  }

  /** The graphs a decode runs (opened ahead of use by the engine's background preload). */
  decoders(): Component[] {
    return [this.direct, this.seed, this.unet, this.vae].filter((c): c is Component => !!c);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.encoder, this.direct, this.seed, this.unet, this.vae].map((c) => c?.dispose()));
  }
}
