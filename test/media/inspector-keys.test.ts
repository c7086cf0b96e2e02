// Token inspector by keyboard and for assistive technology (issue 24 items 2-5, 8), in headless Chromium.
// The page stands in for a notebook output webview: a window keydown listener records what VS Code's webview host
// would forward to the workbench's keybindings, and a focus sink after the output stands for the next cell's editor.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type { Generation } from '../../common/generation';
import { launch, mount, openPage, shadowTexts, shotPath } from './browser';
import { makeGeneration } from './fixtures';

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface Probe {
  __leaked: string[];
  __sink: number;
  __copied?: string;
}

/** What the page's shadow root has in focus, as `tag.class[role]`. */
function focusOf(page: Page, id: string): Promise<{ sel: string; role: string | null; pos: string | null }> {
  return page.evaluate((id) => {
    const a = document.getElementById(id)!.shadowRoot!.activeElement as HTMLElement | null;
    return {
      sel: a ? `${a.tagName.toLowerCase()}.${a.className}` : document.activeElement?.id || 'body',
      role: a?.getAttribute('role') ?? null,
      pos: a?.getAttribute('aria-posinset') ?? null,
    };
  }, id);
}

export async function axeViolations(page: Page, id: string): Promise<string[]> {
  await page.addScriptTag({ content: AXE });
  return page.evaluate(async (id) => {
    const axe = (window as unknown as { axe: { run: (n: Element, o: object) => Promise<{ violations: unknown[] }> } })
      .axe;
    const r = await axe.run(document.getElementById(id)!, { resultTypes: ['violations'] });
    return (r.violations as { id: string; impact: string; help: string; nodes: { target: unknown }[] }[])
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${JSON.stringify(v.nodes.slice(0, 3).map((n) => n.target))})`);
  }, id);
}

describe('token inspector keyboard and accessibility (Chromium)', function () {
  this.timeout(90000);
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
    await page.evaluate(() => {
      const w = window as unknown as Probe;
      w.__leaked = [];
      w.__sink = 0;
      window.addEventListener('keydown', (e) => w.__leaked.push(e.key));
      const sink = document.createElement('div');
      sink.tabIndex = 0;
      sink.id = 'sink';
      sink.addEventListener('focus', () => w.__sink++);
      document.body.appendChild(sink);
      Object.defineProperty(navigator, 'clipboard', {
        value: {
          writeText: async (t: string) => {
            w.__copied = t;
          },
        },
      });
    });
  });
  afterEach(async () => {
    await page?.close();
  });

  const q = (id: string, sel: string) => shadowTexts(page, id, sel);
  const leaked = () => page.evaluate(() => (window as unknown as Probe).__leaked);
  const sinkFocused = () => page.evaluate(() => (window as unknown as Probe).__sink);

  it('keeps its keys: typing, Enter and Tab in the inspector never reach the notebook, Tab wraps around', async () => {
    const id = await mount(page, 'tokens', makeGeneration({ image: true, textTokens: 40 }));
    await page.locator(`#${id} input.search`).click();
    await page.keyboard.type('cat a');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Control+a');
    for (let i = 0; i < 14; i++) await page.keyboard.press('Tab');
    for (let i = 0; i < 14; i++) await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.keyboard.press(' ');
    assert.deepEqual(await leaked(), [], 'no key reached the window (the webview host forwards those to VS Code)');
    assert.equal(await sinkFocused(), 0, 'focus never left for the next cell');
    assert.notEqual((await focusOf(page, id)).sel, 'body', 'focus stayed inside the output');
    // Esc leaves only when nothing inside wants it: the first clears the search, the next goes to VS Code
    await page.locator(`#${id} input.search`).focus();
    await page.keyboard.press('Escape');
    assert.equal(await page.locator(`#${id} input.search`).inputValue(), '');
    assert.deepEqual(await leaked(), []);
    await page.keyboard.press('Escape');
    assert.deepEqual(await leaked(), ['Escape']);
    // VS Code's own commands still work from inside (F1, Ctrl+Shift+P)
    await page.keyboard.press('F1');
    assert.deepEqual(await leaked(), ['Escape', 'F1']);
  });

  it('is a listbox with one tab stop: arrows move, Enter pins, Esc releases without losing focus', async () => {
    const gen = makeGeneration({ textTokens: 60 });
    const id = await mount(page, 'tokens', gen);
    const roles = await page.evaluate((id) => {
      const r = document.getElementById(id)!.shadowRoot!;
      return {
        list: r.querySelector('.scroller')!.getAttribute('role'),
        options: r.querySelectorAll('[role="option"]').length,
        stops: r.querySelectorAll('.scroller [tabindex="0"]').length,
      };
    }, id);
    assert.equal(roles.list, 'listbox');
    assert.ok(roles.options > 20);
    assert.equal(roles.stops, 1, 'roving tabindex: one chip is the tab stop');
    // reach the list from the search box with Tab alone
    await page.locator(`#${id} input.search`).focus();
    let f = await focusOf(page, id);
    for (let i = 0; i < 12 && f.role !== 'option'; i++) {
      await page.keyboard.press('Tab');
      f = await focusOf(page, id);
    }
    assert.equal(f.role, 'option', `Tab reaches the token list (focus on ${f.sel})`);
    assert.equal(f.pos, '1');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    f = await focusOf(page, id);
    assert.equal(f.pos, '3');
    // the details pane describes the focused token, and the chip points at it
    const third = gen.tokens[2];
    assert.ok((await q(id, '.tip dd')).includes(String(third.id)), 'details of the focused token');
    const described = await page.evaluate((id) => {
      const r = document.getElementById(id)!.shadowRoot!;
      const a = r.activeElement!;
      return !!r.getElementById(a.getAttribute('aria-describedby')!) && a.getAttribute('aria-label');
    }, id);
    assert.ok(described && described.includes(`id ${third.id}`), `aria-label ${described}`);
    await page.keyboard.press('ArrowDown');
    assert.ok(Number((await focusOf(page, id)).pos) > 3, 'ArrowDown moves to the next row');
    await page.keyboard.press('End');
    const setsize = await page.evaluate(
      (id) => document.getElementById(id)!.shadowRoot!.querySelector('[role="option"]')!.getAttribute('aria-setsize'),
      id,
    );
    assert.equal((await focusOf(page, id)).pos, setsize, 'End reaches the last token');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    const pinned = await page.evaluate(
      (id) => document.getElementById(id)!.shadowRoot!.activeElement!.getAttribute('aria-selected'),
      id,
    );
    assert.equal(pinned, 'true', 'Enter pins the focused token');
    await page.keyboard.press('ArrowRight'); // the pinned card stays while moving on
    assert.ok((await q(id, '.tip dd')).includes(String(gen.tokens[1].id)));
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Escape');
    f = await focusOf(page, id);
    assert.equal(f.role, 'option', 'Esc releases the pin and focus stays on the chip');
    assert.equal(f.pos, '2');
    assert.equal(await page.locator(`#${id} .chip.selected`).count(), 0);
    assert.deepEqual(await leaked(), [], 'the Esc that released the pin stays inside');
    await page.screenshot({ path: shotPath('tokens-keyboard') });
  });

  it('shows a focus ring in the theme focus colour on keyboard-focused checkboxes', async () => {
    const id = await mount(page, 'tokens', makeGeneration({ textTokens: 5 }));
    await page.locator(`#${id} input.search`).focus();
    await page.keyboard.press('Tab');
    const ring = await page.evaluate((id) => {
      const a = document.getElementById(id)!.shadowRoot!.activeElement as HTMLElement;
      const cs = getComputedStyle(a);
      const probe = document.createElement('i');
      probe.style.color = getComputedStyle(document.body).getPropertyValue('--vscode-focusBorder');
      document.body.appendChild(probe);
      const focus = getComputedStyle(probe).color;
      probe.remove();
      return {
        type: a.getAttribute('type'),
        style: cs.outlineStyle,
        width: cs.outlineWidth,
        color: cs.outlineColor,
        focus,
      };
    }, id);
    assert.equal(ring.type, 'checkbox');
    assert.equal(ring.style, 'solid');
    assert.ok(parseFloat(ring.width) >= 1, `outline ${ring.width}`);
    assert.equal(ring.color, ring.focus);
  });

  it('has no serious or critical axe-core violations, dark and light', async () => {
    for (const theme of ['dark', 'light'] as const) {
      const p = theme === 'dark' ? page : await openPage(browser, 'light');
      const id = await mount(p, 'tokens', makeGeneration({ image: true, speechFrames: 40, textTokens: 40 }));
      // with a pinned token and an open group too
      await p.locator(`#${id} .chip.gen.m-text`).first().click();
      assert.deepEqual(await axeViolations(p, id), [], theme);
      if (p !== page) await p.close();
    }
  });

  it('"Expand media" toggles per group and globally, and its label says what it will do', async () => {
    const gen = makeGeneration({ image: true, musicFrames: 10 });
    const id = await mount(page, 'tokens', gen);
    const button = page.locator(`#${id} button.expand`);
    const media = async () => ({
      image: await page.locator(`#${id} .chip.m-image:not(.group)`).count(),
      music: await page.locator(`#${id} .chip.m-music:not(.group)`).count(),
    });
    assert.equal(await button.textContent(), 'Expand media');
    await page.locator(`#${id} .chip.group.m-image`).click();
    assert.deepEqual(await media(), { image: 32, music: 0 });
    assert.equal(await button.textContent(), 'Expand media', 'one group open: the button still expands');
    await button.click();
    assert.deepEqual(await media(), { image: 32, music: 40 }, 'the button expands the rest, collapses nothing');
    assert.equal(await button.textContent(), 'Collapse media');
    // one group collapses on its own through its header chip
    await page.locator(`#${id} .chip.group.open.m-image`).click();
    assert.deepEqual(await media(), { image: 0, music: 40 });
    assert.equal(await button.textContent(), 'Expand media');
    await button.click();
    await button.click();
    assert.deepEqual(await media(), { image: 0, music: 0 });
    // by keyboard: Enter on a group toggles it and keeps focus on its (header) chip
    await page.locator(`#${id} .chip.group.m-music`).focus();
    await page.keyboard.press('Enter');
    assert.equal((await media()).music, 40);
    assert.equal(
      await page.evaluate((id) => document.getElementById(id)!.shadowRoot!.activeElement!.className, id),
      'chip m-music gen group open',
    );
    await page.keyboard.press('Enter');
    assert.equal((await media()).music, 0);
  });

  it('"Copy ids" copies what its label says while searching; a match keeps its log-prob colour', async () => {
    const gen = makeGeneration({ image: true, textTokens: 40 });
    const id = await mount(page, 'tokens', gen);
    const copy = page.locator(`#${id} button`, { hasText: /^Copy (matching )?ids$/ });
    assert.equal(await copy.textContent(), 'Copy ids');
    await page.locator(`#${id} input.search`).fill('cat');
    assert.equal(await copy.textContent(), 'Copy matching ids');
    assert.match((await copy.getAttribute('title')) ?? '', /match/);
    await copy.click();
    const copied = JSON.parse(await page.evaluate(() => (window as unknown as Probe).__copied!)) as number[];
    assert.deepEqual(
      copied,
      gen.tokens.filter((t) => t.piece.includes('cat')).map((t) => t.id),
      '"only matches" is not ticked: the matches are still what is copied',
    );
    // an image code id matches inside the collapsed group: only that code is copied, not the whole span
    const code = gen.tokens[gen.spans[1].start + 3].id;
    await page.locator(`#${id} input.search`).fill(String(code));
    await copy.click();
    assert.deepEqual(
      JSON.parse(await page.evaluate(() => (window as unknown as Probe).__copied!)),
      gen.tokens.filter((t) => t.id === code).map((t) => t.id),
    );
    await page.locator(`#${id} input.search`).fill('');
    await page.waitForTimeout(1300); // the "Copied" feedback goes back to the label
    assert.equal(await copy.textContent(), 'Copy ids');
    // log-prob colours: a matching chip keeps its background and gains a ring
    await page.locator(`#${id} select.colour`).selectOption('logprob');
    const target = gen.tokens.findIndex((t) => t.generated && t.piece.includes('cat'));
    const look = () =>
      page.evaluate((t) => {
        const r = document.getElementById(document.querySelector('.output')!.id)!.shadowRoot!;
        const chip = [...r.querySelectorAll<HTMLElement>('.chip.lp')].find((c) =>
          (c.getAttribute('aria-label') ?? '').includes(`id ${t},`),
        )!;
        const cs = getComputedStyle(chip);
        return { bg: cs.backgroundColor, ring: cs.boxShadow, match: chip.classList.contains('match') };
      }, gen.tokens[target].id);
    const before = await look();
    await page.locator(`#${id} input.search`).fill('cat');
    const after = await look();
    assert.ok(after.match && !before.match);
    assert.equal(after.bg, before.bg, 'the log-prob colour shows through the search highlight');
    assert.notEqual(after.ring, before.ring, 'and the match is marked by a ring');
    await page.screenshot({ path: shotPath('tokens-search-logprob') });
  });

  it('a prompt-only record (%tokens) shows its seed and no rate or stop reason', async () => {
    const full = makeGeneration({ textTokens: 10 });
    const tokens = full.tokens.slice(0, full.promptLength);
    const gen: Generation = {
      ...full,
      tokens,
      text: '',
      stopReason: 'max-new-tokens',
      stats: { ...full.stats, generatedTokens: 0, decodeMs: 0, tokensPerSecond: 0 },
    };
    const id = await mount(page, 'tokens', gen);
    const stats = (await q(id, '.stat')).join(' | ');
    assert.match(stats, /seed 1234/);
    assert.doesNotMatch(stats, /tok\/s|stop:/);
    const ran = (await q(await mount(page, 'tokens', full), '.stat')).join(' | ');
    assert.match(ran, /tok\/s.*stop: eos/);
  });
});
