/**
 * The live view of a generation: one display (display_data, then update_display_data with the same id)
 * showing the text so far and the media span being written. The first token shows at once
 * (time-to-first-token is what users feel), later ones at most every 50 ms.
 */
import type { GenerationEvent } from '../../../common/generation';
import type { Manifest, MediaModality } from '../../../common/manifest';
import { streamingText, type MimeBundle } from '../mime-bundles';
import type { LiveLine } from './live-line';

const STREAM_INTERVAL_MS = 50;

/**
 * One live status line: a later stage's progress (decoding a span) shown in place, then settled into what the
 * line should say when the stage is done. The generation's own display is one, so a media cell keeps a single
 * text output instead of a stream, a progress bar and a "decoded in N ms" line.
 */
export interface StatusLine {
  progress(data: MimeBundle): void;
  /** The stage is done; `summary` is what a line of its own would keep saying (the generation's keeps its text). */
  settle(summary: MimeBundle): void;
}

export class StreamingDisplay implements StatusLine {
  private text = '';
  private finished?: { data: MimeBundle; metadata: Record<string, unknown> };
  private open?: { modality: MediaModality; count: number };
  /** The stream has shown something (the first token shows at once, even over the model load's progress). */
  private started = false;
  private lastFlush = 0;
  private pending?: NodeJS.Timeout;

  /** `line`: the cell's status line; it may already show the model load's progress, which the stream replaces. */
  constructor(
    private readonly line: LiveLine,
    private readonly manifest: Manifest,
  ) {}

  /** The text streamed so far, trimmed. */
  get streamedText(): string {
    return this.text.trim();
  }

  readonly onEvent = (e: GenerationEvent): void => {
    if (e.type === 'progress') return;
    if (e.type === 'token') {
      const t = e.token;
      const opens = (Object.keys(this.manifest.modalities) as MediaModality[]).find(
        (k) => this.manifest.modalities[k]?.tokens.start === t.piece,
      );
      if (opens) this.open = { modality: opens, count: 0 };
      else if (t.modality === 'text') {
        if (!isControlPiece(t.piece, this.manifest)) this.text += t.piece.replace(/▁/g, ' ');
      } else if (this.open) this.open.count++;
      else this.open = { modality: t.modality, count: 1 };
    } else if (e.type === 'span-start') {
      this.open = { modality: e.modality, count: 0 };
    } else if (e.type === 'span-end') {
      if (this.open) this.open = { ...this.open };
    }
    if (!this.started) this.flush();
    else if (!this.pending)
      this.pending = setTimeout(this.flush, Math.max(0, STREAM_INTERVAL_MS - (performance.now() - this.lastFlush)));
  };

  /** No more throttled updates (the generation has ended, or failed). */
  stop(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
  }

  /** Replace the live view with the final summary, in the same display. */
  finish(data: MimeBundle, metadata: Record<string, unknown>): void {
    this.stop();
    this.line.show(data, metadata);
    this.started = true;
    this.finished = { data, metadata };
  }

  progress(data: MimeBundle): void {
    this.stop();
    this.line.show(data, this.finished?.metadata ?? {});
    this.started = true;
  }

  /** Back to the generation's summary: decode timings live in the metadata, not in the text. */
  settle(): void {
    if (this.finished) this.line.show(this.finished.data, this.finished.metadata);
  }

  private readonly flush = (): void => {
    this.stop();
    this.lastFlush = performance.now();
    this.line.show(streamingText(this.text.trim(), this.open, false));
    this.started = true;
  };
}

/** Tokens that structure the sequence (BOS/EOS, turn ends, media tags) and are never shown as text. */
function isControlPiece(piece: string, manifest: Manifest): boolean {
  return (
    piece === manifest.tokenizer.eos ||
    piece === manifest.tokenizer.bos ||
    manifest.templates.stopTokens.includes(piece) ||
    manifest.specialTokens.includes(piece) ||
    /^<(so|eo)[a-z]{2}>$/.test(piece)
  );
}
