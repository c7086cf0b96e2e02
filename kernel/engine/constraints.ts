/**
 * Modality-aware decoding: a small state machine over the generated ids that knows whether we are in text or
 * inside a media span, and masks the logits so that every span the engine emits can be decoded:
 *
 *  - text:   media codes and end tags are masked (they mean nothing outside a span);
 *  - image:  exactly `tokensPerImage` image codes, then only the end tag (upstream crashes on a wrong length);
 *  - speech: speech codes or the end tag;
 *  - music:  frame-major codebook order — the q-th code of each frame comes from codebook q's range
 *            (ids base + q·codebookSize …); the end tag only at a frame boundary after ≥ 1 frame.
 *
 * The same machine (without masking) tracks spans when constraints are off, so the preset switch and the
 * record's span parsing behave the same either way. State is a small value object so beams can copy it.
 */
import type { Manifest, MediaModality, Modality } from '../../common/manifest';
import type { Vocabulary } from './vocab';

export interface SpanState {
  /** Modality of the open span, or 'text'. */
  modality: Modality;
  /** Codes emitted inside the open span. */
  count: number;
}

export const TEXT_STATE: SpanState = { modality: 'text', count: 0 };

export class ModalityConstraints {
  private readonly tokensPerImage: number;
  /** Ids of media codes and end tags: masked in text. */
  private readonly mediaCodeAndEndIds: Int32Array;

  constructor(
    private readonly vocab: Vocabulary,
    manifest: Manifest,
  ) {
    this.tokensPerImage = manifest.modalities.image?.tokensPerImage ?? 0;
    const ids: number[] = [];
    for (const b of Object.values(vocab.blocks)) {
      for (let k = 0; k < b.size; k++) ids.push(b.base + k);
      ids.push(b.endId);
    }
    this.mediaCodeAndEndIds = Int32Array.from(ids);
  }

  /** The state after `id` was emitted in `state`. */
  next(state: SpanState, id: number): SpanState {
    const c = this.vocab.classify(id);
    if (c.kind === 'start') return { modality: c.modality, count: 0 };
    if (c.kind === 'end') return TEXT_STATE;
    if (c.kind === 'code' && state.modality === c.modality) return { modality: state.modality, count: state.count + 1 };
    return state;
  }

  /**
   * Tokens still needed to close the open span, when its length is fixed: an image needs its remaining
   * codes plus the end tag. 0 in text and in variable-length spans (speech, music).
   */
  remainingToClose(state: SpanState): number {
    return state.modality === 'image' ? Math.max(0, this.tokensPerImage - state.count) + 1 : 0;
  }

  /** Masks `logits` in place for the next token after `state`. */
  apply(logits: Float32Array, state: SpanState): void {
    if (state.modality === 'text') {
      for (const id of this.mediaCodeAndEndIds) logits[id] = -Infinity;
      return;
    }
    const b = this.vocab.blocks[state.modality as MediaModality]!;
    let lo = b.base;
    let hi = b.base + b.size; // allowed code range [lo, hi)
    let endAllowed = true;
    if (state.modality === 'image') {
      if (state.count >= this.tokensPerImage) {
        lo = hi = b.base; // no more codes
      } else endAllowed = false;
    } else if (state.modality === 'music') {
      const q = state.count % b.numCodebooks;
      lo = b.base + q * b.codebookSize;
      hi = lo + b.codebookSize;
      endAllowed = q === 0 && state.count > 0;
    }
    const endLogit = logits[b.endId];
    for (let i = 0; i < lo; i++) logits[i] = -Infinity;
    for (let i = hi; i < logits.length; i++) logits[i] = -Infinity;
    if (endAllowed) logits[b.endId] = endLogit;
  }
}
