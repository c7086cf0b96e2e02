// Runs INSIDE the extension host of a real VS Code (code-server, or desktop via @vscode/test-electron):
// interrupt a long generation, restart the kernel, and check that saved outputs (image, audio,
// tokens) survive save + reopen byte-exact. Loaded as extensionTestsPath.
'use strict';
const vscode = require('vscode');
const assert = require('node:assert/strict');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log('[anygpt-e2e]', ...a);

async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function open(name) {
  const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, name);
  const nb = await vscode.workspace.openNotebookDocument(uri);
  const editor = await vscode.window.showNotebookDocument(nb);
  await vscode.commands.executeCommand('notebook.selectKernel', { id: 'anygpt-local', extension: 'anygpt-notebooks.anygpt-notebooks', notebookEditor: editor });
  return nb;
}

async function runCells(nb, start, end) {
  await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start, end }], document: nb.uri });
}

const done = (cell) => cell.executionSummary && cell.executionSummary.success !== undefined && cell.executionSummary.timing && cell.executionSummary.timing.endTime;

exports.run = async function run() {
  const ext = vscode.extensions.getExtension('anygpt-notebooks.anygpt-notebooks');
  assert.ok(ext, 'extension is loaded');

  // 0. New AnyGPT Notebook: prompt cells in our language, our kernelspec, our controller selected
  await vscode.commands.executeCommand('anygpt.newNotebook');
  const created = vscode.window.activeNotebookEditor.notebook;
  assert.equal(created.cellAt(1).document.languageId, 'anygpt');
  const md = created.metadata.metadata || created.metadata;
  assert.equal(md.kernelspec && md.kernelspec.name, 'anygpt', `kernelspec in ${JSON.stringify(created.metadata)}`);
  log('new notebook ok');
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');

  // 1. interrupt a long generation
  const nb = await open('interrupt.ipynb');
  log('opened', nb.uri.fsPath);
  const long = nb.cellAt(0);
  runCells(nb, 0, 1);
  await waitFor(() => long.outputs.length > 0, 180000, 'first streamed output of the long cell');
  await sleep(800);
  await vscode.commands.executeCommand('anygpt.interruptKernel');
  await waitFor(() => done(long), 60000, 'the interrupted cell to end');
  const describe = (c) => c.outputs.flatMap((o) => o.items.map((i) => `${i.mime}: ${Buffer.from(i.data).toString().slice(0, 120)}`)).join('\n');
  assert.equal(long.executionSummary.success, false, `interrupted cell is marked failed; outputs:\n${describe(long)}`);
  const err = long.outputs.flatMap((o) => o.items).find((i) => i.mime === 'application/vnd.code.notebook.error');
  assert.ok(err && /KeyboardInterrupt/.test(Buffer.from(err.data).toString()), 'KeyboardInterrupt error output');
  log('interrupt ok; order', long.executionSummary.executionOrder);

  // 2. restart: the kernel comes back and counts from 1 again
  await vscode.commands.executeCommand('anygpt.restartKernel');
  const quick = nb.cellAt(1);
  await runCells(nb, 1, 2);
  await waitFor(() => done(quick), 120000, 'a cell after restart');
  assert.equal(quick.executionSummary.success, true);
  assert.equal(quick.executionSummary.executionOrder, 1, 'execution count restarts at 1');
  log('restart ok');

  // 3. run media cells, save, reopen a copy from disk and compare every media output byte for byte
  const media = await open('roundtrip.ipynb');
  await runCells(media, 0, media.cellCount);
  await waitFor(() => media.getCells().every((c) => c.kind !== vscode.NotebookCellKind.Code || done(c)), 300000, 'media cells');
  for (const c of media.getCells()) if (c.kind === vscode.NotebookCellKind.Code) assert.equal(c.executionSummary.success, true, `cell ${c.index} succeeded`);
  await media.save();
  const copy = vscode.Uri.joinPath(media.uri, '..', 'roundtrip-copy.ipynb');
  await vscode.workspace.fs.copy(media.uri, copy, { overwrite: true });
  const again = await vscode.workspace.openNotebookDocument(copy);
  const key = (i) => i.mime;
  let compared = 0;
  const wanted = new Set();
  media.getCells().forEach((c, k) => {
    const a = c.outputs.flatMap((o) => o.items).filter((i) => /^image\/png$|vnd\.anygpt\.(audio|tokens)/.test(i.mime));
    const b = again.cellAt(k).outputs.flatMap((o) => o.items).filter((i) => /^image\/png$|vnd\.anygpt\.(audio|tokens)/.test(i.mime));
    assert.deepEqual(b.map(key), a.map(key), `cell ${k} keeps its output mimes`);
    a.forEach((item, j) => {
      wanted.add(item.mime);
      if (item.mime === 'image/png') assert.ok(Buffer.from(b[j].data).equals(Buffer.from(item.data)), `cell ${k} PNG bytes`);
      else {
        const x = JSON.parse(Buffer.from(item.data).toString());
        const y = JSON.parse(Buffer.from(b[j].data).toString());
        assert.deepEqual(y, x, `cell ${k} ${item.mime} payload`);
        if (x.wav) assert.ok(Buffer.from(y.wav, 'base64').equals(Buffer.from(x.wav, 'base64')), `cell ${k} WAV bytes`);
      }
      compared++;
    });
  });
  assert.ok(wanted.has('image/png') && wanted.has('application/vnd.anygpt.audio+json') && wanted.has('application/vnd.anygpt.tokens+json'), `media kinds compared: ${[...wanted]}`);
  log(`round trip ok: ${compared} media items identical after save + reopen`);
  // the window stays open for the driver's screenshot; show the media notebook
  await vscode.window.showNotebookDocument(media);
};
