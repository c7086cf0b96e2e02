// Saved outputs from someone else's notebook can hold anything: each malformed payload shows the renderer's
// friendly error naming the wrong field, and nothing throws in the page (issue 20 item 16). Real Chromium.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launch, mount, openPage, shadowTexts } from './browser';
import { makeAudio, makeGeneration } from './fixtures';

describe('renderers on malformed saved outputs (Chromium)', function () {
  this.timeout(60000);
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    page = await openPage(browser);
    pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterEach(async () => {
    await page?.close();
  });

  const gen = () => JSON.parse(JSON.stringify(makeGeneration({ speechFrames: 10 })));
  const tokenCases: [string, (g: Record<string, unknown>) => unknown, RegExp][] = [
    [
      'a null piece',
      (g) => ((g.tokens as Record<string, unknown>[])[3].piece = null),
      /tokens\[3\]\.piece: expected a string, got null/,
    ],
    ['missing spans', (g) => delete g.spans, /spans: expected an array, got undefined/],
    [
      'a span index past the spans',
      (g) => ((g.tokens as Record<string, unknown>[])[0].span = 99),
      /tokens\[0\]\.span: expected an integer ≥ -1 ≤/,
    ],
    ['a string instead of a record', () => 'hello', /record: expected an object, got "hello"/],
  ];
  for (const [what, spoil, message] of tokenCases)
    it(`token inspector: ${what} shows an error naming the field`, async () => {
      const g = gen();
      const data = spoil(g);
      const id = await mount(page, 'tokens', typeof data === 'string' ? data : g);
      const errors = await shadowTexts(page, id, '.error');
      assert.equal(errors.length, 1, 'one friendly error');
      assert.match(errors[0], /^This output is not an AnyGPT Generation record: /);
      assert.match(errors[0], message);
      assert.deepEqual(pageErrors, []);
    });

  const audioCases: [string, (a: Record<string, unknown>) => void, RegExp][] = [
    ['bad base64', (a) => (a.wav = '%%% not base64 %%%'), /wav: expected a base64 WAV file/],
    ['an unknown modality', (a) => (a.modality = 'video'), /modality: expected one of "speech", "music", got "video"/],
    [
      'a span without times',
      (a) => void (a.spans as Record<string, unknown>[]).push({ span: 1 }),
      /spans\[\d+\]\.tokenStart: expected an integer/,
    ],
    ['codes that are not numbers', (a) => (a.codes = ['x']), /codes\[0\]: expected an integer, got "x"/],
  ];
  for (const [what, spoil, message] of audioCases)
    it(`audio renderer: ${what} shows an error naming the field`, async () => {
      const a = JSON.parse(JSON.stringify(makeAudio(makeGeneration({ speechFrames: 10 }), 'speech')));
      spoil(a);
      const id = await mount(page, 'audio', a);
      const errors = await shadowTexts(page, id, '.error');
      assert.equal(errors.length, 1, 'one friendly error');
      assert.match(errors[0], /^This output is not an AnyGPT audio record: /);
      assert.match(errors[0], message);
      assert.deepEqual(pageErrors, []);
    });
});
