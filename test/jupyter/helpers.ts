/**
 * Shared by the kernel tests: a fresh dist/kernel.js, the model packages the kernel runs over (real engine,
 * real ORT sessions in its worker) and kernel launch helpers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KernelClient } from '../../kernel/jupyter/kernel-client';
import { cleanupMediaPackages, mediaPackage } from '../engine/media-fixture';
import { cleanupCopies, copyPackage, editJson, LLAMA } from '../engine/fixtures';
import { makeLongFixture } from '../fixtures/long-fixture';

export const ROOT = resolve(__dirname, '..', '..');
export const KERNEL_JS = join(ROOT, 'dist', 'kernel.js');
export const CLI_JS = join(ROOT, 'dist', 'cli.js');

function newest(dir: string): number {
  if (!statSync(dir).isDirectory()) return statSync(dir).mtimeMs;
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
  // Everything bundled into dist/kernel.js, dist/engine-worker.js and dist/cli.js, plus the build script itself.
  const dirs = ['kernel/jupyter', 'kernel/prompt', 'kernel/engine', 'kernel/codecs', 'kernel/cli', 'common'].map((d) =>
    join(ROOT, d),
  );
  const src = Math.max(...dirs.filter(existsSync).map(newest), statSync(join(ROOT, 'tools', 'build.mjs')).mtimeMs);
  const bundles = [KERNEL_JS, join(ROOT, 'dist', 'engine-worker.js'), CLI_JS];
  if (bundles.every(existsSync) && Math.min(...bundles.map((b) => statSync(b).mtimeMs)) >= src) return;
  execFileSync(process.execPath, [join(ROOT, 'tools', 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
}

/** models/anygpt-nano: being trained, untracked; tests that use it skip without it and never rely on its quality. */
export const NANO = join(ROOT, 'models', 'anygpt-nano');
export const haveNano = (): boolean => existsSync(join(NANO, 'anygpt.json'));

/**
 * The media package (test/engine/media-fixture.ts): the "mode + last token" LLM plus the tiny codec graphs.
 * A prompt that mentions "img" continues with an 8-token image span (grey levels MEDIA_IMAGE_GREYS), "say" with
 * a 12-frame speech span, "music" with a 3-frame music span; any other prompt is answered "hi there".
 * `imageDecoder: 'unclip'` swaps the direct image decoder for the unCLIP diffusion path (progress steps).
 */
export function mediaFixture(opts: { imageDecoder?: 'direct' | 'unclip' } = {}): string {
  const dir = mediaPackage();
  if (opts.imageDecoder === 'unclip') {
    const codecs = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'codecs', 'codecs-manifest.json'), 'utf8'));
    editJson(join(dir, 'anygpt.json'), (j) => (j.modalities.image.decoder = codecs.unclipDecoder));
  }
  return dir;
}
export const MEDIA_IMAGE_GREYS = [0, 40, 80, 120, 160, 200, 240, 255];
export const MEDIA_SPEECH_CODES = [3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25];

/** The long-generating LLaMA fixture (test/fixtures/long-fixture.ts) in a temporary copy, removed by cleanupFixtures(). */
export function longFixture(): string {
  return makeLongFixture(copyPackage(LLAMA));
}

export function cleanupFixtures(): void {
  cleanupMediaPackages();
  cleanupCopies();
}

export function launchModel(model: string, env: Record<string, string> = {}, cwd?: string): Promise<KernelClient> {
  ensureKernelBuilt();
  return KernelClient.launch([process.execPath, KERNEL_JS, '--model', model, '-f', '{connection_file}'], {
    env: { ...process.env, ...env },
    cwd,
  });
}

export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * Environment for Jupyter's Python tools that sees only kernelspecs under `prefix` and keeps data, runtime and
 * config inside `tmp` (never the user's home).
 */
export function jupyterSandboxEnv(tmp: string, prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  for (const d of ['data', 'runtime', 'config']) mkdirSync(join(tmp, d), { recursive: true });
  return {
    ...process.env,
    JUPYTER_PATH: join(prefix, 'share', 'jupyter'),
    JUPYTER_DATA_DIR: join(tmp, 'data'),
    JUPYTER_RUNTIME_DIR: join(tmp, 'runtime'),
    JUPYTER_CONFIG_DIR: join(tmp, 'config'),
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
}
