// Packaging: builds the linux-x64 .vsix as `npm run package` does, lists what is inside and unpacks it. Nothing that
// cannot load on linux-x64 or is only used to build or install the dependencies may be inside (issue 24 item 14),
// the Marketplace page has its README, icon, license and screenshot (item 15), and the native modules the kernel
// needs still load from the unpacked package with no development folder around it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PY = '/usr/bin/python3';

describe('packaging: the linux-x64 .vsix', function () {
  this.timeout(600000);
  let dir = '';
  let entries: string[] = [];
  let ext = '';

  before(function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') this.skip();
    dir = mkdtempSync(join(tmpdir(), 'anygpt-vsix-'));
    const vsix = join(dir, 'anygpt.vsix');
    execFileSync(process.execPath, ['extension/packaging/package.mjs', 'linux-x64'], {
      env: { ...process.env, VSIX_OUT: vsix },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const listing = execFileSync(
      PY,
      [
        '-c',
        'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print("\\n".join(z.namelist())); z.extractall(sys.argv[2])',
        vsix,
        join(dir, 'x'),
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    entries = listing.split('\n').filter(Boolean);
    ext = join(dir, 'x', 'extension');
  });

  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('ships only what loads on linux-x64: no other platforms, sources, install scripts or bundled packages', () => {
    const forbidden: [RegExp, string][] = [
      [/node_modules\/zeromq\/build\/(darwin|win32)\//, 'zeromq builds of other systems'],
      [/node_modules\/zeromq\/build\/linux\/x64\/node\/(?!glibc-127-Release\/)/, 'zeromq addons that do not load here'],
      [/node_modules\/zeromq\/build\/linux\/(?!x64\/)/, 'zeromq builds of other CPUs'],
      [/musl/, 'musl builds'],
      [
        /node_modules\/onnxruntime-node\/bin\/napi-v\d+\/(?!linux\/x64\/)/,
        'onnxruntime-node builds of other platforms',
      ],
      [/\.(c|cc|cpp|h|hh|inc|asm|S|gyp|gypi)$/, 'C/C++/assembly sources'],
      [/CMakeLists\.txt$/, 'CMake files'],
      [
        /node_modules\/(adm-zip|global-agent|roarr|matcher|serialize-error|globalthis|define-properties)\//,
        "onnxruntime-node's installer dependencies",
      ],
      [/node_modules\/cmake-ts\/build\/(main|lib)\./, 'cmake-ts build scripts'],
      [/node_modules\/sharp\/install\//, 'sharp install scripts'],
      [/node_modules\/onnxruntime-node\/script\//, 'onnxruntime-node install script'],
      [/node_modules\/(wavefile|@huggingface\/tokenizers)\//, 'packages esbuild already bundled into dist/'],
      [/node_modules\/koffi\/(vendor|lib|doc)\//, 'koffi build inputs'],
      [/\.ts$|\.map$/, 'TypeScript sources and source maps'],
      [/^extension\/(test|tools|bench|kernel|common|docs)\//, 'development folders'],
      [/^extension\/samples\/.*make-samples/, 'the samples script'],
    ];
    for (const [re, what] of forbidden) {
      const hit = entries.filter((e) => re.test(e));
      assert.deepEqual(hit.slice(0, 5), [], `${what} in the .vsix`);
    }
    // the packages dist/ loads from node_modules (native code) and their dependencies; nothing esbuild bundled
    const packages = new Set(
      entries
        .filter((e) => e.startsWith('extension/node_modules/'))
        .map((e) =>
          e
            .split('/')
            .slice(2, e.split('/')[2].startsWith('@') ? 4 : 3)
            .join('/'),
        ),
    );
    assert.deepEqual([...packages].sort(), [
      '@img/colour',
      '@img/sharp-libvips-linux-x64',
      '@img/sharp-linux-x64',
      '@koromix/koffi-linux-x64',
      'cmake-ts',
      'detect-libc',
      'koffi',
      'onnxruntime-common',
      'onnxruntime-node',
      'semver',
      'sharp',
      'zeromq',
    ]);
    const addons = entries.filter((e) => e.endsWith('.node'));
    assert.deepEqual(addons.map((e) => e.split('/node_modules/')[1]).sort(), [
      '@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node',
      '@koromix/koffi-linux-x64/linux_x64/koffi.node',
      'onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'zeromq/build/linux/x64/node/glibc-127-Release/addon.node',
    ]);
  });

  it('has a user-facing README, the license, an icon and a screenshot that is inside', () => {
    const manifest = readFileSync(join(dir, 'x', 'extension.vsixmanifest'), 'utf8');
    assert.match(manifest, /Microsoft\.VisualStudio\.Services\.Content\.License/);
    const license = readFileSync(join(ext, 'LICENSE.txt'), 'utf8');
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    const readme = readFileSync(join(ext, 'readme.md'), 'utf8');
    assert.doesNotMatch(readme, /npm (ci|run)/, 'not the developer README');
    assert.match(readme, /AnyGPT: Open Samples/);
    const images = [...readme.matchAll(/^!\[[^\]]*\]\(([^)]+)\)/gm)].map((m) => m[1]);
    assert.ok(images.length > 0, 'the README shows a screenshot');
    for (const img of images) assert.ok(existsSync(join(ext, img)), `${img} (linked from the README) is in the .vsix`);
    const pkg = JSON.parse(readFileSync(join(ext, 'package.json'), 'utf8'));
    assert.ok(pkg.icon && existsSync(join(ext, pkg.icon)), `icon ${pkg.icon} is in the .vsix`);
    assert.equal(readFileSync(join(ext, pkg.icon)).subarray(1, 4).toString(), 'PNG');
    assert.equal(pkg.scripts['vscode:uninstall'], 'node ./dist/uninstall.js');
    assert.ok(existsSync(join(ext, 'dist', 'uninstall.js')), 'the uninstall hook is inside');
  });

  it('loads its native modules from the unpacked package', () => {
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        "for (const m of ['zeromq', 'sharp', 'onnxruntime-node', 'koffi']) { require(require.resolve(m, { paths: [process.cwd() + '/dist'] })); console.log('loaded ' + m); }",
      ],
      { cwd: ext, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } },
    );
    assert.deepEqual(out.trim().split('\n'), [
      'loaded zeromq',
      'loaded sharp',
      'loaded onnxruntime-node',
      'loaded koffi',
    ]);
  });
});
