// Runs test/e2e/suite.js inside code-server's extension host (extensionDevelopmentPath + extensionTestsPath)
// and passes its result back through window.codeAutomationExit. Env: CS_URL, WS_DIR, EXT_DIR, SHOTS.
'use strict';
const { join } = require('node:path');
const { openWorkbench } = require('./workbench');

(async () => {
  const { browser, page, url } = await openWorkbench({
    extDir: process.env.EXT_DIR,
    tests: join(__dirname, 'suite.js'),
  });
  const done = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
  const shot = join(process.env.SHOTS || 'test-output/e2e', 'vscode-exthost.png');
  let shots = Promise.resolve();
  page.on('console', (m) => {
    if (/anygpt-e2e|AssertionError|Error:/.test(m.text())) console.log('[host]', m.text().slice(0, 500));
    // the suite holds still after this line, with its notebook and kernel still live
    if (/\[anygpt-e2e\] screenshot now/.test(m.text()))
      shots = page.screenshot({ path: shot }).then(
        () => {},
        () => {},
      );
  });
  await page.goto(url);
  const code = await Promise.race([done, new Promise((r) => setTimeout(() => r('timeout'), 9 * 60000))]);
  await shots;
  if (code !== 0) await page.screenshot({ path: shot }).catch(() => {});
  await browser.close();
  console.log(`ext-host suite exit code: ${code}`);
  console.log(code === 0 ? 'E2E EXT-HOST PASS' : 'E2E EXT-HOST FAIL');
  process.exit(code === 0 ? 0 : 1);
})();
