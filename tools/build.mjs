// Bundles every entry point that exists. Native modules stay external (they ship their own binaries).
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync } from 'node:fs';

// tsx is only resolved when the engine runs from TypeScript sources (tests), never from a bundle.
const external = [
  'onnxruntime-node',
  'koffi',
  'sharp',
  'zeromq',
  'vscode',
  '@huggingface/transformers',
  'tsx',
  'tsx/cjs',
];
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external,
  logLevel: 'warning',
};

const entries = [
  { in: 'kernel/cli/anygpt.ts', out: 'dist/cli.js', banner: '#!/usr/bin/env node' },
  { in: 'kernel/engine/worker.ts', out: 'dist/engine-worker.js' },
  { in: 'kernel/jupyter/main.ts', out: 'dist/kernel.js', banner: '#!/usr/bin/env node' },
  { in: 'extension/extension.ts', out: 'dist/extension.js' },
  { in: 'extension/uninstall.ts', out: 'dist/uninstall.js' },
];
const browser = [
  { in: 'media/tokens/index.ts', out: 'dist/media/tokens.js' },
  { in: 'media/audio/index.ts', out: 'dist/media/audio.js' },
];

mkdirSync('dist', { recursive: true });
const jobs = [];
for (const e of entries.filter((e) => existsSync(e.in))) {
  jobs.push(build({ ...node, entryPoints: [e.in], outfile: e.out, banner: e.banner ? { js: e.banner } : undefined }));
}
for (const e of browser.filter((e) => existsSync(e.in))) {
  jobs.push(
    build({
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      sourcemap: true,
      entryPoints: [e.in],
      outfile: e.out,
      logLevel: 'warning',
    }),
  );
}
await Promise.all(jobs);
// The kernelspec logos travel beside dist/kernel.js; `install` copies them into the kernelspec folder.
cpSync('kernel/jupyter/logo', 'dist/logo', { recursive: true });
console.log(`built ${jobs.length} bundle(s)`);
