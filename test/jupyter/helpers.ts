/** Shared by the kernel tests: a fresh dist/kernel.js and kernel launch helpers. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KernelClient } from '../../kernel/jupyter/client';

export const ROOT = resolve(__dirname, '..', '..');
export const KERNEL_JS = join(ROOT, 'dist', 'kernel.js');

function newest(dir: string): number {
  let t = 0;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/** Rebuild only the kernel bundle when its sources changed (npm test builds everything anyway). */
export function ensureKernelBuilt(): void {
  // Everything bundled into dist/kernel.js and dist/engine-worker.js, plus the build script itself.
  const dirs = ['kernel/jupyter', 'kernel/prompt', 'kernel/engine', 'kernel/codecs', 'common'].map((d) => join(ROOT, d));
  const src = Math.max(...dirs.filter(existsSync).map(newest), statSync(join(ROOT, 'tools', 'build.mjs')).mtimeMs);
  const worker = join(ROOT, 'dist', 'engine-worker.js');
  if (existsSync(KERNEL_JS) && existsSync(worker) && Math.min(statSync(KERNEL_JS).mtimeMs, statSync(worker).mtimeMs) >= src) return;
  execFileSync(process.execPath, [join(ROOT, 'tools', 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
}

export function launchSimulated(env: Record<string, string> = {}, cwd?: string): Promise<KernelClient> {
  ensureKernelBuilt();
  return KernelClient.launch([process.execPath, KERNEL_JS, '--simulate', '-f', '{connection_file}'], { env: { ...process.env, ...env }, cwd });
}

export function launchModel(model: string, env: Record<string, string> = {}): Promise<KernelClient> {
  ensureKernelBuilt();
  return KernelClient.launch([process.execPath, KERNEL_JS, '--model', model, '-f', '{connection_file}'], { env: { ...process.env, ...env } });
}

export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}
