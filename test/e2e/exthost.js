// Runs test/e2e/suite.js inside code-server's extension host (extensionDevelopmentPath + extensionTestsPath)
// and passes its result back through window.codeAutomationExit. Env: CS_URL, WS_DIR, EXT_DIR, SHOTS.
'use strict';
const { join } = require('node:path');
const { openWorkbench } = require('./workbench');

(async () => {
  const { browser, page, url } = await openWorkbench({ extDir: process.env.EXT_DIR, tests: join(__dirname, 'suite.js') });
  const done = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
  page.on('console', (m) => { if (/anygpt-e2e|AssertionError|Error:/.test(m.text())) console.log('[host]', m.text().slice(0, 500)); });
  await page.goto(url);
  const code = await Promise.race([done, new Promise((r) => setTimeout(() => r('timeout'), 9 * 60000))]);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(process.env.SHOTS || 'test-output/e2e', 'vscode-exthost.png') }).catch(() => {});
  await browser.close();
  console.log(`ext-host suite exit code: ${code}`);
  console.log(code === 0 ? 'E2E EXT-HOST PASS' : 'E2E EXT-HOST FAIL');
  process.exit(code === 0 ? 0 : 1);
})();
