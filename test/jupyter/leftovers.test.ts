/**
 * Nothing left behind in the temporary folder (issue 20, items 8 and 17), checked on the real processes with
 * TMPDIR pointed at a fresh folder: the kernel and the CLI after their ONNX sessions ran (onnxruntime's telemetry
 * client wrote mat-debug-<pid>.log and .ses there).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNotebook } from '../../kernel/jupyter/notebook';
import { CLI_JS, cleanupFixtures, ensureKernelBuilt, launchModel, longFixture, mediaFixture } from './helpers';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};
/** Poll for a condition (not a timing assertion: the limit only keeps a broken build from hanging the suite). */
async function until(what: () => boolean, ms = 20000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (what()) return true;
  return what();
}
const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

describe('no files left in the temporary folder (real kernel, real CLI)', function () {
  this.timeout(120000);
  const roots: string[] = [];
  const freshTmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'anygpt-tmpdir-'));
    roots.push(d);
    return d;
  };
  let model: string;
  const strays: number[] = [];
  before(() => {
    ensureKernelBuilt();
    model = mediaFixture();
  });
  after(() => {
    for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (const d of roots) rmSync(d, { recursive: true, force: true });
    cleanupFixtures();
  });

  it('the kernel writes no mat-debug-<pid>.log or .ses (onnxruntime telemetry) into TMPDIR', async () => {
    const tmp = freshTmp();
    const k = await launchModel(model, { TMPDIR: tmp });
    const pid = k.proc!.pid;
    try {
      assert.equal((await k.execute('Hello!')).reply.content.status, 'ok');
      assert.equal((await k.execute('%task t2i\nimg of a circle')).reply.content.status, 'ok', 'codec sessions too');
    } finally {
      await k.shutdown();
    }
    assert.deepEqual(readdirSync(tmp), [], `kernel ${pid} left files`);
  });

  it('the CLI writes nothing into TMPDIR either', () => {
    const tmp = freshTmp();
    const out = freshTmp();
    const r = spawnSync(
      process.execPath,
      [CLI_JS, 'generate', '--model', model, '--task', 't2i', '--out', out, 'img of a circle'],
      { env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(tmp), []);
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const)
    it(`${sig} to \`anygpt verify\` during a long cell stops its kernel and removes anygpt-client-* (the HMAC key)`, async () => {
      const tmp = freshTmp();
      const work = freshTmp();
      const nb = join(work, 'long.ipynb');
      writeNotebook(nb, {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [
          {
            id: 'a',
            cell_type: 'code',
            source: '%max_new_tokens 100000\nhello',
            metadata: {},
            outputs: [],
            execution_count: null,
          },
        ],
      });
      const cli = spawn(process.execPath, [CLI_JS, 'verify', nb, '--model', longFixture()], {
        env: { ...process.env, TMPDIR: tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
      let kernel = 0;
      assert.ok(
        await until(() => {
          kernel = childrenOf(cli.pid!)[0] ?? 0;
          return kernel > 0 && readdirSync(tmp).some((n) => n.startsWith('anygpt-client-'));
        }),
        'the kernel started',
      );
      strays.push(kernel);
      // The kernel answers kernel_info before verify sends the cell; give the cell a moment to be running.
      await new Promise((r) => setTimeout(r, 1500));
      cli.kill(sig);
      const code = await exited;
      assert.equal(code, sig === 'SIGINT' ? 130 : 143, stderr);
      assert.ok(await until(() => !alive(kernel)), `kernel ${kernel} outlived verify`);
      assert.deepEqual(readdirSync(tmp), [], 'no anygpt-client-* folder (kernel.json with its key) left');
    });

  it('a kernel that fails to start (ANYGPT_EP=bogus) leaves no anygpt-client-* folder', async () => {
    const tmp = freshTmp();
    const work = freshTmp();
    const nb = join(work, 'x.ipynb');
    writeNotebook(nb, { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] });
    const r = spawnSync(process.execPath, [CLI_JS, 'verify', nb, '--model', model], {
      env: { ...process.env, TMPDIR: tmp, ANYGPT_EP: 'bogus' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /ANYGPT_EP must be auto, cpu or cuda/);
    assert.deepEqual(readdirSync(tmp), []);
    assert.ok(!existsSync(join(work, 'x.verify.txt')));
  });
});
