/**
 * The one seam between the kernel and the model. Everything the kernel asks of a model goes through
 * `Backend`, so the protocol code never imports onnxruntime and the real Engine (kernel/engine) or the
 * simulated backend (protocol tests without a model) can stand behind it.
 *
 * Contract: every method is asynchronous and does its heavy work off the main thread (the engine's
 * worker), so heartbeats and interrupts are always served. `signal` aborts within one decode /
 * diffusion / SoundStorm step and the promise then resolves with what was produced (stopReason
 * "aborted") or rejects with an AbortError for encode/decode.
 */
import type { Generation, GenerationEvent, GenerationParams } from '../../common/generation';
import type { Manifest, MediaModality } from '../../common/manifest';
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
}

export interface DecodedMedia {
  modality: MediaModality;
  mime: 'image/png' | 'audio/wav';
  data: Uint8Array;
  width?: number;
  height?: number;
  sampleRate?: number;
  durationSec?: number;
}

/** A voice prompt for speech output; opaque to the kernel (the acoustic stage reads it). */
export interface VoicePrompt {
  kind: 'voice';
  data: unknown;
}

export interface Progress {
  stage: string;
  done: number;
  total: number;
}

export interface Backend {
  describeModel(): ModelDescription;
  tokenize(prompt: string): Promise<Generation>;
  generate(prompt: string, params: GenerationParams, opts: { signal?: AbortSignal; onEvent?: (e: GenerationEvent) => void }): Promise<Generation>;
  /** Media file bytes (PNG/JPEG/…, WAV) → codes for the prompt. Throws a readable Error on bad input. */
  encodeMedia(modality: MediaModality, bytes: Uint8Array): Promise<MediaCodes>;
  encodeVoice(bytes: Uint8Array): Promise<VoicePrompt>;
  decodeSpan(codes: MediaCodes, opts: { voice?: VoicePrompt; signal?: AbortSignal; onProgress?: (p: Progress) => void }): Promise<DecodedMedia>;
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
