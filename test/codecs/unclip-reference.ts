/**
 * Runs the unCLIP loop on the tiny graphs the way the fixture script's torch reference does: fixed
 * latents l[j] = sin(0.05·j + 0.3) and zero embedding noise instead of seeded draws.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ImageSpec } from '../../common/manifest';
import { PndmScheduler } from '../../kernel/codecs/pndm';
import { runUnclip, unclipClassLabel } from '../../kernel/codecs/unclip';
import { FIXTURES, loadManifest } from './fixtures';

type Unclip = Extract<ImageSpec['decoder'], { kind: 'seed-unclip' }>;

const f32 = (name: string) => {
  const b = readFileSync(join(FIXTURES, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

export async function runFixedUnclip(
  codes: number[],
): Promise<{ classLabels: Float32Array; latents: Float32Array; evaluations: number; timesteps: number[] }> {
  const d = loadManifest().unclipDecoder as Unclip;
  const opt = { intraOpNumThreads: 1 };
  const seed = await ort.InferenceSession.create(join(FIXTURES, d.seedDecoder.path), opt);
  const unet = await ort.InferenceSession.create(join(FIXTURES, d.unet.path), opt);
  const embeds = (
    await seed.run({ codes: new ort.Tensor('int64', BigInt64Array.from(codes, BigInt), [1, codes.length]) })
  ).image_embeds.data as Float32Array;
  const classLabels = unclipClassLabel(embeds, new Float32Array(embeds.length), {
    mean: f32('image_normalizer_mean.f32'),
    std: f32('image_normalizer_std.f32'),
  });
  const text = f32('text_embedding.f32');
  const n = d.latentShape.reduce((a, b) => a * b, 1);
  const latents = Float32Array.from({ length: n }, (_, j) => Math.sin(0.05 * j + 0.3));
  const scheduler = new PndmScheduler(d.scheduler, d.steps);
  const timesteps: number[] = [];
  const labels2 = new Float32Array(2 * classLabels.length);
  labels2.set(classLabels, classLabels.length);
  const text2 = new Float32Array(2 * text.length);
  text2.set(text);
  text2.set(text, text.length);
  const out = await runUnclip({
    scheduler,
    guidanceScale: d.guidanceScale,
    latents,
    unet: async (x, batch, t) => {
      timesteps.push(t);
      const r = await unet.run({
        sample: new ort.Tensor('float32', x, [batch, ...d.latentShape.slice(1)]),
        timestep: new ort.Tensor('float32', new Float32Array(batch).fill(t), [batch]),
        encoder_hidden_states: new ort.Tensor('float32', text2, [batch, 77, text.length / 77]),
        class_labels: new ort.Tensor('float32', labels2, [batch, labels2.length / batch]),
      });
      return r.out_sample.data as Float32Array;
    },
  });
  await seed.release();
  await unet.release();
  return { classLabels, latents: out, evaluations: timesteps.length, timesteps };
}
