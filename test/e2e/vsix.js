// The built .vsix as a user gets it: test/e2e/run.sh installs it into a fresh code-server (its own extensions and
// user-data folders, no extensionDevelopmentPath, an empty workspace). Here, as a user would: AnyGPT: Open Samples,
// pick chat.ipynb, Run All; every cell must succeed and the token inspector must render. Env: CS_URL, WS_DIR, SHOTS.
'use strict';
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const { openWorkbench, waitInFrames, runCommand } = require('./workbench');

const SHOTS = process.env.SHOTS || 'test-output/e2e';
const t0 = Date.now();
const log = (...a) => console.log(`[vsix ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

(async () => {
  const { browser, page, errors, url } = await openWorkbench({});
  let ok = false;
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    log('workbench ready');
    const input = page.locator('.quick-input-widget input').first();
    // the command appears once the installed extension has registered its contributions
    for (let i = 0; ; i++) {
      await runCommand(page, 'AnyGPT: Open Samples');
      if (
        await page
          .locator('.quick-input-list .monaco-list-row', { hasText: 'chat.ipynb' })
          .first()
          .waitFor({ state: 'visible', timeout: 10000 })
          .then(
            () => true,
            () => false,
          )
      )
        break;
      if (i >= 5) throw new Error('AnyGPT: Open Samples did not offer chat.ipynb');
      await page.keyboard.press('Escape');
    }
    await input.fill('chat.ipynb');
    await page.waitForTimeout(500);
    await page.keyboard.press('Enter');
    await page.locator('.notebook-editor .cell-list-container .code-cell-row').first().waitFor({ timeout: 60000 });
    const copied = join(process.env.WS_DIR, 'anygpt-samples');
    log('opened the sample; copied', existsSync(copied) ? readdirSync(copied) : 'nothing');
    if (!existsSync(join(copied, 'media', 'shapes.png'))) throw new Error('Open Samples did not copy media/shapes.png');
    await page.waitForTimeout(1500);
    await runCommand(page, 'Notebook: Run All');
    log('Run All');
    const cells = page.locator('.notebook-editor .code-cell-row');
    const codeCells = await cells.count();
    await page.waitForFunction(
      (n) =>
        document.querySelectorAll(
          '.notebook-editor .codicon-notebook-state-success, .notebook-editor .codicon-notebook-state-error',
        ).length >= n &&
        !document.querySelector(
          '.notebook-editor .codicon-notebook-state-executing, .notebook-editor .codicon-notebook-state-pending',
        ),
      codeCells,
      { timeout: 300000 },
    );
    const failed = await page.locator('.notebook-editor .codicon-notebook-state-error').count();
    log(`${codeCells} code cells ran, ${failed} failed`);
    if (failed) throw new Error(`${failed} of ${codeCells} sample cells failed`);
    await waitInFrames(page, '.insp .chip', 60000, undefined, true);
    log('token inspector rendered');
    await page.screenshot({ path: join(SHOTS, 'vscode-vsix-sample.png') });
    ok = true;
  } catch (e) {
    log('FAILED:', e.message);
    await page.screenshot({ path: join(SHOTS, 'vscode-vsix-fail.png') }).catch(() => {});
  } finally {
    if (errors.length) log('page errors:\n  ' + errors.slice(0, 10).join('\n  '));
    await browser.close();
  }
  log(ok ? 'E2E VSIX PASS' : 'E2E VSIX FAIL');
  process.exit(ok ? 0 : 1);
})();
