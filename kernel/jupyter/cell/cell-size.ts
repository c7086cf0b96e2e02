/**
 * A cell too long to be useful is refused before it is parsed or tokenized: both run on the kernel's main thread
 * (parsing 20 MB takes seconds), which must keep answering heartbeats and the control channel.
 *
 * A prompt cell is bounded by the model's context (kernel/engine/prompt-limit.ts). A `%decode` cell never reaches
 * the LLM (its tokens go straight to a codec), so it gets a fixed bound instead: DECODE_CELL_MAX_CHARS holds about
 * 100,000 tokens, far more than any decoder is given in practice.
 */
import { overLimit, type PromptLimit } from '../../engine/prompt-limit';
import { PromptError } from '../../prompt';

/** Cells up to this long are parsed without a check: cheap whatever they hold. */
export const UNCHECKED_CELL_CHARS = 4096;
export const DECODE_CELL_MAX_CHARS = 1 << 20;
/** Leading lines looked at to find a `%decode` magic (magics come before the body). */
const MAX_MAGIC_LINES = 256;

/** True when the cell's magics (the lines before its body) include `%decode`. Looks at the leading lines only. */
export function isDecodeCell(source: string): boolean {
  let start = 0;
  for (let n = 0; n < MAX_MAGIC_LINES && start <= source.length; n++) {
    let end = source.indexOf('\n', start);
    if (end < 0) end = source.length;
    let i = start;
    while (i < end && (source[i] === ' ' || source[i] === '\t' || source[i] === '\r')) i++;
    if (i < end) {
      if (source[i] !== '%') return false;
      if (/^%decode(\s|$)/.test(source.slice(i, Math.min(end, i + 9)))) return true;
    }
    start = end + 1;
  }
  return false;
}

/** Throws a PromptError (line 1) when `source` is over its bound; `limit` is the model's (undefined: no bound). */
export function checkCellSize(source: string, limit: PromptLimit | undefined): void {
  if (source.length <= UNCHECKED_CELL_CHARS) return;
  if (isDecodeCell(source)) {
    if (source.length > DECODE_CELL_MAX_CHARS)
      throw new PromptError(
        `this %decode cell has ${source.length.toLocaleString('en-US')} characters; a %decode cell may have at most ${DECODE_CELL_MAX_CHARS.toLocaleString('en-US')}: decode the tokens in parts`,
        1,
        1,
      );
    return;
  }
  const over = overLimit(source, limit, 'this cell');
  if (over) throw new PromptError(over, 1, 1);
}
