/**
 * The LLM session: one onnxruntime-node InferenceSession plus the KV-cache plumbing.
 *
 * Convention (docs/model-package.md): feed `past_key_values.{i}.key/value` [1,kvH,P,hd], read back
 * `present.{i}.key/value` [1,kvH,P+S,hd]; the first run gets zero-length past (P = 0). A KvCache is immutable
 * (each run returns fresh present tensors), so beam search can keep one per beam and drop the rest.
 *
 * `run()` blocks the thread it is called on; the engine calls this only inside the worker.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { LlmSpec } from '../../common/manifest';
import { checkLlmGraph, PackageError, type LlmGraphInfo } from './package';

export type ExecutionProviderChoice = 'auto' | 'cpu' | 'cuda';

export interface SessionConfig {
  executionProvider?: ExecutionProviderChoice;
  /** intra-op threads; 0 or undefined = ORT default. */
  threads?: number;
  /** Merged over our defaults (e.g. graphOptimizationLevel, extra config entries). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

export interface KvCache {
  /** Sequence length held (P). */
  length: number;
  tensors: ort.Tensor[]; // [key0, value0, key1, value1, …]
}

export interface StepResult {
  /** Logits of the last position, length vocabSize. */
  logits: Float32Array;
  cache: KvCache;
}

/**
 * Default session options. allow_spinning=0 stops ORT's idle threads from busy-waiting between decode steps,
 * which on a shared or small machine was measured to halve step time (engine-onnxruntime.md §1).
 */
function baseOptions(cfg: SessionConfig): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(cfg.threads ? { intraOpNumThreads: cfg.threads } : {}),
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    ...cfg.sessionOptions,
  };
}

/** Creates a session on the chosen EP; `auto` tries CUDA and falls back to CPU, keeping the reason. */
export async function createSession(
  file: string,
  cfg: SessionConfig,
): Promise<{ session: ort.InferenceSession; executionProvider: 'cpu' | 'cuda'; fallbackReason?: string }> {
  const choice = cfg.executionProvider ?? 'auto';
  const opts = baseOptions(cfg);
  if (choice === 'cuda' || choice === 'auto') {
    const missing = missingCudaLibraries();
    if (missing) {
      const reason = `CUDA provider library not installed (${missing})`;
      if (choice === 'cuda') throw new Error(`CUDA execution provider unavailable: ${reason}. See the README (GPU set-up).`);
      const session = await ort.InferenceSession.create(file, { ...opts, executionProviders: ['cpu'] });
      return { session, executionProvider: 'cpu', fallbackReason: `${reason}; using CPU` };
    }
    try {
      // In auto mode the probe is silent (severity 4 = fatal only): the fallback reason is reported instead.
      const probeOpts = choice === 'auto' && opts.logSeverityLevel === undefined ? { ...opts, logSeverityLevel: 4 as const } : opts;
      const session = await ort.InferenceSession.create(file, { ...probeOpts, executionProviders: ['cuda'] });
      return { session, executionProvider: 'cuda' };
    } catch (e) {
      const reason = firstLine((e as Error).message);
      if (choice === 'cuda') {
        throw new Error(`CUDA execution provider failed to load for ${file}: ${reason}. See the README (GPU set-up) for the provider libraries.`);
      }
      const session = await ort.InferenceSession.create(file, { ...opts, executionProviders: ['cpu'] });
      return { session, executionProvider: 'cpu', fallbackReason: `CUDA unavailable (${reason}); using CPU` };
    }
  }
  return { session: await ort.InferenceSession.create(file, { ...opts, executionProviders: ['cpu'] }), executionProvider: 'cpu' };
}

/**
 * onnxruntime-node ships without the CUDA provider libraries (they come from the postinstall download or a manual
 * copy). Checking for them first gives a clear reason and avoids ORT printing a load error to stderr.
 */
function missingCudaLibraries(): string | undefined {
  if (process.platform !== 'linux') return undefined; // other platforms: let ORT decide
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', 'linux', process.arch);
  } catch {
    return undefined;
  }
  for (const lib of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) {
    if (!existsSync(path.join(dir, lib))) return path.join(dir, lib) + ' missing';
  }
  return undefined;
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.length > 300 ? line.slice(0, 297) + '...' : line;
}

export class LlmSession {
  /** Cumulative time inside session.run, ms (the bench subtracts it to get per-token overhead). */
  runMs = 0;
  runs = 0;

  private constructor(
    readonly session: ort.InferenceSession,
    readonly spec: LlmSpec,
    readonly info: LlmGraphInfo,
    readonly executionProvider: 'cpu' | 'cuda',
    readonly fallbackReason?: string,
  ) {}

  static async open(file: string, spec: LlmSpec, cfg: SessionConfig = {}): Promise<LlmSession> {
    const { session, executionProvider, fallbackReason } = await createSession(file, cfg);
    const meta = {
      inputs: session.inputMetadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name })),
      outputs: session.outputMetadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name })),
    };
    let info: LlmGraphInfo;
    try {
      info = checkLlmGraph(spec, meta);
    } catch (e) {
      await session.release();
      throw e;
    }
    return new LlmSession(session, spec, info, executionProvider, fallbackReason);
  }

  emptyCache(): KvCache {
    const { numLayers, numKvHeads, headDim, kvDtype } = this.spec;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * numLayers; i++) {
      const data = kvDtype === 'float16' ? new Uint16Array(0) : new Float32Array(0);
      tensors.push(new ort.Tensor(kvDtype, data, [1, numKvHeads, 0, headDim]));
    }
    return { length: 0, tensors };
  }

  /** Runs `ids` after `cache` and returns the last position's logits and the grown cache. */
  async forward(ids: ArrayLike<number>, cache: KvCache): Promise<StepResult> {
    const S = ids.length;
    const P = cache.length;
    if (S === 0) throw new Error('forward: no input ids');
    if (P + S > this.spec.maxPositions) {
      throw new PackageError(`context full: ${P + S} tokens exceed anygpt.json llm.maxPositions = ${this.spec.maxPositions}`);
    }
    const inputIds = new BigInt64Array(S);
    for (let i = 0; i < S; i++) inputIds[i] = BigInt(ids[i]);
    const mask = new BigInt64Array(P + S).fill(1n);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [1, S]),
      attention_mask: new ort.Tensor('int64', mask, [1, P + S]),
    };
    if (this.info.hasPositionIds) {
      const pos = new BigInt64Array(S);
      for (let i = 0; i < S; i++) pos[i] = BigInt(P + i);
      feeds.position_ids = new ort.Tensor('int64', pos, [1, S]);
    }
    for (let i = 0; i < this.spec.numLayers; i++) {
      feeds[`past_key_values.${i}.key`] = cache.tensors[2 * i];
      feeds[`past_key_values.${i}.value`] = cache.tensors[2 * i + 1];
    }
    const t0 = performance.now();
    const out = await this.session.run(feeds);
    this.runMs += performance.now() - t0;
    this.runs++;
    const logitsT = out.logits;
    const V = this.spec.vocabSize;
    const all = logitsT.data as Float32Array;
    // [1,S,V] or [1,1,V]: the last row either way.
    const logits = all.subarray(all.length - V);
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < this.spec.numLayers; i++) {
      tensors.push(out[`present.${i}.key`], out[`present.${i}.value`]);
    }
    const grown = tensors[0].dims[2];
    if (grown !== P + S) throw new Error(`${this.spec.graph.path}: present.0.key has length ${grown}, expected past ${P} + new ${S}`);
    return { logits, cache: { length: P + S, tensors } };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
