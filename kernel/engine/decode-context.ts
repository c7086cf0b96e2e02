/**
 * What every decoding strategy (decode.ts's single sequence, beam.ts's beams) is given: the session, vocabulary
 * and manifest, the caller's hooks, and the ids that end a sequence. Its own module so that decode.ts and beam.ts
 * both depend on it and not on each other.
 */
import type { StopReason } from '../../common/generation';
import type { Manifest } from '../../common/manifest';
import type { LlmSession } from './llm';
import type { GeneratedStep } from './record';
import type { Vocabulary } from './vocab';

export interface DecodeContext {
  /** decodeCache: the shared-buffer cache for single-sequence decoding (falls back to emptyCache when absent). */
  llm: Pick<LlmSession, 'forward' | 'emptyCache' | 'spec'> & Partial<Pick<LlmSession, 'decodeCache' | 'statsKernel'>>;
  vocab: Vocabulary;
  manifest: Manifest;
}

export interface DecodeHooks {
  /** Polled before every step; true stops the loop with stopReason 'aborted'. */
  cancelled?: () => boolean;
  onToken?: (step: GeneratedStep) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface DecodeResult {
  generated: GeneratedStep[];
  stopReason: StopReason;
  warnings: string[];
  prefillMs: number;
  decodeMs: number;
}

/** Ids that end generation: EOS always; the template stop tokens when modality-aware decoding is on. */
export function stopIdsFor(vocab: Vocabulary, constrain: boolean): Set<number> {
  return new Set(constrain ? [vocab.eosId, ...vocab.stopIds] : [vocab.eosId]);
}
