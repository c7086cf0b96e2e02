/**
 * Building the Generation record (common/generation.ts, docs/generation-record.md) from ids.
 *
 * Spans are parsed from token ids, never from decoded strings. SpanTracker consumes one token at a time, so the
 * worker can stream token events with their span index and emit `span-end` as soon as an end tag arrives; the
 * same tracker parses a whole sequence for tokenize() and for the final record.
 *
 * Rules: a media span runs from its start tag to its end tag, both included. It is closed early (complete: false)
 * by anything that is not a code of its modality. Text spans are runs of ordinary text tokens; role/special tokens
 * and stray tags get span -1. Text spans split at the prompt/generated boundary; a media span opened in the prompt
 * (a forced `<soim>`) may continue into the generated part and then counts as generated.
 */
import {
  GENERATION_SCHEMA,
  type Alternative,
  type Generation,
  type GenerationParams,
  type GenerationStats,
  type ModelIdentity,
  type Span,
  type SpanRole,
  type StopReason,
  type TokenRecord,
} from '../../common/generation';
import type { MediaModality } from '../../common/manifest';
import type { ModelPackage } from './package';

/** Per-step data of a generated token, produced by the decode loop. */
export interface GeneratedStep {
  id: number;
  logprob: number;
  logprobSampled: number;
  entropy: number;
  top: { id: number; prob: number }[];
  stepMs: number;
}

interface OpenSpan {
  index: number;
  modality: MediaModality;
  start: number;
  codes: number[];
  role: SpanRole;
}

export class SpanTracker {
  readonly spans: Span[] = [];
  private open: OpenSpan | null = null;
  private textRun: { index: number; start: number; role: SpanRole; ids: number[] } | null = null;

  constructor(
    private readonly pkg: Pick<ModelPackage, 'vocab' | 'tokenizer' | 'manifest'>,
    private readonly tokens: TokenRecord[],
  ) {}

  /** Appends the token at `tokens.length` (creating its record) and returns it. `span-end` spans are returned via `closed`. */
  push(
    id: number,
    role: SpanRole,
    extra?: Partial<TokenRecord>,
  ): { token: TokenRecord; closed?: Span; opened?: MediaModality } {
    const { vocab, tokenizer } = this.pkg;
    const position = this.tokens.length;
    const c = vocab.classify(id);
    const token: TokenRecord = {
      id,
      piece: tokenizer.piece(id),
      position,
      modality: vocab.modalityOf(id),
      span: -1,
      ...extra,
    };
    this.tokens.push(token);
    let closed: Span | undefined;
    let opened: MediaModality | undefined;

    if (
      this.open &&
      !(c.kind === 'code' && c.modality === this.open.modality) &&
      !(c.kind === 'end' && c.modality === this.open.modality)
    ) {
      closed = this.closeMedia(position, false);
    }
    if (c.kind !== 'text' || (this.textRun && this.textRun.role !== role)) this.closeText(position);

    if (c.kind === 'start') {
      this.open = { index: this.spans.length, modality: c.modality, start: position, codes: [], role };
      this.spans.push(null as unknown as Span); // placeholder, filled on close
      token.span = this.open.index;
      opened = c.modality;
    } else if (this.open && c.kind === 'code') {
      if (role === 'generated') this.open.role = 'generated';
      const k = this.open.codes.length;
      this.open.codes.push(c.code);
      token.span = this.open.index;
      if (c.modality === 'music') {
        const b = vocab.blocks.music!;
        token.codebook = k % b.numCodebooks;
        token.frame = Math.floor(k / b.numCodebooks);
      }
    } else if (this.open && c.kind === 'end') {
      if (role === 'generated') this.open.role = 'generated';
      token.span = this.open.index;
      closed = this.closeMedia(position + 1, true);
    } else if (c.kind === 'text') {
      if (!this.textRun) {
        this.textRun = { index: this.spans.length, start: position, role, ids: [] };
        this.spans.push(null as unknown as Span);
      }
      this.textRun.ids.push(id);
      token.span = this.textRun.index;
    }
    return { token, closed, opened };
  }

  private closeText(end: number): void {
    const t = this.textRun;
    if (!t) return;
    this.spans[t.index] = {
      kind: 'text',
      modality: 'text',
      start: t.start,
      end,
      text: this.pkg.tokenizer.decode(t.ids),
      role: t.role,
    };
    this.textRun = null;
  }

  private closeMedia(end: number, byEndTag: boolean): Span {
    const o = this.open!;
    this.open = null;
    let span: Span;
    if (o.modality === 'music') {
      const b = this.pkg.vocab.blocks.music!;
      const Q = b.numCodebooks;
      const frames = Math.floor(o.codes.length / Q);
      // Position decides the codebook (as upstream's reshape); the value is taken modulo the codebook size.
      const codes = Array.from({ length: Q }, (_, q) =>
        Array.from({ length: frames }, (_, t) => o.codes[t * Q + q] % b.codebookSize),
      );
      span = {
        kind: 'music',
        modality: 'music',
        start: o.start,
        end,
        codes,
        role: o.role,
        complete: byEndTag && o.codes.length % Q === 0 && frames > 0,
      };
    } else if (o.modality === 'image') {
      const n = this.pkg.manifest.modalities.image!.tokensPerImage;
      span = {
        kind: 'image',
        modality: 'image',
        start: o.start,
        end,
        codes: o.codes,
        role: o.role,
        complete: byEndTag && o.codes.length === n,
      };
    } else {
      span = {
        kind: 'speech',
        modality: 'speech',
        start: o.start,
        end,
        codes: o.codes,
        role: o.role,
        complete: byEndTag && o.codes.length > 0,
      };
    }
    this.spans[o.index] = span;
    return span;
  }

  /** Closes whatever is open (end of sequence) and returns all spans. */
  finish(): Span[] {
    const end = this.tokens.length;
    if (this.open) this.closeMedia(end, false);
    this.closeText(end);
    return this.spans;
  }
}

export interface RecordInput {
  pkg: Pick<ModelPackage, 'vocab' | 'tokenizer' | 'manifest'>;
  engineVersion: string;
  model: ModelIdentity;
  params: GenerationParams;
  prompt: string;
  promptIds: number[];
  generated: GeneratedStep[];
  stopReason: StopReason;
  warnings: string[];
  stats: GenerationStats;
}

export function toAlternatives(
  pkg: Pick<ModelPackage, 'tokenizer'>,
  top: { id: number; prob: number }[],
): Alternative[] {
  return top.map((t) => ({ id: t.id, piece: pkg.tokenizer.piece(t.id), prob: t.prob }));
}

export function generatedExtra(pkg: Pick<ModelPackage, 'tokenizer'>, s: GeneratedStep): Partial<TokenRecord> {
  return {
    generated: true,
    logprob: s.logprob,
    logprobSampled: s.logprobSampled,
    entropy: s.entropy,
    top: toAlternatives(pkg, s.top),
    stepMs: s.stepMs,
  };
}

/** Assembles the full record. */
export function buildGeneration(r: RecordInput): Generation {
  const tokens: TokenRecord[] = [];
  const tracker = new SpanTracker(r.pkg, tokens);
  for (const id of r.promptIds) tracker.push(id, 'prompt');
  for (const s of r.generated) tracker.push(s.id, 'generated', generatedExtra(r.pkg, s));
  const spans = tracker.finish();
  const textIds = r.generated.map((s) => s.id).filter((id) => r.pkg.vocab.classify(id).kind === 'text');
  return {
    schema: GENERATION_SCHEMA,
    engineVersion: r.engineVersion,
    model: r.model,
    params: r.params,
    logprobSource: 'raw',
    prompt: r.prompt,
    tokens,
    promptLength: r.promptIds.length,
    spans,
    text: r.pkg.tokenizer.decode(textIds).trim(),
    stopReason: r.stopReason,
    warnings: r.warnings,
    stats: r.stats,
  };
}
