/**
 * The nbconvert path, for real: `/usr/bin/python3 -m jupyter nbconvert --to notebook --execute` on the
 * samples/ notebooks (copied with their media to a temp folder), with the kernelspec installed into a
 * temp prefix found through JUPYTER_PATH (the user's home is never touched), then `--to html` on the
 * executed notebook. Simulated backend always (deterministic); models/anygpt-nano as well when it exists.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIME } from '../../common/generation';
import type { AudioOutput, OutputMetadata, TokensOutput } from '../../common/outputs';
import { ensureKernelBuilt, KERNEL_JS, ROOT } from './helpers';

const PY = '/usr/bin/python3';
const haveNbconvert = existsSync(PY) && spawnSync(PY, ['-m', 'jupyter', 'nbconvert', '--version'], { stdio: 'ignore' }).status === 0;
const NANO = join(ROOT, 'models', 'anygpt-nano');
const SAMPLES = join(ROOT, 'samples');

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
    if (!existsSync(join(SAMPLES, 'media', 'voice.wav'))) execFileSync(process.execPath, ['--import', 'tsx', join(SAMPLES, 'make-samples.ts')], { stdio: 'pipe' });
    ensureKernelBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'anygpt-nbconvert-'));
    const prefix = join(tmp, 'prefix');
    execFileSync(process.execPath, [KERNEL_JS, 'install', '--prefix', prefix, '--name', 'anygpt-nbc-sim', '--simulate'], { stdio: 'pipe' });
    if (existsSync(join(NANO, 'anygpt.json'))) execFileSync(process.execPath, [KERNEL_JS, 'install', '--prefix', prefix, '--name', 'anygpt-nbc-nano', '--model', NANO], { stdio: 'pipe' });
    for (const d of ['data', 'runtime', 'config']) mkdirSync(join(tmp, d));
    work = join(tmp, 'nb');
    cpSync(SAMPLES, work, { recursive: true, filter: (p) => !p.endsWith('.ts') });
    env = {
      ...process.env,
      JUPYTER_PATH: join(prefix, 'share', 'jupyter'),
      JUPYTER_DATA_DIR: join(tmp, 'data'),
      JUPYTER_RUNTIME_DIR: join(tmp, 'runtime'),
      JUPYTER_CONFIG_DIR: join(tmp, 'config'),
      ANYGPT_SIM_STEP_MS: '2',
      PYTHONDONTWRITEBYTECODE: '1',
    };
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** nbconvert --execute into `<name>.<tag>.ipynb` next to the sample (so media paths resolve), parsed. */
  const execute = (name: string, kernel: string, tag: string): Nb => {
    const r = spawnSync(
      PY,
      ['-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.kernel_name=${kernel}`, '--ExecutePreprocessor.timeout=240', '--output', `${name}.${tag}`, join(work, `${name}.ipynb`)],
      { env, cwd: work, encoding: 'utf8', timeout: 280000 },
    );
    assert.equal(r.status, 0, `nbconvert ${name} (${kernel}) failed:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(readFileSync(join(work, `${name}.${tag}.ipynb`), 'utf8')) as Nb;
  };

  const validate = (file: string) => {
    const r = spawnSync(PY, ['-c', 'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print("valid")', file], { env, encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'valid', r.stderr);
  };

  it('tts and t2i (simulated): saved audio/image outputs, tokens records, metadata; valid nbformat', () => {
    const tts = execute('tts', 'anygpt-nbc-sim', 'sim');
    validate(join(work, 'tts.sim.ipynb'));
    assert.equal(tts.metadata.language_info?.name, 'anygpt');
    const [c1, c2] = codeCells(tts);
    for (const c of [c1, c2]) {
      assert.equal(typeof c.execution_count, 'number');
      assert.ok(!c.outputs!.some((o) => o.output_type === 'error'), JSON.stringify(c.outputs));
      const res = c.outputs!.find((o) => o.output_type === 'execute_result')!;
      const g = res.data![MIME.tokens] as TokensOutput;
      assert.equal(typeof g, 'object', 'the tokens record is stored as a JSON object');
      assert.ok(g.tokens.length > g.promptLength);
      assert.equal(res.metadata!.anygpt!.task, 'tts');
      assert.equal(res.metadata!.anygpt!.model, 'simulated');
      const audio = c.outputs!.find((o) => o.data && MIME.audio in o.data)!;
      assert.ok(audio, 'audio display saved');
      const a = audio.data![MIME.audio] as AudioOutput;
      assert.equal(a.modality, 'speech');
      assert.equal(Buffer.from(a.wav, 'base64').toString('latin1', 8, 12), 'WAVE', 'lossless WAV in the saved notebook');
      assert.match(src(audio.data!['text/html'] as string), /^<audio controls/);
      assert.match(src(audio.data!['text/plain'] as string), /^<speech /);
      // One streamed-text display per cell (update_display_data folded in by nbclient).
      assert.equal(c.outputs!.filter((o) => o.output_type === 'display_data' && Object.keys(o.data!).join() === 'text/plain').length, 1);
    }
    // %voice was applied: the simulated backend has no warnings to show for it.
    assert.match(src(c2.source), /%voice media\/voice\.wav/);

    const t2i = execute('t2i', 'anygpt-nbc-sim', 'sim');
    const img = codeCells(t2i)[0].outputs!.find((o) => o.data && 'image/png' in o.data)!;
    assert.ok(img, 'image/png saved');
    assert.equal(Buffer.from(img.data!['image/png'] as string, 'base64').toString('latin1', 1, 4), 'PNG');
  });

  it('every sample executes (simulated), media attachments resolve relative to the notebook', () => {
    for (const name of ['asr', 'caption', 'chat', 'm2t', 't2m']) {
      const nb = execute(name, 'anygpt-nbc-sim', 'sim');
      for (const c of codeCells(nb)) {
        assert.ok(!c.outputs!.some((o) => o.output_type === 'error'), `${name}: ${JSON.stringify(c.outputs!.filter((o) => o.output_type === 'error'))}`);
      }
    }
  });

  it('--to html renders audio outputs as an <audio> element and images as <img>', () => {
    const html = (name: string) => {
      const r = spawnSync(PY, ['-m', 'jupyter', 'nbconvert', '--to', 'html', '--output', `${name}.sim`, join(work, `${name}.sim.ipynb`)], { env, cwd: work, encoding: 'utf8', timeout: 120000 });
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(join(work, `${name}.sim.html`), 'utf8');
    };
    const tts = html('tts');
    const audios = tts.match(/<audio controls[^>]*>\s*<source src="data:audio\/wav;base64,[A-Za-z0-9+/=]{100,}/g) ?? tts.match(/<audio controls[^>]*src="data:audio\/wav;base64,[A-Za-z0-9+/=]{100,}/g) ?? [];
    assert.equal(audios.length, 2, 'one playable <audio> per tts cell');
    assert.match(html('t2i'), /<img src="data:image\/png;base64,/);
  });

  it('with models/anygpt-nano: every sample executes end to end through nbconvert', function () {
    if (!existsSync(join(NANO, 'anygpt.json'))) this.skip();
    for (const name of ['asr', 'caption', 'chat', 'm2t', 't2i', 't2m', 'tts']) {
      const nb = execute(name, 'anygpt-nbc-nano', 'nano');
      for (const c of codeCells(nb)) {
        assert.ok(!c.outputs!.some((o) => o.output_type === 'error'), `${name}: ${JSON.stringify(c.outputs!.filter((o) => o.output_type === 'error'))}`);
        const res = c.outputs!.find((o) => o.output_type === 'execute_result');
        if (res) assert.equal((res.data![MIME.tokens] as TokensOutput).model.name, 'anygpt-nano');
      }
    }
  });
});
