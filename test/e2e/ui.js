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
    // Check every kind of output and report all that are missing (one failure should not hide another).
    const problems = [];
    const settle = Date.now() + 240000;
    const left = () => Math.max(1000, settle - Date.now());
    const chips = await waitInFrames(page, '.insp .chip', left(), undefined, true).catch((e) => { problems.push(e.message); return null; });
    if (chips) log('token inspector counts', await chips.frame.$$eval('.insp .head .count', (n) => n.map((x) => x.textContent)));
    const audio = await waitInFrames(page, '.aud canvas.wave', left(), undefined, true).catch((e) => { problems.push(e.message); return null; });
    if (audio) log('audio renderer', await audio.frame.$$eval('.aud .fact', (n) => n.map((x) => x.textContent)));
    // an image output (the %decode image cell always gives one), not a thumbnail inside the token inspector
    const img = await waitInFrames(page, 'img', left(), (e) => e.naturalWidth > 0 && e.complete && !e.closest('.insp')).catch((e) => { problems.push(`image output: ${e.message}`); return null; });
    if (img) log('image output', await img.handle.evaluate((e) => [e.naturalWidth, e.naturalHeight]));
    // wait until every cell finished (no spinning status), then let renderers settle
    await page.waitForFunction(() => !document.querySelector('.notebook-editor .codicon-notebook-state-executing, .notebook-editor .codicon-notebook-state-pending'), null, { timeout: 20000 }).catch(() => log('cells still running at screenshot time'));
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(SHOTS, 'vscode-audio-and-tokens.png') });
    // hover a generated token chip for the details pane, then scroll the token inspector into view
    // re-query: the notebook may have re-rendered the output webview while we waited
    const gen = await waitInFrames(page, '.insp .chip.gen', 20000).catch(() => null);
    if (gen) await gen.handle.hover({ timeout: 3000 }).then(() => page.waitForTimeout(400), () => log('hover skipped (chip not visible)'));
    await page.screenshot({ path: join(SHOTS, 'vscode-token-inspector.png') });
    // bring the audio player into view (wheel over the notebook until its canvas is on screen)
    const wave = audio && (await waitInFrames(page, '.aud canvas.wave', 20000, undefined, true).catch(() => null));
    for (let i = 0; wave && i < 40; i++) {
      const b = await wave.handle.boundingBox().catch(() => null);
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
