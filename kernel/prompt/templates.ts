/**
 * Prompt strings, exactly as upstream builds them (docs/anygpt.md, "Prompt templates").
 * All template text comes from the manifest, so the real AnyGPT and nano differ only in data.
 */
import type { ChatTemplate, Manifest, MediaModality, Modality, TokenBlockSpec } from '../../common/manifest';
import type { Generation, Span } from '../../common/generation';
import type { Task } from './magics';
import { PromptError } from './parse';

/** Codes of one media item: flat for image/speech, codes[q][t] for music. */
export type MediaCodes = { modality: 'image' | 'speech'; codes: number[] } | { modality: 'music'; codes: number[][] };

export const TASK_OUTPUT: Record<Task, Modality> = {
  chat: 'text',
  t2i: 'image',
  caption: 'text',
  asr: 'text',
  tts: 'speech',
  t2m: 'music',
  m2t: 'text',
};
/** The media a base task reads, if any. */
export const TASK_INPUT: Partial<Record<Task, MediaModality>> = { caption: 'image', asr: 'speech', m2t: 'music' };

function block(manifest: Manifest, modality: MediaModality): TokenBlockSpec & { codebookSize?: number } {
  const spec = manifest.modalities[modality];
  if (!spec) throw new Error(`this model has no ${modality} modality`);
  return modality === 'music' ? { ...spec.tokens, codebookSize: manifest.modalities.music!.codebookSize } : spec.tokens;
}

/** docs/anygpt.md, "Media token strings": sos + one token per code + eos, no spaces; music frame-major with codebook offsets. */
export function mediaTokenString(manifest: Manifest, media: MediaCodes): string {
  const b = block(manifest, media.modality);
  const tok = (k: number) => `<${b.prefix}${k}>`;
  if (media.modality === 'music') {
    const S = b.codebookSize!;
    const Q = media.codes.length;
    const T = Q ? media.codes[0].length : 0;
    let s = '';
    for (let t = 0; t < T; t++) for (let q = 0; q < Q; q++) s += tok(media.codes[q][t] + S * q);
    return b.start + s + b.end;
  }
  return b.start + media.codes.map(tok).join('') + b.end;
}

/** Media token string of a span from a Generation (for conversation history and out:N reuse). */
export function spanCodes(span: Span): MediaCodes | undefined {
  if (span.kind === 'music') return { modality: 'music', codes: span.codes };
  if (span.kind === 'image' || span.kind === 'speech') return { modality: span.kind, codes: span.codes };
  return undefined;
}

export interface PromptMedia {
  modality: MediaModality;
  tokens: string;
}

/** Upstream's interleaved user message (prompter.py:109-120): images, music, speech, then the words. */
export function chatUserMessage(text: string, media: PromptMedia[]): string {
  const of = (m: MediaModality) =>
    media
      .filter((x) => x.modality === m)
      .map((x) => x.tokens + ' ')
      .join('');
  let msg = of('image') + of('music') + of('speech') + text;
  if (media.some((m) => m.modality === 'speech')) msg += ' Please recognize the voice command and give reply and voice';
  return msg.trim();
}

export interface ChatTurn {
  user: string;
  assistant: string;
}

/** docs/anygpt.md, "Chat prompts" (upstream's get_prompt()): system, then "[Human]: …<eoh>\n[MMGPT]: …<eos>\n" turns, ending with "[MMGPT]:". */
export function chatPrompt(tpl: ChatTemplate, history: readonly ChatTurn[], user: string): string {
  let s = tpl.system + '\n';
  for (const t of history)
    s += `${tpl.user}: ${t.user}${tpl.userEnd}\n${tpl.assistant}: ${t.assistant}${tpl.assistantEnd}\n`;
  return s + `${tpl.user}: ${user}${tpl.userEnd}\n${tpl.assistant}:`;
}

/**
 * Base-model prompts (docs/anygpt.md, "Base prompts"). text→X: "{instruction} This is input: {text}"; X→text: "{instruction} {media}".
 * For X→text a user's own words replace the fixed instruction ("What colour is the cat?").
 */
/**
 * Whether a base task's prompt ends with the output's start tag: an explicit choice (a cell's %constrain, the
 * CLI's --no-constrain) wins, else the package's templates.forceOutputStart (absent = true). Converted AnyGPT
 * packages say false, which is what upstream's base inference does (its prompt ends at "[MMGPT]:").
 */
export function forceOutputStart(manifest: Manifest, explicit?: boolean): boolean {
  return explicit ?? manifest.templates.forceOutputStart ?? true;
}

/**
 * The base-model prompt for a task. With `forceOutput`, a media-producing task (t2i, tts, t2m) ends with
 * " <soX>", as upstream's force_{image,speech,music}_generation does: the task already says which modality
 * the answer is, and a small or uncertain model would otherwise sometimes answer in text. The engine's
 * constraints treat a prompt that ends inside a span as an open span.
 */
export function basePrompt(
  manifest: Manifest,
  task: Exclude<Task, 'chat'>,
  text: string,
  media: PromptMedia[],
  cellLine = 1,
  opts: { forceOutput?: boolean } = {},
): string {
  const instruction = manifest.templates.instructions[task];
  const input = TASK_INPUT[task];
  let message: string;
  if (input) {
    const item = media.find((m) => m.modality === input);
    if (!item)
      throw new PromptError(
        `%task ${task} needs ${input === 'image' ? 'an' : 'a'} ${input} attachment, e.g. ![${input}](${input === 'image' ? 'photo.png' : 'clip.wav'})`,
        cellLine,
        1,
      );
    const others = media.filter((m) => m !== item);
    if (others.length)
      throw new PromptError(
        `%task ${task} takes exactly one ${input}; drop the other attachments or use %task chat`,
        cellLine,
        1,
      );
    message = `${text || instruction} ${item.tokens}`;
  } else {
    if (!text) throw new PromptError(`%task ${task} needs some text to turn into ${TASK_OUTPUT[task]}`, cellLine, 1);
    if (media.length)
      throw new PromptError(`%task ${task} takes text only; attachments belong to %task chat`, cellLine, 1);
    message = `${instruction} This is input: ${text}`;
  }
  const prompt = manifest.templates.base.replace('{message}', message);
  const output = TASK_OUTPUT[task];
  if (opts.forceOutput && output !== 'text') return `${prompt} ${block(manifest, output).start}`;
  return prompt;
}

/**
 * Parse a `%decode` token list: "<👀12><👀7>…" or plain numbers "12 7 …" (block-relative values; for
 * music the flat value including the codebook offset, as in the token string). Position decides the
 * music codebook, as upstream does (`content2rvq_codes`). Non-fatal adjustments (a dropped incomplete
 * music frame) are pushed to `warnings` for the kernel to show.
 */
export function parseModalityTokens(
  manifest: Manifest,
  modality: MediaModality,
  src: string,
  line: number,
  col: number,
  warnings?: string[],
): MediaCodes {
  const b = block(manifest, modality);
  const values: number[] = [];
  // Blank out the optional <soX>/<eoX> wrapper without shifting positions.
  const body = src.replace(new RegExp(`${escapeRe(b.start)}|${escapeRe(b.end)}`, 'g'), (m) => ' '.repeat(m.length));
  const at = (idx: number): [number, number] => {
    const before = body.slice(0, idx).split('\n');
    return before.length === 1 ? [line, col + idx] : [line + before.length - 1, before[before.length - 1].length + 1];
  };
  const re = /<([^<>\d\s]*)(\d+)>|(\d+)|(\S+)/gu;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    const [l, c] = at(m.index);
    if (m[4] !== undefined) throw new PromptError(`not a ${modality} token: "${m[4].slice(0, 20)}"`, l, c, m[4].length);
    if (m[1] !== undefined && m[1] !== b.prefix) {
      throw new PromptError(`"${m[0]}" is not a ${modality} token (expected <${b.prefix}N>)`, l, c, m[0].length);
    }
    const v = Number(m[2] ?? m[3]);
    if (v >= b.size)
      throw new PromptError(`${modality} code ${v} is out of range [0, ${b.size - 1}]`, l, c, m[0].length);
    values.push(v);
  }
  if (!values.length) throw new PromptError(`no ${modality} tokens to decode`, line, col);
  if (modality === 'music') {
    const S = b.codebookSize!;
    const Q = manifest.modalities.music!.numCodebooks;
    const T = Math.floor(values.length / Q);
    if (T === 0) throw new PromptError(`music needs at least ${Q} tokens (one frame of ${Q} codebooks)`, line, col);
    const extra = values.length - T * Q;
    if (extra)
      warnings?.push(
        `the music tokens are ${values.length}, not a multiple of ${Q} codebooks; dropped the incomplete last frame (${extra} token${extra > 1 ? 's' : ''})`,
      );
    const misplaced = values.slice(0, T * Q).filter((v, i) => Math.floor(v / S) !== i % Q).length;
    if (misplaced)
      warnings?.push(
        `${misplaced} music token${misplaced > 1 ? 's are' : ' is'} from another codebook's range than its position; used the value mod ${S} as upstream does`,
      );
    const codes = Array.from({ length: Q }, (_, q) => Array.from({ length: T }, (_, t) => values[t * Q + q] % S));
    return { modality, codes };
  }
  if (modality === 'image') {
    const n = manifest.modalities.image!.tokensPerImage;
    if (values.length !== n) throw new PromptError(`an image is exactly ${n} tokens, got ${values.length}`, line, col);
  }
  return { modality, codes: values };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What a token string means, for the inspector: "<👀12>" → "image code 12", "<eoh>" → "end of the human turn".
 */
export function describePiece(manifest: Manifest, piece: string): string | undefined {
  for (const modality of ['image', 'speech', 'music'] as const) {
    const spec = manifest.modalities[modality];
    if (!spec) continue;
    const t = spec.tokens;
    if (piece === t.start) return `start of a ${modality} span`;
    if (piece === t.end) return `end of a ${modality} span`;
    if (piece.startsWith(`<${t.prefix}`) && piece.endsWith('>')) {
      const k = Number(piece.slice(t.prefix.length + 1, -1));
      if (!Number.isInteger(k)) continue;
      if (modality === 'music') {
        const S = manifest.modalities.music!.codebookSize;
        return `music code ${k % S} of codebook ${Math.floor(k / S)} (token value ${k})`;
      }
      return `${modality} code ${k}${modality === 'speech' ? ' (semantic RVQ layer 1, 20 ms)' : ''}`;
    }
  }
  const tpl = manifest.templates.chat;
  const roles: Record<string, string> = {
    [tpl.mmgpt.user]: 'the user role marker',
    [tpl.mmgpt.assistant]: 'the assistant role marker (MMGPT template)',
    [tpl.anygpt.assistant]: 'the assistant role marker (AnyGPT template)',
    [tpl.mmgpt.userEnd]: 'end of the human turn',
    [tpl.mmgpt.assistantEnd]: 'end of the assistant turn (MMGPT template)',
    [tpl.anygpt.assistantEnd]: 'end of the assistant turn (AnyGPT template)',
    [manifest.tokenizer.bos]: 'beginning of sequence (BOS)',
    [manifest.tokenizer.eos]: 'end of sequence (EOS): generation stops here',
  };
  return roles[piece];
}

/**
 * The assistant message a generation leaves in the conversation: its generated text, with each complete
 * media span written back as its token string, cut at the first stop token.
 */
export function assistantMessage(g: Generation, manifest: Manifest): string {
  let s = '';
  for (const span of g.spans) {
    if (span.role !== 'generated') continue;
    if (span.kind === 'text') s += span.text;
    else if (span.complete) s += ' ' + mediaTokenString(manifest, spanCodes(span)!) + ' ';
  }
  let cut = s.length;
  for (const st of [...manifest.templates.stopTokens, manifest.tokenizer.eos]) {
    const i = s.indexOf(st);
    if (i >= 0 && i < cut) cut = i;
  }
  return s.slice(0, cut).replace(/\s+/g, ' ').trim();
}
