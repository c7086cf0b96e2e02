/**
 * Mime bundles for everything a cell shows. Every rich mime has a text/plain fallback, audio also gets a
 * text/html <audio> fallback (JupyterLab, nbconvert and GitHub render no audio/* mime), and the token
 * payload is compacted so thousands of speech/music tokens stay small in a saved notebook.
 */
import { MIME, type Generation, type Span, type TokenRecord } from '../../common/generation';
import { AUDIO_SCHEMA, type AudioOutput, type CellContext, type TokensOutput } from '../../common/output-payloads';
import { bytesSource } from '../codecs/byte-source';
import { parseWavHeader, readWavFrames } from '../codecs/wav-io';
import type { DecodedMedia } from './backend';

export type MimeBundle = Record<string, unknown>;

const r4 = (x: number | undefined) => (x === undefined ? undefined : Math.round(x * 1e4) / 1e4);

function compactToken(t: TokenRecord): TokenRecord {
  const out: TokenRecord = { id: t.id, piece: t.piece, position: t.position, modality: t.modality, span: t.span };
  if (t.codebook !== undefined) out.codebook = t.codebook;
  if (t.frame !== undefined) out.frame = t.frame;
  if (!t.generated) return out;
  out.generated = true;
  if (t.logprob !== undefined) out.logprob = r4(t.logprob);
  if (t.logprobSampled !== undefined) out.logprobSampled = r4(t.logprobSampled);
  if (t.entropy !== undefined) out.entropy = r4(t.entropy);
  if (t.top) out.top = t.top.slice(0, 5).map((a) => ({ id: a.id, piece: a.piece, prob: r4(a.prob)! }));
  if (t.stepMs !== undefined && t.modality === 'text') out.stepMs = Math.round(t.stepMs * 100) / 100;
  return out;
}

/** The Generation record as stored in the notebook (see TokensOutput in common/outputs.ts). */
export function compactGeneration(g: Generation, cell?: CellContext): TokensOutput {
  const stats = { ...g.stats, tokensPerSecond: Math.round(g.stats.tokensPerSecond * 100) / 100 };
  return { ...g, tokens: g.tokens.map(compactToken), stats, ...(cell ? { cell } : {}) };
}

export function generatedCount(g: Generation): number {
  return g.tokens.length - g.promptLength;
}

/** One-paragraph text/plain summary of a Generation (what nbconvert text and terminals show). */
export function tokensSummary(g: Generation, context?: CellContext): string {
  const gen = generatedCount(g);
  const lines = [
    `${g.promptLength} prompt tokens${gen || g.stopReason !== 'eos' ? ` + ${gen} generated (stop: ${g.stopReason})` : ''} · seed ${g.params.seed} · ${g.model.name}`,
  ];
  if (gen)
    lines.push(
      `${g.stats.tokensPerSecond.toFixed(1)} tok/s, prefill ${g.stats.prefillMs.toFixed(0)} ms, decode ${g.stats.decodeMs.toFixed(0)} ms`,
    );
  const spans = g.spans
    .filter((s) => s.kind !== 'text')
    .map(
      (s) => `${s.role} ${s.kind} (${s.end - s.start} tokens${'complete' in s && !s.complete ? ', incomplete' : ''})`,
    );
  if (spans.length) lines.push('spans: ' + spans.join(', '));
  if (context?.contextTurns?.length)
    lines.push(
      `context: ${context.contextTurns.length} earlier turn(s) from cells [${context.contextTurns.join(', ')}]`,
    );
  for (const w of g.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export function tokensBundle(g: Generation, context?: CellContext): MimeBundle {
  return { [MIME.tokens]: compactGeneration(g, context), 'text/plain': tokensSummary(g, context) };
}

/** `shown` is the PNG as displayed (small images enlarged `scale`× by enlargeForDisplay); the label keeps the model's size. */
export function imageBundle(
  media: DecodedMedia,
  label: string,
  shown: { png: Uint8Array; scale: number } = { png: media.data, scale: 1 },
): MimeBundle {
  const size = `${media.width ?? '?'}×${media.height ?? '?'}${shown.scale > 1 ? `, shown ×${shown.scale}` : ''}`;
  return {
    'image/png': Buffer.from(shown.png).toString('base64'),
    'text/plain': `<image ${size}: ${label}>`,
  };
}

/** Peak |x| per bucket over all channels, rounded to 3 decimals: a cheap waveform for renderers. */
function envelope(channels: Float32Array[], buckets = 200): number[] {
  const frames = channels[0]?.length ?? 0;
  const n = Math.max(1, Math.min(buckets, frames));
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const a = Math.floor((k * frames) / n);
    const z = Math.floor(((k + 1) * frames) / n);
    let peak = 0;
    for (const ch of channels) for (let i = a; i < z; i++) peak = Math.max(peak, Math.abs(ch[i]));
    out.push(Math.round(peak * 1000) / 1000);
  }
  return out;
}

export interface AudioSource {
  span?: { index: number; span: Span; tokenCount: number };
  frameRate: number;
  codes?: number[] | number[][];
  codebookSize?: number;
  generationId?: string;
  fileName?: string;
}

export function audioBundle(media: DecodedMedia, src: AudioSource, label: string): MimeBundle {
  const b64 = Buffer.from(media.data).toString('base64');
  let env: number[] | undefined;
  let sampleRate = media.sampleRate ?? 16000;
  let duration = media.durationSec ?? 0;
  try {
    // The codecs' WAV reader (the same one that reads attached audio).
    const src = bytesSource(media.data, 'decoded audio');
    const info = parseWavHeader(src);
    env = envelope(readWavFrames(src, info, 0, info.frames));
    sampleRate = info.sampleRate;
    duration = info.frames / info.sampleRate;
  } catch {
    // A WAV we cannot parse still plays in the browser; the envelope is optional.
  }
  const modality = media.modality === 'music' ? 'music' : 'speech';
  const payload: AudioOutput = {
    schema: AUDIO_SCHEMA,
    modality,
    wav: b64,
    sampleRate,
    durationSec: Math.round(duration * 1000) / 1000,
    frameRate: src.frameRate,
    codes: src.codes,
    codebookSize: src.codebookSize,
    spans: src.span
      ? [
          {
            span: src.span.index,
            tokenStart: src.span.span.start,
            tokenEnd: src.span.span.end,
            startSec: 0,
            endSec: Math.round(duration * 1000) / 1000,
          },
        ]
      : [],
    generationId: src.generationId,
    fileName: src.fileName,
    envelope: env,
  };
  return {
    [MIME.audio]: payload,
    // No autoplay: browsers block it and users dislike it. The caption gives the length, which a browser's
    // control shows as "0:00 / 0:00" for a clip under a second.
    'text/html':
      `<audio controls preload="metadata" src="data:audio/wav;base64,${b64}"></audio>` +
      `<div style="font-size:smaller;opacity:0.8">${modality}, ${duration.toFixed(2)} s</div>`,
    'text/plain': `<${modality} ${duration.toFixed(2)} s, ${sampleRate} Hz: ${label}>`,
  };
}

/** Rendering of the streamed-text display while tokens arrive. */
export function streamingText(text: string, openSpan?: { modality: string; count: number }, done = false): MimeBundle {
  let s = text;
  if (openSpan) s += `${s ? ' ' : ''}[${openSpan.modality}: ${openSpan.count} tokens${done ? '' : '…'}]`;
  return { 'text/plain': s };
}

export function progressText(stage: string, done: number, total: number): MimeBundle {
  const width = 20;
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return { 'text/plain': `${stage} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}` };
}
