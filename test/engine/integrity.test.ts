/**
 * Verification stamps (kernel/engine/integrity.ts): a package's files are hashed once, then trusted while their
 * size, mtime, ctime and inode stay the same; a touched or rewritten file is hashed again and a corrupt one is
 * caught; `llmVariant` reads only the files of the graph that runs; `anygpt inspect --verify` reads everything.
 * Stamps go to a temporary ANYGPT_CACHE_DIR here, never into the package.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadPackage, PackageError } from '../../kernel/engine/package';
import { cleanupCopies, copyPackage } from './fixtures';

const ROOT = path.join(__dirname, '..', '..');
const NANO = path.join(ROOT, 'models', 'anygpt-nano');
const FP32 = path.join(ROOT, 'test', 'fixtures', 'convert', 'pkg-fp32'); // converted fake: fp32 graph + int4 variant
const MAIN_FILES = ['llm.onnx', 'llm.onnx.data'];
const INT4_FILES = ['llm-int4.onnx', 'llm-int4.onnx.data'];
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

/** Files written just now are not stamped (see RACY_NS in integrity.ts); let the clock move past them. */
const settle = () => sleep(120);

interface InspectVerify {
  mode: string;
  hashedFiles: number;
  stampedFiles: number;
  unusedFiles: number;
  hashed: string[];
}

function inspect(args: string[], cacheDir: string): Promise<{ verify: InspectVerify; hash: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--require',
        require.resolve('tsx/cjs'),
        path.join(ROOT, 'kernel', 'cli', 'anygpt.ts'),
        'inspect',
        '--json',
        ...args,
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ANYGPT_MODEL: '', ANYGPT_CACHE_DIR: cacheDir } },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))),
    );
  });
}

describe('engine/integrity: verify once, then trust the stamp', function () {
  this.timeout(120_000);
  let cache = '';
  let saved: string | undefined;
  before(() => {
    cache = mkdtempSync(path.join(tmpdir(), 'anygpt-stamps-'));
    saved = process.env.ANYGPT_CACHE_DIR;
    process.env.ANYGPT_CACHE_DIR = cache;
  });
  after(() => {
    if (saved === undefined) delete process.env.ANYGPT_CACHE_DIR;
    else process.env.ANYGPT_CACHE_DIR = saved;
    rmSync(cache, { recursive: true, force: true });
    cleanupCopies();
  });

  it("nano's package: a second load (a new process) hashes nothing; inspect --verify hashes every file", async () => {
    const stamps = mkdtempSync(path.join(cache, 'nano-'));
    const first = await inspect([NANO], stamps);
    assert.equal(first.verify.mode, 'stamp');
    assert.ok(first.verify.hashedFiles >= 11, `hashed ${first.verify.hashed}`);
    assert.equal(first.verify.stampedFiles, 0);
    const second = await inspect([NANO], stamps);
    assert.deepEqual([second.verify.hashedFiles, second.verify.stampedFiles], [0, first.verify.hashedFiles]);
    assert.equal(second.hash, first.hash);
    const full = await inspect([NANO, '--verify'], stamps);
    assert.deepEqual([full.verify.mode, full.verify.hashedFiles], ['full', first.verify.hashedFiles]);
    assert.equal(full.hash, first.hash);
    // the stamp went to the cache, one file per package, nothing into the package
    assert.equal(readdirSync(path.join(stamps, 'verified')).length, 1);
    assert.ok(!readdirSync(NANO).some((f) => /stamp|\.tmp$/.test(f)));
  });

  it('a touched file is hashed again, the others are not', async () => {
    const dir = copyPackage(FP32);
    await settle();
    const a = await loadPackage(dir);
    assert.deepEqual(a.verify.hashed, [...MAIN_FILES, ...TOKENIZER_FILES]);
    const b = await loadPackage(dir);
    assert.deepEqual(b.verify.hashed, []);
    assert.deepEqual(b.verify.stamped, a.verify.hashed);
    const f = path.join(dir, 'tokenizer.json');
    const t = statSync(f).mtime;
    utimesSync(f, t, new Date(t.getTime() - 1000));
    await settle();
    const c = await loadPackage(dir);
    assert.deepEqual(c.verify.hashed, ['tokenizer.json']);
    assert.equal(c.hash, a.hash);
    assert.deepEqual((await loadPackage(dir)).verify.hashed, []);
  });

  it('a corrupted file with its size and mtime restored is caught (its ctime changed)', async () => {
    const dir = copyPackage(FP32);
    const f = path.join(dir, 'llm.onnx.data');
    const old = new Date('2024-01-01T00:00:00Z');
    utimesSync(f, old, old);
    await settle();
    await loadPackage(dir);
    assert.deepEqual((await loadPackage(dir)).verify.hashed, []);
    const before = statSync(f, { bigint: true });
    const bytes = readFileSync(f);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(f, bytes);
    utimesSync(f, old, old);
    const after = statSync(f, { bigint: true });
    assert.deepEqual([after.size, after.mtimeNs, after.ino], [before.size, before.mtimeNs, before.ino]);
    await settle();
    await assert.rejects(
      loadPackage(dir),
      (e: Error) => e instanceof PackageError && /^llm\.onnx\.data: sha256 mismatch/.test(e.message),
    );
    // ... and stays caught: the failed file is not stamped
    await assert.rejects(loadPackage(dir), /sha256 mismatch/);
  });

  it('llmVariant hashes only that graph; full verification reads every variant; the identity is one', async () => {
    const dir = copyPackage(FP32);
    await settle();
    const int4 = await loadPackage(dir, { llmVariant: 'int4' });
    assert.deepEqual(int4.verify.hashed, [...INT4_FILES, ...TOKENIZER_FILES]);
    assert.deepEqual(int4.verify.unused, MAIN_FILES);
    const main = await loadPackage(dir);
    assert.deepEqual(main.verify.hashed, MAIN_FILES); // the tokenizer is stamped already
    assert.deepEqual(main.verify.unused, INT4_FILES);
    const full = await loadPackage(dir, { verify: 'full' });
    assert.deepEqual(full.verify.hashed, [...MAIN_FILES, ...INT4_FILES, ...TOKENIZER_FILES]);
    assert.equal(int4.hash, main.hash);
    assert.equal(full.hash, main.hash);
    // a corrupt file of the variant that does not run is left alone by a normal load, caught by a full one
    const f = path.join(dir, 'llm-int4.onnx.data');
    writeFileSync(f, Buffer.alloc(statSync(f).size));
    await settle();
    assert.deepEqual((await loadPackage(dir)).verify.hashed, []);
    await assert.rejects(loadPackage(dir, { verify: 'full' }), /^PackageError: llm-int4\.onnx\.data: sha256 mismatch/);
    await assert.rejects(loadPackage(dir, { llmVariant: 'int4' }), /llm-int4\.onnx\.data: sha256 mismatch/);
    await assert.rejects(loadPackage(dir, { llmVariant: 'int8' }), {
      message: 'llmVariant "int8": anygpt.json llm.variants has "int4"',
    });
  });

  it('a stamp that cannot be written costs only a re-hash, with the reason in the report', async () => {
    const dir = copyPackage(FP32);
    const notADir = path.join(cache, 'a-file');
    writeFileSync(notADir, 'x');
    await settle();
    const a = await loadPackage(dir, { stampDir: path.join(notADir, 'verified') });
    assert.match(a.verify.stampError ?? '', /ENOTDIR|EEXIST/);
    const b = await loadPackage(dir, { stampDir: path.join(notADir, 'verified') });
    assert.equal(b.hash, a.hash);
  });
});
