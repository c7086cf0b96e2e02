/**
 * The longest prompt, in characters, that could still fit the model's context: a bound checked before a cell is
 * parsed or tokenized, so a 20 MB cell is refused at once instead of blocking a thread for half a minute.
 *
 * One token covers at most `charsPerToken` characters of the input (the tokenizer's worst case), so a prompt of
 * more than maxPositions × charsPerToken characters needs more than maxPositions tokens. The worst case is read
 * from tokenizer.json:
 *   - the longest vocabulary piece or added token;
 *   - WordPiece turns a word of up to max_input_chars_per_word characters into one unknown token;
 *   - a pre-tokenizer that splits on whitespace drops it, so only non-whitespace characters are counted then;
 *   - Unicode normalization (NFC, NFKC…) may compose up to 3 characters into one (Hangul jamo), so ×3.
 * Where no worst case exists (BPE that fuses unknown characters without byte fallback, normalizers that delete or
 * rewrite by pattern), there is no bound and `promptLimit` returns undefined.
 */

export interface PromptLimit {
  /** Most characters (counted as `countWhitespace` says) a prompt can have and still fit. */
  maxChars: number;
  /** The tokenizer's worst case: input characters one token can cover. */
  charsPerToken: number;
  maxPositions: number;
  /** False when the pre-tokenizer drops whitespace: only other characters count. */
  countWhitespace: boolean;
}

type Json = Record<string, unknown> | null | undefined;

const LENGTH_PRESERVING = new Set(['Prepend', 'Lowercase']);
const COMPOSING = new Set(['NFC', 'NFKC']);
const WHITESPACE_SPLITTING = new Set(['WhitespaceSplit', 'Whitespace', 'BertPreTokenizer']);

function list(j: Json, key: string): Json[] {
  const v = j?.[key];
  return Array.isArray(v) ? (v as Json[]) : [];
}

/** Normalizer → how many input characters may become one (1: none merge), or undefined: no bound. */
function normalizerFactor(n: Json): number | undefined {
  if (!n) return 1;
  const type = n.type;
  if (type === 'Sequence') {
    let f = 1;
    for (const x of list(n, 'normalizers')) {
      const g = normalizerFactor(x);
      if (g === undefined) return undefined;
      f *= g;
    }
    return f;
  }
  if (type === 'Replace') {
    // Only a plain string replaced by something at least as long keeps the count of characters.
    const p = (n.pattern as Json)?.String;
    return typeof p === 'string' && typeof n.content === 'string' && n.content.length >= p.length ? 1 : undefined;
  }
  if (typeof type === 'string' && LENGTH_PRESERVING.has(type)) return 1;
  if (typeof type === 'string' && COMPOSING.has(type)) return 3;
  if (type === 'NFD' || type === 'NFKD') return 1; // decomposition never shortens
  return undefined;
}

function dropsWhitespace(p: Json): boolean {
  if (!p) return false;
  if (p.type === 'Sequence') return list(p, 'pretokenizers').some(dropsWhitespace);
  return typeof p.type === 'string' && WHITESPACE_SPLITTING.has(p.type);
}

/** The worst case of a tokenizer.json, or undefined when it has none. */
export function charsPerToken(tokenizerJson: unknown): { chars: number; countWhitespace: boolean } | undefined {
  const j = tokenizerJson as Json;
  const model = j?.model as Json;
  if (!model) return undefined;
  const factor = normalizerFactor(j?.normalizer as Json);
  if (factor === undefined) return undefined;
  let longest = 1;
  const vocab = model.vocab;
  const pieces: unknown[] = Array.isArray(vocab)
    ? vocab.map((v) => (Array.isArray(v) ? v[0] : v)) // Unigram: [piece, score]
    : vocab && typeof vocab === 'object'
      ? Object.keys(vocab)
      : [];
  for (const p of pieces) if (typeof p === 'string' && p.length > longest) longest = p.length;
  for (const t of list(j, 'added_tokens')) {
    const c = t?.content;
    if (typeof c === 'string' && c.length > longest) longest = c.length;
  }
  if (model.type === 'WordPiece') longest = Math.max(longest, Number(model.max_input_chars_per_word ?? 100));
  // Consecutive unknown characters fused into one unknown token: no bound, unless they fall back to bytes.
  if (model.type === 'BPE' && model.fuse_unk === true && model.byte_fallback !== true && model.unk_token != null)
    return undefined;
  return { chars: longest * factor, countWhitespace: !dropsWhitespace(j?.pre_tokenizer as Json) };
}

export function promptLimit(tokenizerJson: unknown, maxPositions: number): PromptLimit | undefined {
  const c = charsPerToken(tokenizerJson);
  if (!c || !(maxPositions > 0)) return undefined;
  return {
    maxChars: maxPositions * c.chars,
    charsPerToken: c.chars,
    maxPositions,
    countWhitespace: c.countWhitespace,
  };
}

/** Unicode White_Space (what whitespace-splitting pre-tokenizers drop). */
function isWhitespace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Characters of `text` as the limit counts them (stops counting once past `stopAt`). */
export function countedChars(text: string, limit: Pick<PromptLimit, 'countWhitespace'>, stopAt = Infinity): number {
  if (limit.countWhitespace) return text.length;
  let n = 0;
  for (let i = 0; i < text.length && n <= stopAt; i++) if (!isWhitespace(text.charCodeAt(i))) n++;
  return n;
}

/** Why a text is over the limit, for the error the user sees; undefined when it is within it. */
export function overLimit(text: string, limit: PromptLimit | undefined, what = 'the prompt'): string | undefined {
  if (!limit || text.length <= limit.maxChars) return undefined;
  const n = countedChars(text, limit, limit.maxChars);
  if (n <= limit.maxChars) return undefined;
  const fmt = (x: number) => x.toLocaleString('en-US');
  const counted = limit.countWhitespace ? 'characters' : 'characters other than whitespace';
  return (
    `${what} has ${limit.countWhitespace ? fmt(n) : `more than ${fmt(limit.maxChars)}`} ${counted}, more than can fit the model's context: ` +
    `${fmt(limit.maxPositions)} tokens (llm.maxPositions) × at most ${fmt(limit.charsPerToken)} ${counted} per token (the tokenizer's worst case) = ` +
    `${fmt(limit.maxChars)}; shorten it`
  );
}
