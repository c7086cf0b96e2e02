// Optional: the same in-extension-host suite (test/e2e/suite.js) in desktop VS Code through
// @vscode/test-electron. It downloads VS Code at run time, so it works only on machines that can reach
// the VS Code update service (not in this project's CI, which uses code-server: `npm run test:e2e`).
// Set VSCODE_EXECUTABLE to use an installed VS Code instead of a download.
'use strict';
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { execFileSync } = require('node:child_process');

(async () => {
  const { runTests } = require('@vscode/test-electron');
  const root = resolve(__dirname, '..', '..');
  const ws = mkdtempSync(join(tmpdir(), 'anygpt-desktop-'));
  const model = resolve(process.env.ANYGPT_MODEL || join(root, 'models', 'anygpt-nano'));
  execFileSync(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'notebooks.js'), join(root, 'samples'), ws, model],
    { stdio: 'inherit', cwd: root },
  );
  const code = await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: join(__dirname, 'suite.js'),
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE,
    launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust'],
  }).catch((e) => {
    console.error(`test:desktop: ${e.message}`);
    return 1;
  });
  process.exit(code);
})();
