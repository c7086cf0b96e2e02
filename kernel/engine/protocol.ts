/**
 * The engine worker's message protocol: a typed table of operations, one request/response pair each,
 * plus streamed events. New rooms add operations (e.g. kernel/codecs: `encodeMedia`, `decodeSpan`) by
 * augmenting WorkerOps and registering a handler in the worker (see worker-host.ts):
 *
 *   declare module '../engine/protocol' {
 *     interface WorkerOps { decodeSpan: { params: { span: Span }; result: { wav: Float32Array } } }
 *   }
 */
import type { Generation, GenerationEvent, GenerationParams } from '../../common/generation';
import type { ExecutionProviderChoice, KvCacheChoice, KvMode } from './llm';
import type { LlmGraphInfo } from './package';

export interface OpenParams {
  dir: string;
  /** Identity computed by the main thread (the worker does not rehash). */
  hash: string;
  executionProvider: ExecutionProviderChoice;
  threads?: number;
  /** Extra onnxruntime SessionOptions (plain data), merged over the engine defaults. */
  sessionOptions?: Record<string, unknown>;
  /** A key of anygpt.json llm.variants to run instead of llm.graph. */
  llmVariant?: string;
  kvCache?: KvCacheChoice;
}

export interface OpenResult {
  executionProvider: 'cpu' | 'cuda';
  fallbackReason?: string;
  /** Package load + session creation in the worker, ms. */
  sessionMs: number;
  graph: LlmGraphInfo;
  /** Package-relative path of the graph that runs. */
  llmGraph: string;
  kvCache: KvMode;
}

export interface GenerateRequest {
  prompt: string;
  /** The prompt's ids; when absent the worker tokenizes `prompt` (BOS per the manifest) and times it. */
  promptIds?: number[];
  params: GenerationParams;
  engineVersion: string;
  /** Timings measured on the main thread, copied into the record's stats. */
  loadMs: number;
  tokenizeMs?: number;
  /** Send token/progress/span events (off for benchmarks: each event is a postMessage). */
  stream: boolean;
  warnings: string[];
}

/** Operation name → params/result. Augment this interface to add operations. */
export interface WorkerOps {
  open: { params: OpenParams; result: OpenResult };
  generate: { params: GenerateRequest; result: Generation };
  close: { params: Record<string, never>; result: null };
}

export type OpName = keyof WorkerOps;
export type OpParams<K extends OpName> = WorkerOps[K]['params'];
export type OpResult<K extends OpName> = WorkerOps[K]['result'];

/** Cancel-flag value: the request is cancelled and its worker thread abandoned (worker-client.ts). */
export const ABANDONED = 2;

export interface RequestMessage<K extends OpName = OpName> {
  kind: 'request';
  id: number;
  op: K;
  params: OpParams<K>;
  /**
   * Int32Array(1) flag on a SharedArrayBuffer; non-zero = cancel. Checked by the worker every decode step.
   * ABANDONED (2): the caller has given up on this worker too; it ends its thread once the request settles.
   */
  cancel: SharedArrayBuffer;
}

/** An error as it crosses the thread boundary; `code` carries e.g. MediaError's code. */
export interface WorkerError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type ResponseMessage =
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: WorkerError }
  | { kind: 'event'; id: number; event: GenerationEvent };
