// UI scenario in a real VS Code (code-server): open a sample-based notebook, Run All, check the image
// output, the audio renderer and the token inspector inside the output webviews, screenshots.
// Env: CS_URL, WS_DIR, EXT_DIR, SHOTS (folder), NB_FILE.
'use strict';
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { openWorkbench, waitInFrames, runCommand, quickOpen } = require('./workbench');

const SHOTS = process.env.SHOTS || 'test-output/e2e';
const t0 = Date.now();
const log = (...a) => console.log(`[ui ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

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
    const kernel = await page.locator('.notebook-editor .kernel-label, .kernel-action-view-item').first().textContent({ timeout: 5000 }).catch(() => '');
    log('kernel label', JSON.stringify(kernel));
    if (!/AnyGPT/.test(kernel || '')) throw new Error(`our controller is not preferred: kernel label ${JSON.stringify(kernel)}`);

    await runCommand(page, 'Notebook: Run All');
    log('Run All');
    const img = await waitInFrames(page, 'img', 240000, (e) => e.naturalWidth > 0 && e.complete);
    const imgSize = await img.handle.evaluate((e) => [e.naturalWidth, e.naturalHeight]);
    log('image output', imgSize);
    if (!(imgSize[0] > 0)) throw new Error('image output has no pixels');
    const audio = await waitInFrames(page, '.aud canvas.wave', 240000, undefined, true);
    const audioFacts = await audio.frame.$$eval('.aud .fact', (n) => n.map((x) => x.textContent));
    log('audio renderer', audioFacts);
    const chips = await waitInFrames(page, '.insp .chip', 240000, undefined, true);
    const head = await chips.frame.$$eval('.insp .head .count', (n) => n.map((x) => x.textContent));
    log('token inspector counts', head);
    if (!head.length) throw new Error('token inspector header has no counts');
    // wait until every cell finished (no spinning status), then let renderers settle
    await page.waitForFunction(() => !document.querySelector('.notebook-editor .codicon-notebook-state-executing, .notebook-editor .codicon-notebook-state-pending'), null, { timeout: 60000 }).catch(() => log('cells still running at screenshot time'));
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(SHOTS, 'vscode-audio-and-tokens.png') });
    // hover a generated token chip for the details pane, then scroll the token inspector into view
    const gen = await chips.frame.$('.insp .chip.gen');
    if (gen) { await gen.scrollIntoViewIfNeeded(); await gen.hover(); await page.waitForTimeout(400); }
    await page.screenshot({ path: join(SHOTS, 'vscode-token-inspector.png') });
    // bring the audio player into view (wheel over the notebook until its canvas is on screen)
    for (let i = 0; i < 40; i++) {
      const b = await audio.handle.boundingBox().catch(() => null);
      if (b && b.y > 150 && b.y + b.height < 900) break;
      const list = await page.locator('.notebook-editor .cell-list-container').first().boundingBox();
      await page.mouse.move(list.x + list.width / 2, list.y + list.height / 2);
      await page.mouse.wheel(0, b && b.y < 150 ? -200 : 200);
      await page.waitForTimeout(250);
    }
    await page.waitForTimeout(600);
    await page.screenshot({ path: join(SHOTS, 'vscode-audio.png') });
    // back to the top for the overview shot
    await runCommand(page, 'Notebook: Focus First Cell');
    await page.waitForTimeout(1200);
    await page.screenshot({ path: join(SHOTS, 'vscode-run-all.png') });
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
