/**
 * The nbconvert path, for real: `/usr/bin/python3 -m jupyter nbconvert --to notebook --execute` on the
 * samples/ notebooks (copied with their media to a temp folder), with the kernelspec installed into a
 * temp prefix found through JUPYTER_PATH (the user's home is never touched), then `--to html` on the
 * executed notebook. Always over the real engine with the media fixture package (known outputs, real codecs:
 * test/jupyter/helpers.ts mediaFixture); models/anygpt-nano as well when it exists (its quality is not judged).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MIME } from '../../common/generation';
import type { AudioOutput, OutputMetadata, TokensOutput } from '../../common/output-payloads';
import sharp from 'sharp';
import { launch } from '../media/browser';
import {
  cleanupFixtures,
  ensureKernelBuilt,
  haveNano,
  jupyterSandboxEnv,
  KERNEL_JS,
  MEDIA_SPEECH_CODES,
  mediaFixture,
  NANO,
  ROOT,
} from './helpers';

const PY = '/usr/bin/python3';
const haveNbconvert =
  existsSync(PY) && spawnSync(PY, ['-m', 'jupyter', 'nbconvert', '--version'], { stdio: 'ignore' }).status === 0;
const SAMPLES = join(ROOT, 'samples');
const SHOTS = join(ROOT, 'test-output', 'frontends');

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: { anygpt?: OutputMetadata };
  ename?: string;
  evalue?: string;
}
interface Nb {
  metadata: { kernelspec?: { name: string; language?: string }; language_info?: { name: string } };
  cells: { cell_type: string; source: string | string[]; outputs?: Output[]; execution_count?: number | null }[];
}

const src = (s: string | string[]) => (Array.isArray(s) ? s.join('') : s);
const codeCells = (nb: Nb) => nb.cells.filter((c) => c.cell_type === 'code');

describe('nbconvert executes the samples through the installed kernelspec', function () {
  this.timeout(300000);
  let tmp: string;
  let work: string;
  let env: NodeJS.ProcessEnv;

  before(function () {
    if (!haveNbconvert) this.skip();
    if (!existsSync(join(SAMPLES, 'media', 'voice.wav')))
      execFileSync(process.execPath, ['--import', 'tsx', join(SAMPLES, 'make-samples.ts')], { stdio: 'pipe' });
    ensureKernelBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'anygpt-nbconvert-'));
    const prefix = join(tmp, 'prefix');
    execFileSync(
      process.execPath,
      [KERNEL_JS, 'install', '--prefix', prefix, '--name', 'anygpt-nbc-media', '--model', mediaFixture()],
      { stdio: 'pipe' },
    );
    if (haveNano())
      execFileSync(
        process.execPath,
        [KERNEL_JS, 'install', '--prefix', prefix, '--name', 'anygpt-nbc-nano', '--model', NANO],
        { stdio: 'pipe' },
      );
    work = join(tmp, 'nb');
    cpSync(SAMPLES, work, { recursive: true, filter: (p) => !p.endsWith('.ts') });
    // The samples' own prompts get "hi there" from the fixture's LLM; these copies add its trigger words so the
    // tts and t2i cells generate speech and image spans (magics, %voice and media paths stay the samples').
    for (const [name, word] of [
      ['tts', 'say'],
      ['t2i', 'img'],
    ] as const) {
      const nb = JSON.parse(readFileSync(join(work, `${name}.ipynb`), 'utf8')) as Nb;
      for (const c of codeCells(nb)) c.source = src(c.source).replace(/\n([^%\n][^\n]*)$/, `\n${word}: $1`);
      writeFileSync(join(work, `${name}-fixture.ipynb`), JSON.stringify(nb, null, 1));
    }
    // Progress shows from the first step, as on a loaded machine: the cell must still keep one status line.
    env = jupyterSandboxEnv(tmp, prefix, { ANYGPT_PROGRESS_DELAY_MS: '0' });
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    cleanupFixtures();
  });

  /** nbconvert --execute into `<name>.<tag>.ipynb` next to the sample (so media paths resolve), parsed. */
  const execute = (name: string, kernel: string, tag: string): Nb => {
    const r = spawnSync(
      PY,
      [
        '-m',
        'jupyter',
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        `--ExecutePreprocessor.kernel_name=${kernel}`,
        '--ExecutePreprocessor.timeout=240',
        '--output',
        `${name}.${tag}`,
        join(work, `${name}.ipynb`),
      ],
      { env, cwd: work, encoding: 'utf8', timeout: 280000 },
    );
    assert.equal(r.status, 0, `nbconvert ${name} (${kernel}) failed:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(readFileSync(join(work, `${name}.${tag}.ipynb`), 'utf8')) as Nb;
  };

  const validate = (file: string) => {
    const r = spawnSync(
      PY,
      ['-c', 'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print("valid")', file],
      { env, encoding: 'utf8' },
    );
    assert.equal(r.stdout.trim(), 'valid', r.stderr);
  };

  it('tts and t2i (media fixture): saved audio/image outputs, tokens records, metadata; valid nbformat', async () => {
    const tts = execute('tts-fixture', 'anygpt-nbc-media', 'run');
    validate(join(work, 'tts-fixture.run.ipynb'));
    assert.equal(tts.metadata.language_info?.name, 'anygpt');
    const [c1, c2] = codeCells(tts);
    for (const c of [c1, c2]) {
      assert.match(src(c.source), /\nsay: /);
      assert.equal(typeof c.execution_count, 'number');
      assert.ok(!c.outputs!.some((o) => o.output_type === 'error'), JSON.stringify(c.outputs));
      const res = c.outputs!.find((o) => o.output_type === 'execute_result')!;
      const g = res.data![MIME.tokens] as TokensOutput;
      assert.equal(typeof g, 'object', 'the tokens record is stored as a JSON object');
      assert.ok(g.tokens.length > g.promptLength);
      assert.equal(res.metadata!.anygpt!.task, 'tts');
      assert.equal(res.metadata!.anygpt!.model, 'fixture-media');
      const audio = c.outputs!.find((o) => o.data && MIME.audio in o.data)!;
      assert.ok(audio, 'audio display saved');
      const a = audio.data![MIME.audio] as AudioOutput;
      assert.equal(a.modality, 'speech');
      assert.deepEqual(a.codes, MEDIA_SPEECH_CODES, "the fixture's speech span");
      const wav = Buffer.from(a.wav, 'base64');
      assert.equal(wav.toString('latin1', 8, 12), 'WAVE', 'lossless WAV in the saved notebook');
      assert.equal(wav.readUInt32LE(24), 16000);
      assert.match(src(audio.data!['text/html'] as string), /^<audio controls/);
      assert.match(src(audio.data!['text/plain'] as string), /^<speech 0\.24 s, 16000 Hz: /);
      // One streamed-text display per cell (update_display_data folded in by nbclient): decode progress shows
      // in it and gives way to the generation's summary, leaving no "decoded speech in N ms" behind.
      assert.equal(
        c.outputs!.filter(
          (o) =>
            o.output_type === 'display_data' &&
            Object.keys(o.data!).join() === 'text/plain' &&
            !/^loading model|^loaded /.test(src(o.data!['text/plain'] as string)),
        ).length,
        1,
      );
    }
    // %voice was applied: both cells decode the same semantic codes, but the second one's acoustic stage
    // (SoundStorm) is prompted with the sample's voice, so its waveform differs.
    assert.match(src(c2.source), /%voice media\/other-voice\.wav/);
    const wavOf = (c: typeof c1) =>
      (c.outputs!.find((o) => o.data && MIME.audio in o.data)!.data![MIME.audio] as AudioOutput).wav;
    assert.notEqual(wavOf(c1), wavOf(c2));

    const t2i = execute('t2i-fixture', 'anygpt-nbc-media', 'run');
    const img = codeCells(t2i)[0].outputs!.find((o) => o.data && 'image/png' in o.data)!;
    assert.ok(img, 'image/png saved');
    const meta = await sharp(Buffer.from(img.data!['image/png'] as string, 'base64')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 256, 256], 'the 32×32 decode, shown enlarged 8×');
  });

  it('every sample executes unchanged (media fixture), media attachments resolve relative to the notebook', () => {
    for (const name of ['asr', 'caption', 'chat', 'm2t', 't2i', 't2m', 'tts']) {
      const nb = execute(name, 'anygpt-nbc-media', 'media');
      for (const c of codeCells(nb)) {
        assert.ok(
          !c.outputs!.some((o) => o.output_type === 'error'),
          `${name}: ${JSON.stringify(c.outputs!.filter((o) => o.output_type === 'error'))}`,
        );
      }
    }
  });

  it('--to html renders audio outputs as an <audio> element and images as <img>', () => {
    const html = (name: string) => {
      const r = spawnSync(
        PY,
        ['-m', 'jupyter', 'nbconvert', '--to', 'html', '--output', `${name}.run`, join(work, `${name}.run.ipynb`)],
        { env, cwd: work, encoding: 'utf8', timeout: 120000 },
      );
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(join(work, `${name}.run.html`), 'utf8');
    };
    const tts = html('tts-fixture');
    const audios =
      tts.match(/<audio controls[^>]*>\s*<source src="data:audio\/wav;base64,[A-Za-z0-9+/=]{100,}/g) ??
      tts.match(/<audio controls[^>]*src="data:audio\/wav;base64,[A-Za-z0-9+/=]{100,}/g) ??
      [];
    assert.equal(audios.length, 2, 'one playable <audio> per tts cell');
    // The clip's length in words: a browser's control shows "0:00 / 0:00" for a clip under a second.
    assert.equal(tts.match(/<\/audio><div[^>]*>speech, \d+\.\d\d s<\/div>/g)?.length, 2);
    assert.match(html('t2i-fixture'), /<img src="data:image\/png;base64,/);
  });

  it('--to html of an executed sample, opened in Chromium: each <audio> plays (duration > 0, play() resolves), no lexer warning', async () => {
    const r = spawnSync(
      PY,
      [
        '-m',
        'jupyter',
        'nbconvert',
        '--to',
        'html',
        '--output',
        'tts-fixture.browser',
        join(work, 'tts-fixture.run.ipynb'),
      ],
      { env, cwd: work, encoding: 'utf8', timeout: 120000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /No lexer found/);
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      // tsx compiles callbacks passed to page.evaluate with esbuild's keepNames, which references __name.
      await page.addInitScript('window.__name = (f) => f;');
      // The export links require.js and MathJax from a CDN; the machine is offline, and the audio needs neither.
      await page.route(/^https?:/, (route) => route.abort());
      await page.goto(pathToFileURL(join(work, 'tts-fixture.browser.html')).href);
      const states = await page.$$eval('audio', (els) =>
        Promise.all(
          els.map(async (el) => {
            const audio = el as HTMLAudioElement;
            if (audio.readyState < 1)
              await new Promise((ok, fail) => {
                audio.addEventListener('loadedmetadata', ok, { once: true });
                audio.addEventListener('error', () => fail(new Error(`audio error ${audio.error?.code}`)), {
                  once: true,
                });
                audio.load();
              });
            await audio.play();
            const playing = !audio.paused;
            audio.pause();
            return { duration: audio.duration, playing };
          }),
        ),
      );
      assert.equal(states.length, 2, 'one <audio> per tts cell');
      for (const s of states) {
        assert.ok(s.duration > 0 && Number.isFinite(s.duration), `duration ${s.duration}`);
        assert.ok(s.playing, 'play() resolved and the element plays');
      }
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'nbconvert-tts.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('--to html of a sample as shipped names a lexer nbconvert knows (no "No lexer found" warning)', () => {
    copyFileSync(join(SAMPLES, 't2i.ipynb'), join(work, 't2i-shipped.ipynb'));
    const r = spawnSync(PY, ['-m', 'jupyter', 'nbconvert', '--to', 'html', join(work, 't2i-shipped.ipynb')], {
      env,
      cwd: work,
      encoding: 'utf8',
      timeout: 120000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /No lexer found/);
  });

  it('with models/anygpt-nano: every sample executes end to end through nbconvert, and every answer is right', function () {
    if (!haveNano()) this.skip();
    // What the samples' media hold (samples/make-samples.ts): a big red circle on the left, espeak saying
    // "red circle", a flute playing A4. A sample must never show a wrong answer to a newcomer.
    const rightAnswers: Record<string, [RegExp, RegExp][]> = {
      asr: [[/%task asr/, /^red circle$/]],
      caption: [
        [/%task caption/, /^a big red circle on the left$/],
        [/What colour is it\?/, /^red\.?$/],
      ],
      chat: [[/What colour is it\?/, /^red\.?$/]],
      m2t: [[/%task m2t/, /^a flute playing the note A4$/]],
    };
    for (const name of ['asr', 'caption', 'chat', 'm2t', 't2i', 't2m', 'tts']) {
      const nb = execute(name, 'anygpt-nbc-nano', 'nano');
      const checked = new Set<RegExp>();
      for (const c of codeCells(nb)) {
        assert.ok(
          !c.outputs!.some((o) => o.output_type === 'error'),
          `${name}: ${JSON.stringify(c.outputs!.filter((o) => o.output_type === 'error'))}`,
        );
        const res = c.outputs!.find((o) => o.output_type === 'execute_result');
        if (!res) continue;
        const record = res.data![MIME.tokens] as TokensOutput;
        assert.equal(record.model.name, 'anygpt-nano');
        const source = src(c.source);
        for (const [cell, answer] of rightAnswers[name] ?? []) {
          if (!cell.test(source)) continue;
          assert.match(record.text.trim(), answer, `${name}: ${JSON.stringify(source)}`);
          checked.add(cell);
        }
      }
      assert.equal(checked.size, (rightAnswers[name] ?? []).length, `${name}: every expected answer was produced`);
    }
  });
});
