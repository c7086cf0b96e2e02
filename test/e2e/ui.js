// UI scenario in a real VS Code (code-server): open e2e.ipynb (test/e2e/notebooks.js), Run All, check an
// image output (the %decode image cell always gives one), the audio renderer and the token inspector inside
// the output webviews; screenshots into SHOTS, including vscode-notebook.png for the README.
// Env: CS_URL, WS_DIR, EXT_DIR, SHOTS (folder), NB_FILE.
'use strict';
const { existsSync, mkdirSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { openWorkbench, waitInFrames, runCommand, quickOpen } = require('./workbench');

const SHOTS = process.env.SHOTS || 'test-output/e2e';
const t0 = Date.now();
const log = (...a) => console.log(`[ui ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

/**
 * Paste an image from the clipboard into the last prompt cell (the browser's paste event with a PNG file, as a
 * screenshot copied to the clipboard gives it): the PNG must land in media/ under a new name, the cell must
 * link that file, and one undo must remove both the link and the file.
 */
async function pasteImage(page, problems) {
  const ws = process.env.WS_DIR;
  const before = new Set(existsSync(join(ws, 'media')) ? readdirSync(join(ws, 'media')) : []);
  const png = readFileSync(join(ws, 'media', 'shapes.png')).toString('base64');
  const editors = page.locator('.notebook-editor .code-cell-row .monaco-editor .view-lines');
  const last = editors.last();
  await last.scrollIntoViewIfNeeded();
  await last.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new window.DataTransfer();
    dt.items.add(new window.File([bytes], 'image.png', { type: 'image/png' }));
    const ev = new window.ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.activeElement.dispatchEvent(ev);
  }, png);
  const added = () =>
    (existsSync(join(ws, 'media')) ? readdirSync(join(ws, 'media')) : []).filter((f) => !before.has(f));
  const end = Date.now() + 15000;
  while (!added().length && Date.now() < end) await page.waitForTimeout(250);
  const text = (await last.textContent()).replace(/\u00a0/g, ' ');
  const files = added();
  log('paste: new files', files, 'cell text', JSON.stringify(text.slice(-80)));
  if (files.length !== 1 || !/^image(-\d+)?\.png$/.test(files[0])) {
    problems.push(`paste: expected one new media/image*.png, got ${JSON.stringify(files)}`);
    return;
  }
  if (!text.includes(`![image](media/${files[0]})`))
    problems.push(`paste: the cell does not link media/${files[0]}: ${JSON.stringify(text.slice(-120))}`);
  if (!readFileSync(join(ws, 'media', files[0])).equals(Buffer.from(png, 'base64')))
    problems.push('paste: the written file differs from the pasted bytes');
  await page.screenshot({ path: join(SHOTS, 'vscode-paste.png') });
  // undo: the workspace edit that created the file is undone with the text (VS Code may ask to confirm a multi-file undo)
  await page.keyboard.press('Control+Z');
  const confirm = page.locator('.monaco-dialog-box .monaco-button', { hasText: /Undo/ }).first();
  if (await confirm.isVisible({ timeout: 1500 }).catch(() => false)) await confirm.click();
  const gone = Date.now() + 10000;
  while (existsSync(join(ws, 'media', files[0])) && Date.now() < gone) await page.waitForTimeout(250);
  const after = (await last.textContent()).replace(/\u00a0/g, ' ');
  if (existsSync(join(ws, 'media', files[0]))) problems.push(`paste: undo left media/${files[0]} on disk`);
  if (after.includes(`media/${files[0]}`)) problems.push('paste: undo left the link in the cell');
  else log('paste: undo removed the link and the file');
}

(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const { browser, page, errors, url } = await openWorkbench({ extDir: process.env.EXT_DIR });
  let ok = false;
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60000 });
    log('workbench ready');
    await quickOpen(page, process.env.NB_FILE || 'e2e.ipynb');
    await page.locator('.notebook-editor .cell-list-container .code-cell-row').first().waitFor({ timeout: 60000 });
    log('notebook open');
    await page.waitForTimeout(1500);
    const kernel = await page
      .locator('.notebook-editor .kernel-label, .kernel-action-view-item')
      .first()
      .textContent({ timeout: 5000 })
      .catch(() => '');
    log('kernel label', JSON.stringify(kernel));
    if (!/AnyGPT/.test(kernel || ''))
      throw new Error(`our controller is not preferred: kernel label ${JSON.stringify(kernel)}`);

    // toolbar: Restart and Interrupt are there before any kernel has started
    const problems = [];
    const controls = () =>
      page.$$eval('.notebook-toolbar-container .action-label, .editor-actions .action-label', (els) =>
        els.filter((e) => e.offsetParent).map((e) => e.getAttribute('aria-label') || e.title || ''),
      );
    const before = await controls();
    log('toolbar before a kernel starts', before);
    for (const want of [/Restart Kernel/, /Interrupt Kernel/])
      if (!before.some((l) => want.test(l))) problems.push(`toolbar before a kernel starts: no ${want} in ${before}`);

    await runCommand(page, 'Notebook: Run All');
    log('Run All');
    // one stop control while cells run (VS Code's Interrupt; ours steps aside)
    await page
      .locator('.notebook-editor .codicon-notebook-state-executing')
      .first()
      .waitFor({ timeout: 60000 })
      .then(
        async () => {
          const during = await controls();
          const stops = during.filter((l) => /Interrupt|Stop Execution/.test(l));
          log('toolbar while running', during);
          if (stops.length !== 1) problems.push(`one stop control while cells run, not ${JSON.stringify(stops)}`);
        },
        () => problems.push('no cell was seen executing after Run All'),
      );
    // Check every kind of output and report all that are missing (one failure should not hide another).
    const settle = Date.now() + 240000;
    const left = () => Math.max(1000, settle - Date.now());
    const chips = await waitInFrames(page, '.insp .chip', left(), undefined, true).catch((e) => {
      problems.push(e.message);
      return null;
    });
    if (chips)
      log('token inspector counts', await chips.frame.$$eval('.insp .head .count', (n) => n.map((x) => x.textContent)));
    const audio = await waitInFrames(page, '.aud canvas.wave', left(), undefined, true).catch((e) => {
      problems.push(e.message);
      return null;
    });
    if (audio) log('audio renderer', await audio.frame.$$eval('.aud .fact', (n) => n.map((x) => x.textContent)));
    // an image output (the %decode image cell always gives one), not a thumbnail inside the token inspector
    const img = await waitInFrames(
      page,
      'img',
      left(),
      (e) => e.naturalWidth > 0 && e.complete && !e.closest('.insp'),
    ).catch((e) => {
      problems.push(`image output: ${e.message}`);
      return null;
    });
    if (img) log('image output', await img.handle.evaluate((e) => [e.naturalWidth, e.naturalHeight]));
    // wait until every cell finished (no spinning status), then let renderers settle
    await page
      .waitForFunction(
        () =>
          !document.querySelector(
            '.notebook-editor .codicon-notebook-state-executing, .notebook-editor .codicon-notebook-state-pending',
          ),
        null,
        { timeout: 20000 },
      )
      .catch(() => log('cells still running at screenshot time'));
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(SHOTS, 'vscode-audio-and-tokens.png') });
    // the kernel's ZeroMQ ports are not forwarded (the Ports status item counts forwarded ports)
    const ports = await page
      .$$eval('.statusbar-item', (els) =>
        els
          .map((e) => `${e.getAttribute('aria-label') || ''} ${e.textContent || ''}`)
          .filter((t) => /forwarded port|ports/i.test(t)),
      )
      .catch(() => []);
    log('ports status', ports);
    if (ports.some((t) => /\b[1-9]\d*\b/.test(t.replace(/\bports?\b/gi, ''))))
      problems.push(`kernel ports are forwarded: ${JSON.stringify(ports)}`);
    // Scroll the notebook (wheel over the cell list) until an element in an output webview is on screen.
    const bringIntoView = async (sel, accept, top = 150) => {
      const hit = await waitInFrames(page, sel, 20000, accept, true).catch(() => null);
      for (let i = 0; hit && i < 60; i++) {
        const b = await hit.handle.boundingBox().catch(() => null);
        const bottom = (page.viewportSize() || { height: 1000 }).height - 100;
        if (b && b.y > top && b.y + b.height < bottom) return hit;
        const list = await page.locator('.notebook-editor .cell-list-container').first().boundingBox();
        await page.mouse.move(list.x + list.width / 2, list.y + list.height / 2);
        await page.mouse.wheel(0, b && b.y < top ? -200 : 200);
        await page.waitForTimeout(250);
      }
      return null;
    };
    // hover a generated text token (the chat turn) for the details pane: ids, log-probs, top-5 alternatives
    const gen = await bringIntoView('.insp .chip.gen.m-text');
    if (gen)
      await gen.handle.hover({ timeout: 3000 }).then(
        () => page.waitForTimeout(500),
        () => log('hover skipped (chip not visible)'),
      );
    else log('no generated text chip on screen for the hover shot');
    await page.screenshot({ path: join(SHOTS, 'vscode-token-inspector.png') });
    // the audio player of the tts cell
    if (audio && (await bringIntoView('.aud canvas.wave'))) await page.waitForTimeout(600);
    await page.screenshot({ path: join(SHOTS, 'vscode-audio.png') });
    // back to the top for the overview shot
    await runCommand(page, 'Notebook: Focus First Cell');
    await page.waitForTimeout(1200);
    await page.screenshot({ path: join(SHOTS, 'vscode-run-all.png') });
    // README shot (copied by hand to extension/images/vscode-notebook.png): no side bar, a taller window,
    // so the t2i cell (image + token inspector) and the tts cell's audio player are on screen together
    await runCommand(page, 'View: Toggle Primary Side Bar Visibility');
    await page.setViewportSize({ width: 1400, height: 1600 });
    await page.waitForTimeout(800);
    await runCommand(page, 'Notebook: Focus First Cell');
    await page.waitForTimeout(1500);
    // hover the first generated text token on screen (its top-5 alternatives fill the details pane)
    await page.mouse.move(5, 1590);
    let hovered = false;
    for (const f of page.frames()) {
      if (hovered || f === page.mainFrame()) continue;
      for (const h of await f.$$('.insp .chip.gen.m-text').catch(() => [])) {
        const b = await h.boundingBox().catch(() => null);
        if (b && b.y > 120 && b.y + b.height < 1500) {
          await h.hover({ timeout: 3000 }).then(
            () => (hovered = true),
            () => {},
          );
          break;
        }
      }
    }
    await page.waitForTimeout(hovered ? 500 : 0);
    await page.screenshot({ path: join(SHOTS, 'vscode-notebook.png') });
    await pasteImage(page, problems);
    if (problems.length) throw new Error(problems.join('; '));
    ok = true;
  } catch (e) {
    log('FAILED:', e.message);
    await page.screenshot({ path: join(SHOTS, 'vscode-fail.png') }).catch(() => {});
  } finally {
    if (errors.length) log('page errors:\n  ' + errors.slice(0, 10).join('\n  '));
    await browser.close();
  }
  log(ok ? 'E2E UI PASS' : 'E2E UI FAIL');
  process.exit(ok ? 0 : 1);
})();
