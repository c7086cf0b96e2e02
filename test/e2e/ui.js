// UI scenario in a real VS Code (code-server): open e2e.ipynb (test/e2e/notebooks.js), Run All, check an
// image output (the %decode image cell always gives one), the audio renderer and the token inspector inside
// the output webviews; screenshots into SHOTS, including vscode-notebook.png for the README.
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
    const kernel = await page
      .locator('.notebook-editor .kernel-label, .kernel-action-view-item')
      .first()
      .textContent({ timeout: 5000 })
      .catch(() => '');
    log('kernel label', JSON.stringify(kernel));
    if (!/AnyGPT/.test(kernel || ''))
      throw new Error(`our controller is not preferred: kernel label ${JSON.stringify(kernel)}`);

    await runCommand(page, 'Notebook: Run All');
    log('Run All');
    // Check every kind of output and report all that are missing (one failure should not hide another).
    const problems = [];
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
