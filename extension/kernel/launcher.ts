/**
 * Starting our kernel from the extension host. The extension host's own `process.execPath` is
 * Electron (desktop) or code-server's bundled node, neither of which is the user's Node with our
 * native modules' ABI in mind, so we run `node` from PATH or the `anygpt.nodePath` setting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';

export interface ConnectionInfo {
  transport: 'tcp';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name: string;
}

/** Find an executable: an explicit path wins, otherwise search PATH (and PATHEXT on Windows). */
export function resolveNode(configured: string | undefined, env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = isExecutable): string | undefined {
  if (configured && configured.trim()) {
    const p = configured.trim();
    return isAbsolute(p) ? (exists(p) ? p : undefined) : searchPath(p, env, exists);
  }
  return searchPath('node', env, exists);
}

function searchPath(name: string, env: NodeJS.ProcessEnv, exists: (p: string) => boolean): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD').split(';') : [''];
  for (const dir of (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const p = join(dir, name + ext.toLowerCase());
      if (exists(p)) return p;
    }
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface KernelSettings {
  modelPath?: string;
  /** auto | cpu | cuda (the anygpt.executionProvider setting). */
  executionProvider?: 'auto' | 'cpu' | 'cuda';
  /** 0: ONNX Runtime decides. */
  threads?: number;
}

/** argv for dist/kernel.js; model, execution provider and threads go through the environment (kernelEnv). */
export function kernelArgv(node: string, kernelScript: string, connectionFile: string): string[] {
  return [node, kernelScript, '-f', connectionFile];
}

export function kernelEnv(base: NodeJS.ProcessEnv, s: KernelSettings): NodeJS.ProcessEnv {
  // JPY_PARENT_PID: the kernel exits by itself when the extension host dies (no orphaned kernels).
  const env: NodeJS.ProcessEnv = { ...base, JPY_PARENT_PID: String(process.pid) };
  if (s.modelPath) env.ANYGPT_MODEL = s.modelPath;
  // The settings always win over ANYGPT_EP/ANYGPT_THREADS inherited from the editor's environment.
  env.ANYGPT_EP = s.executionProvider ?? 'auto';
  env.ANYGPT_THREADS = String(s.threads && s.threads > 0 ? Math.floor(s.threads) : 0);
  return env;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function writeConnectionFile(): Promise<{ file: string; info: ConnectionInfo }> {
  const [shell, iopub, stdin, control, hb] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const info: ConnectionInfo = {
    transport: 'tcp', ip: '127.0.0.1', shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb,
    key: randomBytes(16).toString('hex'), signature_scheme: 'hmac-sha256', kernel_name: 'anygpt',
  };
  const dir = mkdtempSync(join(tmpdir(), 'anygpt-vscode-'));
  const file = join(dir, 'kernel.json');
  writeFileSync(file, JSON.stringify(info, null, 2), { mode: 0o600 });
  return { file, info };
}

export function spawnKernel(argv: string[], env: NodeJS.ProcessEnv, cwd: string | undefined): ChildProcess {
  // detached: its own process group, so SIGINT to the kernel does not reach the extension host.
  return spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
}
