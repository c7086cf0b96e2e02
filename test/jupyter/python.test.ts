/**
 * Real Jupyter clients (Debian's python3-jupyter-client, nbclient, jupyter_kernel_test), run with
 * /usr/bin/python3, against the kernel over the real engine. Two kernelspecs are installed into a temp
 * prefix found through JUPYTER_PATH (the user's home is never touched): anygpt-test over the media fixture
 * package (known outputs, real codecs) and anygpt-test-long over the long-generating LLaMA fixture (interrupts).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanupFixtures,
  ensureKernelBuilt,
  jupyterSandboxEnv,
  KERNEL_JS,
  longFixture,
  mediaFixture,
  ROOT,
} from './helpers';

const PY = '/usr/bin/python3';
const havePython =
  existsSync(PY) &&
  spawnSync(PY, ['-c', 'import jupyter_client, nbclient, jupyter_kernel_test'], { stdio: 'ignore' }).status === 0;

describe('jupyter kernel with real Python clients', function () {
  this.timeout(300000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  before(function () {
    if (!havePython) this.skip();
    ensureKernelBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'anygpt-jupyter-'));
    const prefix = join(tmp, 'prefix');
    execFileSync(
      process.execPath,
      [KERNEL_JS, 'install', '--prefix', prefix, '--name', 'anygpt-test', '--model', mediaFixture()],
      { stdio: 'pipe' },
    );
    execFileSync(
      process.execPath,
      [
        KERNEL_JS,
        'install',
        '--prefix',
        prefix,
        '--name',
        'anygpt-test-long',
        '--model',
        longFixture(),
        '--ep',
        'cpu',
        '--threads',
        '1',
      ],
      { stdio: 'pipe' },
    );
    env = jupyterSandboxEnv(tmp, prefix, {
      // jupyter_kernel_test wants every display_data of its %decode sample to carry image/png; on a loaded machine
      // a slow decode adds a text progress display first (kernel.test.ts covers progress with the delay at 0).
      ANYGPT_PROGRESS_DELAY_MS: '60000',
      ANYGPT_TEST_KERNEL: 'anygpt-test',
      ANYGPT_TEST_LONG_KERNEL: 'anygpt-test-long',
    });
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    cleanupFixtures();
  });

  const py = (args: string[]) =>
    spawnSync(PY, args, { env, cwd: join(ROOT, 'test', 'jupyter'), encoding: 'utf8', timeout: 240000 });

  it('kernelspec: absolute node + dist/kernel.js, signal interrupts, listed by jupyter kernelspec list', () => {
    const spec = JSON.parse(
      readFileSync(join(tmp, 'prefix', 'share', 'jupyter', 'kernels', 'anygpt-test', 'kernel.json'), 'utf8'),
    );
    assert.equal(spec.argv[0], process.execPath);
    assert.equal(spec.argv[1], KERNEL_JS);
    assert.equal(spec.language, 'anygpt');
    assert.equal(spec.interrupt_mode, 'signal');
    const r = py(['-m', 'jupyter_client.kernelspecapp', 'list']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /anygpt-test\s+\S+anygpt-test\n/);
    assert.match(r.stdout, /anygpt-test-long\s+\S+anygpt-test-long/);
    // Front ends serve the logos from the spec's resource folder (classic Notebook asked for logo-64x64.png: a 404).
    const res = py([
      '-c',
      'import json, os; from jupyter_client.kernelspec import KernelSpecManager as M; ' +
        'd = M().get_kernel_spec("anygpt-test").resource_dir; ' +
        'print(json.dumps(sorted(f for f in os.listdir(d) if f.startswith("logo-"))))',
    ]);
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']);
    // The model package travels in the spec's env (ANYGPT_MODEL), resolved to an absolute path.
    assert.ok(existsSync(join(spec.env.ANYGPT_MODEL, 'anygpt.json')), JSON.stringify(spec.env));
    // --ep / --threads are recorded for the kernel to read at start (the long kernel runs with them below).
    const long = JSON.parse(
      readFileSync(join(tmp, 'prefix', 'share', 'jupyter', 'kernels', 'anygpt-test-long', 'kernel.json'), 'utf8'),
    );
    assert.equal(long.env.ANYGPT_EP, 'cpu');
    assert.equal(long.env.ANYGPT_THREADS, '1');
    const bad = spawnSync(
      process.execPath,
      [KERNEL_JS, 'install', '--prefix', join(tmp, 'prefix'), '--name', 'anygpt-bad', '--ep', 'tpu'],
      { encoding: 'utf8' },
    );
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--ep tpu: expected auto, cpu or cuda/);
  });

  it('jupyter_kernel_test passes (completion, inspect, history, is_complete samples included)', () => {
    const r = py(['-m', 'unittest', '-v', 'conformance']);
    const out = r.stdout + r.stderr;
    assert.equal(r.status, 0, out);
    assert.match(out, /\nOK/);
    const skipped = /skipped=(\d+)/.exec(out);
    // Only test_clear_output and test_pager are skipped: the kernel has no clear/pager feature.
    assert.ok(!skipped || Number(skipped[1]) <= 2, out);
  });

  it('KernelManager (interrupt by signal, restart, shutdown exit 0) and nbclient', () => {
    const r = py(['-m', 'unittest', '-v', 'clients']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
