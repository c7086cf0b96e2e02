/**
 * Generated media spans → outputs. Every complete span is decoded and shown. A span cut short
 * (max_new_tokens, a missing end tag) still decodes when its codes allow it (speech, whole music
 * frames), with a warning; a partial image cannot and is skipped with a warning.
 */
import type { Generation, Span } from '../../../common/generation';
import type { Manifest } from '../../../common/manifest';
import { spanCodes, type MediaCodes } from '../../prompt';
import type { Backend, DecodedMedia, VoicePrompt } from '../backend';
import { codesLength, decodeWithProgress, showMedia } from './media-display';
import { checkInterrupt, Interrupted, isAbort, type CellEmit } from './outcome';
import type { StatusLine } from './streaming-display';

type MediaSpan = Exclude<Span, { kind: 'text' }>;

export function generatedMediaSpans(g: Generation): { span: MediaSpan; index: number }[] {
  return g.spans.flatMap((span, index) => (span.kind !== 'text' && span.role === 'generated' ? [{ span, index }] : []));
}

/** The final text of the streaming display: the text, then one `[image: N codes]` note per generated media span. */
export function generationSummary(g: Generation, streamedText: string): string {
  // Count codes, not tokens: a span's [start, end) also covers its two tags.
  const mediaNote = generatedMediaSpans(g)
    .map(({ span }) => `[${span.kind}: ${span.codes.flat().length} codes]`)
    .join(' ');
  return [g.text || streamedText, mediaNote].filter(Boolean).join(' ') || '(no text)';
}

export interface SpanOutputOptions {
  backend: Backend;
  manifest: Manifest;
  emit: CellEmit;
  metadata: Record<string, unknown>;
  generationId: string;
  executionCount: number;
  signal: AbortSignal;
  voice?: VoicePrompt;
  /** Appended to the interrupt message (what happened to the conversation turn). */
  interruptNote: () => string;
  /** Where decode progress shows: the generation's display, so the cell keeps one status line. */
  status: StatusLine;
}

/** Decodes and shows each generated media span; returns the codes shown (for `out:N`). */
export async function showGeneratedMedia(g: Generation, o: SpanOutputOptions): Promise<MediaCodes[]> {
  const produced: MediaCodes[] = [];
  for (const { span, index } of generatedMediaSpans(g)) {
    const codes = spanCodes(span)!;
    if (!usableSpan(g, span, codes, o)) continue;
    produced.push(codes);
    let decoded: DecodedMedia;
    try {
      checkInterrupt(o.signal, 'before decoding');
      decoded = await decodeWithProgress(o.backend, codes, {
        voice: o.voice,
        signal: o.signal,
        emit: o.emit,
        key: `${o.executionCount}-${index}`,
        status: o.status,
      });
      checkInterrupt(o.signal, 'after decoding');
    } catch (e) {
      if (isAbort(e))
        throw new Interrupted(
          `interrupted while decoding the ${span.kind} span; the generated tokens are kept above${o.interruptNote()}`,
        );
      throw e;
    }
    await showMedia(decoded, codes, o.emit, o.metadata, {
      index,
      span,
      generationId: o.generationId,
      manifest: o.manifest,
      executionCount: o.executionCount,
    });
  }
  return produced;
}

/** False (with a warning) for a span that cannot be decoded; warns and returns true for a truncated but decodable one. */
function usableSpan(g: Generation, span: MediaSpan, codes: MediaCodes, o: SpanOutputOptions): boolean {
  const n = codesLength(codes);
  if (span.complete && n) return true;
  const tags = o.manifest.modalities[span.modality]?.tokens;
  const written = g.tokens
    .slice(span.start, span.end + 1)
    .filter((t) => t.modality === span.modality && t.piece !== tags?.start && t.piece !== tags?.end).length;
  const why =
    g.stopReason === 'max-new-tokens'
      ? 'generation hit max_new_tokens inside it; raise %max_new_tokens'
      : `generation stopped inside it (stop: ${g.stopReason})`;
  if (codes.modality === 'image' || !n) {
    o.emit.warn(
      `skipped an incomplete ${span.kind} span (${written} of ${codes.modality === 'image' ? o.manifest.modalities.image?.tokensPerImage : 'its'} tokens): ${why}`,
    );
    return false;
  }
  const frames = codes.modality === 'music' ? `, ${codes.codes[0].length} whole frame(s)` : '';
  o.emit.warn(
    `the ${span.kind} span is truncated (${written} tokens${frames}): ${why}; decoded the ${n} code(s) present`,
  );
  return true;
}
