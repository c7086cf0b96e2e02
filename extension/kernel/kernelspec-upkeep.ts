/**
 * Keeping the kernelspecs that "AnyGPT: Install Kernelspec for Jupyter" wrote valid: they name this extension's
 * dist/kernel.js by absolute path, and that folder carries the version (…/anygpt-notebooks.anygpt-notebooks-0.1.0/),
 * so an update leaves them pointing at a folder VS Code deletes. On activation they are pointed at the running
 * version; on uninstall (the vscode:uninstall hook, dist/uninstall.js) they are removed. Kernelspecs installed
 * from a clone or npm (`anygpt-kernel install`) point elsewhere and are never touched. Free of `vscode`.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write';
import { userDataDir } from '../../common/jupyter-paths';

/** An installed copy of this extension: <extensions dir>/anygpt-notebooks.anygpt-notebooks-<version>[-<target>]/dist/kernel.js */
const EXTENSION_KERNEL = /[\\/]anygpt-notebooks\.anygpt-notebooks-[^\\/]+[\\/]dist[\\/]kernel\.js$/;

export function userKernelsDir(): string {
  return join(userDataDir(), 'kernels');
}

interface Spec {
  dir: string;
  json: { argv?: unknown[] } & Record<string, unknown>;
}

/** Kernelspecs under `kernelsDir` whose kernel is an installed copy of this extension (any version). */
export function extensionKernelspecs(kernelsDir = userKernelsDir()): Spec[] {
  if (!existsSync(kernelsDir)) return [];
  const out: Spec[] = [];
  for (const name of readdirSync(kernelsDir)) {
    const file = join(kernelsDir, name, 'kernel.json');
    let json: Spec['json'];
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as Spec['json'];
    } catch {
      continue; // not a kernelspec we can read: not ours to judge
    }
    const script = Array.isArray(json.argv) ? json.argv[1] : undefined;
    if (typeof script === 'string' && EXTENSION_KERNEL.test(script)) out.push({ dir: join(kernelsDir, name), json });
  }
  return out;
}

/** Points this extension's kernelspecs at `kernelScript` (the running version's); returns the folders rewritten. */
export function refreshKernelspecs(kernelScript: string, kernelsDir = userKernelsDir()): string[] {
  const changed: string[] = [];
  // a development copy (no version in its path) leaves the installed copies' kernelspecs alone
  if (!EXTENSION_KERNEL.test(kernelScript)) return changed;
  for (const { dir, json } of extensionKernelspecs(kernelsDir)) {
    const argv = json.argv as unknown[];
    if (argv[1] === kernelScript) continue;
    argv[1] = kernelScript;
    // Jupyter may be reading it: through a temporary file and a rename
    writeFileAtomic(join(dir, 'kernel.json'), JSON.stringify(json, null, 2) + '\n');
    changed.push(dir);
  }
  return changed;
}

/** Removes this extension's kernelspecs (uninstall); returns the folders removed. */
export function removeKernelspecs(kernelsDir = userKernelsDir()): string[] {
  const removed: string[] = [];
  for (const { dir } of extensionKernelspecs(kernelsDir)) {
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
