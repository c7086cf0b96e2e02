/**
 * The Stable-unCLIP image loop around the UNet and VAE graphs (docs/anygpt.md, "Images"): class labels built from the
 * SEED image embedding, classifier-free guidance against a zero class label, PLMS updates, VAE decode.
 * The loop sees the graphs as functions so it can be tested with any net.
 */
import { MediaError, throwIfAborted } from './errors';
import { PndmScheduler } from './pndm';

/** diffusers' sinusoidal timestep embedding with flip_sin_to_cos=True, shift 0: [cos(t·f), sin(t·f)]. */
export function timestepEmbedding(t: number, dim: number): Float32Array {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(dim);
  for (let i = 0; i < half; i++) {
    const freq = Math.exp((-Math.log(10000) * i) / half);
    out[i] = Math.cos(t * freq);
    out[half + i] = Math.sin(t * freq);
  }
  return out;
}

/**
 * alphas_cumprod[0] of the image-noising scheduler (DDPM, 1000 steps, squaredcos_cap_v2), in float32.
 * At noise level 0 the embedding keeps sqrt(a0) ≈ 0.99998 of itself and gains ~0.6 % noise.
 */
export function noisingAlpha0(numTrain = 1000): number {
  const ab = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const beta0 = Math.fround(Math.min(1 - ab(1 / numTrain) / ab(0), 0.999));
  return Math.fround(1 - beta0);
}

/**
 * The positive class label: [unscale(sqrt(a0)·scale(e) + sqrt(1-a0)·noise), timestepEmbedding(0)], where
 * scale/unscale are the image normaliser ((e-mean)/std and back). The negative one is all zeros.
 */
export function unclipClassLabel(
  embeds: Float32Array,
  noise: Float32Array,
  normalizer?: { mean: Float32Array; std: Float32Array },
): Float32Array {
  const d = embeds.length;
  const a0 = noisingAlpha0();
  const out = new Float32Array(2 * d);
  for (let i = 0; i < d; i++) {
    const m = normalizer ? normalizer.mean[i] : 0;
    const s = normalizer ? normalizer.std[i] : 1;
    const scaled = (embeds[i] - m) / s;
    const noised = Math.sqrt(a0) * scaled + Math.sqrt(1 - a0) * noise[i];
    out[i] = noised * s + m;
  }
  out.set(timestepEmbedding(0, d), d);
  return out;
}

export interface UnclipLoop {
  scheduler: PndmScheduler;
  guidanceScale: number;
  /** Initial latents (init_noise_sigma is 1 for PNDM). */
  latents: Float32Array;
  /**
   * One UNet evaluation. With guidance > 1 `batch` is 2 (row 0 unconditional, row 1 conditional) and the
   * result holds both rows; otherwise 1.
   */
  unet: (latents: Float32Array, batch: 1 | 2, timestep: number) => Promise<Float32Array>;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Runs the denoising loop and returns the final latents. */
export async function runUnclip(loop: UnclipLoop): Promise<Float32Array> {
  const { scheduler, guidanceScale: g } = loop;
  let latents = loop.latents;
  const n = latents.length;
  const cfg = g > 1;
  const total = scheduler.timesteps.length;
  for (let k = 0; k < total; k++) {
    throwIfAborted(loop.signal, 'image decoding');
    const t = scheduler.timesteps[k];
    let input = latents;
    if (cfg) {
      input = new Float32Array(2 * n);
      input.set(latents, 0);
      input.set(latents, n);
    }
    const out = await loop.unet(input, cfg ? 2 : 1, t);
    if (out.length !== input.length)
      throw new MediaError(`the UNet returned ${out.length} values for ${input.length} latent values`, 'model');
    let guided = out;
    if (cfg) {
      guided = new Float32Array(n);
      for (let i = 0; i < n; i++) guided[i] = out[i] + g * (out[n + i] - out[i]);
    }
    latents = scheduler.step(guided, t, latents);
    loop.onProgress?.(k + 1, total);
  }
  return latents;
}

/** VAE output [1,3,H,W] in about [-1,1] → RGB bytes HWC: round(clamp(x/2 + 0.5, 0, 1)·255). */
export function vaeToRgb(x: Float32Array, height: number, width: number): Uint8Array {
  const plane = height * width;
  const rgb = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < plane; i++) {
      const v = Math.min(1, Math.max(0, x[c * plane + i] / 2 + 0.5));
      rgb[i * 3 + c] = Math.round(v * 255);
    }
  return rgb;
}
