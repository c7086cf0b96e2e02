/**
 * The token inspector's view model: pure functions from a Generation to the items shown (chips and
 * collapsed media groups), counts, search matches and log-prob colours. No DOM here, so it is unit
 * tested in Node and reused by the extension's "Show Tokens of Cell".
 */
import type { Generation, TokenRecord } from '../../common/generation';
import type { Modality } from '../../common/manifest';

/** One chip: a token, or several tokens that only together form whole UTF-8 characters. */
export interface TokenItem {
  kind: 'token';
  /** Index range [first,last] into Generation.tokens. */
  first: number;
  last: number;
  modality: Modality;
  /** Display text (decoded when the item groups byte tokens). */
  text: string;
  special: boolean;
  generated: boolean;
}

/**
 * A media span: one labelled chip that stands for its tokens while collapsed, and the header chip in front of them
 * (which collapses it again) once expanded.
 */
export interface GroupItem {
  kind: 'group';
  span: number;
  /** True for the header of an expanded span: its tokens follow as their own items. */
  expanded: boolean;
  modality: Modality;
  first: number;
  /** Exclusive. */
  end: number;
  label: string;
  generated: boolean;
}

export type Item = TokenItem | GroupItem;

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const SPECIAL_PIECE = /^(<[^<>\s]+>|\[[A-Za-z][\w ]*\])$/;

/** How many bytes the UTF-8 sequence starting with lead byte `b` has (1 for invalid leads). */
function utf8Length(b: number): number {
  if (b >= 0xf0 && b < 0xf8) return 4;
  if (b >= 0xe0) return b < 0xf0 ? 3 : 1;
  if (b >= 0xc0) return 2;
  return 1;
}

/**
 * How a vocabulary marks word boundaries. SentencePiece and GPT-2 byte-level BPE mark the space
 * (`▁`, `Ġ`); WordPiece marks the continuation instead (`##ing`), so a plain piece starts a word.
 */
export type PieceScheme = 'marked-space' | 'wordpiece';

export function detectScheme(tokens: readonly TokenRecord[]): PieceScheme {
  let continuation = false;
  for (const t of tokens) {
    if (t.modality !== 'text') continue;
    if (/[\u2581\u0120]/.test(t.piece)) return 'marked-space';
    if (t.piece.length > 2 && t.piece.startsWith('##')) continuation = true;
  }
  return continuation ? 'wordpiece' : 'marked-space';
}

/** Raw vocabulary piece → text a reader expects (`▁`/`Ġ`/`Ċ` markers, or WordPiece `##`). */
export function displayPiece(piece: string, scheme: PieceScheme = 'marked-space'): string {
  if (scheme === 'wordpiece') return piece.length > 2 && piece.startsWith('##') ? piece.slice(2) : ` ${piece}`;
  return piece
    .replace(/\u2581/g, ' ')
    .replace(/\u0120/g, ' ')
    .replace(/\u010a/g, '\n');
}

/** Make whitespace visible: space ·, tab →, newline ↵. */
export function showWhitespace(text: string): string {
  return text.replace(/ /g, '\u00b7').replace(/\t/g, '\u2192').replace(/\r?\n/g, '\u21b5');
}

export function isSpecial(t: TokenRecord): boolean {
  return t.span === -1 && SPECIAL_PIECE.test(t.piece);
}

/**
 * Build the chip list. Media spans become one group unless their index is in `expanded`;
 * byte-fallback tokens (`<0xE4>`) that split a character are merged into one chip.
 */
export function buildItems(gen: Generation, expanded: ReadonlySet<number> = new Set()): Item[] {
  const items: Item[] = [];
  const toks = gen.tokens;
  const scheme = detectScheme(toks);
  let i = 0;
  while (i < toks.length) {
    const t = toks[i];
    const span = t.span >= 0 ? gen.spans[t.span] : undefined;
    if (span && span.kind !== 'text' && t.modality !== 'text' && (i === 0 || toks[i - 1].span !== t.span)) {
      // The run of tokens that belong to this media span (start/end tags have span -1).
      let end = i;
      while (end < toks.length && toks[end].span === t.span) end++;
      const n = end - i;
      const open = expanded.has(t.span);
      items.push({
        kind: 'group',
        span: t.span,
        expanded: open,
        modality: span.modality,
        first: i,
        end,
        label: `${span.modality} \u00b7 ${n} token${n === 1 ? '' : 's'}`,
        generated: span.role === 'generated',
      });
      if (!open) {
        i = end;
        continue;
      }
    }
    const m = BYTE_PIECE.exec(t.piece);
    if (m) {
      const need = utf8Length(parseInt(m[1], 16));
      const bytes: number[] = [];
      let j = i;
      while (j < toks.length && bytes.length < need) {
        const mj = BYTE_PIECE.exec(toks[j].piece);
        if (!mj || (j > i && toks[j].generated !== t.generated)) break;
        bytes.push(parseInt(mj[1], 16));
        j++;
      }
      const complete = bytes.length === need;
      const text = complete ? new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(bytes)) : t.piece;
      const last = complete ? j - 1 : i;
      items.push({
        kind: 'token',
        first: i,
        last,
        modality: t.modality,
        text,
        special: false,
        generated: !!t.generated,
      });
      i = last + 1;
      continue;
    }
    const special = isSpecial(t);
    items.push({
      kind: 'token',
      first: i,
      last: i,
      modality: t.modality,
      text: special ? t.piece : displayPiece(t.piece, scheme),
      special,
      generated: !!t.generated,
    });
    i++;
  }
  return items;
}

export interface Summary {
  counts: Record<Modality, number>;
  prompt: number;
  generated: number;
}

export function summarize(gen: Generation): Summary {
  const counts: Record<Modality, number> = { text: 0, image: 0, speech: 0, music: 0 };
  let generated = 0;
  for (const t of gen.tokens) {
    counts[t.modality]++;
    if (t.generated) generated++;
  }
  return { counts, prompt: gen.tokens.length - generated, generated };
}

/** Does this item match a search? A number matches token ids exactly; text matches pieces (case-insensitive). */
export function matches(gen: Generation, item: Item, query: string): boolean {
  const q = query.trim();
  if (!q || (item.kind === 'group' && item.expanded)) return false;
  const asId = /^\d+$/.test(q) ? Number(q) : undefined;
  const lower = q.toLowerCase();
  const last = item.kind === 'token' ? item.last : item.end - 1;
  for (let k = item.first; k <= last; k++) {
    const t = gen.tokens[k];
    if (
      asId !== undefined
        ? t.id === asId
        : t.piece.toLowerCase().includes(lower) || displayPiece(t.piece).toLowerCase().includes(lower)
    )
      return true;
  }
  if (item.kind === 'token' && asId === undefined && item.text.toLowerCase().includes(lower)) return true;
  return false;
}

export type ColourMode = 'modality' | 'logprob' | 'logprobSampled';

/** Which distribution a colour mode shows, in words (the inspector must say it). */
export function distributionLabel(mode: ColourMode): string {
  switch (mode) {
    case 'logprob':
      return 'log p under the raw model distribution (softmax of logits), clamped at \u22125';
    case 'logprobSampled':
      return 'log p under the distribution sampled from (after penalties, constraints, temperature, top-k/p), clamped at \u22125';
    default:
      return 'colour = modality';
  }
}

export const LOGPROB_FLOOR = -5;

/** Log-prob → hue from red (≤ −5) to green (0); undefined for prompt tokens. */
export function logprobHue(t: TokenRecord, mode: ColourMode): number | undefined {
  const lp = mode === 'logprob' ? t.logprob : mode === 'logprobSampled' ? t.logprobSampled : undefined;
  if (lp === undefined || !Number.isFinite(lp)) return undefined;
  const x = Math.max(LOGPROB_FLOOR, Math.min(0, lp)) / LOGPROB_FLOOR; // 0 = certain, 1 = floor
  return Math.round(130 * (1 - x));
}

export function formatProb(p: number): string {
  if (p >= 0.995) return '100%';
  if (p >= 0.1) return `${(p * 100).toFixed(0)}%`;
  if (p >= 0.001) return `${(p * 100).toFixed(1)}%`;
  return p.toExponential(1);
}

/** The media spans (indices into Generation.spans) that the inspector shows as groups. */
export function mediaSpans(gen: Generation): number[] {
  const out: number[] = [];
  gen.spans.forEach((s, i) => {
    if (s.kind !== 'text' && gen.tokens.some((t) => t.span === i && t.modality !== 'text')) out.push(i);
  });
  return out;
}

/** Token indices an item stands for; the header of an expanded span stands for none (its tokens are items). */
export function tokensOf(item: Item): number[] {
  if (item.kind === 'group' && item.expanded) return [];
  const last = item.kind === 'token' ? item.last : item.end - 1;
  const out: number[] = [];
  for (let k = item.first; k <= last; k++) out.push(k);
  return out;
}

/**
 * Ids in a plain JSON array, for "copy ids": all of them, or with `query` only the matching tokens (a collapsed media
 * group contributes the codes that match, not the whole span).
 */
export function idsJson(gen: Generation, items: readonly Item[], query = ''): string {
  const q = query.trim();
  const ids: number[] = [];
  for (const it of items) {
    if (q && !matches(gen, it, q)) continue;
    const toks = tokensOf(it);
    const own = q && it.kind === 'group' ? toks.filter((k) => matchesToken(gen, k, q)) : toks;
    for (const k of own) ids.push(gen.tokens[k].id);
  }
  return JSON.stringify(ids);
}

function matchesToken(gen: Generation, k: number, q: string): boolean {
  const t = gen.tokens[k];
  if (/^\d+$/.test(q)) return t.id === Number(q);
  const lower = q.toLowerCase();
  return t.piece.toLowerCase().includes(lower) || displayPiece(t.piece).toLowerCase().includes(lower);
}
