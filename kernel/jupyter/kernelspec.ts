/**
 * `anygpt-kernel install`: writes kernels/<name>/kernel.json where Jupyter, JupyterLab and VS Code look.
 * argv[0] is the absolute node binary (GUI-launched editors often lack nvm/volta PATH entries; VS Code
 * hides specs whose argv[0] it cannot find) and argv[1] the absolute bundled kernel, with no npx/sh
 * wrapper: VS Code sends SIGINT to the pid only, and a wrapper would swallow it.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write';
import { userDataDir } from '../../common/jupyter-paths';

export interface InstallOptions {
  where: 'user' | 'sys-prefix' | 'prefix';
  prefix?: string;
  model?: string;
  /** Recorded as ANYGPT_EP / ANYGPT_THREADS in the spec's env, which the kernel reads at start. */
  executionProvider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  name?: string;
  displayName?: string;
  kernelScript: string;
}

export function kernelsDir(o: Pick<InstallOptions, 'where' | 'prefix'>): string {
  switch (o.where) {
    case 'user':
      return join(userDataDir(), 'kernels');
    case 'prefix':
      if (!o.prefix) throw new Error('--prefix needs a directory');
      return join(resolve(o.prefix), 'share', 'jupyter', 'kernels');
    case 'sys-prefix': {
      // Node has no sys.prefix; use the active Python environment if any, else the system prefix Jupyter searches.
      const p = process.env.VIRTUAL_ENV ?? process.env.CONDA_PREFIX ?? '/usr/local';
      return join(p, 'share', 'jupyter', 'kernels');
    }
  }
}

export function kernelJson(o: InstallOptions): Record<string, unknown> {
  const argv = [process.execPath, resolve(o.kernelScript)];
  argv.push('-f', '{connection_file}');
  const env: Record<string, string> = {};
  if (o.model) env.ANYGPT_MODEL = resolve(o.model);
  if (o.executionProvider) env.ANYGPT_EP = o.executionProvider;
  if (o.threads !== undefined) env.ANYGPT_THREADS = String(o.threads);
  return {
    argv,
    display_name: o.displayName ?? 'AnyGPT',
    language: 'anygpt',
    interrupt_mode: 'signal',
    env,
    metadata: { anygpt: { model: o.model ? resolve(o.model) : null } },
  };
}

export function installKernelspec(o: InstallOptions): string {
  if (!existsSync(o.kernelScript))
    throw new Error(`kernel script ${o.kernelScript} does not exist; run \`npm run build\` first`);
  if (o.model && !existsSync(join(o.model, 'anygpt.json'))) throw new Error(`--model ${o.model}: no anygpt.json there`);
  if (o.executionProvider && !['auto', 'cpu', 'cuda'].includes(o.executionProvider))
    throw new Error(`--ep ${o.executionProvider}: expected auto, cpu or cuda`);
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads > 0))
    throw new Error(`--threads ${o.threads}: expected a positive integer`);
  const dir = join(kernelsDir(o), o.name ?? 'anygpt');
  mkdirSync(dir, { recursive: true });
  // Reinstalling replaces a kernel.json Jupyter may be reading: through a temporary file and a rename.
  writeFileAtomic(join(dir, 'kernel.json'), JSON.stringify(kernelJson(o), null, 2) + '\n');
  // Front ends show these in their launchers and kernel menus (classic Notebook asks for logo-64x64.png).
  const logos = join(dirname(resolve(o.kernelScript)), 'logo');
  for (const f of LOGO_FILES) {
    if (!existsSync(join(logos, f))) throw new Error(`${join(logos, f)} missing: run \`npm run build\``);
    writeFileAtomic(join(dir, f), readFileSync(join(logos, f)));
  }
  return dir;
}

/** The kernelspec resources Jupyter looks for by name (jupyter_client's KernelSpec resources). */
export const LOGO_FILES = ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg'] as const;
