/**
 * `anygpt verify` never loses a user's notebook (issue 20, items 1–3), through the real CLI (dist/cli.js) and the
 * real kernel over the media fixture package: a notebook of another kernel is refused, --update writes back only
 * cells that ran cleanly, the exit status follows the report, a full disk (a real small tmpfs) leaves the notebook
 * and the kernelspec whole, invalid notebooks are refused before anything runs (nbformat itself, run by
 * /usr/bin/python3, agrees that each one is invalid), and a read-only folder still gets its report printed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav16 } from '../../kernel/codecs/wav-io';
import { writeNotebook, type Notebook } from '../../kernel/jupyter/notebook';
import { CLI_JS, cleanupFixtures, ensureKernelBuilt, KERNEL_JS, mediaFixture } from './helpers';

const PY = '/usr/bin/python3';
const isRoot = process.getuid?.() === 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI, asynchronously (the kernel it starts is a grandchild of this process). */
function cli(args: string[], cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI_JS, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const cell = (src: string, extra: Record<string, unknown> = {}) => ({
  id: Math.random().toString(36).slice(2, 10),
  cell_type: 'code' as const,
  source: src,
  metadata: {},
  outputs: [],
  execution_count: null,
  ...extra,
});
const nbOf = (cells: ReturnType<typeof cell>[], metadata: Record<string, unknown> = {}): Notebook => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata,
  cells,
});
const wav = () =>
  encodeWav16(
    new Float32Array(16000).map((_, i) => 0.3 * Math.sin(i / 10)),
    16000,
  );

/** A small tmpfs (root only); undefined when it cannot be mounted here. */
function tmpfs(sizeKb: number): string | undefined {
  if (!isRoot) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'anygpt-tmpfs-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]).status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return dir;
}
function unmount(dir: string): void {
  spawnSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}
/** Fill a filesystem until it has no space left (ENOSPC). */
function fill(dir: string): void {
  const chunk = Buffer.alloc(4096, 1);
  const file = join(dir, 'filler');
  writeFileSync(file, '');
  try {
    for (;;) writeFileSync(file, chunk, { flag: 'a' });
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  }
}

describe('anygpt verify never loses a notebook (real CLI, real kernel)', function () {
  this.timeout(180000);
  const dir = mkdtempSync(join(tmpdir(), 'anygpt-verify-safety-'));
  let model: string;
  const mounts: string[] = [];

  before(() => {
    ensureKernelBuilt();
    model = mediaFixture();
  });
  after(() => {
    for (const m of mounts) unmount(m);
    cleanupFixtures();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--update keeps the saved outputs of a cell that now fails, and exits 1 because the report says FAIL', async () => {
    const d = join(dir, 'moved');
    mkdirSync(join(d, 'm'), { recursive: true });
    writeFileSync(join(d, 'm', 'hello.wav'), wav());
    const nb = join(d, 'asr.ipynb');
    writeNotebook(nb, nbOf([cell('%task asr\n![speech](m/hello.wav)'), cell('Hello!')]));
    const rec = await cli(['verify', nb, '--model', model, '--update']);
    assert.equal(rec.code, 0, rec.stdout + rec.stderr);
    const recorded = readFileSync(nb, 'utf8');
    assert.match(recorded, /application\/vnd\.anygpt/, 'outputs were recorded');

    renameSync(join(d, 'm', 'hello.wav'), join(d, 'hello-moved.wav'));
    const r = await cli(['verify', nb, '--model', model, '--update']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /cell 0: failed: PromptError: .*file not found/);
    assert.match(r.stdout, /FAIL: 1 cell\(s\)/);
    assert.match(r.stdout, /--update: kept the saved outputs of cell\(s\) 0/);
    const after = JSON.parse(readFileSync(nb, 'utf8')) as Notebook;
    assert.deepEqual(after.cells[0], (JSON.parse(recorded) as Notebook).cells[0], 'cell 0 kept its real outputs');
    assert.doesNotMatch(readFileSync(nb, 'utf8'), /file not found/);
  });

  it('refuses a notebook of another kernel (nothing runs, nothing is written) unless --force', async () => {
    const d = join(dir, 'python');
    mkdirSync(d);
    const nb = join(d, 'py.ipynb');
    const metadata = {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' },
    };
    writeNotebook(
      nb,
      nbOf(
        [
          cell('print("hi")', {
            outputs: [{ output_type: 'stream', name: 'stdout', text: 'hi\n' }],
            execution_count: 1,
          }),
        ],
        metadata,
      ),
    );
    const before = readFileSync(nb, 'utf8');
    const r = await cli(['verify', nb, '--model', model, '--update']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /py\.ipynb is not an AnyGPT notebook: its kernelspec is "python3" \(language python\).*--force/,
    );
    assert.equal(readFileSync(nb, 'utf8'), before);
    assert.deepEqual(readdirSync(d), ['py.ipynb'], 'no report, no executed copy: nothing ran');

    const f = await cli(['verify', nb, '--model', model, '--update', '--force']);
    assert.equal(f.code, 1, 'its saved Python output is not what AnyGPT answers: FAIL');
    const kept = JSON.parse(readFileSync(nb, 'utf8')) as Notebook;
    assert.deepEqual(kept.metadata, metadata, 'even with --force the notebook keeps its kernelspec');
  });

  it('a full disk (ENOSPC) leaves the notebook whole: temporary file, fsync, rename', async function () {
    const fs = tmpfs(256);
    if (!fs) return this.skip();
    mounts.push(fs);
    const nb = join(fs, 'full.ipynb');
    // Unrecorded cells: the updated notebook is larger than the saved one, as after a first run.
    writeNotebook(nb, nbOf([cell('Hello!'), cell('%task t2i\nimg of a circle')]));
    const before = readFileSync(nb, 'utf8');
    fill(fs);
    const out = join(dir, 'full-out');
    const r = await cli(['verify', nb, '--model', model, '--update', '--out', out]);
    assert.equal(readFileSync(nb, 'utf8'), before, 'the notebook is byte for byte what it was');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /OK: 0 cell\(s\) reproduced token for token \(2 cell\(s\) had no saved outputs/);
    assert.match(r.stdout, /could not write .*full\.ipynb: cannot write .*ENOSPC.*left as it was/);
    assert.deepEqual(readdirSync(fs).sort(), ['filler', 'full.ipynb'], 'no temporary file left behind');
    assert.ok(existsSync(join(out, 'full.verified.ipynb')) && existsSync(join(out, 'full.verify.txt')));
  });

  it('in a read-only folder the report is still printed; --update is refused before anything runs', async function () {
    const fs = tmpfs(256);
    const d = fs ?? (isRoot ? undefined : mkdtempSync(join(dir, 'ro-')));
    if (!d) return this.skip();
    if (fs) mounts.push(fs);
    const nb = join(d, 'ro.ipynb');
    writeNotebook(nb, nbOf([cell('Hello!')]));
    if (fs) assert.equal(spawnSync('mount', ['-o', 'remount,ro', fs]).status, 0);
    else execFileSync('chmod', ['a-w', d]);
    const r = await cli(['verify', nb, '--model', model]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /cell 0: unrecorded\n\nOK: /, 'the report');
    assert.match(r.stdout, /could not write .*ro\.verified\.ipynb: .*(EROFS|EACCES)/);
    assert.match(r.stdout, /could not write .*ro\.verify\.txt: .*(EROFS|EACCES)/);
    const u = await cli(['verify', nb, '--model', model, '--update']);
    assert.equal(u.code, 2);
    assert.match(
      u.stderr,
      /cannot --update .*ro\.ipynb: the folder .* is not writable \((EROFS|EACCES)\); nothing was run/,
    );
    assert.doesNotMatch(u.stdout, /cell 0/);
  });

  it('refuses an invalid notebook before running anything, naming the file and the cell (as nbformat rules)', async () => {
    const d = join(dir, 'invalid');
    mkdirSync(d);
    const good = nbOf([
      cell('Hello!'),
      cell('%task t2i\nimg of a circle'),
      cell('%nope', { metadata: { tags: ['anygpt-verify-error'] } }),
    ]);
    const noMetadata = nbOf([cell('Hello!')]) as Partial<Notebook>;
    delete noMetadata.metadata;
    const cellNoMetadata = nbOf([cell('Hello!', { id: 'c0' })]);
    delete (cellNoMetadata.cells[0] as Partial<(typeof cellNoMetadata.cells)[0]>).metadata;
    const badOutput = nbOf([
      cell('Hello!'),
      cell('x', { id: 'c1', outputs: [{ output_type: 'stream', name: 'stdout' }] }),
    ]);
    const cases: [string, string, RegExp][] = [
      ['truncated.ipynb', JSON.stringify(good).slice(0, 60), /truncated\.ipynb: not a notebook \(invalid JSON: /],
      [
        'no-metadata.ipynb',
        JSON.stringify(noMetadata),
        /no-metadata\.ipynb: not a valid nbformat 4 notebook: missing "metadata"/,
      ],
      [
        'cell-no-metadata.ipynb',
        JSON.stringify(cellNoMetadata),
        /cell-no-metadata\.ipynb: .*: cell 0 \(id c0\): missing "metadata"/,
      ],
      [
        'bad-output.ipynb',
        JSON.stringify(badOutput),
        /bad-output\.ipynb: .*: cell 1 \(id c1\) output 0 \(stream\): missing "text"/,
      ],
    ];
    for (const [name, text] of cases) writeFileSync(join(d, name), text);
    // A notebook verify itself recorded must pass both validators.
    const recorded = join(d, 'recorded.ipynb');
    writeNotebook(recorded, good);
    const rec = await cli(['verify', recorded, '--model', model, '--update']);
    assert.equal(rec.code, 0, rec.stdout + rec.stderr);

    if (existsSync(PY)) {
      const oracle = spawnSync(
        PY,
        [
          '-c',
          'import json, sys, nbformat\nfor f in sys.argv[1:]:\n  try:\n    nbformat.validate(json.load(open(f)))\n    print("valid")\n  except Exception:\n    print("invalid")',
          ...cases.map(([n]) => join(d, n)),
          recorded,
        ],
        { encoding: 'utf8' },
      );
      if (oracle.status === 0)
        assert.deepEqual(oracle.stdout.trim().split('\n'), [...cases.map(() => 'invalid'), 'valid'], oracle.stderr);
    }
    const listing = readdirSync(d).sort();
    for (const [name, , message] of cases) {
      const r = await cli(['verify', join(d, name), '--model', model]);
      assert.equal(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', `${name}: no cell ran`);
    }
    assert.deepEqual(readdirSync(d).sort(), listing, 'nothing written for the invalid notebooks');
  });

  it('kernelspec install over a full disk leaves the installed kernel.json whole', function () {
    const fs = tmpfs(64);
    if (!fs) return this.skip();
    mounts.push(fs);
    const install = (name: string) =>
      spawnSync(process.execPath, [KERNEL_JS, 'install', '--prefix', fs, '--display-name', name], { encoding: 'utf8' });
    assert.equal(install('AnyGPT').status, 0);
    const spec = join(fs, 'share', 'jupyter', 'kernels', 'anygpt', 'kernel.json');
    const before = readFileSync(spec, 'utf8');
    const installed = readdirSync(join(fs, 'share', 'jupyter', 'kernels', 'anygpt')).sort(); // kernel.json + logos
    fill(fs);
    // Longer than a page: written in place, the old file's page would be freed and the new one cut short.
    const r = install('AnyGPT '.repeat(1000));
    assert.equal(readFileSync(spec, 'utf8'), before);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cannot write .*kernel\.json: ENOSPC/);
    assert.deepEqual(readdirSync(join(fs, 'share', 'jupyter', 'kernels', 'anygpt')).sort(), installed, 'no temp left');
  });
});
