// `npm run package`: builds the .vsix for one platform (default linux-x64) with @vscode/vsce.
// What it leaves out is in the root .vscodeignore (vsce's default), so `vsce ls` shows the same file list.
// Native modules (onnxruntime-node, sharp, zeromq) come from node_modules as installed here, so a
// package for another platform must be built on (or with the node_modules of) that platform.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const target = process.argv[2] ?? `${process.platform}-${process.arch}`;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const f of ['dist/extension.js', 'dist/kernel.js', 'dist/cli.js', 'dist/media/tokens.js', 'dist/media/audio.js']) {
  if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
}
if (!existsSync(join(root, 'models/anygpt-nano/anygpt.json'))) {
  console.warn(
    'package: WARNING models/anygpt-nano is not built yet; the .vsix will have no bundled model (Select Model can point at one).',
  );
}
const out = `${pkg.name}-${pkg.version}-${target}.vsix`;
execFileSync(
  join(root, 'node_modules/.bin/vsce'),
  [
    'package',
    '--target',
    target,
    '--out',
    out,
    '--allow-missing-repository',
    '--skip-license',
    '--no-rewrite-relative-links',
    '--allow-star-activation',
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } },
);
console.log(`package: wrote ${out}`);
