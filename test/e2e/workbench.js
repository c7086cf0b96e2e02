// Shared Playwright helpers for driving code-server (a real VS Code workbench) with Debian chromium.
'use strict';
const { chromium } = require('playwright-core');

const CS_URL = process.env.CS_URL || 'http://127.0.0.1:18090';

function remote(p) {
  return `vscode-remote://${new URL(CS_URL).host}${p}`;
}

/** Open the workbench on WS_DIR with our extension loaded from its folder (no VSIX), optionally with an in-host test suite. */
async function openWorkbench({ extDir, tests, width = 1500, height = 1000 } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = await browser.newPage({ viewport: { width, height } });
  const errors = [];
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  const payload = [];
  if (extDir) payload.push(['extensionDevelopmentPath', remote(extDir)]);
  if (tests) payload.push(['extensionTestsPath', remote(tests)]);
  const url = `${CS_URL}/?folder=${encodeURIComponent(process.env.WS_DIR)}${payload.length ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
  return { browser, page, errors, url };
}

async function findInFrames(page, selector) {
  for (const f of page.frames()) {
    try {
      const h = await f.$(selector);
      if (h) return { frame: f, handle: h };
    } catch {
      /* frame detached */
    }
  }
  return null;
}

/** Like findInFrames, but only in output webviews (not the workbench itself) and with a predicate on the element. */
async function findInOutputs(page, selector, accept) {
  for (const f of page.frames()) {
    if (f === page.mainFrame()) continue;
    try {
      for (const h of await f.$$(selector)) if (!accept || (await h.evaluate(accept))) return { frame: f, handle: h };
    } catch {
      /* frame detached */
    }
  }
  return null;
}

/**
 * Wait for an element in an output webview. VS Code renders outputs only near the viewport, so with
 * `scroll` the notebook is scrolled down a little on every miss.
 */
async function waitInFrames(page, selector, timeoutMs, accept, scroll = false) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = await findInOutputs(page, selector, accept);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`${selector} not found in any frame after ${timeoutMs} ms`);
    if (scroll) {
      const box = await page
        .locator('.notebook-editor .cell-list-container')
        .first()
        .boundingBox()
        .catch(() => null);
      if (box) {
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.wheel(0, 300);
      }
    }
    await page.waitForTimeout(400);
  }
}

async function runCommand(page, label) {
  const input = page.locator('.quick-input-widget input').first();
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('F1');
    if (await input.isVisible({ timeout: 3000 }).catch(() => false)) break;
  }
  await input.fill('>' + label);
  await page.waitForTimeout(600);
  await page.keyboard.press('Enter');
}

async function quickOpen(page, file) {
  const qi = page.locator('.quick-input-widget input').first();
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Control+P');
    if (await qi.isVisible({ timeout: 3000 }).catch(() => false)) break;
    await page.waitForTimeout(1000);
  }
  await qi.fill(file);
  await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 60000 });
  await page.keyboard.press('Enter');
}

module.exports = { CS_URL, openWorkbench, findInFrames, waitInFrames, runCommand, quickOpen };
