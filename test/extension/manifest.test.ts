// The extension's manifest (root package.json "contributes") agrees with the code: every contributed
// command is registered, the toolbar is gated on our controller's kernel id, renderer ids match, and
// the bundled extension host code never loads onnxruntime.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KNOBS } from '../../common/knobs';
import { CONTROLLER_ID } from '../../extension/identifiers';
import { controllerIdFor } from '../../extension/remote/server-entry';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const source = (f: string) => readFileSync(join(root, 'extension', f), 'utf8');

describe('extension: manifest', () => {
  it('offers the settings of the knob table under anygpt.defaultSampling, with the same ranges', () => {
    const props = pkg.contributes.configuration.properties['anygpt.defaultSampling'].properties as Record<
      string,
      Record<string, unknown>
    >;
    const knobs = KNOBS.filter((k) => k.vscodeSetting);
    assert.deepEqual(Object.keys(props).sort(), knobs.map((k) => k.key).sort());
    for (const k of knobs) {
      const { markdownDescription: _, ...schema } = props[k.key];
      const r: { min: number; max: number; minExclusive?: boolean } = k.range;
      assert.deepEqual(
        schema,
        {
          type: [k.kind === 'int' ? 'integer' : 'number', 'null'],
          [r.minExclusive ? 'exclusiveMinimum' : 'minimum']: r.min,
          maximum: r.max,
        },
        k.key,
      );
    }
  });

  it('registers every contributed command', () => {
    const code = source('extension.ts');
    for (const c of pkg.contributes.commands as { command: string }[])
      assert.ok(code.includes(`'${c.command}'`), `${c.command} is not registered`);
  });

  it('gates Restart/Interrupt on our kernel the way the Jupyter extension does', () => {
    const kernelId = `${pkg.publisher}.${pkg.name}/${CONTROLLER_ID}`;
    for (const item of pkg.contributes.menus['notebook/toolbar'] as { when: string }[]) {
      const m = /notebookKernel =~ \/(.+?)\/(?: |\)|$)/.exec(item.when);
      assert.ok(m && new RegExp(m[1]).test(kernelId), `${item.when} does not match ${kernelId}`);
    }
  });

  it('Restart/Interrupt (toolbar, palette) and the cell output actions also show on a Jupyter Server controller', () => {
    const remoteId = `${pkg.publisher}.${pkg.name}/${controllerIdFor('https://gpu-box:8888/')}`;
    const menus = pkg.contributes.menus as Record<string, { command: string; when: string }[]>;
    const items = [...menus['notebook/toolbar'], ...menus['commandPalette'], ...menus['notebook/cell/title']].filter(
      (i) =>
        /^anygpt\.(restartKernel|interruptKernel|showTokens|saveMediaAs)$/.test(i.command) &&
        /notebookKernel/.test(i.when),
    );
    assert.equal(items.length, 6);
    for (const item of items) {
      const m = /notebookKernel =~ \/(.+?)\/(?: |\)|$)/.exec(item.when);
      assert.ok(m && new RegExp(m[1]).test(remoteId), `${item.command}: ${item.when} does not match ${remoteId}`);
    }
  });

  it('declares the renderers for our mimes, with messaging for the audio player', () => {
    const r = pkg.contributes.notebookRenderer as {
      id: string;
      mimeTypes: string[];
      entrypoint: string;
      requiresMessaging?: string;
    }[];
    assert.deepEqual(
      r.map((x) => x.mimeTypes[0]),
      ['application/vnd.anygpt.tokens+json', 'application/vnd.anygpt.audio+json'],
    );
    assert.ok(source('extension.ts').includes(`createRendererMessaging('${r[1].id}')`));
    assert.equal(r[1].requiresMessaging, 'optional');
  });

  it('keeps the engine version and @types/vscode in step, and activates lazily', () => {
    assert.equal(pkg.engines.vscode, `^${pkg.devDependencies['@types/vscode']}`);
    assert.ok(!pkg.activationEvents.includes('*'));
  });

  it('puts every contributed title and description through package.nls.json', () => {
    const nls = JSON.parse(readFileSync(join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
    const used = new Set<string>();
    const walk = (v: unknown, path: string): void => {
      if (typeof v === 'string') {
        const m = /^%(.+)%$/.exec(v);
        if (m) {
          assert.ok(nls[m[1]], `${path}: ${v} has no entry in package.nls.json`);
          used.add(m[1]);
        } else if (
          /(^|\.)(title|shortTitle|displayName|description|markdownDescription)$/.test(path) &&
          !/\.category$/.test(path)
        ) {
          assert.fail(`${path} is a literal string (${JSON.stringify(v)}); use a %key% from package.nls.json`);
        }
      } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    };
    walk(pkg.contributes, 'contributes');
    for (const c of pkg.contributes.commands as { title: string }[]) assert.match(c.title, /^%command\..+%$/);
    assert.deepEqual(
      Object.keys(nls).filter((k) => !used.has(k)),
      [],
      'unused package.nls.json keys',
    );
  });

  it('never bundles onnxruntime into the extension host', function () {
    const bundle = join(root, 'dist', 'extension.js');
    if (!existsSync(bundle)) this.skip();
    assert.ok(!/onnxruntime/.test(readFileSync(bundle, 'utf8')));
  });

  it('packs only what runs: dist, grammar, samples, the nano model, native runtimes (vsce ls with .vscodeignore)', function () {
    this.timeout(60000);
    const vsce = join(root, 'node_modules', '.bin', 'vsce');
    if (!existsSync(vsce) || !existsSync(join(root, 'dist', 'extension.js'))) this.skip();
    const files = execFileSync(vsce, ['ls'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean);
    const top = files.filter((f) => !f.startsWith('node_modules/'));
    for (const f of [
      'package.json',
      'package.nls.json',
      'dist/extension.js',
      'dist/kernel.js',
      'dist/media/tokens.js',
      'extension/syntaxes/anygpt.tmLanguage.json',
    ])
      assert.ok(top.includes(f), `${f} is missing`);
    if (existsSync(join(root, 'models', 'anygpt-nano', 'anygpt.json')))
      assert.ok(top.includes('models/anygpt-nano/anygpt.json'), 'the nano model is missing');
    const stray = top.filter(
      (f) =>
        /^(extension\/packaging|test|tools|bench|docs|kernel|common|media|out|test-output|\.cache)\//.test(f) ||
        /\.(ts|map)$/.test(f),
    );
    assert.deepEqual(stray, [], 'non-runtime files in the .vsix');
    // the Marketplace page's icon and screenshot (extension/README.md) travel with it
    for (const f of ['extension/images/icon.png', 'extension/images/vscode-notebook.png'])
      assert.ok(top.includes(f), `${f} is missing`);
    for (const m of ['zeromq', 'sharp', 'onnxruntime-node'])
      assert.ok(
        files.some((f) => f.startsWith(`node_modules/${m}/`)),
        `${m} is missing`,
      );
    assert.deepEqual(
      files.filter((f) => /\.(cc|h|gyp)$|\/test\//.test(f)),
      [],
      'dependency build files or tests in the .vsix',
    );
  });
});
