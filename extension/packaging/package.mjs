// `npm run package [TARGET]`: builds the .vsix for one platform (default: this machine's, e.g. linux-x64) with
// @vscode/vsce, `vsce package --target TARGET`, as published extensions with native code do. What it leaves out is
// the root .vscodeignore plus the per-target rules below (written to .cache/vsix/TARGET.vscodeignore and passed as
// --ignoreFile): other platforms' native builds, C sources, install-time scripts and the dependencies only they use,
// and the packages esbuild already bundled into dist/. test/extension/vsix.test.ts lists the .vsix and checks both
// that none of these is inside and that the native modules still load from the unpacked .vsix.
// Native modules (onnxruntime-node, sharp, zeromq, koffi) come from node_modules as installed here, so a package
// for another platform must be built on (or with the node_modules of) that platform.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const target = process.argv[2] ?? `${process.platform}-${process.arch}`;
const [os, arch] = target.split('-');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const f of ['dist/extension.js', 'dist/kernel.js', 'dist/cli.js', 'dist/media/tokens.js', 'dist/media/audio.js']) {
  if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
}
if (!existsSync(join(root, 'models/anygpt-nano/anygpt.json'))) {
  console.warn(
    'package: WARNING models/anygpt-nano is not built yet; the .vsix will have no bundled model (Select Model can point at one).',
  );
}

/** Patterns (.vscodeignore syntax) for what does not load on `target`. Exported through the file for the test. */
function targetRules(os, arch) {
  const nodeOs = os === 'alpine' ? 'linux' : os;
  const libc = os === 'alpine' ? 'musl' : 'glibc';
  const rules = [
    // packages dist/*.js does not require at run time: the ones esbuild bundled, onnxruntime-node's installer
    // dependencies, and whatever only they use (runtimePackages)
    ...unusedPackages().map((name) => `node_modules/${name}/**`),
    // build scripts and sources
    'node_modules/sharp/install/**',
    'node_modules/cmake-ts/build/{main,lib}.*',
    'node_modules/cmake-ts/build/{deps,utils,nodeAPIInclude}/**',
    'node_modules/koffi/src/**/*.{hh,inc,def,asm,S,cc,c,h,cpp,txt}',
    'node_modules/koffi/src/**/CMakeLists.txt',
    'node_modules/koffi/{vendor,lib,doc}/**',
    'node_modules/koffi/cnoke.cjs',
    // ES-module twins of the CommonJS files that are loaded (dist/ is CommonJS)
    'node_modules/sharp/dist/*.mjs',
    'node_modules/onnxruntime-common/dist/esm/**',
    'node_modules/cmake-ts/build/*.mjs',
    // other platforms' native builds
    `node_modules/onnxruntime-node/bin/napi-v*/!(${nodeOs})/**`,
    `node_modules/onnxruntime-node/bin/napi-v*/${nodeOs}/!(${arch})/**`,
    `node_modules/zeromq/build/!(${nodeOs}|manifest.json)/**`,
    `node_modules/zeromq/build/${nodeOs}/!(${arch})/**`,
    // zeromq's loader tries every addon for this libc, newest ABI first; the ABI-named folders outside its
    // manifest never load, and of the glibc builds glibc-127 is the one that loads on glibc 2.36 (Debian 12) and up
    `node_modules/zeromq/build/${nodeOs}/${arch}/node/!(${libc}-127-Release)/**`,
    `node_modules/@koromix/koffi-${nodeOs}-${arch}/!(${nodeOs}_${arch}|index.js|package.json)/**`,
  ];
  return rules;
}

/**
 * The packages the bundles load from node_modules (tools/build.mjs keeps them external: native code) and what they
 * depend on, without onnxruntime-node's installer dependencies (its binaries ship prebuilt).
 */
function runtimePackages() {
  const roots = ['onnxruntime-node', 'sharp', 'zeromq', 'koffi'];
  const installOnly = new Set(['adm-zip', 'global-agent', 'node-addon-api']);
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || installOnly.has(name)) return;
    const file = join(root, 'node_modules', name, 'package.json');
    if (!existsSync(file)) return; // an optional dependency of another platform
    seen.add(name);
    const p = JSON.parse(readFileSync(file, 'utf8'));
    for (const dep of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) visit(dep);
  };
  roots.forEach(visit);
  return seen;
}

function unusedPackages() {
  const keep = runtimePackages();
  const all = [];
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@'))
      for (const sub of readdirSync(join(root, 'node_modules', entry))) all.push(`${entry}/${sub}`);
    else all.push(entry);
  }
  return all.filter((name) => !keep.has(name)).sort();
}

const base = readFileSync(join(root, '.vscodeignore'), 'utf8');
const ignoreFile = join(root, '.cache', 'vsix', `${target}.vscodeignore`);
mkdirSync(join(root, '.cache', 'vsix'), { recursive: true });
writeFileSync(
  ignoreFile,
  `${base}\n# --- ${target} (extension/packaging/package.mjs)\n${targetRules(os, arch).join('\n')}\n`,
);

const out = process.env.VSIX_OUT ?? `${pkg.name}-${pkg.version}-${target}.vsix`;
execFileSync(
  join(root, 'node_modules/.bin/vsce'),
  [
    'package',
    '--target',
    target,
    '--out',
    out,
    '--ignoreFile',
    ignoreFile,
    '--readme-path',
    'extension/README.md',
    '--allow-missing-repository',
    '--no-rewrite-relative-links',
    '--allow-star-activation',
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } },
);
console.log(`package: wrote ${out}`);
