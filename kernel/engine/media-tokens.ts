/**
 * Codes ↔ the exact token strings the LLM reads, from the package's vocabulary (never from templates of
 * the prefix): `<soim><👀12>…<eoim>`. Music is frame-major with the codebook offset k + q·S (docs/anygpt.md, "Media token strings").
 */
import type { MediaModality } from '../../common/manifest';
import { flattenMusic } from '../codecs/music-codes';
import type { TokenIdBlock } from '../codecs/tokens';
import type { ModelPackage } from './package';
import type { VocabBlock } from './vocab';

function blockOf(pkg: ModelPackage, modality: MediaModality): VocabBlock {
  const b = pkg.vocab.blocks[modality];
  if (!b) throw new Error(`this model package has no ${modality} modality`);
  return b;
}

/** The span string for codes (image/speech: flat; music: [Q][T]); speech voice prompts use their semantic layer. */
export function mediaTokenString(pkg: ModelPackage, modality: MediaModality, codes: number[] | number[][]): string {
  const b = blockOf(pkg, modality);
  let values: number[];
  if (modality === 'music') values = flattenMusic(codes as number[][], b.codebookSize);
  else values = (Array.isArray(codes[0]) ? (codes as number[][])[0] : (codes as number[])) ?? [];
  let s = pkg.tokenizer.piece(b.startId);
  for (const v of values) {
    if (!Number.isInteger(v) || v < 0 || v >= b.size)
      throw new Error(`${modality} code ${v} is outside its block 0..${b.size - 1}`);
    s += pkg.tokenizer.piece(b.base + v);
  }
  return s + pkg.tokenizer.piece(b.endId);
}

/** Each modality's ids, for reading raw token ids (`%decode 8123 8124 …`) in kernel/codecs' parseTokens. */
export function tokenIdBlocks(pkg: ModelPackage): Partial<Record<MediaModality, TokenIdBlock>> {
  const out: Partial<Record<MediaModality, TokenIdBlock>> = {};
  for (const [m, b] of Object.entries(pkg.vocab.blocks) as [MediaModality, VocabBlock][])
    out[m] = { base: b.base, start: b.startId, end: b.endId };
  return out;
}
