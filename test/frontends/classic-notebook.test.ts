/**
 * Classic Notebook 6.4 (Debian's jupyter-notebook) in Chromium, driven through its own menus as a user would:
 * the server is started on 127.0.0.1 with a random token over copies of the samples, our kernelspecs live in a
 * temp JUPYTER_PATH (test/frontends/sandbox.ts). Run All shows the image, a playable <audio> fallback and the token
 * record's text fallback; Interrupt and Restart work; a notebook saved from the UI keeps its outputs on disk; the
 * browser never gets a 4xx/5xx (the kernelspec logo, CodeMirror modes). Screenshots: test-output/frontends/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MIME } from '../../common/generation';
import type { AudioOutput, TokensOutput } from '../../common/output-payloads';
import { launch } from '../media/browser';
import { haveClassicNotebook, startNotebookServer, type NotebookServer } from './notebook-server';
import { codeCells, makeSandbox, SHOTS, src, type Nb, type Sandbox } from './sandbox';

/** The part of classic Notebook's page API the waits below read (window.Jupyter). */
interface ClassicCell {
  cell_type: string;
  input_prompt_number?: number | string | null;
}
interface ClassicPage {
  Jupyter?: {
    notebook?: {
      dirty: boolean;
      get_cells(): ClassicCell[];
      events: { one(name: string, f: () => void): void };
      kernel?: { id: string; is_connected(): boolean } | null;
    };
  };
}

describe('classic Notebook 6.4 in Chromium', function () {
  this.timeout(240000);
  let sb: Sandbox;
  let server: NotebookServer;
  let browser: Browser;
  /** Every response with a 4xx/5xx status, and every failed request, from any page of the run. */
  const httpErrors: string[] = [];
  const requested: string[] = [];

  before(async function () {
    if (!haveClassicNotebook()) this.skip();
    mkdirSync(SHOTS, { recursive: true });
    sb = makeSandbox('classic');
    server = await startNotebookServer(sb);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    sb?.cleanup();
  });

  async function open(name: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    // tsx compiles callbacks passed to page.evaluate with esbuild's keepNames, which references __name.
    await page.addInitScript('window.__name = (f) => f;');
    page.on('response', (r) => {
      requested.push(`${r.status()} ${r.url()}`);
      if (r.status() >= 400) httpErrors.push(`${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => {
      // Leaving a page cancels its pending requests (the kernel WebSocket's polls); those are not defects.
      if (!/ERR_ABORTED/.test(r.failure()?.errorText ?? ''))
        httpErrors.push(`failed ${r.url()} ${r.failure()?.errorText}`);
    });
    await page.goto(`${server.url}/notebooks/${name}?token=${server.token}`);
    await waitIdle(page);
    return page;
  }

  /** The kernel is connected and the header's indicator says idle. */
  async function waitIdle(page: Page, timeout = 120000): Promise<void> {
    await page.waitForFunction(
      () => {
        const nb = (window as unknown as ClassicPage).Jupyter?.notebook;
        return !!nb?.kernel?.is_connected() && !!document.querySelector('#kernel_indicator_icon.kernel_idle_icon');
      },
      undefined,
      { timeout },
    );
  }

  /** Every code cell shows an execution count (none is queued "*" or never ran). */
  async function waitAllRan(page: Page): Promise<void> {
    await page.waitForFunction(
      () =>
        (window as unknown as ClassicPage)
          .Jupyter!.notebook!.get_cells()
          .filter((c) => c.cell_type === 'code')
          .every((c) => typeof c.input_prompt_number === 'number'),
      undefined,
      { timeout: 180000 },
    );
    await waitIdle(page);
  }

  async function menu(page: Page, top: string, item: string): Promise<void> {
    await page.click(`#${top}`);
    await page.click(`#${item} > a`);
  }

  async function runAll(page: Page): Promise<void> {
    await menu(page, 'celllink', 'run_all_cells');
    await waitAllRan(page);
  }

  async function save(page: Page): Promise<void> {
    const saved = page.evaluate(
      () =>
        new Promise<void>((r) =>
          (window as unknown as ClassicPage).Jupyter!.notebook!.events.one('notebook_saved.Notebook', r),
        ),
    );
    await menu(page, 'filelink', 'save_checkpoint');
    await saved;
  }

  const outputTexts = (page: Page, sel: string) =>
    page.$$eval(sel, (els) => els.map((e) => (e as HTMLElement).innerText));

  const readNb = (name: string) => JSON.parse(readFileSync(join(sb.work, name), 'utf8')) as Nb;

  it('t2i: Run All shows the image and the token record as text; saved from the UI, the outputs stay on disk', async () => {
    const page = await open('t2i-fixture.ipynb');
    await runAll(page);
    const img = await page.$eval('.output_png img', (e) => {
      const i = e as HTMLImageElement;
      return { complete: i.complete, w: i.naturalWidth, h: i.naturalHeight };
    });
    assert.deepEqual(img, { complete: true, w: 256, h: 256 }, 'the 32×32 decode, enlarged 8×, shown as an image');
    const results = await outputTexts(page, '.output_result');
    assert.equal(results.length, 1, 'one Out[] per code cell');
    assert.match(results[0], /^\d+ prompt tokens \+ \d+ generated \(stop: [\w-]+\) · seed 7 · fixture-media/);
    assert.doesNotMatch(await page.innerText('#notebook-container'), /Traceback|Error/);
    // The header shows the kernelspec's logo (the notebook hides the <img> when the kernelspec has none or it fails).
    const logo = await page.$eval('img.current_kernel_logo', (e) => {
      const i = e as HTMLImageElement;
      return { w: i.naturalWidth, shown: getComputedStyle(i).display !== 'none', src: i.getAttribute('src') };
    });
    assert.deepEqual(
      { w: logo.w, shown: logo.shown },
      { w: 64, shown: true },
      `kernel logo in the header: ${JSON.stringify(logo)}`,
    );
    await page.screenshot({ path: join(SHOTS, 'classic-t2i.png'), fullPage: true });

    await save(page);
    const nb = readNb('t2i-fixture.ipynb');
    const [cell] = codeCells(nb);
    assert.equal(typeof cell.execution_count, 'number');
    const png = cell.outputs!.find((o) => o.data && 'image/png' in o.data);
    assert.ok(png, `image/png saved: ${JSON.stringify(cell.outputs!.map((o) => Object.keys(o.data ?? {})))}`);
    const res = cell.outputs!.find((o) => o.output_type === 'execute_result')!;
    const g = res.data![MIME.tokens] as TokensOutput;
    assert.equal(typeof g, 'object', 'the tokens record is saved as a JSON object');
    assert.ok(g.tokens.length > g.promptLength);
    assert.ok(g.spans.some((s) => s.kind === 'image'));
    assert.equal((res.metadata!.anygpt as { model: string }).model, 'fixture-media');
    await page.close();
  });

  it('tts: Run All gives playable <audio> fallbacks (duration > 0, play() resolves) and saved audio outputs', async () => {
    const page = await open('tts-fixture.ipynb');
    await runAll(page);
    const audios = await page.$$('.output_html audio');
    assert.equal(audios.length, 2, 'one <audio> per tts cell');
    for (const a of audios) {
      const state = await a.evaluate(async (el) => {
        const audio = el as HTMLAudioElement;
        if (audio.readyState < 1)
          await new Promise((r, j) => {
            audio.addEventListener('loadedmetadata', r, { once: true });
            audio.addEventListener('error', () => j(new Error(`audio error ${audio.error?.code}`)), { once: true });
            audio.load();
          });
        await audio.play();
        const playing = !audio.paused;
        audio.pause();
        return { duration: audio.duration, playing };
      });
      assert.ok(state.duration > 0 && Number.isFinite(state.duration), `duration ${state.duration}`);
      assert.ok(state.playing, 'play() resolved and the element plays');
    }
    const captions = await outputTexts(page, '.output_html');
    assert.equal(captions.filter((t) => /^speech, \d+\.\d\d s$/m.test(t)).length, 2, 'the clip length in words');
    const results = await outputTexts(page, '.output_result');
    assert.equal(results.length, 2);
    for (const r of results) assert.match(r, /prompt tokens \+ \d+ generated .*fixture-media\n.*\nspans: .*speech/s);
    await page.screenshot({ path: join(SHOTS, 'classic-tts.png'), fullPage: true });

    await save(page);
    const cells = codeCells(readNb('tts-fixture.ipynb'));
    for (const c of cells.slice(0, 2)) {
      const audio = c.outputs!.find((o) => o.data && MIME.audio in o.data);
      assert.ok(audio, `audio output saved: ${src(c.source)}`);
      const a = audio.data![MIME.audio] as AudioOutput;
      assert.equal(Buffer.from(a.wav, 'base64').toString('latin1', 8, 12), 'WAVE');
      assert.match(src(audio.data!['text/html'] as string), /^<audio controls/);
    }
    await page.close();
  });

  it('tts shared: an executed notebook not trusted here shows its saved outputs, the <audio> still playable', async () => {
    // What a colleague gets: the notebook saved above, edited elsewhere so the server's signature no longer
    // matches; classic Notebook then sanitizes its HTML outputs instead of trusting them.
    const nb = readNb('tts-fixture.ipynb');
    nb.metadata.shared = true;
    writeFileSync(join(sb.work, 'tts-shared.ipynb'), JSON.stringify(nb, null, 1));
    const page = await open('tts-shared.ipynb');
    assert.equal(await page.innerText('#notification_trusted'), 'Not Trusted');
    const audios = await page.$$('.output_html audio');
    assert.equal(audios.length, 2, 'the saved <audio> fallbacks are shown');
    for (const a of audios) {
      const duration = await a.evaluate(async (el) => {
        const audio = el as HTMLAudioElement;
        if (audio.readyState < 1)
          await new Promise((r, j) => {
            audio.addEventListener('loadedmetadata', r, { once: true });
            audio.addEventListener('error', () => j(new Error(`audio error ${audio.error?.code}`)), { once: true });
            audio.load();
          });
        return audio.duration;
      });
      assert.ok(duration > 0, `duration ${duration}`);
    }
    assert.equal((await outputTexts(page, '.output_result')).length, 2, 'the token records as text');
    await page.screenshot({ path: join(SHOTS, 'classic-tts-shared.png'), fullPage: true });
    await page.close();
  });

  it('every sample opens and runs all its cells without an error output', async () => {
    for (const name of ['asr', 'caption', 'chat', 'm2t', 't2i', 't2m', 'tts']) {
      const page = await open(`${name}.ipynb`);
      await runAll(page);
      const errors = await outputTexts(page, '.output_error');
      assert.deepEqual(errors, [], name);
      await page.screenshot({ path: join(SHOTS, `classic-sample-${name}.png`), fullPage: true });
      await page.close();
    }
  });

  it('Interrupt stops a long generation and keeps the kernel; Restart gives a fresh kernel', async () => {
    const page = await open('long.ipynb');
    const kernelId = () => page.evaluate(() => (window as unknown as ClassicPage).Jupyter!.notebook!.kernel!.id);
    const prompt = (i: number) => page.innerText(`.code_cell >> nth=${i} >> .input_prompt`);
    const runCell = async (i: number) => {
      await page.click(`.code_cell >> nth=${i} >> .input_prompt`);
      await menu(page, 'celllink', 'run_cell');
    };
    await runCell(0);
    await page.waitForFunction(() =>
      /\[1\]/.test(document.querySelectorAll('.code_cell .input_prompt')[0].textContent!),
    );
    await waitIdle(page);
    await runCell(1);
    // Generating: the streamed text shows up in the cell while its prompt still reads [*].
    await page.waitForFunction(() => {
      const cell = document.querySelectorAll('.code_cell')[1];
      return /\*/.test(cell.querySelector('.input_prompt')!.textContent!) && !!cell.querySelector('.output_text');
    });
    await page.screenshot({ path: join(SHOTS, 'classic-long-running.png'), fullPage: true });
    await menu(page, 'kernellink', 'int_kernel');
    await page.waitForFunction(
      () => /\[2\]/.test(document.querySelectorAll('.code_cell .input_prompt')[1].textContent!),
      undefined,
      {
        timeout: 60000,
      },
    );
    await waitIdle(page);
    const error = await page.innerText('.code_cell >> nth=1 >> .output_error');
    assert.match(error, /KeyboardInterrupt: interrupted after \d+ generated tokens/);
    await page.screenshot({ path: join(SHOTS, 'classic-long-interrupted.png'), fullPage: true });

    // Still the same kernel after the interrupt: it runs the next cell.
    const before = await kernelId();
    await runCell(0);
    await page.waitForFunction(() =>
      /\[3\]/.test(document.querySelectorAll('.code_cell .input_prompt')[0].textContent!),
    );
    await waitIdle(page);

    await menu(page, 'kernellink', 'restart_kernel');
    await page.click('.modal-dialog .modal-footer button.btn-danger');
    await page.waitForSelector('.modal-dialog', { state: 'detached' });
    await waitIdle(page);
    await runCell(0);
    // A restarted kernel counts executions from 1 again.
    await page.waitForFunction(
      () => /\[1\]/.test(document.querySelectorAll('.code_cell .input_prompt')[0].textContent!),
      undefined,
      {
        timeout: 120000,
      },
    );
    await waitIdle(page);
    assert.match(await prompt(0), /\[1\]/);
    assert.equal(await kernelId(), before, 'Restart keeps the kernel id (a new process behind it)');
    assert.doesNotMatch(await page.innerText('.code_cell >> nth=0 >> .output_wrapper'), /Error|Traceback/);
    await page.screenshot({ path: join(SHOTS, 'classic-long-restarted.png'), fullPage: true });
    await page.close();
  });

  it('the browser got no 4xx/5xx: kernelspec logo served, no CodeMirror mode request for "anygpt"', () => {
    assert.ok(
      requested.some((r) => /^200 .*\/kernelspecs\/anygpt\/logo-64x64\.png/.test(r)),
      `the header shows our logo:\n${requested.filter((r) => /kernelspecs/.test(r)).join('\n')}`,
    );
    assert.ok(!requested.some((r) => /codemirror\/mode\/anygpt/.test(r)));
    assert.deepEqual(httpErrors, []);
  });
});
