/**
 * The unified vocabulary map: which id is which modality code, tag or role token.
 *
 * Derived from the tokenizer's added tokens and the manifest's token blocks, then verified — never hard-coded.
 * For a block with prefix P and size N: base = id("<P0>"), and id("<Pk>") must equal base + k for all k < N.
 */
import type { Manifest, MediaModality, Modality } from '../../common/manifest';
import { MEDIA_MODALITIES } from '../../common/manifest';
import { PackageError } from './manifest-schema';
import type { TextTokenizer } from './tokenizer';

export interface VocabBlock {
  modality: MediaModality;
  prefix: string;
  /** id of `<{prefix}0>`. */
  base: number;
  size: number;
  start: string;
  end: string;
  startId: number;
  endId: number;
  /** Music: codes per codebook (block = numCodebooks contiguous codebooks). Others: size. */
  codebookSize: number;
  numCodebooks: number;
}

/** What one id is. */
export type TokenClass =
  | { kind: 'text' }
  | { kind: 'code'; modality: MediaModality; code: number; codebook?: number }
  | { kind: 'start' | 'end'; modality: MediaModality }
  | { kind: 'special' }; // BOS/EOS/UNK/PAD, role and separator tokens

const K_TEXT = 0;
const K_CODE = 1;
const K_START = 2;
const K_END = 3;
const K_SPECIAL = 4;
const MOD_INDEX: Record<MediaModality, number> = { image: 0, speech: 1, music: 2 };

export class Vocabulary {
  readonly size: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId?: number;
  readonly padId?: number;
  readonly blocks: Partial<Record<MediaModality, VocabBlock>>;
  /** Role/separator tokens by string (`[Human]`, `[MMGPT]`, `<eoh>`, `<eos>` …). */
  readonly special: ReadonlyMap<string, number>;
  /** Ids that end generation besides EOS (templates.stopTokens). */
  readonly stopIds: ReadonlySet<number>;
  private readonly kind: Uint8Array;
  private readonly mod: Uint8Array;

  constructor(manifest: Manifest, tok: TextTokenizer, file = manifest.tokenizer.file.path) {
    const single = (s: string, field: string): number => {
      const id = tok.addedTokens.get(s) ?? tok.idOf(s);
      if (id === undefined)
        throw new PackageError(`${file}: ${field}: token ${JSON.stringify(s)} is not in the tokenizer's vocabulary`);
      const ids = tok.encodeInner(s);
      if (ids.length !== 1 || ids[0] !== id) {
        throw new PackageError(
          `${file}: ${field}: ${JSON.stringify(s)} must encode as the single token ${id}, got [${ids.join(', ')}]`,
        );
      }
      return id;
    };
    this.size = Math.max(tok.size, manifest.llm.vocabSize);
    if (tok.size > manifest.llm.vocabSize) {
      throw new PackageError(
        `anygpt.json: llm.vocabSize: expected at least ${tok.size} (the tokenizer's largest id + 1), got ${manifest.llm.vocabSize}`,
      );
    }
    this.kind = new Uint8Array(this.size);
    this.mod = new Uint8Array(this.size);
    this.bosId = single(manifest.tokenizer.bos, 'tokenizer.bos');
    this.eosId = single(manifest.tokenizer.eos, 'tokenizer.eos');
    if (manifest.tokenizer.unk) this.unkId = single(manifest.tokenizer.unk, 'tokenizer.unk');
    if (manifest.tokenizer.pad) this.padId = single(manifest.tokenizer.pad, 'tokenizer.pad');
    for (const id of [this.bosId, this.eosId, this.unkId, this.padId]) if (id !== undefined) this.kind[id] = K_SPECIAL;

    const special = new Map<string, number>();
    manifest.specialTokens.forEach((s, i) => {
      const id = single(s, `specialTokens[${i}]`);
      special.set(s, id);
      this.kind[id] = K_SPECIAL;
    });
    this.special = special;

    const blocks: Partial<Record<MediaModality, VocabBlock>> = {};
    for (const m of MEDIA_MODALITIES) {
      const spec = manifest.modalities[m];
      if (!spec) continue;
      const t = spec.tokens;
      const field = `modalities.${m}.tokens`;
      const base = tok.addedTokens.get(`<${t.prefix}0>`);
      if (base === undefined) {
        throw new PackageError(
          `${file}: ${field}: the first ${m} token ${JSON.stringify(`<${t.prefix}0>`)} is not an added token (check the prefix's exact code points)`,
        );
      }
      for (let k = 0; k < t.size; k++) {
        const s = `<${t.prefix}${k}>`;
        const id = tok.addedTokens.get(s);
        if (id !== base + k) {
          throw new PackageError(
            `${file}: ${field}: block not contiguous: expected ${JSON.stringify(s)} at id ${base + k} (base ${base} + ${k}), ` +
              (id === undefined ? 'but it is not an added token' : `found it at id ${id}`),
          );
        }
        if (id >= this.size)
          throw new PackageError(
            `${file}: ${field}: id ${id} of ${JSON.stringify(s)} is outside llm.vocabSize ${this.size}`,
          );
        this.kind[id] = K_CODE;
        this.mod[id] = MOD_INDEX[m];
      }
      const startId = single(t.start, `${field}.start`);
      const endId = single(t.end, `${field}.end`);
      this.kind[startId] = K_START;
      this.mod[startId] = MOD_INDEX[m];
      this.kind[endId] = K_END;
      this.mod[endId] = MOD_INDEX[m];
      const music = m === 'music' ? manifest.modalities.music : undefined;
      blocks[m] = {
        modality: m,
        prefix: t.prefix,
        base,
        size: t.size,
        start: t.start,
        end: t.end,
        startId,
        endId,
        codebookSize: music ? music.codebookSize : t.size,
        numCodebooks: music ? music.numCodebooks : 1,
      };
    }
    this.blocks = blocks;

    const stops = new Set<number>();
    manifest.templates.stopTokens.forEach((s, i) => stops.add(single(s, `templates.stopTokens[${i}]`)));
    this.stopIds = stops;
  }

  classify(id: number): TokenClass {
    const k = this.kind[id];
    if (k === K_TEXT || k === undefined) return { kind: 'text' };
    if (k === K_SPECIAL) return { kind: 'special' };
    const modality = MEDIA_MODALITIES[this.mod[id]];
    if (k === K_START) return { kind: 'start', modality };
    if (k === K_END) return { kind: 'end', modality };
    const b = this.blocks[modality]!;
    const code = id - b.base;
    return modality === 'music'
      ? { kind: 'code', modality, code, codebook: Math.floor(code / b.codebookSize) }
      : { kind: 'code', modality, code };
  }

  /** The modality an id belongs to (tags count as their modality; specials as text). */
  modalityOf(id: number): Modality {
    const k = this.kind[id];
    return k === K_CODE || k === K_START || k === K_END ? MEDIA_MODALITIES[this.mod[id]] : 'text';
  }

  isCode(id: number, m: MediaModality): boolean {
    return this.kind[id] === K_CODE && this.mod[id] === MOD_INDEX[m];
  }

  /** Media codes and tags: ids that are never plain text. */
  isMedia(id: number): boolean {
    const k = this.kind[id];
    return k === K_CODE || k === K_START || k === K_END;
  }

  isSpecial(id: number): boolean {
    return this.kind[id] === K_SPECIAL;
  }

  /** A JSON-friendly description (for `anygpt inspect`). */
  describe(): Record<string, unknown> {
    return {
      size: this.size,
      bos: this.bosId,
      eos: this.eosId,
      special: Object.fromEntries(this.special),
      stopIds: [...this.stopIds],
      blocks: Object.fromEntries(
        Object.entries(this.blocks).map(([m, b]) => [
          m,
          { first: b.base, last: b.base + b.size - 1, start: b.startId, end: b.endId, codebooks: b.numCodebooks },
        ]),
      ),
    };
  }
}
