/**
 * The text tokenizer: a Hugging Face `tokenizer.json` run by `@huggingface/tokenizers`.
 *
 * The library splits the input on added tokens first (so `<🗣️12>`, `[MMGPT]`, `<eoh>` are single ids and never
 * reach BPE), then normalises and encodes each remaining chunk. With a LLaMA "legacy" tokenizer.json each chunk
 * gets the `▁` dummy prefix, so `[MMGPT]:` is `[MMGPT]`, `▁:` — as upstream AnyGPT tokenised in training.
 * BOS is added by us (manifest `tokenizer.addBos`), not by the post-processor, so the rule lives in one place.
 *
 * A tokenizer converted from a LLaMA checkpoint (tokenizer_config `slow_tokenizer_rules`, written by
 * tools/convert/tokenizer_convert.py) is split on added tokens here instead, by the slow transformers 4.34.1
 * LlamaTokenizer's rules, because the library's differ in two places (docs/real-model.md §6):
 * - lstrip/rstrip strip what Python's `str.strip` strips (U+001C–U+001F and U+0085 too, U+FEFF not), where
 *   the library uses JavaScript's `trim`;
 * - `legacy: false`: the whole text gets one `▁` in front (with any `▁` in it read as a space), also when it starts
 *   with a space or with an added token, and that lone `▁` is dropped before a special token (`<s>`, `</s>`,
 *   `<unk>`, additional_special_tokens). The library's Metaspace prepends per chunk and not before a space.
 * Each text chunk between added tokens still goes through the library (normaliser + BPE + byte fallback).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { PackageError } from './manifest-schema';
import { charsPerToken } from './prompt-limit';

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
}

interface TokenizerConfig {
  slow_tokenizer_rules?: string;
  legacy?: boolean;
  bos_token?: string;
  eos_token?: string;
  unk_token?: string;
  additional_special_tokens?: string[];
}

const SP = '\u2581';
// Python's str.isspace() set, which str.lstrip()/rstrip() remove.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_LSTRIP = new RegExp(`^[${PY_SPACE}]+`);
const PY_RSTRIP = new RegExp(`[${PY_SPACE}]+$`);

interface TrieNode {
  next: Map<string, TrieNode>;
  token?: AddedTokenJson;
}

/** Slow-tokenizer split and strip rules around added tokens (see the module comment). */
class SlowAddedTokens {
  private readonly root: TrieNode = { next: new Map() };
  private readonly specials: Set<string>;

  constructor(
    added: AddedTokenJson[],
    readonly legacy: boolean,
    config: TokenizerConfig,
  ) {
    for (const t of added) {
      let node = this.root;
      for (const ch of t.content) {
        let n = node.next.get(ch);
        if (!n) node.next.set(ch, (n = { next: new Map() }));
        node = n;
      }
      node.token = t;
    }
    this.specials = new Set([
      config.bos_token ?? '<s>',
      config.eos_token ?? '</s>',
      config.unk_token ?? '<unk>',
      ...(config.additional_special_tokens ?? []),
    ]);
  }

  /** Text chunks and added tokens, leftmost-longest (what the slow tokenizer's trie split gives). */
  split(text: string): (string | AddedTokenJson)[] {
    const out: (string | AddedTokenJson)[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      let node: TrieNode | undefined = this.root;
      let hit: AddedTokenJson | undefined;
      let end = i;
      for (let j = i; j < text.length;) {
        const cp = text.codePointAt(j)!;
        const ch = String.fromCodePoint(cp);
        node = node.next.get(ch);
        if (!node) break;
        j += ch.length;
        if (node.token) {
          hit = node.token;
          end = j;
        }
      }
      if (!hit) {
        i += 1;
        continue;
      }
      if (i > start) out.push(text.slice(start, i));
      out.push(hit);
      i = start = end;
    }
    if (start < text.length) out.push(text.slice(start));
    return out;
  }

  /** Pieces of `text` as the slow LlamaTokenizer.tokenize gives them; chunks are encoded by `chunk`. */
  tokenize(
    text: string,
    chunk: (s: string) => { ids: number[]; tokens: string[] },
  ): { ids: number[]; tokens: string[] } {
    const t = !this.legacy && text.length > 0 ? SP + text.replaceAll(SP, ' ') : text;
    const parts = this.split(t);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (typeof p === 'string') continue;
      const left = parts[i - 1];
      const right = parts[i + 1];
      if (p.rstrip && typeof right === 'string') parts[i + 1] = right.replace(PY_LSTRIP, '');
      if (p.lstrip && typeof left === 'string') parts[i - 1] = left.replace(PY_RSTRIP, '');
    }
    const ids: number[] = [];
    const tokens: string[] = [];
    for (const p of parts) {
      if (typeof p !== 'string') {
        ids.push(p.id);
        tokens.push(p.content);
      } else if (p.length > 0) {
        const e = chunk(p);
        ids.push(...e.ids);
        tokens.push(...e.tokens);
      }
    }
    if (!this.legacy && tokens.length > 1 && tokens[0] === SP && this.specials.has(tokens[1])) {
      ids.shift();
      tokens.shift();
    }
    return { ids, tokens };
  }
}

export class TextTokenizer {
  private readonly tok: Tokenizer;
  /** Added tokens (string → id), in the tokenizer's order. The vocabulary map is derived from these. */
  readonly addedTokens: ReadonlyMap<string, number>;
  private readonly pieces: string[];
  /** The most input characters one token can cover (prompt-limit.ts), or undefined when unbounded. */
  readonly worstCase: { chars: number; countWhitespace: boolean } | undefined;
  private readonly slow: SlowAddedTokens | undefined;

  constructor(json: unknown, config: unknown, file = 'tokenizer.json') {
    const j = json as { added_tokens?: AddedTokenJson[]; model?: { vocab?: unknown } };
    if (typeof j !== 'object' || j === null || !j.model)
      throw new PackageError(`${file}: expected a Hugging Face tokenizer.json with a "model" section`);
    if (!Array.isArray(j.added_tokens))
      throw new PackageError(`${file}: added_tokens: expected an array (AnyGPT's modality tokens are added tokens)`);
    try {
      this.tok = new Tokenizer(json as object, (config ?? {}) as object);
    } catch (e) {
      throw new PackageError(`${file}: cannot be loaded: ${(e as Error).message}`);
    }
    const added = new Map<string, number>();
    for (const t of j.added_tokens) added.set(t.content, t.id);
    this.addedTokens = added;
    this.worstCase = charsPerToken(json);
    const cfg = (config ?? {}) as TokenizerConfig;
    if (cfg.slow_tokenizer_rules) this.slow = new SlowAddedTokens(j.added_tokens, cfg.legacy !== false, cfg);
    // id -> piece table, for records and fast lookups during decoding.
    const vocab = this.tok.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.pieces = new Array<string>(max + 1).fill('');
    for (const [piece, id] of vocab) this.pieces[id] = piece;
  }

  /** Number of ids (max id + 1). */
  get size(): number {
    return this.pieces.length;
  }

  /** Ids of `text`, without BOS. */
  encode(text: string): number[] {
    if (!this.slow) return this.tok.encode(text, { add_special_tokens: false }).ids;
    return this.slow.tokenize(text, (s) => this.tok.encode(s, { add_special_tokens: false })).ids;
  }

  /** Ids of `text` as a part that follows an added token (no start-of-text rule; legacy spacing still applies). */
  encodeInner(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  idOf(piece: string): number | undefined {
    return this.tok.token_to_id(piece);
  }

  piece(id: number): string {
    return this.pieces[id] ?? `<id ${id}>`;
  }

  /** Text of `ids`; special tokens are kept (callers pass only the ids they want shown). */
  decode(ids: number[]): string {
    if (ids.length === 0) return '';
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
}
