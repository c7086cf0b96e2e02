/**
 * Backend over the real engine (kernel/engine). Everything heavy runs in the engine's worker thread: the LLM
 * and, through the engine's media operations, the codecs (encoders, the PNDM and SoundStorm loops), so the
 * kernel's main thread only routes messages and keeps serving heartbeats and interrupts.
 */
import type { Generation, GenerationEvent, GenerationParams } from '../../common/generation';
import type { MediaModality } from '../../common/manifest';
import { MediaError } from '../codecs/errors';
import { ENGINE_VERSION, Engine, type MediaSpan } from '../engine';
import type { MediaCodes } from '../prompt/templates';
import {
  AbortError,
  type Backend,
  type BackendOptions,
  type DecodedMedia,
  type EncodedMedia,
  type MediaInput,
  type ModelDescription,
  type Progress,
  type VoicePrompt,
} from './backend';

export class EngineBackend implements Backend {
  private constructor(private readonly engine: Engine) {}

  static async open(dir: string, opts: BackendOptions): Promise<EngineBackend> {
    opts.onProgress?.({ stage: 'package + LLM session', done: 0, total: 1 });
    // Codec sessions open in the worker's idle time after the load (ANYGPT_PRELOAD_CODECS=0: on first use), so
    // loading stays fast and the first media output does not wait for them.
    const engine = await Engine.open(dir, {
      executionProvider: opts.executionProvider ?? 'cpu',
      threads: opts.threads,
      preloadCodecs: process.env.ANYGPT_PRELOAD_CODECS !== '0',
      log: (m) => process.stderr.write(m + '\n'),
    });
    opts.onProgress?.({ stage: 'package + LLM session', done: 1, total: 1 });
    return new EngineBackend(engine);
  }

  describeModel(): ModelDescription {
    const { pkg } = this.engine;
    return {
      name: pkg.manifest.name,
      hash: pkg.hash,
      dir: pkg.dir,
      engineVersion: ENGINE_VERSION,
      executionProvider: this.engine.executionProvider,
      manifest: pkg.manifest,
      loadMs: this.engine.loadMs,
      promptLimit: this.engine.promptLimit,
    };
  }

  async tokenize(prompt: string, params?: GenerationParams): Promise<Generation> {
    return this.engine.tokenize(prompt, params);
  }

  generate(
    prompt: string,
    params: GenerationParams,
    opts: { signal?: AbortSignal; onEvent?: (e: GenerationEvent) => void },
  ): Promise<Generation> {
    return this.engine.generate(prompt, params, opts);
  }

  async encodeMedia(
    modality: MediaModality,
    input: MediaInput,
    opts: { signal?: AbortSignal; maxSeconds?: number } = {},
  ): Promise<EncodedMedia> {
    const r = await asAbort(this.engine.encodeMedia(modality, input, 'input', opts));
    const { warnings } = r;
    return modality === 'music'
      ? { modality, codes: r.codes as number[][], warnings }
      : { modality, codes: r.codes as number[], warnings };
  }

  async encodeVoice(input: MediaInput, opts: { signal?: AbortSignal } = {}): Promise<VoicePrompt> {
    const r = await asAbort(this.engine.encodeMedia('speech', input, 'voice-prompt', opts));
    return { kind: 'voice', data: r.codes, warnings: r.warnings };
  }

  async decodeSpan(
    media: MediaCodes,
    opts: { voice?: VoicePrompt; signal?: AbortSignal; onProgress?: (p: Progress) => void; seed?: number },
  ): Promise<DecodedMedia> {
    // The kernel holds codes (from a generation or %decode); the engine decodes spans, so wrap them in one.
    const span = {
      kind: media.modality,
      modality: media.modality,
      start: 0,
      end: 0,
      codes: media.codes,
      role: 'generated',
      complete: true,
    } as MediaSpan;
    return asAbort(
      this.engine.decodeSpan(span, {
        seed: opts.seed,
        voicePrompt: media.modality === 'speech' ? (opts.voice?.data as number[][] | undefined) : undefined,
        signal: opts.signal,
        onProgress: (stage, done, total) => opts.onProgress?.({ stage, done, total }),
      }),
    );
  }

  async close(): Promise<void> {
    await this.engine.close();
  }
}

/** Backend contract: an aborted encode or decode rejects with AbortError (shown as KeyboardInterrupt). */
async function asAbort<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof MediaError && e.code === 'aborted') throw new AbortError(e.message);
    throw e;
  }
}
