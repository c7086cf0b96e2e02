/**
 * The one way the project writes over a file that may already hold a user's data (notebooks, verify reports,
 * kernelspecs): write a temporary file in the same folder, fsync it, then rename it over the target. A full
 * disk, a crash or a kill mid-write leaves the old file whole; a reader sees the old bytes or the new ones,
 * never a prefix. The rename is atomic only within one filesystem, hence the same folder.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class AtomicWriteError extends Error {}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Replace `path` with `data`, or leave it exactly as it was and throw an AtomicWriteError naming it. A symlink is
 * followed (its target is replaced, the link stays); an existing file keeps its permission bits.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  let target = path;
  let mode: number | undefined;
  try {
    target = realpathSync(path);
    mode = statSync(target).mode & 0o7777;
  } catch (e) {
    if (errno(e) !== 'ENOENT')
      throw new AtomicWriteError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o666);
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    rmSync(tmp, { force: true });
    const kept = mode !== undefined ? '; the file was left as it was' : '';
    throw new AtomicWriteError(`cannot write ${path}: ${(e as Error).message}${kept}`, { cause: e });
  }
  // The rename is durable once the folder's entry is on disk too (best effort: not every filesystem allows it).
  try {
    const d = openSync(dirname(target), 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // e.g. EISDIR/EINVAL on filesystems without directory fsync
  }
}
