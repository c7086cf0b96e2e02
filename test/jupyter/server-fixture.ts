/**
 * A real Jupyter Server (Debian's python3-jupyter-server 1.23, run with /usr/bin/python3) for the remote-kernel
 * tests, the bench and the VS Code E2E: on 127.0.0.1 at a free port, with a random token, a temp root folder, and
 * our kernelspecs installed into a temp prefix found through JUPYTER_PATH (the user's home is never touched).
 * docs/remote.md shows the same command line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { encodeWav16 } from '../../kernel/codecs/wav-io';
import { ensureKernelBuilt, jupyterSandboxEnv, KERNEL_JS, longFixture, mediaFixture } from './helpers';

export const PY = '/usr/bin/python3';

export function haveJupyterServer(): boolean {
  return existsSync(PY) && spawnSync(PY, ['-c', 'import jupyter_server'], { stdio: 'ignore' }).status === 0;
}

export interface KernelspecToInstall {
  name: string;
  model: string;
  /** Extra `anygpt-kernel install` arguments (--ep cpu, --threads 1). */
  args?: string[];
}

export interface RunningServer {
  url: string;
  token: string;
  /** The server's root folder (what its Contents API shows). */
  root: string;
  proc: ChildProcess;
  /** What the server wrote to stderr lately (its log). */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the server with our kernelspecs and waits until its REST API answers with the token. */
export async function startJupyterServer(
  specs: KernelspecToInstall[],
  env: NodeJS.ProcessEnv = {},
): Promise<RunningServer> {
  ensureKernelBuilt();
  const tmp = mkdtempSync(join(tmpdir(), 'anygpt-jserver-'));
  const prefix = join(tmp, 'prefix');
  const root = join(tmp, 'root');
  mkdirSync(root);
  for (const s of specs)
    execFileSync(
      process.execPath,
      [KERNEL_JS, 'install', '--prefix', prefix, '--name', s.name, '--model', s.model, ...(s.args ?? [])],
      { stdio: 'pipe' },
    );
  const token = randomBytes(24).toString('hex');
  let lastError: Error | undefined;
  // A port picked free can be taken before the server binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = spawn(
      PY,
      [
        '-m',
        'jupyter_server',
        '--no-browser',
        '--ServerApp.ip=127.0.0.1',
        `--ServerApp.port=${port}`,
        '--ServerApp.port_retries=0',
        `--ServerApp.root_dir=${root}`,
        // The token goes through the environment, not argv: argv is visible to every user in `ps`.
        '--ServerApp.allow_remote_access=False',
        // CI machines run the tests as root, which jupyter_server refuses unless told.
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      ],
      {
        env: { ...jupyterSandboxEnv(tmp, prefix, env), JUPYTER_TOKEN: token },
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
    const url = `http://127.0.0.1:${port}/`;
    const stop = async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }
      rmSync(tmp, { recursive: true, force: true });
    };
    try {
      await waitUp(url, token, proc, () => log);
      return { url, token, root, proc, log: () => log, stop };
    } catch (e) {
      lastError = e as Error;
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(null) : proc.once('exit', r)));
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  throw lastError ?? new Error('jupyter_server did not start');
}

async function waitUp(url: string, token: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`jupyter_server exited (${proc.exitCode}):\n${log().slice(-3000)}`);
    try {
      const r = await fetch(`${url}api/kernelspecs`, { headers: { Authorization: `token ${token}` } });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`jupyter_server did not answer within 60 s:\n${log().slice(-3000)}`);
}

/** The remote tests' server: kernelspec anygpt-test over the media fixture, anygpt-test-long over the long fixture. */
export function startFixtureServer(): Promise<RunningServer> {
  return startJupyterServer(
    [
      { name: 'anygpt-test', model: mediaFixture() },
      { name: 'anygpt-test-long', model: longFixture(), args: ['--ep', 'cpu', '--threads', '1'] },
    ],
    { ANYGPT_PROGRESS_DELAY_MS: '0' },
  );
}

/** The user's machine: a temporary notebook folder holding a 1 s, 16 kHz WAV at `wavPath` (relative to it). */
export function localNotebookFolder(prefix: string, wavPath: string): string {
  const local = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(local, wavPath, '..'), { recursive: true });
  writeFileSync(
    join(local, wavPath),
    encodeWav16(
      new Float32Array(16000).map((_, i) => 0.3 * Math.sin(i / 10)),
      16000,
    ),
  );
  return local;
}
