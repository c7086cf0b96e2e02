/**
 * Debian's classic Notebook 6.4 (package jupyter-notebook), started by a test on 127.0.0.1 with a random token
 * over a sandbox (test/frontends/sandbox.ts), and stopped with everything it started (kernels included).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { PY, type Sandbox } from './sandbox';

export const haveClassicNotebook = (): boolean =>
  spawnSync(PY, ['-c', 'import notebook, sys; sys.exit(0 if notebook.__version__.startswith("6.") else 1)'], {
    stdio: 'ignore',
  }).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface NotebookServer {
  url: string;
  token: string;
  /** Everything the server printed (for failure messages). */
  log(): string;
  /** REST call with the token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

export async function startNotebookServer(sb: Sandbox): Promise<NotebookServer> {
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  // detached: the server leads its own process group, so stop() also reaches kernels a crash left behind.
  const proc: ChildProcess = spawn(
    PY,
    [
      '-m',
      'notebook',
      '--no-browser',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--port-retries=0',
      `--notebook-dir=${sb.work}`,
      `--NotebookApp.token=${token}`,
      '--NotebookApp.password=',
      '--NotebookApp.open_browser=False',
      // CI machines and this sandbox run tests as root, which the server refuses without the flag.
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    { env: sb.env, cwd: sb.work, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { Authorization: `token ${token}`, ...(init.headers ?? {}) } });

  const server: NotebookServer = {
    url,
    token,
    log: () => out,
    api,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      // SIGTERM: the server stops its loop and shuts its kernels down before it exits.
      proc.kill('SIGTERM');
      const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 15000))]);
      try {
        process.kill(-proc.pid!, gone ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // The group is already empty.
      }
      if (!gone) await exited;
    },
  };

  const deadline = Date.now() + 60000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`jupyter notebook exited (${proc.exitCode}):\n${out}`);
    try {
      const r = await api('/api/status');
      if (r.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`jupyter notebook did not answer on ${url}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return server;
}
