/**
 * The one seam between the kernel and the model. Everything the kernel asks of a model goes through
 * `Backend`, so the protocol code never imports onnxruntime; the real Engine (kernel/engine) stands behind
 * it (engine-backend.ts, loaded lazily).
 *
 * Contract: every method is asynchronous and does its heavy work off the main thread (the engine's
 * worker), so heartbeats and interrupts are always served. `signal` aborts within one decode /
 * diffusion / SoundStorm step and the promise then resolves with what was produced (stopReason
 * "aborted") or rejects with an AbortError for encode/decode; a stage that cannot stop between steps (one long
 * ORT run) has its worker thread abandoned and rejects with an AbortError too (kernel/engine/client.ts).
 */
import type { Generation, GenerationEvent, GenerationParams } from '../../common/generation';
import type { Manifest, MediaModality } from '../../common/manifest';
import type { DecodedMediaFile } from '../engine/media-protocol';
import type { PromptLimit } from '../engine/prompt-limit';
import type { MediaCodes } from '../prompt/templates';

export interface ModelDescription {
  name: string;
  /** Package identity (sha256, docs/model-package.md "Identity"). */
  hash: string;
  dir: string;
  engineVersion: string;
  executionProvider: 'cpu' | 'cuda';
  manifest: Manifest;
  loadMs: number;
  /** The longest prompt that could fit the context, or undefined when the tokenizer gives no bound. */
  promptLimit?: PromptLimit;
}

/** A decoded media item (PNG or WAV bytes) with the decoder's non-fatal warnings; the engine's own type. */
export type DecodedMedia = DecodedMediaFile;

/** Codes of an attached media file plus the encoder's non-fatal adjustments (trimmed audio, dropped GIF frames, …). */
export type EncodedMedia = MediaCodes & { warnings?: string[] };

/** A voice prompt for speech output; opaque to the kernel (the acoustic stage reads it). */
export interface VoicePrompt {
  kind: 'voice';
  data: unknown;
  /** Non-fatal adjustments made while encoding it (trimmed, resampled, …). */
  warnings?: string[];
}

/**
 * A media file for the encoders: a path (read lazily off the main thread, so a 2-hour WAV is parsed from
 * its header and only the kept prefix is read) or bytes already in memory. `name` appears in messages.
 */
export type MediaInput = { path: string } | { bytes: Uint8Array; name?: string };

export interface Progress {
  stage: string;
  done: number;
  total: number;
}

export interface Backend {
  describeModel(): ModelDescription;
  /** A prompt-only record; `params` are recorded in it (the cell's seed), nothing is sampled. */
  tokenize(prompt: string, params?: GenerationParams): Promise<Generation>;
  generate(
    prompt: string,
    params: GenerationParams,
    opts: { signal?: AbortSignal; onEvent?: (e: GenerationEvent) => void },
  ): Promise<Generation>;
  /** A media file (PNG/JPEG/…, WAV) → codes for the prompt. Throws a readable Error on bad input (a missing path: code ENOENT). */
  encodeMedia(
    modality: MediaModality,
    input: MediaInput,
    opts?: { signal?: AbortSignal; maxSeconds?: number },
  ): Promise<EncodedMedia>;
  encodeVoice(input: MediaInput, opts?: { signal?: AbortSignal }): Promise<VoicePrompt>;
  decodeSpan(
    codes: MediaCodes,
    opts: { voice?: VoicePrompt; signal?: AbortSignal; onProgress?: (p: Progress) => void },
  ): Promise<DecodedMedia>;
  close(): Promise<void>;
}

export interface BackendOptions {
  executionProvider?: 'cpu' | 'cuda';
  threads?: number;
  onProgress?: (p: Progress) => void;
}

export type BackendFactory = (dir: string, opts: BackendOptions) => Promise<Backend>;

export class AbortError extends Error {
  override name = 'AbortError';
  constructor(message = 'interrupted') {
    super(message);
  }
}
