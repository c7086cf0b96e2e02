/** Paths written in a cell (relative to the notebook folder, `~/`-expanded) and located errors for unusable files. */
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { PromptError } from '../../prompt';

/** Where a path written in a cell points: `~/` is the home folder, a relative path is under the notebook's `cwd`. */
export function resolvePath(cwd: string, p: string): string {
  const expanded = p.startsWith('~/') ? resolve(process.env.HOME ?? '/', p.slice(2)) : p;
  return isAbsolute(expanded) ? expanded : resolve(cwd, expanded);
}

/** Where in the cell a file was written, for error underlines. */
export interface WrittenAt {
  line: number;
  col: number;
  length: number;
}

/** "file not found: /abs/x.wav (relative to the notebook folder /abs)"; undefined when `code` is not a file-system problem we name. */
function fileProblem(
  code: string | undefined,
  path: string,
  written: string,
  cwd: string,
  what = 'file',
): string | undefined {
  const rel = isAbsolute(written) || written.startsWith('~/') ? '' : ` (relative to the notebook folder ${cwd})`;
  if (code === 'ENOENT') return `${what} not found: ${path}${rel}`;
  if (code === 'EISDIR') return `${what} is a directory, not a file: ${path}${rel}`;
  if (code === 'ENOTREG')
    return `${what} is not a regular file (a FIFO, socket or device would block the kernel): ${path}${rel}`;
  if (code === 'EACCES' || code === 'EPERM') return `${what} is not readable (permission denied): ${path}`;
  return undefined;
}

/** The located error for a file-system failure `e`; undefined when `e` is not one (the caller words it instead). */
export function fileError(
  e: unknown,
  path: string,
  written: string,
  cwd: string,
  at: WrittenAt,
  what?: string,
): PromptError | undefined {
  const msg = fileProblem((e as NodeJS.ErrnoException | undefined)?.code, path, written, cwd, what);
  return msg === undefined ? undefined : new PromptError(msg, at.line, at.col, at.length);
}

/** Fails with a located PromptError when `path` is missing, a directory, not a regular file (FIFO…) or unreadable. */
export async function checkFile(
  path: string,
  written: string,
  cwd: string,
  at: WrittenAt,
  what?: string,
): Promise<void> {
  let code: string | undefined;
  try {
    const st = await stat(path);
    if (st.isDirectory()) code = 'EISDIR';
    else if (!st.isFile()) code = 'ENOTREG';
  } catch (e) {
    code = (e as NodeJS.ErrnoException).code ?? 'ENOENT';
  }
  if (code)
    throw new PromptError(
      fileProblem(code, path, written, cwd, what) ?? `cannot read ${path}`,
      at.line,
      at.col,
      at.length,
    );
}
