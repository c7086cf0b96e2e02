// The token inspector in a real VS Code (code-server), issue 24 items 2, 3, 6 and 7: open inspector.ipynb
// (test/e2e/notebooks.js), Run All, then
//   - keys: type in the inspector's search box, press Enter, Tab through the whole inspector and use the token list by
//     keyboard; focus must stay in the output and, after saving, every cell's source must be what it was;
//   - axe-core (injected into the output webview frame) finds no serious or critical violation;
//   - a long one-line error (a missing file with a long path) wraps instead of running past the output's edge;
//   - a screenshot (test-output/e2e/inspector-*.png). Switching the colour theme from here did not take effect yet;
//     the per-theme contrast checks and screenshots are in test/media/contrast.test.ts.
// Env: CS_URL, WS_DIR, EXT_DIR, SHOTS, NB_FILE (default inspector.ipynb).
'use strict';
const { mkdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { openWorkbench, waitInFrames, runCommand, quickOpen } = require('./workbench');

const SHOTS = process.env.SHOTS || 'test-output/e2e';
const NB = process.env.NB_FILE || 'inspector.ipynb';
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const t0 = Date.now();
const log = (...a) => console.log(`[inspector ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

const sources = (file) => JSON.parse(readFileSync(file, 'utf8')).cells.map((c) => [].concat(c.source).join(''));
/** Every cell's source as its editor shows it (what a leaking key would have changed). */
const editorTexts = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('.notebook-editor .cell-list-container .monaco-list-row')].map((row) =>
      [...row.querySelectorAll('.monaco-editor .view-lines .view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map((l) => l.textContent.replace(/\u00a0/g, ' '))
        .join('\n'),
    ),
  );

/** Serious and critical axe-core violations inside our outputs (their shadow roots) in `frame`. */
async function axeIn(frame) {
  await frame.evaluate(AXE + '\n;0');
  return frame.evaluate(async () => {
    const hosts = [...document.querySelectorAll('*')].filter(
      (e) => e.shadowRoot && e.shadowRoot.querySelector('.insp, .aud'),
    );
    const out = [];
    for (const h of hosts) {
      const r = await window.axe.run(h, { resultTypes: ['violations'] });
      for (const v of r.violations)
        if (v.impact === 'serious' || v.impact === 'critical')
          out.push(`${v.impact} ${v.id}: ${v.help} ${JSON.stringify(v.nodes.slice(0, 3).map((n) => n.target))}`);
    }
    return { hosts: hosts.length, violations: out };
  });
}

(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(process.env.WS_DIR, NB);
  const before = sources(file);
  const { browser, page, errors, url } = await openWorkbench({ extDir: process.env.EXT_DIR });
  let ok = false;
  const problems = [];
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 120000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90000 });
    // a loaded machine can be slow to list files in Quick Open: try again
    for (let i = 0; ; i++) {
      try {
        await quickOpen(page, NB);
        await page.locator('.notebook-editor .cell-list-container .code-cell-row').first().waitFor({ timeout: 60000 });
        break;
      } catch (e) {
        if (i === 2) throw e;
        log('retrying Quick Open:', e.message);
        await page.keyboard.press('Escape');
      }
    }
    await page.waitForTimeout(1500);
    await runCommand(page, 'Notebook: Run All');
    log('Run All');
    await page
      .waitForFunction(
        () =>
          !document.querySelector(
            '.notebook-editor .codicon-notebook-state-executing, .notebook-editor .codicon-notebook-state-pending',
          ),
        null,
        { timeout: 240000, polling: 500 },
      )
      .catch(() => log('cells still running after 240 s'));
    await runCommand(page, 'Notebook: Focus First Cell');
    await page.waitForTimeout(1000);
    const insp = await waitInFrames(page, '.insp .chip', 60000, undefined, true);
    const frame = insp.frame;
    const host = await frame.evaluateHandle(() =>
      [...document.querySelectorAll('*')].find((e) => e.shadowRoot && e.shadowRoot.querySelector('.insp')),
    );
    const root = (sel) => host.evaluateHandle((h, s) => h.shadowRoot.querySelector(s), sel);
    log('inspector found');

    // --- item 7: the long file-not-found message wraps inside the output
    await runCommand(page, 'Notebook: Focus Last Cell');
    let wrap = null;
    for (let i = 0; i < 40 && !wrap; i++) {
      await page.waitForTimeout(500);
      for (const f of page.frames()) {
        if (wrap || f === page.mainFrame()) continue;
        wrap = await f
          .evaluate(() => {
            // the innermost element holding the whole message (the error renderer may make the path a link)
            const re = /not found: .*missing-picture/s;
            const el = [...document.querySelectorAll('div, pre, span')].find(
              (e) => re.test(e.textContent || '') && ![...e.children].some((c) => re.test(c.textContent || '')),
            );
            if (!el) return null;
            let block = el;
            while (block.parentElement && block.ownerDocument.defaultView.getComputedStyle(block).display === 'inline')
              block = block.parentElement;
            const box = el.closest('.output_container') || el.parentElement;
            return {
              ws: el.ownerDocument.defaultView.getComputedStyle(el).whiteSpace,
              scroll: block.scrollWidth,
              client: block.clientWidth,
              box: box.clientWidth,
            };
          })
          .catch(() => null);
      }
    }
    log('long error', JSON.stringify(wrap));
    if (!wrap) problems.push('no file-not-found error output found');
    else if (wrap.ws === 'pre' || wrap.client === 0 || wrap.scroll > wrap.client + 2)
      problems.push(`the long error does not wrap: ${JSON.stringify(wrap)}`);

    // --- item 2: keys stay in the inspector
    await runCommand(page, 'Notebook: Focus First Cell');
    await page.waitForTimeout(1000);
    const editorsBefore = await editorTexts(page);
    log('cell editors before the tour', JSON.stringify(editorsBefore), 'file', JSON.stringify(before));
    const search = await root('input.search');
    await search.asElement().click();
    await page.keyboard.type('hello');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Shift+Enter');
    for (let i = 0; i < 14; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    // into the token list and along it (item 3)
    await search.asElement().focus();
    let role = null;
    for (let i = 0; i < 12 && role !== 'option'; i++) {
      await page.keyboard.press('Tab');
      role = await host.evaluate((h) => h.shadowRoot.activeElement && h.shadowRoot.activeElement.getAttribute('role'));
    }
    if (role !== 'option') problems.push('Tab does not reach the token list');
    // (no trailing Esc: with nothing to release it leaves the output by intent, which is not what this checks)
    for (const k of [
      'ArrowRight',
      'ArrowRight',
      'ArrowDown',
      'Enter',
      'ArrowRight',
      'Escape',
      'End',
      'Home',
      ' ',
      'Enter',
    ])
      await page.keyboard.press(k);
    for (let i = 0; i < 10; i++) await page.keyboard.press('Tab');
    await page.keyboard.type('abc\tdef');
    const where = await page.evaluate(() => {
      const a = document.activeElement;
      return a ? `${a.tagName.toLowerCase()}.${a.className}` : 'none';
    });
    const inside = await host.evaluate((h) => !!h.shadowRoot.activeElement);
    log('focus after the keyboard tour:', where, 'inside the inspector:', inside);
    if (!/^iframe/.test(where) || !inside) problems.push(`focus left the inspector: ${where}`);
    await page.screenshot({ path: join(SHOTS, 'inspector-keyboard.png') });
    // every cell's source, as its editor shows it, is what it was (and as many cells as the file has)
    const after = await editorTexts(page);
    // (the notebook renders only the cells near the viewport, in file order: compare those both saw, at least the
    // inspector's cell and the one after it, whose editor a leaking Tab would enter)
    const n = Math.min(after.length, editorsBefore.length);
    const same = (xs) => JSON.stringify(xs.slice(0, n)) === JSON.stringify(before.slice(0, n));
    if (n < 2 || !same(after) || !same(editorsBefore))
      problems.push(`cell sources changed:\nbefore ${JSON.stringify(editorsBefore)}\nafter  ${JSON.stringify(after)}`);
    else log(`all ${after.length} cell sources unchanged after the keyboard tour`);

    // --- item 3: axe-core in the output webview (the workbench's theme; test/media/contrast.test.ts covers the others)
    const ax = await axeIn(frame);
    log(`axe over ${ax.hosts} output(s): ${ax.violations.length} serious/critical`);
    problems.push(...ax.violations);
    await page.screenshot({ path: join(SHOTS, 'inspector-dark-modern.png') });
    if (problems.length) throw new Error(problems.join('\n'));
    ok = true;
  } catch (e) {
    log('FAILED:', e.message);
    await page.screenshot({ path: join(SHOTS, 'inspector-fail.png') }).catch(() => {});
  } finally {
    if (errors.length) log('page errors:\n  ' + errors.slice(0, 10).join('\n  '));
    await browser.close();
  }
  log(ok ? 'E2E INSPECTOR PASS' : 'E2E INSPECTOR FAIL');
  process.exit(ok ? 0 : 1);
})();
