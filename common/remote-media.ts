/**
 * Media links on a kernel hosted by a Jupyter Server. `![image](media/shapes.png)` and `%voice ref.wav` name files
 * next to the notebook on the user's machine, which the server cannot read. Before a cell runs, the client copies
 * the files the cell names into the notebook's own folder on the server (Contents API), at the same relative
 * path; the kernel's working directory is that folder (common/jupyter-server.ts starts it there), so the cell is
 * sent exactly as the user wrote it. `out:N` needs nothing: the media it names is an output the kernel made and
 * still holds. Why this design and its limits: docs/remote.md.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, relative, sep } from 'node:path';
import type { JupyterServer } from './jupyter-server';

/** The same link syntax as the kernel's prompt parser (kernel/prompt/parse.ts): `![alt](target)` on one line. */
const MEDIA_LINK = /!\[[^\]\n]*\]\(([^)\n]*)\)/g;
const VOICE = /^\s*%voice\s+(\S.*?)\s*$/gm;

export interface MediaLimits {
  /** Largest single file sent, bytes. */
  maxFileBytes: number;
  /** Largest total sent for one cell, bytes. */
  maxCellBytes: number;
}

/**
 * 32 MiB a file: the kernel trims speech to seconds and music to tens of seconds anyway, and every byte travels
 * base64 in one JSON request. 128 MiB a cell.
 */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = { maxFileBytes: 32 << 20, maxCellBytes: 128 << 20 };

/** Local files a cell refers to, as written (relative paths), in order, without duplicates. */
export function localMediaTargets(cell: string): string[] {
  const out: string[] = [];
  const add = (t: string) => {
    const v = t.trim();
    if (!v || /^out:/i.test(v) || /^[a-z][a-z0-9+.-]*:\/\//i.test(v) || v === 'off') return;
    if (!out.includes(v)) out.push(v);
  };
  for (const m of cell.matchAll(MEDIA_LINK)) add(m[1]);
  for (const m of cell.matchAll(VOICE)) add(m[1]);
  return out;
}

export class RemoteMediaError extends Error {}

/** The notebook's folder on the server: stable for one notebook file, distinct for two notebooks of one name. */
export function remoteNotebookFolder(notebookPath: string, root = 'anygpt-remote'): string {
  const stem = basename(notebookPath, extname(notebookPath)).replace(/[^\w.-]+/g, '_') || 'notebook';
  const hash = createHash('sha256').update(notebookPath).digest('hex').slice(0, 8);
  return `${root}/${stem}-${hash}`;
}

export interface SentFile {
  target: string;
  bytes: number;
  /** false when the server already had this content from an earlier cell. */
  uploaded: boolean;
}

/**
 * Copies what cells name from one local notebook folder to its folder on the server. Remembers what it sent
 * (path → content hash), so a file re-sent only when it changed.
 */
export class MediaUploader {
  private readonly sent = new Map<string, string>();

  constructor(
    private readonly server: JupyterServer,
    /** The notebook's folder on this machine. */
    private readonly localDir: string,
    /** The notebook's folder on the server (Contents API path). */
    private readonly remoteDir: string,
    private readonly limits: MediaLimits = DEFAULT_MEDIA_LIMITS,
  ) {}

  /**
   * Sends the files `cell` names. A file that is not here is left alone: the server's folder may hold it, and the
   * kernel says so precisely when it does not. Anything outside the notebook's folder, or over the limits, is an
   * error before anything runs.
   */
  async sendFor(cell: string): Promise<SentFile[]> {
    const files: { target: string; local: string; bytes: number }[] = [];
    let total = 0;
    for (const target of localMediaTargets(cell)) {
      const local = isAbsolute(target) ? target : join(this.localDir, target);
      const rel = relative(this.localDir, local);
      if (isAbsolute(target) || rel.startsWith('..') || isAbsolute(rel))
        throw new RemoteMediaError(
          `${target}: a kernel on a Jupyter Server sees only files inside the notebook's folder; ` +
            `move the file next to the notebook and link it by a relative path`,
        );
      const st = await stat(local).catch(() => undefined);
      if (!st) continue;
      if (!st.isFile()) throw new RemoteMediaError(`${target} is not a file`);
      if (st.size > this.limits.maxFileBytes)
        throw new RemoteMediaError(
          `${target} is ${mib(st.size)} MiB; a remote kernel takes files up to ${mib(this.limits.maxFileBytes)} MiB`,
        );
      total += st.size;
      if (total > this.limits.maxCellBytes)
        throw new RemoteMediaError(
          `the files this cell names add up to over ${mib(this.limits.maxCellBytes)} MiB, the most sent for one cell`,
        );
      files.push({ target, local, bytes: st.size });
    }
    const result: SentFile[] = [];
    for (const f of files) {
      const data = await readFile(f.local);
      const hash = createHash('sha256').update(data).digest('hex');
      const remote = `${this.remoteDir}/${relative(this.localDir, f.local).split(sep).join('/')}`;
      if (this.sent.get(remote) === hash) {
        result.push({ target: f.target, bytes: f.bytes, uploaded: false });
        continue;
      }
      await this.server.ensureFolder(remote.slice(0, remote.lastIndexOf('/')));
      try {
        await this.server.contents.save(remote, { type: 'file', format: 'base64', content: data.toString('base64') });
      } catch (e) {
        throw new RemoteMediaError(`could not send ${f.target} to the Jupyter Server: ${(e as Error).message}`, {
          cause: e,
        });
      }
      this.sent.set(remote, hash);
      result.push({ target: f.target, bytes: f.bytes, uploaded: true });
    }
    return result;
  }
}

const mib = (n: number) => (n / (1 << 20)).toFixed(n < 1 << 20 ? 2 : 1);
