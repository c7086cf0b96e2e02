// Audio renderer in headless Chromium: canvases, timeline/heatmap, play/pause/seek, no autoplay,
// download, the long-audio notice, the link from the token inspector; screenshots.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launch, mount, openPage, shadowTexts, shotPath } from './browser';
import { makeAudio, makeGeneration } from './fixtures';

describe('audio renderer (Chromium)', function () {
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

  it('draws waveform, a 50 Hz token timeline and a spectrogram for speech, without autoplay', async () => {
    const gen = makeGeneration({ speechFrames: 200 });
    await mount(page, 'tokens', gen, 'tok');
    const id = await mount(page, 'audio', makeAudio(gen, 'speech'), 'aud');
    const labels = await q(id, '.labels span');
    assert.deepEqual(labels, ['waveform', 'tokens 50 Hz', 'spectrogram']);
    const sizes = await page.evaluate(() =>
      [...document.getElementById('aud')!.shadowRoot!.querySelectorAll('canvas')].map((c) => [c.width, c.height]),
    );
    assert.equal(sizes.length, 3);
    for (const [w, h] of sizes) assert.ok(w > 100 && h > 10, `canvas ${w}x${h}`);
    // the waveform canvas is not blank
    const ink = await page.evaluate(() => {
      const c = document.getElementById('aud')!.shadowRoot!.querySelector('canvas.wave') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(ink > 1000, `waveform has ${ink} painted pixels`);
    assert.deepEqual(await q(id, '.play'), ['\u25b6 Play']);
    assert.match((await q(id, '.clock'))[0], /^0:00\.00 \/ 0:04\.00$/);
    await page.screenshot({ path: shotPath('audio-speech') });
  });

  it('seeks on click and links the playhead to the token inspector', async () => {
    const gen = makeGeneration({ speechFrames: 200 });
    await mount(page, 'tokens', gen, 'tok');
    const id = await mount(page, 'audio', makeAudio(gen, 'speech'), 'aud');
    const box = (await page.locator('#aud .stack').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + 10);
    assert.match((await q(id, '.clock'))[0], /^0:02\.\d\d \/ 0:04\.00$/);
    assert.match((await q(id, '.hover'))[0], /frame 10\d \u00b7 code \d+/);
    // clicking the speech group in the inspector seeks the player to the span start
    await page.locator('#tok .chip.group').first().click();
    assert.match((await q(id, '.clock'))[0], /^0:00\.00/);
    // player -> inspector: the token under the playhead gets highlighted while playing
    const played = await page.evaluate(async () => {
      const host = document.getElementById('aud')!;
      const btn = host.shadowRoot!.querySelector('.play') as HTMLButtonElement;
      btn.click();
      await new Promise((r) => setTimeout(r, 700));
      const label = btn.textContent;
      const playing = document.getElementById('tok')!.shadowRoot!.querySelectorAll('.chip.playing').length;
      btn.click();
      return { label, playing };
    });
    assert.equal(played.label, '\u275a\u275a Pause');
    assert.ok(played.playing >= 1, 'a token chip is marked as playing');
  });

  it('shows a codebook \u00d7 frame heatmap for music and offers the WAV for download', async () => {
    const gen = makeGeneration({ musicFrames: 300 });
    const id = await mount(page, 'audio', makeAudio(gen, 'music'));
    assert.ok((await q(id, '.labels span')).includes('codebook \u00d7 frame'));
    assert.ok((await q(id, '.fact')).some((f) => f.includes('\u00d7 4 codebooks')));
    const href = await page.evaluate(
      (id) => document.getElementById(id)!.shadowRoot!.querySelector('a.btn')!.getAttribute('download'),
      id,
    );
    assert.equal(href, 'music.wav');
    await page.screenshot({ path: shotPath('audio-music') });
  });

  it('asks before drawing very long audio ("render anyway")', async () => {
    const gen = makeGeneration({ speechFrames: 100 });
    const out = { ...makeAudio(gen, 'speech'), durationSec: 1800 };
    const id = await mount(page, 'audio', out);
    assert.match((await q(id, '.notice'))[0], /Long speech: 30:00\.00/);
    assert.equal((await q(id, 'canvas')).length, 0);
    await page.locator(`#${id} button`, { hasText: 'Render anyway' }).click();
    assert.equal((await q(id, 'canvas')).length, 3);
  });

  it('reports a broken WAV instead of throwing', async () => {
    const gen = makeGeneration({ speechFrames: 10 });
    const id = await mount(page, 'audio', { ...makeAudio(gen, 'speech'), wav: btoa('not a wav at all') });
    assert.match((await q(id, '.error'))[0], /not a RIFF\/WAVE file/);
  });
});
