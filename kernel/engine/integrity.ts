/**
 * Package integrity without re-reading gigabytes on every load.
 *
 * A file is hashed once; its sha256 is remembered in a *stamp* together with what identifies that exact file
 * content on disk — size, mtime and ctime in nanoseconds, inode and device — as git's index does. The next load
 * stats the file and trusts the stamp only if all of them are unchanged; any write, touch, copy or replacement
 * changes one of them, so the file is hashed (and checked) again.
 *
 * Stamps live in the user's cache (`$ANYGPT_CACHE_DIR`, else `$XDG_CACHE_HOME/anygpt`, else `~/.cache/anygpt`),
 * never in the package (which may be read-only or shared), one file per (package path, manifest sha256), written
 * through a temporary file and a rename. A stamp that cannot be read or written only costs a re-hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs, type BigIntStats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const STAMP_FORMAT = 'anygpt-verify-stamp';
/**
 * A file modified within this window before its hash began is not stamped ("racily clean" in git's words): the
 * filesystem's coarse clock could give a write made while we read it the mtime we saw.
 */
const RACY_NS = 50_000_000n;

export interface FileIdentity {
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  dev: string;
}

interface StampEntry extends FileIdentity {
  sha256: string;
}

interface StampFile {
  format: typeof STAMP_FORMAT;
  version: 1;
  dir: string;
  manifestSha256: string;
  files: Record<string, StampEntry>;
}

export function fileIdentity(st: BigIntStats): FileIdentity {
  return {
    size: st.size.toString(),
    mtimeNs: st.mtimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
    ino: st.ino.toString(),
    dev: st.dev.toString(),
  };
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    createReadStream(file, { highWaterMark: 1 << 22 })
      .on('data', (b) => h.update(b))
      .on('end', () => resolve())
      .on('error', reject);
  });
  return h.digest('hex');
}

/** Where stamps go (see the module comment); `override` wins. */
export function stampDir(override?: string): string {
  if (override) return override;
  if (process.env.ANYGPT_CACHE_DIR) return path.join(process.env.ANYGPT_CACHE_DIR, 'verified');
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'anygpt', 'verified');
}

/**
 * The stamps of one package (one manifest version of it): look up a file's sha256 by its identity, record new
 * ones, and save them atomically.
 */
export class StampStore {
  private entries: Record<string, StampEntry> = {};
  private dirty = false;
  readonly file: string;

  private constructor(
    readonly packageDir: string,
    readonly manifestSha256: string,
    dir: string,
  ) {
    const key = createHash('sha256').update(`${packageDir}\0${manifestSha256}`).digest('hex').slice(0, 40);
    this.file = path.join(dir, `${key}.json`);
  }

  static async open(packageDir: string, manifestSha256: string, dir: string): Promise<StampStore> {
    const s = new StampStore(packageDir, manifestSha256, dir);
    try {
      const j = JSON.parse(await fs.readFile(s.file, 'utf8')) as StampFile;
      if (
        j.format === STAMP_FORMAT &&
        j.version === 1 &&
        j.dir === packageDir &&
        j.manifestSha256 === manifestSha256 &&
        j.files &&
        typeof j.files === 'object'
      )
        s.entries = j.files;
    } catch {
      // no stamp yet, or an unreadable one: everything is hashed and the stamp rewritten
    }
    return s;
  }

  /** The remembered sha256 if the file on disk is the one that was hashed. */
  lookup(rel: string, id: FileIdentity): string | undefined {
    const e = this.entries[rel];
    return e && sameFile(e, id) && /^[0-9a-f]{64}$/.test(e.sha256) ? e.sha256 : undefined;
  }

  /**
   * Records a verified hash, unless the file changed too close to the moment hashing began (see RACY_NS); says
   * whether it did.
   */
  record(rel: string, id: FileIdentity, sha256: string, hashStartNs: bigint): boolean {
    if (BigInt(id.mtimeNs) >= hashStartNs - RACY_NS || BigInt(id.ctimeNs) >= hashStartNs - RACY_NS) return false;
    this.entries[rel] = { ...id, sha256 };
    this.dirty = true;
    return true;
  }

  /** Drops a file's stamp (it failed its check). */
  forget(rel: string): void {
    if (rel in this.entries) {
      delete this.entries[rel];
      this.dirty = true;
    }
  }

  /** Writes the stamp if anything changed: temporary file in the same directory, then rename. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const body: StampFile = {
      format: STAMP_FORMAT,
      version: 1,
      dir: this.packageDir,
      manifestSha256: this.manifestSha256,
      files: this.entries,
    };
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, JSON.stringify(body, null, 1));
      await fs.rename(tmp, this.file);
      this.dirty = false;
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }
}

/** Wall-clock now in ns, comparable with file mtimes. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
