// Token inspector in headless Chromium: DOM, XSS, 10 k tokens, screenshots (test-output/renderers/).
// Timing lives in bench/renderers.ts, not here: a shared CI machine makes wall-clock asserts flaky.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launch, mount, openPage, shadowTexts, shotPath } from './browser';
import { makeGeneration } from './fixtures';

describe('token inspector (Chromium)', function () {
  this.timeout(60000);
  let browser: Browser;
  let page: Page;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    page = await openPage(browser);
  });
  afterEach(async () => {
    await page?.close();
  });

  const q = (id: string, sel: string) => shadowTexts(page, id, sel);

  it('shows counts per modality, tok/s and seed in the header, and media spans as one labelled group', async () => {
    const gen = makeGeneration({ image: true, speechFrames: 120, textTokens: 30 });
    const id = await mount(page, 'tokens', gen);
    const counts = await q(id, '.count');
    assert.deepEqual(counts, [
      'text ' + gen.tokens.filter((t) => t.modality === 'text').length,
      'image 32',
      'speech 120',
    ]);
    const stats = (await q(id, '.stat')).join(' | ');
    assert.match(stats, /tok\/s/);
    assert.match(stats, /seed 1234/);
    const groups = await q(id, '.chip.group .label');
    assert.deepEqual(groups, ['image \u00b7 32 tokens', 'speech \u00b7 120 tokens']);
    // prompt chips are styled apart from generated ones
    assert.ok((await q(id, '.chip.prompt')).length > 0);
    assert.ok((await q(id, '.chip.gen')).length > 0);
    await page.screenshot({ path: shotPath('tokens-dark') });
  });

  it('renders model text as text: <img onerror> never becomes an element', async () => {
    const evil = '<img src=x onerror="window.__xss=1">';
    const gen = makeGeneration({ pieces: [evil, '<script>window.__xss=2</script>'] });
    const id = await mount(page, 'tokens', gen);
    const texts = await q(id, '.chip');
    assert.ok(texts.includes(evil), 'the piece is shown verbatim');
    const imgs = await page.evaluate(
      (id) => document.getElementById(id)!.shadowRoot!.querySelectorAll('img, script').length,
      id,
    );
    assert.equal(imgs, 0);
    // hover card escapes too
    await page.evaluate((id) => {
      const chip = [...document.getElementById(id)!.shadowRoot!.querySelectorAll('.chip')].find((c) =>
        c.textContent!.startsWith('<img'),
      )!;
      chip.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    }, id);
    assert.ok((await q(id, '.tip .piece')).some((t) => t.includes('<img')));
    await page.waitForTimeout(100);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  });

  it('hover card shows id, piece, log-probs, entropy, top-5 and step time', async () => {
    const gen = makeGeneration({ textTokens: 12 });
    const id = await mount(page, 'tokens', gen);
    const chip = page.locator(`#${id} .chip.gen`).first();
    await chip.hover();
    const dts = await q(id, '.tip dt');
    for (const k of ['id', 'piece', 'position', 'modality', 'log p (raw)', 'log p (sampled)', 'entropy', 'step time'])
      assert.ok(dts.includes(k), `missing ${k}: ${dts}`);
    assert.equal((await q(id, '.tip .alt')).length, 5);
    await page.screenshot({ path: shotPath('tokens-hover') });
  });

  it('groups byte tokens that split a UTF-8 character, and toggles whitespace', async () => {
    const gen = makeGeneration({ pieces: ['<0xE4>', '<0xBD>', '<0xA0>', '\u2581hi'] });
    const id = await mount(page, 'tokens', gen);
    const chips = await q(id, '.chip');
    assert.ok(chips.includes('\u4f60'), `no merged chip in ${chips.slice(0, 20)}`);
    assert.ok(chips.includes(' hi'));
    await page.locator(`#${id} label.check`, { hasText: 'whitespace' }).click();
    assert.ok((await q(id, '.chip')).includes('\u00b7hi'));
  });

  it('searches by id and by piece, filters, and colours by log-prob with a legend naming the distribution', async () => {
    const gen = makeGeneration({ image: true, textTokens: 40 });
    const id = await mount(page, 'tokens', gen);
    const search = page.locator(`#${id} input.search`);
    await search.fill('cat');
    const info = (await q(id, '.match-info'))[0];
    const expected = gen.tokens.filter((t) => t.piece.includes('cat')).length;
    assert.equal(info, `${expected} match${expected === 1 ? '' : 'es'}`);
    await page.locator(`#${id} label.check`, { hasText: 'only matches' }).click();
    assert.equal((await q(id, '.chip')).length, expected);
    await search.fill(String(gen.tokens[gen.spans[1].start].id)); // an image code id
    assert.match((await q(id, '.match-info'))[0], /^[1-9]\d* match/);
    await search.fill('');
    await page.locator(`#${id} select.colour`).selectOption('logprob');
    assert.match((await q(id, '.legend'))[0], /raw model distribution/);
    assert.ok((await q(id, '.chip.lp')).length > 0);
    await page.screenshot({ path: shotPath('tokens-logprob') });
  });

  it('expands a media group on click into its tokens', async () => {
    const gen = makeGeneration({ musicFrames: 20 });
    const id = await mount(page, 'tokens', gen);
    await page.locator(`#${id} .chip.group`).first().click();
    assert.equal((await q(id, '.chip.m-music:not(.group)')).length, 80);
  });

  it('stays virtualised with 10 k tokens and reaches the last one by scrolling', async () => {
    const gen = makeGeneration({ textTokens: 10000, speechFrames: 400 });
    const id = await mount(page, 'tokens', gen);
    const chips = await page.evaluate(
      (id) => document.getElementById(id)!.shadowRoot!.querySelectorAll('.chip').length,
      id,
    );
    assert.ok(chips > 50 && chips < 1500, `rendered ${chips} chips`);
    await page.evaluate((id) => {
      const s = document.getElementById(id)!.shadowRoot!.querySelector('.scroller')!;
      s.scrollTop = s.scrollHeight;
      s.dispatchEvent(new Event('scroll'));
    }, id);
    await page.waitForTimeout(100);
    assert.ok((await q(id, '.chip')).includes('<eos>'));
  });

  it('copies ids as JSON', async () => {
    // A plain-http test origin is not a secure context, so capture what the inspector writes.
    await page.evaluate(() => {
      const w = window as unknown as { __copied: string };
      Object.defineProperty(navigator, 'clipboard', {
        value: {
          writeText: async (t: string) => {
            w.__copied = t;
          },
        },
      });
    });
    const gen = makeGeneration({ textTokens: 5 });
    const id = await mount(page, 'tokens', gen);
    await page.locator(`#${id} button`, { hasText: 'Copy ids' }).click();
    const text = await page.evaluate(() => (window as unknown as { __copied: string }).__copied);
    assert.deepEqual(
      JSON.parse(text),
      gen.tokens.map((t) => t.id),
    );
  });

  it('looks right in a light theme too', async () => {
    const light = await openPage(browser, 'light');
    await mount(light, 'tokens', makeGeneration({ image: true, speechFrames: 60, textTokens: 60 }));
    await light.screenshot({ path: shotPath('tokens-light') });
    await light.close();
  });
});
