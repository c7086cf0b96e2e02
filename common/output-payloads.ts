/**
 * Payloads of the kernel's rich outputs besides the Generation record (which is `MIME.tokens`).
 * Shared by the kernel (writer), the audio renderer and the extension (readers). Plain JSON, so it
 * round-trips through .ipynb unchanged (nbformat stores `application/*+json` as a JSON object).
 *
 * Drafted by the extension/renderer side; the kernel owns the values and may extend this file.
 */
import type { Generation, GenerationParams } from './generation';
import type { MediaModality, Modality } from './manifest';

export const AUDIO_SCHEMA = 'anygpt-audio/1';

/** One stretch of the waveform that came from (or was encoded into) a token span. */
export interface AudioTokenSpan {
  /** Index into Generation.spans of the same cell's tokens output. */
  span: number;
  /** [start,end) index into Generation.tokens. */
  tokenStart: number;
  tokenEnd: number;
  /** Seconds into this WAV. */
  startSec: number;
  endSec: number;
}

/** `application/vnd.anygpt.audio+json`. */
export interface AudioOutput {
  schema: typeof AUDIO_SCHEMA;
  modality: Extract<MediaModality, 'speech' | 'music'>;
  /** A complete RIFF/WAVE file (PCM16 or float32), base64. */
  wav: string;
  sampleRate: number;
  durationSec: number;
  /** Token frames per second of the codec (50 for speech and music in AnyGPT). */
  frameRate: number;
  /** Speech: the semantic codes, one per frame. Music: codes[q][t], codebook-major. */
  codes?: number[] | number[][];
  /** Size of one codebook (speech 1024, music 2048); colours the heatmap. */
  codebookSize?: number;
  spans: AudioTokenSpan[];
  /** Same value in the tokens output of the same execution, so renderers can link the two. */
  generationId?: string;
  /** Suggested file name for "download". */
  fileName?: string;
  /** Kernel addition: peak amplitude (0..1) per bucket, ~200 buckets, so a waveform needs no WAV decode. */
  envelope?: number[];
}

/**
 * What the kernel puts in `display_data.metadata.anygpt` so the extension can show a cell status
 * item without parsing the (large) token payload.
 */
export interface OutputStatsMetadata {
  model: string;
  executionProvider: string;
  seed: number;
  promptTokens: number;
  generatedTokens: number;
  tokensPerSecond: number;
  stopReason?: string;
}

/* ---- Kernel additions ---- */

/** Extra context the kernel attaches to the tokens output (`TokensOutput.cell`). */
export interface CellContext {
  task: string;
  /** Chat cells: execution counts of the conversation turns that formed the prompt (the visible context). */
  contextTurns?: number[];
  cellId?: string;
  /** Same value as AudioOutput.generationId of this execution's audio. */
  generationId?: string;
}

/**
 * `application/vnd.anygpt.tokens+json`: the Generation record (common/generation.ts), compacted so
 * 2,000-token speech/music cells stay small:
 * - prompt tokens carry only id, piece, position, modality, span (+ codebook/frame for music);
 * - generated tokens keep logprob (raw distribution), logprobSampled (the distribution actually sampled
 *   from, after penalty/constraints/temperature/top-k/p), entropy and `top` (raw, at most 5);
 * - floats are rounded to 4 decimals; stepMs is kept for text tokens only.
 */
export interface TokensOutput extends Generation {
  cell?: CellContext;
}

/** The full provenance record in `metadata.anygpt` of every output (a superset of the stats above). */
export interface OutputMetadata extends OutputStatsMetadata {
  modelHash: string;
  modelDir?: string;
  engineVersion: string;
  kernelVersion: string;
  task: string;
  outputModality: Modality;
  params: GenerationParams;
  /** True when the seed came from %seed; false when derived from the notebook seed and the cell text. */
  seedExplicit: boolean;
  notebookSeed: number;
  /** Wall times, ms: parse, encode, tokenize, generate, decode, total. */
  timings: Record<string, number>;
  cellId?: string;
  /** Kernel addition: non-fatal adjustments shown on stderr during the cell (trimmed input, truncated span, …). */
  warnings?: string[];
  /**
   * Kernel addition: execution counts of the oldest conversation turns this chat prompt left out to fit the model's
   * context (`%overflow drop-oldest`); absent when none were.
   */
  droppedTurns?: number[];
}
