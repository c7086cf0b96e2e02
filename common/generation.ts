/**
 * The Generation record: the contract between the engine, the kernel, `verify`, the token inspector
 * and the tests. Plain JSON-serialisable data; documented in docs/generation-record.md.
 * Bump GENERATION_SCHEMA when a field changes meaning.
 */
import type { Modality, MediaModality, SamplingPreset } from './manifest';

export const GENERATION_SCHEMA = 'anygpt-generation/1';

/** Mime types of our outputs, shared by kernel and renderers. */
export const MIME = {
  tokens: 'application/vnd.anygpt.tokens+json',
  audio: 'application/vnd.anygpt.audio+json',
} as const;

export interface Alternative {
  id: number;
  piece: string;
  /** Probability under the distribution named by Generation.params.logprobSource. */
  prob: number;
}

export interface TokenRecord {
  id: number;
  /** The token string from the vocabulary (raw, not unescaped). */
  piece: string;
  /** Position in the full sequence (0 = first prompt token). */
  position: number;
  modality: Modality;
  /** Index into Generation.spans, or -1 for tags/role tokens outside any span. */
  span: number;
  /** Music only: which codebook this code belongs to and which frame. */
  codebook?: number;
  frame?: number;
  /** Only for generated tokens: */
  generated?: true;
  /** log p(token) under the raw model distribution (softmax of logits). */
  logprob?: number;
  /** log p(token) under the distribution actually sampled from (after penalty, constraints, temperature, top-k/p). */
  logprobSampled?: number;
  /** Entropy (nats) of the raw model distribution at this step. */
  entropy?: number;
  /** Top-5 alternatives under the raw model distribution. */
  top?: Alternative[];
  /** Wall time of this decode step, ms. */
  stepMs?: number;
}

export type Span =
  | { kind: 'text'; modality: 'text'; start: number; end: number; text: string; role: SpanRole }
  | { kind: 'image'; modality: 'image'; start: number; end: number; codes: number[]; role: SpanRole; complete: boolean }
  | {
      kind: 'speech';
      modality: 'speech';
      start: number;
      end: number;
      codes: number[];
      role: SpanRole;
      complete: boolean;
    }
  | {
      kind: 'music';
      modality: 'music';
      start: number;
      end: number;
      /** codes[q][t], codebook-major, values 0..codebookSize-1. */
      codes: number[][];
      role: SpanRole;
      complete: boolean;
    };

/** Whether a span came from the prompt or was generated. [start,end) index into Generation.tokens. */
export type SpanRole = 'prompt' | 'generated';

export interface GenerationParams extends SamplingPreset {
  seed: number;
  /** Modality-aware constrained decoding (on by default). */
  constrain: boolean;
  /** Which preset was active at the start (output modality or "text"). */
  preset: Modality;
  template?: string;
}

export interface ModelIdentity {
  name: string;
  /** sha256 over the manifest and every file it names, hex. */
  hash: string;
  executionProvider: 'cpu' | 'cuda';
}

export interface GenerationStats {
  loadMs: number;
  prefillMs: number;
  decodeMs: number;
  promptTokens: number;
  generatedTokens: number;
  tokensPerSecond: number;
  /** Time per named stage (e.g. "tokenize", "prefill", "decode", "image.decode"), ms. */
  stages: Record<string, number>;
}

export type StopReason = 'eos' | 'stop-token' | 'max-new-tokens' | 'aborted' | 'context-full';

export interface Generation {
  schema: typeof GENERATION_SCHEMA;
  engineVersion: string;
  model: ModelIdentity;
  params: GenerationParams;
  /** Which distribution `top`/`prob` describe. */
  logprobSource: 'raw';
  prompt: string;
  /** Prompt and generated tokens, in order. */
  tokens: TokenRecord[];
  /** Number of leading tokens that were prompt. */
  promptLength: number;
  spans: Span[];
  /** The generated assistant text with media spans removed (what a user reads). */
  text: string;
  stopReason: StopReason;
  warnings: string[];
  stats: GenerationStats;
}

/** Streaming events from the engine during generate(). */
export type GenerationEvent =
  | { type: 'token'; token: TokenRecord }
  | { type: 'progress'; stage: string; done: number; total: number }
  | { type: 'span-start'; modality: MediaModality }
  | { type: 'span-end'; span: Span };
