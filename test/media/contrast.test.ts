// WCAG contrast of the renderers under light, dark and both high-contrast themes (issue 24 item 6), measured on what
// Chromium renders: every text 4.5:1 against its effective background (all translucent layers composited), modality
// colours (legend dots, tags, waveform, chip accents) 3:1 against the editor background. Screenshots per theme in
// test-output/renderers/contrast-<theme>.png.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launch, mount, openPage, shotPath, THEME_NAMES } from './browser';
import { makeAudio, makeGeneration } from './fixtures';

interface Finding {
  what: string;
  ratio: number;
  fg: string;
  bg: string;
}

/** Runs in the page: contrast findings for the outputs mounted in it. */
function measure(): { text: Finding[]; graphics: Finding[] } {
  const cv = document.createElement('canvas');
  cv.width = cv.height = 1;
  const g = cv.getContext('2d', { willReadFrequently: true })!;
  /** Any CSS colour (color(srgb …), color-mix results, rgba) → straight RGBA 0-255 / alpha 0-1. */
  const rgba = (css: string): [number, number, number, number] => {
    g.clearRect(0, 0, 1, 1);
    g.fillStyle = '#000';
    g.fillStyle = css;
    g.fillRect(0, 0, 1, 1);
    const d = g.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top: [number, number, number, number], under: [number, number, number]): [number, number, number] => [
    top[0] * top[3] + under[0] * (1 - top[3]),
    top[1] * top[3] + under[1] * (1 - top[3]),
    top[2] * top[3] + under[2] * (1 - top[3]),
  ];
  const lum = ([r, gg, b]: [number, number, number]) => {
    const f = (v: number) => {
      const c = v / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(gg) + 0.0722 * f(b);
  };
  const ratio = (a: [number, number, number], b: [number, number, number]) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const parentOf = (n: Element): Element | null =>
    n.parentElement ?? ((n.getRootNode() as ShadowRoot).host as Element | undefined) ?? null;
  /** The opaque colour behind `el`: the page background with every ancestor's background composited on top. */
  const background = (el: Element): [number, number, number] => {
    const layers: [number, number, number, number][] = [];
    for (let n: Element | null = el; n; n = parentOf(n)) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let acc: [number, number, number] = [255, 255, 255];
    for (const l of layers.reverse()) acc = over(l, acc);
    return acc;
  };
  const hex = (c: number[]) =>
    '#' +
    c
      .slice(0, 3)
      .map((v) => Math.round(v).toString(16).padStart(2, '0'))
      .join('');
  const text: Finding[] = [];
  const graphics: Finding[] = [];
  for (const host of document.querySelectorAll('.output')) {
    const root = host.shadowRoot!;
    for (const el of root.querySelectorAll<HTMLElement>('*')) {
      if (!el.getClientRects().length || el.closest('.sr-only, [hidden], style')) continue;
      const own = [...el.childNodes].some((c) => c.nodeType === Node.TEXT_NODE && c.textContent!.trim());
      const value = el instanceof HTMLInputElement && el.type !== 'checkbox' && el.value;
      if (!own && !value && !(el instanceof HTMLSelectElement)) continue;
      const bg = background(el);
      const fg = over(rgba(getComputedStyle(el).color), bg);
      text.push({
        what: `${host.id} ${el.tagName.toLowerCase()}.${el.className} "${(el.textContent ?? '').trim().slice(0, 24)}"`,
        ratio: ratio(fg, bg),
        fg: hex(fg),
        bg: hex(bg),
      });
    }
    // modality colours as the stylesheet resolves them, and the marks drawn with them
    const bg = background(root.querySelector('.insp, .aud')!);
    for (const m of ['text', 'image', 'speech', 'music']) {
      const probe = document.createElement('i');
      probe.style.color = `var(--m-${m})`;
      root.appendChild(probe);
      const c = over(rgba(getComputedStyle(probe).color), bg);
      probe.remove();
      graphics.push({ what: `${host.id} --m-${m}`, ratio: ratio(c, bg), fg: hex(c), bg: hex(bg) });
    }
    for (const dot of root.querySelectorAll('.dot')) {
      const c = over(rgba(getComputedStyle(dot).backgroundColor), bg);
      graphics.push({
        what: `${host.id} legend dot ${dot.parentElement!.className}`,
        ratio: ratio(c, bg),
        fg: hex(c),
        bg: hex(bg),
      });
    }
  }
  return { text, graphics };
}

describe('renderer colour contrast per theme (Chromium)', function () {
  this.timeout(120000);
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const theme of THEME_NAMES) {
    it(`${theme}: text >= 4.5:1 and modality colours >= 3:1`, async () => {
      const page = await openPage(browser, theme);
      try {
        const gen = makeGeneration({ image: true, speechFrames: 80, musicFrames: 8, textTokens: 40 });
        const tok = await mount(page, 'tokens', gen, 'tok');
        await mount(page, 'audio', makeAudio(gen, 'speech'), 'aud');
        // a pinned token fills the details pane (its muted labels and top-5 bars are checked too)
        await page.locator(`#${tok} .chip.gen.m-text`).first().click();
        await page.screenshot({ path: shotPath(`contrast-${theme}`), fullPage: true });
        const { text, graphics } = await page.evaluate(measure);
        assert.ok(text.length > 30 && graphics.length >= 8, `measured ${text.length} texts, ${graphics.length} marks`);
        const low = [
          ...text.filter((f) => f.ratio < 4.5).map((f) => `text ${f.what}: ${f.ratio.toFixed(2)} (${f.fg} on ${f.bg})`),
          ...graphics
            .filter((f) => f.ratio < 3)
            .map((f) => `graphic ${f.what}: ${f.ratio.toFixed(2)} (${f.fg} on ${f.bg})`),
        ];
        assert.deepEqual(low, [], `${theme}: below WCAG AA`);
      } finally {
        await page.close();
      }
    });
  }
});
