/**
 * The engine's public facade. Everything heavy (ORT sessions, the decode loop) runs in a worker thread;
 * this side loads and validates the package, tokenizes, and returns Generation records.
 */
import type { Generation, GenerationEvent, GenerationParams } from '../../common/generation';
import pkgJson from '../../package.json';
import { WorkerClient } from './client';
import type { ExecutionProviderChoice } from './llm';
import { loadPackage, type ModelPackage } from './package';
import { resolveParams } from './params';
import { buildGeneration } from './record';

export { PackageError, loadPackage, checkLlmGraph, type ModelPackage } from './package';
export { Vocabulary, type VocabBlock, type TokenClass } from './vocab';
export { TextTokenizer } from './tokenizer';
export { resolveParams } from './params';
export { Xoshiro128 } from './prng';
export type { ExecutionProviderChoice } from './llm';
export type { WorkerOps, OpName } from './protocol';

export const ENGINE_VERSION: string = pkgJson.version;

export interface EngineOptions {
  executionProvider?: ExecutionProviderChoice;
  /** Intra-op threads for the LLM session (default: ORT's choice). */
  threads?: number;
  /** Extra onnxruntime SessionOptions (plain data) merged over the defaults. */
  sessionOptions?: Record<string, unknown>;
  /** Where the EP fallback reason goes (default: console.error). */
  log?: (message: string) => void;
}

export interface GenerateOptions {
  /** Abort: takes effect before the next decode step; the promise then resolves with stopReason "aborted". */
  signal?: AbortSignal;
  onEvent?: (e: GenerationEvent) => void;
}

export class Engine {
  private constructor(
    readonly pkg: ModelPackage,
    private readonly worker: WorkerClient,
    readonly executionProvider: 'cpu' | 'cuda',
    /** Package load + session creation, ms. */
    readonly loadMs: number,
    readonly fallbackReason?: string,
  ) {}

  static async open(dir: string, opts: EngineOptions = {}): Promise<Engine> {
    const t0 = performance.now();
    const pkg = await loadPackage(dir);
    const worker = new WorkerClient();
    try {
      const r = await worker.call('open', {
        dir: pkg.dir,
        hash: pkg.hash,
        executionProvider: opts.executionProvider ?? 'auto',
        threads: opts.threads,
        sessionOptions: opts.sessionOptions,
      });
      if (r.fallbackReason) (opts.log ?? console.error)(`anygpt engine: ${r.fallbackReason}`);
      return new Engine(pkg, worker, r.executionProvider, performance.now() - t0, r.fallbackReason);
    } catch (e) {
      await worker.terminate();
      throw e;
    }
  }

  /** Prompt ids (BOS per the manifest), as the LLM sees them. */
  encode(prompt: string): number[] {
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
      stats: { loadMs: this.loadMs, prefillMs: 0, decodeMs: 0, promptTokens: ids.length, generatedTokens: 0, tokensPerSecond: 0, stages: { tokenize: ms } },
    });
  }

  async generate(prompt: string, params: Partial<GenerationParams> = {}, opts: GenerateOptions = {}): Promise<Generation> {
    const full = resolveParams(this.pkg.manifest, params);
    const t0 = performance.now();
    const promptIds = this.encode(prompt);
    const tokenizeMs = performance.now() - t0;
    return this.worker.call(
      'generate',
      { prompt, promptIds, params: full, engineVersion: ENGINE_VERSION, loadMs: this.loadMs, tokenizeMs, stream: !!opts.onEvent, warnings: [] },
      opts,
    );
  }

  async close(): Promise<void> {
    try {
      await this.worker.call('close', {});
    } finally {
      await this.worker.terminate();
    }
  }
}
