/**
 * Payloads of the kernel's rich outputs besides the Generation record (which is `MIME.tokens`).
 * Shared by the kernel (writer), the audio renderer and the extension (readers). Plain JSON, so it
 * round-trips through .ipynb unchanged (nbformat stores `application/*+json` as a JSON object).
 *
 * Drafted by the extension/renderer side; the kernel owns the values and may extend this file.
 */
import type { MediaModality } from './manifest';

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
