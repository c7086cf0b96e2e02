/**
 * Music codes ↔ token values (docs/anygpt.md, "Media token strings" and "Reading the output"). Codes [Q][T] are written frame-major, codebook-minor, and
 * codebook q's code k becomes token value k + q·S (S = codebook size). Reading back, the position in the
 * span decides the codebook and the value is taken modulo S, as upstream's content2rvq_codes does, so a
 * value from the "wrong" range still decodes (we count those in a warning).
 */
import { MediaError } from './errors';

export function flattenMusic(codes: readonly (readonly number[])[], codebookSize: number): number[] {
  const Q = codes.length;
  const T = Q ? codes[0].length : 0;
  if (codes.some((row) => row.length !== T))
    throw new MediaError(`music codes must have ${Q} codebooks of equal length`, 'invalid-tokens');
  const flat = new Array<number>(Q * T);
  for (let t = 0; t < T; t++)
    for (let q = 0; q < Q; q++) {
      const c = codes[q][t];
      if (!Number.isInteger(c) || c < 0 || c >= codebookSize)
        throw new MediaError(
          `music code ${c} (codebook ${q}, frame ${t}) is outside 0..${codebookSize - 1}`,
          'invalid-tokens',
        );
      flat[t * Q + q] = c + q * codebookSize;
    }
  return flat;
}

export function unflattenMusic(
  flat: readonly number[],
  numCodebooks: number,
  codebookSize: number,
): { codes: number[][]; warnings: string[] } {
  const warnings: string[] = [];
  const Q = numCodebooks;
  const T = Math.floor(flat.length / Q);
  const extra = flat.length - T * Q;
  if (extra)
    warnings.push(
      `the music span has ${flat.length} tokens, not a multiple of ${Q}; dropped the incomplete last frame (${extra} token${extra > 1 ? 's' : ''})`,
    );
  const codes = Array.from({ length: Q }, () => new Array<number>(T));
  let misplaced = 0;
  let firstMisplaced = -1;
  for (let t = 0; t < T; t++)
    for (let q = 0; q < Q; q++) {
      const v = flat[t * Q + q];
      if (!Number.isInteger(v) || v < 0 || v >= Q * codebookSize)
        throw new MediaError(
          `music token ${t * Q + q} has value ${v}, outside 0..${Q * codebookSize - 1}`,
          'invalid-tokens',
        );
      if (Math.floor(v / codebookSize) !== q && misplaced++ === 0) firstMisplaced = t * Q + q;
      codes[q][t] = v % codebookSize;
    }
  if (misplaced)
    warnings.push(
      `${misplaced} music token${misplaced > 1 ? 's were' : ' was'} from another codebook's range than its position (first: token ${firstMisplaced} = ${flat[firstMisplaced]}); used value mod ${codebookSize} as upstream does`,
    );
  return { codes, warnings };
}
