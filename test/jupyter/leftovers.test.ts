/**
 * Nothing left behind in the temporary folder (issue 20, items 8 and 17), checked on the real processes with
 * TMPDIR pointed at a fresh folder: the kernel and the CLI after their ONNX sessions ran (onnxruntime's telemetry
 * client wrote mat-debug-<pid>.log and .ses there).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_JS, cleanupFixtures, ensureKernelBuilt, launchModel, mediaFixture } from './helpers';

describe('no files left in the temporary folder (real kernel, real CLI)', function () {
  this.timeout(120000);
  const roots: string[] = [];
  const freshTmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'anygpt-tmpdir-'));
    roots.push(d);
    return d;
  };
  let model: string;
  before(() => {
    ensureKernelBuilt();
    model = mediaFixture();
  });
  after(() => {
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
});
