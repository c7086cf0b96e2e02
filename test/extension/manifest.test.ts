// The extension's manifest (root package.json "contributes") agrees with the code: every contributed
// command is registered, the toolbar is gated on our controller's kernel id, renderer ids match, and
// the bundled extension host code never loads onnxruntime.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROLLER_ID } from '../../extension/execution/kernelspec';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const source = (f: string) => readFileSync(join(root, 'extension', f), 'utf8');

describe('extension: manifest', () => {
  it('registers every contributed command', () => {
    const code = source('extension.ts');
    for (const c of pkg.contributes.commands as { command: string }[]) assert.ok(code.includes(`'${c.command}'`), `${c.command} is not registered`);
  });

  it('gates Restart/Interrupt on our kernel the way the Jupyter extension does', () => {
    const kernelId = `${pkg.publisher}.${pkg.name}/${CONTROLLER_ID}`;
    for (const item of pkg.contributes.menus['notebook/toolbar'] as { when: string }[]) {
      const m = /notebookKernel =~ \/(.+?)\/ /.exec(item.when);
      assert.ok(m && new RegExp(m[1]).test(kernelId), `${item.when} does not match ${kernelId}`);
    }
  });

  it('declares the renderers for our mimes, with messaging for the audio player', () => {
    const r = pkg.contributes.notebookRenderer as { id: string; mimeTypes: string[]; entrypoint: string; requiresMessaging?: string }[];
    assert.deepEqual(r.map((x) => x.mimeTypes[0]), ['application/vnd.anygpt.tokens+json', 'application/vnd.anygpt.audio+json']);
    assert.ok(source('extension.ts').includes(`createRendererMessaging('${r[1].id}')`));
    assert.equal(r[1].requiresMessaging, 'optional');
  });

  it('keeps the engine version and @types/vscode in step, and activates lazily', () => {
    assert.equal(pkg.engines.vscode, `^${pkg.devDependencies['@types/vscode']}`);
    assert.ok(!pkg.activationEvents.includes('*'));
  });

  it('never bundles onnxruntime into the extension host', function () {
    const bundle = join(root, 'dist', 'extension.js');
    if (!existsSync(bundle)) this.skip();
    assert.ok(!/onnxruntime/.test(readFileSync(bundle, 'utf8')));
  });
});
