/** Media codes → a shown output: decode off the main thread (with a progress display for slow decodes), then an image or audio bundle. */
import type { Span } from '../../../common/generation';
import type { Manifest } from '../../../common/manifest';
import { enlargeForDisplay } from '../../codecs';
import type { MediaCodes } from '../../prompt';
import type { Backend, DecodedMedia, VoicePrompt } from '../backend';
import { audioBundle, imageBundle, progressText, type MimeBundle } from '../mime-bundles';
import type { CellEmit, Emit } from './outcome';
import type { StatusLine } from './streaming-display';

/** Progress displays appear only for operations that take longer than this (ANYGPT_PROGRESS_DELAY_MS). */
const PROGRESS_DELAY_MS = Number(process.env.ANYGPT_PROGRESS_DELAY_MS ?? 250);

export function codesLength(c: MediaCodes): number {
  return c.modality === 'music' ? c.codes.length * (c.codes[0]?.length ?? 0) : c.codes.length;
}

export async function decodeWithProgress(
  backend: Backend,
  codes: MediaCodes,
  opts: { voice?: VoicePrompt; signal: AbortSignal; emit: CellEmit; key: string; status?: StatusLine },
): Promise<DecodedMedia> {
  const { emit } = opts;
  const line = opts.status ?? ownStatusLine(emit, `anygpt-${opts.key}-progress`);
  let shown = false;
  const t = performance.now();
  const decoded = await backend.decodeSpan(codes, {
    voice: codes.modality === 'speech' ? opts.voice : undefined,
    signal: opts.signal,
    onProgress: (p) => {
      // Fast decodes show no progress bar at all (no flashing output); slow ones show it after a moment.
      if (!shown && performance.now() - t < PROGRESS_DELAY_MS && p.done < p.total) return;
      if (!shown && p.done >= p.total && performance.now() - t < PROGRESS_DELAY_MS) return;
      line.progress(progressText(p.stage, p.done, p.total));
      shown = true;
    },
  });
  if (shown) line.settle({ 'text/plain': `decoded ${codes.modality} in ${(performance.now() - t).toFixed(0)} ms` });
  for (const w of decoded.warnings ?? []) emit.warn(w);
  return decoded;
}

/** A display of its own (a %decode cell has no generation display to share). */
function ownStatusLine(emit: Emit, id: string): StatusLine {
  let shown = false;
  const show = (data: MimeBundle) => {
    if (shown) emit.update(data, {}, id);
    else emit.display(data, {}, id);
    shown = true;
  };
  return { progress: show, settle: show };
}

/** Where shown media came from: a generated span (linked to the tokens output) or a %decode cell. */
export interface MediaOrigin {
  index?: number;
  span?: Span;
  generationId?: string;
  manifest: Manifest;
  executionCount: number;
}

export async function showMedia(
  decoded: DecodedMedia,
  codes: MediaCodes,
  emit: Emit,
  metadata: Record<string, unknown>,
  at: MediaOrigin,
): Promise<void> {
  const n = codesLength(codes);
  const label = at.span
    ? `${n} ${codes.modality} tokens from span ${at.index}`
    : `${n} ${codes.modality} tokens (%decode)`;
  if (decoded.mime === 'image/png') {
    const shown =
      decoded.width && decoded.height
        ? await enlargeForDisplay(decoded.data, decoded.width, decoded.height)
        : undefined;
    emit.display(imageBundle(decoded, label, shown), metadata);
    return;
  }
  const spec = codes.modality === 'music' ? at.manifest.modalities.music : at.manifest.modalities.speech;
  emit.display(
    audioBundle(
      decoded,
      {
        frameRate: spec?.frameRate ?? 50,
        codes: codes.codes,
        codebookSize:
          codes.modality === 'music'
            ? at.manifest.modalities.music?.codebookSize
            : at.manifest.modalities.speech?.codebookSize,
        span: at.span && at.index !== undefined ? { index: at.index, span: at.span, tokenCount: n } : undefined,
        generationId: at.generationId,
        fileName: `cell${at.executionCount}-${codes.modality}.wav`,
      },
      label,
    ),
    metadata,
  );
}
