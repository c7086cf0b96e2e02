// The built .vsix as a user gets it: test/e2e/run.sh installs it into a fresh code-server (its own extensions and
// user-data folders, no extensionDevelopmentPath, an empty workspace). Here, as a user would: AnyGPT: Open Samples,
// pick chat.ipynb, Run All; every cell must succeed and the token inspector must render. Env: CS_URL, WS_DIR, SHOTS.
'use strict';
const { existsSync, readdirSync, readFileSync } = require('node:fs');
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
    // every code cell ran: save now and then, and read the notebook from disk (cells off screen are not in the DOM)
    const file = join(copied, 'chat.ipynb');
    const state = () => {
      const cells = JSON.parse(readFileSync(file, 'utf8')).cells.filter((c) => c.cell_type === 'code');
      return {
        total: cells.length,
        ran: cells.filter((c) => typeof c.execution_count === 'number').length,
        errors: cells.flatMap((c) =>
          c.outputs.filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`),
        ),
      };
    };
    let st = state();
    for (const end = Date.now() + 300000; Date.now() < end;) {
      await page.waitForTimeout(5000);
      await page.keyboard.press('Control+S');
      await page.waitForTimeout(1000);
      st = state();
      const busy = await page
        .locator('.notebook-editor .codicon-notebook-state-executing, .notebook-editor .codicon-notebook-state-pending')
        .count();
      if (st.ran === st.total && !busy) break;
    }
    log(`${st.ran} of ${st.total} code cells ran; errors: ${JSON.stringify(st.errors)}`);
    if (st.ran !== st.total) throw new Error(`only ${st.ran} of ${st.total} sample cells ran`);
    if (st.errors.length) throw new Error(`sample cells failed: ${st.errors.join('; ')}`);
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
