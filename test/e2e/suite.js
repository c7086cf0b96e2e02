// Runs INSIDE the extension host of a real VS Code (code-server, or desktop via @vscode/test-electron):
// One kernel per notebook. New AnyGPT Notebook; interrupt a long generation (on the long LLaMA fixture, so it never depends on how
// fast or well the notebook model answers) and keep using the kernel; restart it; run %decode and model
// media cells, then check that their outputs (PNG, audio, tokens) survive save + reopen; close a notebook and
// check that its kernel process exits. Loaded as extensionTestsPath.
'use strict';
const vscode = require('vscode');
const assert = require('node:assert/strict');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log('[anygpt-e2e]', ...a);

async function waitFor(pred, ms, what, every = 200) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function open(name) {
  const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, name);
  const nb = await vscode.workspace.openNotebookDocument(uri);
  const editor = await vscode.window.showNotebookDocument(nb);
  await vscode.commands.executeCommand('notebook.selectKernel', {
    id: 'anygpt-local',
    extension: 'anygpt-notebooks.anygpt-notebooks',
    notebookEditor: editor,
  });
  return nb;
}

async function runCells(nb, start, end) {
  await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start, end }], document: nb.uri });
}

const done = (cell) =>
  cell.executionSummary &&
  cell.executionSummary.success !== undefined &&
  cell.executionSummary.timing &&
  cell.executionSummary.timing.endTime;

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

  // 0a. Open Samples copies the sample notebooks and their media, nothing else (no make-samples.ts)
  const ws = vscode.workspace.workspaceFolders[0].uri;
  const opened = await vscode.commands.executeCommand('anygpt.openSamples', 'chat.ipynb');
  assert.ok(opened && opened.path.endsWith('/anygpt-samples/chat.ipynb'), `Open Samples opened ${opened}`);
  const copied = [];
  const walk = async (uri, rel) => {
    for (const [n, t] of await vscode.workspace.fs.readDirectory(uri))
      if (t === vscode.FileType.Directory) await walk(vscode.Uri.joinPath(uri, n), `${rel}${n}/`);
      else copied.push(rel + n);
  };
  await walk(vscode.Uri.joinPath(ws, 'anygpt-samples'), '');
  const stray = copied.filter((f) => !/^[^/]+\.ipynb$|^media\/[^/]+\.(png|wav)$/.test(f));
  assert.deepEqual(stray, [], `Open Samples copied only notebooks and media: ${copied}`);
  assert.ok(copied.includes('chat.ipynb') && copied.includes('media/shapes.png'), `copied: ${copied}`);
  log(`open samples ok: ${copied.length} files`);
  await vscode.commands.executeCommand('workbench.action.closeActiveEditor');

  // 0a'. Select Model on a folder that is not a package: the message names the command, not a CLI flag
  const notPackage = vscode.Uri.joinPath(ws, 'media').fsPath;
  const sel = await vscode.commands.executeCommand('anygpt.selectModel', notPackage);
  assert.ok(sel && sel.error, `Select Model refuses ${notPackage}: ${JSON.stringify(sel)}`);
  assert.doesNotMatch(sel.error, /--\w|ANYGPT_/, 'no CLI flag or environment variable in the message');
  assert.match(sel.error, /AnyGPT: Select Model/);
  log(`select model wording ok: ${sel.error}`);

  // 0a''. a misspelt magic gets a squiggle as it is typed (before anything runs) and a "did you mean" quick fix
  const mnb = await open('magics.ipynb');
  const mdoc = mnb.cellAt(0).document;
  const typo = new vscode.WorkspaceEdit();
  typo.replace(mdoc.uri, mdoc.lineAt(0).range, '%temprature 0.5');
  assert.ok(await vscode.workspace.applyEdit(typo), 'typed the misspelt magic');
  const magicDiag = () =>
    vscode.languages.getDiagnostics(mdoc.uri).find((d) => /unknown magic %temprature/.test(d.message));
  await waitFor(() => magicDiag(), 10000, 'a diagnostic on %temprature');
  const diag = magicDiag();
  assert.match(diag.message, /did you mean %temperature\?/);
  assert.deepEqual([diag.range.start.line, diag.range.start.character, diag.range.end.character], [0, 0, 11]);
  const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', mdoc.uri, diag.range);
  const fix = (actions || []).find((a) => /%temperature/.test(a.title));
  assert.ok(fix && fix.edit, `a quick fix for %temprature: ${(actions || []).map((a) => a.title)}`);
  await vscode.workspace.applyEdit(fix.edit);
  assert.equal(mdoc.lineAt(0).text, '%temperature 0.5');
  await waitFor(() => !magicDiag(), 10000, 'the diagnostic to clear after the fix');
  log(`magic diagnostics ok: "${diag.message}", fix "${fix.title}"`);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');

  // 0b. start-up failures: a nodePath that is another program (python3) or no file at all gives one line in the
  //     cell that names the setting (no JS stack), and the status bar shows the failed start
  const cfg = vscode.workspace.getConfiguration('anygpt');
  for (const [nodePath, want] of [
    ['/usr/bin/python3', /anygpt\.nodePath \(\/usr\/bin\/python3\) is not Node\.js/],
    ['/nonexistent/node', /anygpt\.nodePath \("\/nonexistent\/node"\) is not an executable file/],
  ]) {
    await cfg.update('nodePath', nodePath, vscode.ConfigurationTarget.Global);
    const bad = await open('startup.ipynb');
    await runCells(bad, 0, 1);
    await waitFor(() => done(bad.cellAt(0)), 60000, `the cell with nodePath ${nodePath}`);
    const errItem = bad
      .cellAt(0)
      .outputs.flatMap((o) => o.items)
      .find((i) => i.mime === 'application/vnd.code.notebook.error');
    assert.ok(errItem, `an error output with nodePath ${nodePath}`);
    const err = JSON.parse(Buffer.from(errItem.data).toString());
    assert.match(err.message, want);
    assert.ok(!err.message.includes('\n') && !err.stack, `one line, no stack: ${JSON.stringify(err)}`);
    assert.equal(ext.exports.controller.stateOf(bad.uri), 'failed');
    assert.match(ext.exports.status.text, /failed to start/, `status bar: ${ext.exports.status.text}`);
    log(`start-up failure ok (${nodePath}): ${err.message}`);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
  await cfg.update('nodePath', undefined, vscode.ConfigurationTarget.Global);

  // 1. interrupt a long generation: the cell switches this kernel to the long-generating LLaMA fixture
  //    (%model long-llama, 16k context, EOS masked) so the interrupt always lands mid-generation, whatever nano does.
  const nb = await open('interrupt.ipynb');
  log('opened', nb.uri.fsPath);
  const long = nb.cellAt(0);
  runCells(nb, 0, 1);
  const items = (c) => c.outputs.flatMap((o) => o.items);
  const text = (i) => Buffer.from(i.data).toString();
  const describe = (c) =>
    items(c)
      .map((i) => `${i.mime}: ${text(i).slice(0, 160)}`)
      .join('\n');
  // the model switch is announced on stdout once the fixture is loaded; streamed text replaces the load's progress
  // in the cell's one status line (an output that may come before the announcement)
  await waitFor(
    () =>
      done(long) ||
      (long.outputs.some((p) => p.items.some((i) => /fixture-llama-long/.test(text(i)))) &&
        long.outputs.some((o) => o.items.some((i) => i.mime === 'text/plain' && !/^loading model/.test(text(i))))),
    180000,
    'streamed output of the long cell',
  );
  assert.ok(!done(long), `the long cell is still generating when we interrupt; outputs:\n${describe(long)}`);
  await sleep(1000);
  const tInt = Date.now();
  await vscode.commands.executeCommand('anygpt.interruptKernel');
  await waitFor(() => done(long), 60000, 'the interrupted cell to end', 20);
  // what the user sees: the cell's end (VS Code applies the queued streamed-output edits first)
  const landed = Date.now() - tInt;
  log(`interrupt: cell ended ${landed} ms after the Interrupt command`);
  assert.ok(landed < 10000, `the interrupted cell ended ${landed} ms after the Interrupt command`);
  assert.equal(long.executionSummary.success, false, `interrupted cell is marked failed; outputs:\n${describe(long)}`);
  const err = items(long).find((i) => i.mime === 'application/vnd.code.notebook.error');
  assert.ok(err && /KeyboardInterrupt/.test(text(err)), `KeyboardInterrupt error output; outputs:\n${describe(long)}`);
  const partial = items(long).find((i) => i.mime === 'application/vnd.anygpt.tokens+json');
  assert.ok(partial, `partial tokens kept; outputs:\n${describe(long)}`);
  const g = JSON.parse(text(partial));
  const generated = g.tokens.length - g.promptLength;
  assert.equal(g.stopReason, 'aborted');
  assert.equal(g.model.name, 'fixture-llama-long');
  assert.ok(generated > 0 && generated < 16000, `${generated} tokens generated before the interrupt`);
  assert.ok(
    items(long).some((i) => i.mime === 'text/plain' && text(i).trim().length > 0),
    'partial streamed text kept',
  );
  log(`interrupt ok: ${generated} tokens kept; order`, long.executionSummary.executionOrder);
  // the status bar follows the kernel: it names the model the %model cell loaded, not the configured one
  await waitFor(() => /fixture-llama-long/.test(ext.exports.status.text), 10000, 'the status bar to name the fixture');

  // 1b. the same kernel keeps serving: %model back to the notebook model, a short generation
  const back = nb.cellAt(1);
  await runCells(nb, 1, 2);
  await waitFor(() => done(back), 120000, 'the cell after the interrupt');
  assert.equal(back.executionSummary.success, true, `cell after the interrupt succeeded; outputs:\n${describe(back)}`);
  const gBack = JSON.parse(text(items(back).find((i) => i.mime === 'application/vnd.anygpt.tokens+json')));
  assert.notEqual(gBack.model.name, 'fixture-llama-long', 'back on the notebook model');
  log(`kernel serves after the interrupt (model ${gBack.model.name})`);
  await waitFor(
    () => ext.exports.status.text.includes(gBack.model.name) && !/fixture/.test(ext.exports.status.text),
    10000,
    `the status bar to name ${gBack.model.name} again (it says ${ext.exports.status.text})`,
  );

  // 2. restart: the kernel comes back and counts from 1 again
  await vscode.commands.executeCommand('anygpt.restartKernel');
  const quick = nb.cellAt(2);
  await runCells(nb, 2, 3);
  await waitFor(() => done(quick), 120000, 'a cell after restart');
  assert.equal(quick.executionSummary.success, true, `cell after restart; outputs:\n${describe(quick)}`);
  assert.equal(quick.executionSummary.executionOrder, 1, 'execution count restarts at 1');
  log('restart ok');
  await nb.save();

  // 3. media cells: %decode image / %decode speech (real codec decodes, independent of the model's quality)
  //    must give a PNG and our audio output; the model cells (t2i, tts) must give a token inspector plus
  //    either their media or a text reply (a weak model may answer in text). Then save, reopen a copy from
  //    disk and compare every output byte for byte.
  const media = await open('roundtrip.ipynb');
  await runCells(media, 0, media.cellCount);
  await waitFor(
    () => media.getCells().every((c) => c.kind !== vscode.NotebookCellKind.Code || done(c)),
    300000,
    'media cells',
  );
  for (const c of media.getCells())
    if (c.kind === vscode.NotebookCellKind.Code)
      assert.equal(c.executionSummary.success, true, `cell ${c.index} succeeded; outputs:\n${describe(c)}`);
  // one kernel per notebook: this second notebook starts its own kernel, counting from [1] whatever interrupt.ipynb ran
  const orders = media
    .getCells()
    .filter((c) => c.kind === vscode.NotebookCellKind.Code)
    .map((c) => c.executionSummary.executionOrder);
  assert.deepEqual(
    orders,
    orders.map((_, k) => k + 1),
    `a second notebook counts from [1] in its own kernel: ${orders}`,
  );
  assert.equal(quick.executionSummary.executionOrder, 1, 'the first notebook keeps its own count');
  log(`per-notebook kernel ok: roundtrip.ipynb counts ${orders}`);
  const mimes = (c) => items(c).map((i) => i.mime);
  const PNG = 'image/png',
    AUDIO = 'application/vnd.anygpt.audio+json',
    TOKENS = 'application/vnd.anygpt.tokens+json';
  const [decImage, decSpeech, t2i, tts] = media.getCells();
  const png = items(decImage).find((i) => i.mime === PNG);
  assert.ok(
    png && Buffer.from(png.data).subarray(1, 4).toString() === 'PNG',
    `%decode image gives a PNG; outputs:\n${describe(decImage)}`,
  );
  const aud = items(decSpeech).find((i) => i.mime === AUDIO);
  assert.ok(aud, `%decode speech gives audio; outputs:\n${describe(decSpeech)}`);
  const audJson = JSON.parse(text(aud));
  assert.equal(Buffer.from(audJson.wav, 'base64').subarray(0, 4).toString(), 'RIFF', 'the audio output holds a WAV');
  for (const [c, kind, mime] of [
    [t2i, 't2i', PNG],
    [tts, 'tts', AUDIO],
  ]) {
    const tok = items(c).find((i) => i.mime === TOKENS);
    assert.ok(tok, `${kind} cell has a token inspector output; outputs:\n${describe(c)}`);
    // a clear text reply: the generation's user-visible text (media spans removed) is not empty and is shown in the cell
    const said = String(JSON.parse(text(tok)).text || '').trim();
    const shown =
      said.length > 0 && items(c).some((i) => i.mime === 'text/plain' && text(i).includes(said.slice(0, 40)));
    assert.ok(mimes(c).includes(mime) || shown, `${kind} cell gives ${mime} or a text reply; outputs:\n${describe(c)}`);
    log(`${kind}: ${mimes(c).includes(mime) ? mime : 'text reply ' + JSON.stringify(said.slice(0, 80))}`);
  }
  await media.save();
  const copy = vscode.Uri.joinPath(media.uri, '..', 'roundtrip-copy.ipynb');
  await vscode.workspace.fs.copy(media.uri, copy, { overwrite: true });
  const again = await vscode.workspace.openNotebookDocument(copy);
  const kept = (i) => /^image\/png$|^text\/plain$|vnd\.anygpt\.(audio|tokens)/.test(i.mime);
  let compared = 0;
  const wanted = new Set();
  media.getCells().forEach((c, k) => {
    const a = items(c).filter(kept);
    const b = items(again.cellAt(k)).filter(kept);
    assert.deepEqual(
      b.map((i) => i.mime),
      a.map((i) => i.mime),
      `cell ${k} keeps its output mimes`,
    );
    a.forEach((item, j) => {
      wanted.add(item.mime);
      if (!item.mime.endsWith('+json'))
        assert.ok(
          Buffer.from(b[j].data).equals(Buffer.from(item.data)),
          `cell ${k} ${item.mime} bytes identical after save + reopen`,
        );
      else {
        // JSON outputs are stored as JSON objects in the .ipynb (re-serialised on load): same value, and the WAV inside byte-exact
        const x = JSON.parse(text(item));
        const y = JSON.parse(text(b[j]));
        assert.deepEqual(y, x, `cell ${k} ${item.mime} payload`);
        if (x.wav) assert.ok(Buffer.from(y.wav, 'base64').equals(Buffer.from(x.wav, 'base64')), `cell ${k} WAV bytes`);
      }
      compared++;
    });
  });
  assert.ok(wanted.has(PNG) && wanted.has(AUDIO) && wanted.has(TOKENS), `media kinds compared: ${[...wanted]}`);
  log(`round trip ok: ${compared} media items identical after save + reopen`);
  // 4. closing a notebook shuts its kernel down: the process exits and the controller forgets it. The notebook is
  //    opened as a user opens it (vscode.openWith, not the API's openNotebookDocument, whose own reference keeps a
  //    document alive for up to 3 minutes after its last editor closes).
  const controller = ext.exports.controller;
  const closeUri = vscode.Uri.joinPath(nb.uri, '..', 'close-me.ipynb');
  await vscode.workspace.fs.copy(nb.uri, closeUri, { overwrite: true });
  await vscode.commands.executeCommand('vscode.openWith', closeUri, 'jupyter-notebook');
  await waitFor(
    () =>
      vscode.window.activeNotebookEditor &&
      vscode.window.activeNotebookEditor.notebook.uri.toString() === closeUri.toString(),
    30000,
    'close-me.ipynb in the editor',
  );
  const closing = vscode.window.activeNotebookEditor.notebook;
  await vscode.commands.executeCommand('notebook.selectKernel', {
    id: 'anygpt-local',
    extension: 'anygpt-notebooks.anygpt-notebooks',
    notebookEditor: vscode.window.activeNotebookEditor,
  });
  await runCells(closing, 2, 3);
  await waitFor(() => done(closing.cellAt(2)), 120000, 'a cell in close-me.ipynb');
  const pid = controller.sessionOf(closeUri) && controller.sessionOf(closeUri).pid;
  assert.ok(pid, 'close-me.ipynb has a running kernel before it is closed');
  const alive = (p) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  assert.ok(alive(pid), `kernel process ${pid} is alive`);
  const tabs = vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputNotebook && t.input.uri.toString() === closeUri.toString());
  assert.equal(tabs.length, 1, 'one tab shows close-me.ipynb');
  await vscode.window.tabGroups.close(tabs, true);
  const tClose = Date.now();
  await waitFor(
    () => closing.isClosed && !alive(pid) && controller.stateOf(closeUri) === 'stopped',
    60000,
    `the kernel of the closed notebook (pid ${pid}) to exit`,
    100,
  );
  assert.ok(
    !controller.runningNotebooks().some((u) => u.toString() === closeUri.toString()),
    'the closed notebook has no running kernel',
  );
  assert.ok(
    controller.sessionOf(media.uri) && controller.sessionOf(media.uri).pid,
    'the other notebooks keep their kernels',
  );
  log(`close ok: kernel ${pid} of the closed notebook exited ${Date.now() - tClose} ms after its tab closed`);

  // 5. kernel ports stay out of VS Code's port detection: a remote.portsAttributes default (package.json
  //    configurationDefaults) matches the running kernel's command line and says onAutoForward "ignore"
  const kpid = controller.sessionOf(media.uri).pid;
  // matched as VS Code's port finder reads it: /proc/PID/cmdline as is, arguments separated by NUL
  const cmdline = require('node:fs').readFileSync(`/proc/${kpid}/cmdline`, 'utf8');
  const attrs = vscode.workspace.getConfiguration('remote').get('portsAttributes') || {};
  const ignoring = Object.entries(attrs).filter(
    ([k, v]) => !/^\d/.test(k) && new RegExp(k).test(cmdline) && v && v.onAutoForward === 'ignore',
  );
  assert.equal(ignoring.length, 1, `one portsAttributes entry ignores ${cmdline}: ${JSON.stringify(attrs)}`);
  log(`ports ok: ${JSON.stringify(ignoring[0][0])} ignores the kernel's ports (${cmdline.split('\0').join(' ')})`);

  // show the media notebook and hold still while the driver takes its screenshot (test/e2e/exthost.js);
  // after run() returns the extension host shuts down and the notebook loses its kernel
  await vscode.window.showNotebookDocument(media);
  await vscode.commands.executeCommand('notebook.focusTop');
  await sleep(1500);
  log('screenshot now');
  await sleep(3000);
};
