/**
 * The worker operations that host kernel/codecs inside the engine worker (docs/engine.md "Adding worker
 * operations"): encode a media file to codes, decode a span or raw tokens to PNG/WAV. Plain data both ways;
 * token strings are built on the main thread from the vocabulary, so the worker only deals in codes.
 */
import type { Span } from '../../common/generation';
import type { MediaModality } from '../../common/manifest';
import type { RawTokens, TokenIdBlock } from '../codecs/tokens';

/** A file to read (lazily, in the worker) or bytes already in memory; `name` appears in error messages. */
export type MediaSource = { path: string } | { bytes: Uint8Array; name?: string };

/** Speech only: `input` keeps channel 0 and returns the semantic layer; `voice-prompt` averages channels, all layers. */
export type MediaPurpose = 'input' | 'voice-prompt';

export type MediaSpan = Exclude<Span, { kind: 'text' }>;

export interface EncodeMediaRequest {
  modality: MediaModality;
  input: MediaSource;
  purpose: MediaPurpose;
  /** Music only: keep at most this many seconds (default: the package's maxInputSeconds). */
  maxSeconds?: number;
}

export interface EncodeMediaResult {
  /** image, speech input: number[]; music: [Q][T]; speech voice prompt: all RVQ layers [Q][F]. */
  codes: number[] | number[][];
  warnings: string[];
}

export interface DecodeParams {
  seed?: number;
  /** All RVQ layers of a voice prompt (EncodedMedia.codes with purpose 'voice-prompt'), for zero-shot cloning. */
  voicePrompt?: number[][];
}

export interface DecodeTokensRequest extends DecodeParams {
  raw: RawTokens;
  modality?: MediaModality;
  /** The vocabulary's blocks, so numbers can be read as token ids and messages can name them. */
  ids: Partial<Record<MediaModality, TokenIdBlock>>;
  numbers?: 'ids' | 'codes';
}

/** One decoded media item, ready to write or display. */
export interface DecodedMediaFile {
  modality: MediaModality;
  mime: 'image/png' | 'audio/wav';
  data: Uint8Array;
  width?: number;
  height?: number;
  sampleRate?: number;
  durationSec?: number;
  warnings: string[];
}

/** Opens the package for the media worker: manifest and paths only, no LLM session (codecs open on first use). */
export interface OpenMediaParams {
  dir: string;
  /** Identity computed by the main thread (the worker does not rehash). */
  hash: string;
  /** The device the LLM session resolved to; the codecs follow it. */
  executionProvider: 'cpu' | 'cuda';
  threads?: number;
  /** Get the codec decoders ready in the idle time (codec-ops.ts startPreload); off: they open on first use. */
  preloadCodecs?: boolean;
}

/** Where the background opening of the codec decoder sessions stands (codec-ops.ts). */
export interface CodecPreloadStatus {
  /** off: not asked for (or no model open); waiting: for the worker to be idle; stopped: the package went away. */
  state: 'off' | 'waiting' | 'loading' | 'done' | 'failed' | 'stopped';
  /** Labels of the preload steps done so far, in order (a decoder session opened, a warm-up decode). */
  opened: string[];
  /** Wall time from the start of the first step to the end of the last, ms (done only). */
  ms?: number;
  error?: string;
}

declare module './protocol' {
  interface WorkerOps {
    openMedia: { params: OpenMediaParams; result: null };
    codecPreloadStatus: { params: Record<string, never>; result: CodecPreloadStatus };
    encodeMedia: { params: EncodeMediaRequest; result: EncodeMediaResult };
    decodeSpan: { params: DecodeParams & { span: MediaSpan }; result: DecodedMediaFile };
    decodeTokens: { params: DecodeTokensRequest; result: DecodedMediaFile };
  }
}
