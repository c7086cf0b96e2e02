/**
 * Starting our kernel from the extension host. The extension host's own `process.execPath` is
 * Electron (desktop) or code-server's bundled node, neither of which is the user's Node with our
 * native modules' ABI in mind, so we run `node` from PATH or the `anygpt.nodePath` setting.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Find an executable: an explicit path wins, otherwise search PATH (and PATHEXT on Windows). */
export function resolveNode(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  exists: (p: string) => boolean = isExecutable,
): string | undefined {
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
