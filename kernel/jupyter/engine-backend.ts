/**
 * Backend over the real engine (kernel/engine) and codecs (kernel/codecs).
 *
 * LLM work runs in the engine's worker thread. Codec calls run here on the kernel's main thread for now:
 * their ONNX runs are asynchronous (ORT's own threads) but their JS loops (PNDM, SoundStorm) are not.
 * When the engine exposes codec operations through its worker (WorkerOps `encodeMedia`/`decodeSpan`),
 * only this file changes.
 */
import type { Generation, GenerationEvent, GenerationParams } from '../../common/generation';
import type { MediaModality } from '../../common/manifest';
import { Codecs } from '../codecs';
import { ENGINE_VERSION, Engine } from '../engine';
import type { MediaCodes } from '../prompt/templates';
import type { Backend, BackendOptions, DecodedMedia, ModelDescription, Progress, VoicePrompt } from './backend';

export class EngineBackend implements Backend {
  private constructor(
    private readonly engine: Engine,
    private readonly codecs: Codecs,
  ) {}

  static async open(dir: string, opts: BackendOptions): Promise<EngineBackend> {
    opts.onProgress?.({ stage: 'package + LLM session', done: 0, total: 1 });
    const engine = await Engine.open(dir, { executionProvider: opts.executionProvider ?? 'cpu', threads: opts.threads, log: (m) => process.stderr.write(m + '\n') });
    const ort = await import('onnxruntime-node');
    const codecs = await Codecs.open({ dir: engine.pkg.dir, manifest: engine.pkg.manifest, ort });
    opts.onProgress?.({ stage: 'package + LLM session', done: 1, total: 1 });
    return new EngineBackend(engine, codecs);
  }

  describeModel(): ModelDescription {
    const { pkg } = this.engine;
    return { name: pkg.manifest.name, hash: pkg.hash, dir: pkg.dir, engineVersion: ENGINE_VERSION, executionProvider: this.engine.executionProvider, manifest: pkg.manifest, loadMs: this.engine.loadMs };
  }

  async tokenize(prompt: string): Promise<Generation> {
    return this.engine.tokenize(prompt);
  }

  generate(prompt: string, params: GenerationParams, opts: { signal?: AbortSignal; onEvent?: (e: GenerationEvent) => void }): Promise<Generation> {
    return this.engine.generate(prompt, params, opts);
  }

  async encodeMedia(modality: MediaModality, bytes: Uint8Array): Promise<MediaCodes> {
    if (modality === 'image') return { modality, codes: (await this.codecs.encodeImage(bytes)).codes };
    if (modality === 'speech') return { modality, codes: (await this.codecs.encodeSpeech(bytes, 'input')).codes[0] };
    return { modality, codes: (await this.codecs.encodeMusic(bytes)).codes };
  }

  async encodeVoice(bytes: Uint8Array): Promise<VoicePrompt> {
    return { kind: 'voice', data: (await this.codecs.encodeSpeech(bytes, 'voice-prompt')).codes };
  }

  async decodeSpan(media: MediaCodes, opts: { voice?: VoicePrompt; signal?: AbortSignal; onProgress?: (p: Progress) => void; seed?: number }): Promise<DecodedMedia> {
    const progress = (stage: string) => (done: number, total: number) => opts.onProgress?.({ stage, done, total });
    if (media.modality === 'image') {
      const r = await this.codecs.decodeImage(media.codes, { signal: opts.signal, seed: opts.seed, onProgress: progress('diffusion') });
      return { modality: 'image', mime: 'image/png', data: r.png, width: r.width, height: r.height };
    }
    const r =
      media.modality === 'speech'
        ? await this.codecs.decodeSpeech(media.codes, { voicePrompt: opts.voice?.data as number[][] | undefined, signal: opts.signal, seed: opts.seed, onProgress: progress('soundstorm') })
        : await this.codecs.decodeMusic(media.codes as number[][], { onProgress: progress('music decode') });
    return { modality: media.modality, mime: 'audio/wav', data: r.wav, sampleRate: r.sampleRate, durationSec: r.samples.length / r.sampleRate };
  }

  async close(): Promise<void> {
    await this.codecs.dispose().catch(() => {});
    await this.engine.close();
  }
}
