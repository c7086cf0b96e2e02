/**
 * Misspelt magics, found as the user types: the leading `%` lines of a cell (the kernel reads magics there
 * only) whose name is not in the magic table the kernel parses with (common/magics.ts), with the nearest
 * name as the suggestion. Pure: the vscode side turns them into diagnostics and quick fixes.
 */
import { MAGICS, closest } from '../../common/magics';

export interface MagicProblem {
  /** 0-based line and column of the `%`. */
  line: number;
  col: number;
  /** Length of `%name`. */
  length: number;
  name: string;
  suggestion?: string;
  message: string;
}

const NAMES = MAGICS.map((m) => m.name);
const KNOWN = new Set(NAMES);

export function unknownMagics(source: string): MagicProblem[] {
  const out: MagicProblem[] = [];
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].trimStart();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('%')) break;
    const name = /^%(\S*)/.exec(trimmed)![1];
    if (name === 'decode') break; // its token list runs to the end of the cell
    if (KNOWN.has(name)) continue;
    const suggestion = name ? closest(name, NAMES) : undefined;
    out.push({
      line: i,
      col: lines[i].length - trimmed.length,
      length: name.length + 1,
      name,
      suggestion,
      message: `unknown magic %${name}${suggestion ? ` (did you mean %${suggestion}?)` : ''}; %help lists them`,
    });
  }
  return out;
}
