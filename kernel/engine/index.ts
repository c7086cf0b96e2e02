/**
 * The engine's public facade. Everything heavy runs in two worker threads: one holds the LLM session and its
 * decode loop, the other the media codecs (codec-ops.ts says why they are apart). This side loads and validates
 * the package, tokenizes, and returns Generation records.
 */
import * as path from 'node:path';
import type { Generation, GenerationEvent, GenerationParams } from '../../common/generation';
import type { MediaModality } from '../../common/manifest';
import pkgJson from '../../package.json';
import type { RawTokens } from '../codecs/tokens';
import { WorkerClient } from './worker-client';
import type { ExecutionProviderChoice, KvCacheChoice, KvMode } from './llm';
import type {
  CodecPreloadStatus,
  DecodedMediaFile,
  DecodeParams,
  MediaPurpose,
  MediaSource,
  MediaSpan,
} from './media-protocol';
import type { OpenParams } from './protocol';
import { mediaTokenString, tokenIdBlocks } from './media-tokens';
import { loadPackage, type ModelPackage } from './package';
import { overLimit, type PromptLimit } from './prompt-limit';
import { resolveParams } from './params';
import { buildGeneration } from './record';

export { PackageError, loadPackage, checkLlmGraph, type ModelPackage } from './package';
export { Vocabulary, type VocabBlock, type TokenClass } from './vocab';
export { TextTokenizer } from './tokenizer';
export { resolveParams } from './params';
export { Xoshiro128 } from '../../common/prng';
export type { ExecutionProviderChoice, KvCacheChoice } from './llm';
export type { WorkerOps, OpName } from './protocol';
export type { CodecPreloadStatus, DecodedMediaFile, MediaPurpose, MediaSource, MediaSpan } from './media-protocol';
export { mediaTokenString, tokenIdBlocks } from './media-tokens';
export { overLimit, type PromptLimit } from './prompt-limit';

export const ENGINE_VERSION: string = pkgJson.version;

export interface EngineOptions {
  executionProvider?: ExecutionProviderChoice;
  /** Intra-op threads for the LLM session (default: ORT's choice, one per physical core). */
  threads?: number;
  /**
   * Run a variant graph from anygpt.json `llm.variants` instead of `llm.graph` (e.g. `int4`: MatMulNBits weights,
   * the fast choice on CPU). Unknown names fail with the list of variants.
   */
  llmVariant?: string;
  /** KV-cache mode (default auto: shared-buffer for GroupQueryAttention graphs, else dynamic); see docs/engine.md. */
  kvCache?: KvCacheChoice;
  /** Extra onnxruntime SessionOptions (plain data) merged over the defaults. */
  sessionOptions?: Record<string, unknown>;
  /**
   * Get the codec decoders ready in the media worker's idle time after the load, in parallel with the LLM worker
   * (default off: they open on first use). The kernel turns it on, so a notebook's first image or audio does not
   * wait for them; a one-shot CLI run would only compete with its own generation for the cores.
   */
  preloadCodecs?: boolean;
  /** Where the EP fallback reason goes (default: console.error). */
  log?: (message: string) => void;
  /**
   * How long an aborted call may take to stop on its own before its worker thread is abandoned and replaced
   * (default 100 ms; see worker-client.ts). The replacement reopens the package (for a media call: the codecs
   * only), so the next call on that worker waits for that.
   */
  abortGraceMs?: number;
}

export interface GenerateOptions {
  /** Abort: takes effect before the next decode step; the promise then resolves with stopReason "aborted". */
  signal?: AbortSignal;
  onEvent?: (e: GenerationEvent) => void;
}

export interface EncodedMedia {
  /** image: ids; speech 'input': the semantic layer; speech 'voice-prompt': all layers [Q][F]; music: [Q][T]. */
  codes: number[] | number[][];
  /** The span as the LLM reads it, `<soX>…<eoX>`, from the vocabulary (speech: the semantic layer). */
  tokens: string;
  /** Non-fatal adjustments (trimmed input, GIF frames dropped, …). */
  warnings: string[];
}

export interface DecodeMediaOptions extends DecodeParams {
  /**
   * Checked between diffusion / SoundStorm steps; a single ORT run that does not stop within abortGraceMs has its
   * worker abandoned (client.ts). Either way the promise rejects with MediaError code "aborted".
   */
  signal?: AbortSignal;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface DecodeTokensOptions extends DecodeMediaOptions {
  /** How to read plain numbers: vocabulary ids (default) or block-relative code values. */
  numbers?: 'ids' | 'codes';
}

/** A prompt that cannot fit the model's context. */
export class ContextError extends Error {
  override name = 'ContextError';
}

export class Engine {
  private constructor(
    readonly pkg: ModelPackage,
    private readonly worker: WorkerClient,
    private readonly media: WorkerClient,
    readonly executionProvider: 'cpu' | 'cuda',
    /** Package load + session creation, ms. */
    readonly loadMs: number,
    readonly fallbackReason?: string,
    /** The graph the LLM session runs (llm.graph.path or the chosen variant's) and its KV-cache mode. */
    readonly llm: { graph: string; variant?: string; kvCache: KvMode } = { graph: '', kvCache: 'dynamic' },
    /** The media worker's openMedia: every media call waits for it, and rejects with its error. */
    private readonly mediaOpen: Promise<unknown> = Promise.resolve(),
  ) {}

  static async open(dir: string, opts: EngineOptions = {}): Promise<Engine> {
    const t0 = performance.now();
    const pkg = await loadPackage(dir, { llmVariant: opts.llmVariant });
    const worker = new WorkerClient({ abortGraceMs: opts.abortGraceMs });
    const media = new WorkerClient({ abortGraceMs: opts.abortGraceMs });
    try {
      const params: OpenParams = {
        dir: pkg.dir,
        hash: pkg.hash,
        executionProvider: opts.executionProvider ?? 'auto',
        threads: opts.threads,
        sessionOptions: opts.sessionOptions,
        llmVariant: opts.llmVariant,
        kvCache: opts.kvCache,
      };
      const r = await worker.call('open', params);
      // A worker abandoned after an interrupt is replaced by one that opens the same package again.
      worker.setInit('open', params);
      if (r.fallbackReason) (opts.log ?? console.error)(`anygpt engine: ${r.fallbackReason}`);
      // The media worker opens the package only (no session); requests queue behind its open, so none waits here.
      const mediaParams = {
        dir: pkg.dir,
        hash: pkg.hash,
        executionProvider: r.executionProvider,
        threads: opts.threads,
        preloadCodecs: opts.preloadCodecs,
      };
      media.setInit('openMedia', mediaParams);
      const mediaOpen = media.call('openMedia', mediaParams);
      mediaOpen.catch(() => {}); // a failure is reported by the media call that waits for it
      return new Engine(
        pkg,
        worker,
        media,
        r.executionProvider,
        performance.now() - t0,
        r.fallbackReason,
        {
          graph: r.llmGraph,
          variant: opts.llmVariant,
          kvCache: r.kvCache,
        },
        mediaOpen,
      );
    } catch (e) {
      await Promise.all([worker.terminate(), media.terminate()]);
      throw e;
    }
  }

  /** Worker threads abandoned after an interrupt, per worker: a stuck media run must not cost the LLM session. */
  get workerRestarts(): { llm: number; media: number } {
    return { llm: this.worker.restartCount, media: this.media.restartCount };
  }

  /** The longest prompt that could fit the context (prompt-limit.ts), or undefined when the tokenizer has no bound. */
  get promptLimit(): PromptLimit | undefined {
    const w = this.pkg.tokenizer.worstCase;
    const maxPositions = this.pkg.manifest.llm.maxPositions;
    return (
      w && {
        maxChars: maxPositions * w.chars,
        charsPerToken: w.chars,
        maxPositions,
        countWhitespace: w.countWhitespace,
      }
    );
  }

  /** Prompt ids (BOS per the manifest), as the LLM sees them. A prompt longer than promptLimit is refused untokenized. */
  encode(prompt: string): number[] {
    const over = overLimit(prompt, this.promptLimit);
    if (over) throw new ContextError(over);
    const ids = this.pkg.tokenizer.encode(prompt);
    return this.pkg.manifest.tokenizer.addBos ? [this.pkg.vocab.bosId, ...ids] : ids;
  }

  /** A prompt-only record: tokens with pieces, modalities and parsed spans; nothing generated. */
  tokenize(prompt: string, params: Partial<GenerationParams> = {}): Generation {
    const t0 = performance.now();
    const ids = this.encode(prompt);
    const ms = performance.now() - t0;
    return buildGeneration({
      pkg: this.pkg,
      engineVersion: ENGINE_VERSION,
      model: { name: this.pkg.manifest.name, hash: this.pkg.hash, executionProvider: this.executionProvider },
      params: resolveParams(this.pkg.manifest, params),
      prompt,
      promptIds: ids,
      generated: [],
      stopReason: 'max-new-tokens',
      warnings: [],
      stats: {
        loadMs: this.loadMs,
        prefillMs: 0,
        decodeMs: 0,
        promptTokens: ids.length,
        generatedTokens: 0,
        tokensPerSecond: 0,
        stages: { tokenize: ms },
      },
    });
  }

  /**
   * Generates in the worker. The prompt is tokenized there too (a long prompt must not hold up the caller's thread:
   * the kernel's main thread serves heartbeats and interrupts); only the length bound is checked here.
   */
  async generate(
    prompt: string,
    params: Partial<GenerationParams> = {},
    opts: GenerateOptions = {},
  ): Promise<Generation> {
    const full = resolveParams(this.pkg.manifest, params);
    const over = overLimit(prompt, this.promptLimit);
    if (over) throw new ContextError(over);
    return this.worker.call(
      'generate',
      {
        prompt,
        params: full,
        engineVersion: ENGINE_VERSION,
        loadMs: this.loadMs,
        stream: !!opts.onEvent,
        warnings: [],
      },
      opts,
    );
  }

  /**
   * A media file → codes and the token span for the prompt. Runs in the worker (codecs open on first use);
   * bad input rejects with the codecs' MediaError (message and code intact), an abort with MediaError "aborted".
   */
  async encodeMedia(
    modality: MediaModality,
    input: MediaSource,
    purpose: MediaPurpose = 'input',
    opts: { signal?: AbortSignal; maxSeconds?: number } = {},
  ): Promise<EncodedMedia> {
    // The worker shares the process's cwd, but resolving here makes messages and behaviour independent of it.
    const src: MediaSource = 'path' in input ? { path: path.resolve(input.path) } : input;
    await this.mediaOpen;
    const r = await this.media.call(
      'encodeMedia',
      { modality, input: src, purpose, maxSeconds: opts.maxSeconds },
      { signal: opts.signal },
    );
    return { codes: r.codes, tokens: mediaTokenString(this.pkg, modality, r.codes), warnings: r.warnings };
  }

  /** Where the background opening of the codec decoder sessions stands (preloadCodecs). */
  async codecPreloadStatus(): Promise<CodecPreloadStatus> {
    await this.mediaOpen;
    return this.media.call('codecPreloadStatus', {});
  }

  /** A media span of a Generation → PNG or WAV (diffusion / SoundStorm run in the worker). */
  async decodeSpan(span: MediaSpan, opts: DecodeMediaOptions = {}): Promise<DecodedMediaFile> {
    if ((span as { kind: string }).kind === 'text')
      throw new TypeError('decodeSpan: a text span has no media to decode');
    await this.mediaOpen;
    return this.media.call(
      'decodeSpan',
      { span, seed: opts.seed, voicePrompt: opts.voicePrompt },
      this.decodeCallOptions(opts),
    );
  }

  /**
   * Raw tokens → media, for `%decode` and the token inspector: a token string, token strings or numbers
   * (vocabulary ids unless opts.numbers is 'codes'). Errors name the wrong token (MediaError "invalid-tokens").
   */
  async decodeTokens(
    raw: RawTokens,
    modality?: MediaModality,
    opts: DecodeTokensOptions = {},
  ): Promise<DecodedMediaFile> {
    await this.mediaOpen;
    return this.media.call(
      'decodeTokens',
      {
        raw,
        modality,
        ids: tokenIdBlocks(this.pkg),
        numbers: opts.numbers,
        seed: opts.seed,
        voicePrompt: opts.voicePrompt,
      },
      this.decodeCallOptions(opts),
    );
  }

  private decodeCallOptions(opts: DecodeMediaOptions): {
    signal?: AbortSignal;
    onEvent?: (e: GenerationEvent) => void;
  } {
    const { onProgress } = opts;
    return {
      signal: opts.signal,
      onEvent: onProgress ? (e) => e.type === 'progress' && onProgress(e.stage, e.done, e.total) : undefined,
    };
  }

  /**
   * Releases the sessions and stops the worker. A worker still busy (a shutdown during a long decode) is not waited
   * for: its queue would run the close only after the decode, so it is terminated at once.
   */
  async close(): Promise<void> {
    await Promise.all([this.worker, this.media].map((w) => closeWorker(w)));
  }
}

async function closeWorker(w: WorkerClient): Promise<void> {
  try {
    if (!w.busy) await w.call('close', {});
  } finally {
    await w.terminate();
  }
}
