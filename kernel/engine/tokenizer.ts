/**
 * The text tokenizer: a Hugging Face `tokenizer.json` run by `@huggingface/tokenizers`.
 *
 * The library splits the input on added tokens first (so `<🗣️12>`, `[MMGPT]`, `<eoh>` are single ids and never
 * reach BPE), then normalises and encodes each remaining chunk. With a LLaMA "legacy" tokenizer.json each chunk
 * gets the `▁` dummy prefix, so `[MMGPT]:` is `[MMGPT]`, `▁:` — as upstream AnyGPT tokenised in training.
 * BOS is added by us (manifest `tokenizer.addBos`), not by the post-processor, so the rule lives in one place.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { PackageError } from './manifest-schema';
import { charsPerToken } from './prompt-limit';

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

export class TextTokenizer {
  private readonly tok: Tokenizer;
  /** Added tokens (string → id), in the tokenizer's order. The vocabulary map is derived from these. */
  readonly addedTokens: ReadonlyMap<string, number>;
  private readonly pieces: string[];
  /** The most input characters one token can cover (prompt-limit.ts), or undefined when unbounded. */
  readonly worstCase: { chars: number; countWhitespace: boolean } | undefined;

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
