/**
 * `anygpt generate` end to end from the TypeScript sources (node + tsx): tasks built by kernel/prompt's
 * templates, media inputs encoded in the engine worker, generated spans written as PNG/WAV files.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Generation } from '../../common/generation';
import { greyBlocks, makeWav, sine } from '../codecs/fixtures';
import { missingCudaLibraries } from '../../kernel/engine/llm';
import { ensureKernelBuilt, KERNEL_JS } from '../jupyter/helpers';
import { cleanupMediaPackages, mediaPackage } from './media-fixture';

const ROOT = path.join(__dirname, '..', '..');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const CLI = path.join(ROOT, 'kernel', 'cli', 'anygpt.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function anygpt(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    // tsx by absolute path: the command runs in a temporary cwd, outside this package's node_modules.
    execFile(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), CLI, ...args],
      { cwd, encoding: 'utf8', env: { ...process.env, ANYGPT_MODEL: '' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('anygpt CLI with media', function () {
  this.timeout(120000);
  let model: string;
  let work: string;
  before(() => {
    model = mediaPackage();
    work = mkdtempSync(path.join(tmpdir(), 'anygpt-cli-'));
  });
  after(() => {
    cleanupMediaPackages();
    rmSync(work, { recursive: true, force: true });
  });

  it('t2i writes a PNG into --out and prints its path', async () => {
    const out = path.join(work, 'images');
    const r = await anygpt(
      ['generate', '--model', model, '--ep', 'cpu', '--task', 't2i', '--seed', '1', '--out', out, 'img of a cat'],
      work,
    );
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(out, 'image-1.png');
    assert.match(r.stdout, new RegExp(`wrote ${escape(file)}`));
    const meta = await sharp(readFileSync(file)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 32, 32]);
    // A second run does not overwrite the first file.
    const again = await anygpt(
      ['generate', '--model', model, '--ep', 'cpu', '--task', 't2i', '--out', out, 'img'],
      work,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['image-1.png', 'image-2.png']);
  });

  it('tts with --json: the record on stdout, a WAV in ./out (not in the current directory itself)', async () => {
    const cwd = mkdtempSync(path.join(work, 'tts-'));
    const r = await anygpt(
      ['generate', '--model', model, '--ep', 'cpu', '--task', 'tts', '--seed', '2', '--json', 'say hello'],
      cwd,
    );
    assert.equal(r.code, 0, r.stderr);
    const g = JSON.parse(r.stdout) as Generation;
    assert.equal(g.schema, 'anygpt-generation/1');
    assert.ok(g.prompt.includes('I require you to read these mute words'), g.prompt);
    assert.ok(g.spans.some((s) => s.kind === 'speech' && s.role === 'generated'));
    assert.match(r.stderr, new RegExp(`wrote ${escape(path.join(cwd, 'out', 'speech-1.wav'))}`));
    assert.deepEqual(readdirSync(cwd), ['out'], 'nothing but out/ in the current directory');
    const wav = readFileSync(path.join(cwd, 'out', 'speech-1.wav'));
    assert.equal(wav.subarray(0, 4).toString(), 'RIFF');
    assert.equal(wav.readUInt32LE(24), 16000);
  });

  it('caption and asr read --image / --speech through the codecs into the prompt', async () => {
    const png = path.join(work, 'blocks.png');
    writeFileSync(png, await greyBlocks([0, 40, 80, 120, 160, 200, 240, 255]));
    const r = await anygpt(
      ['generate', '--model', model, '--ep', 'cpu', '--task', 'caption', '--json', '--image', png],
      work,
    );
    assert.equal(r.code, 0, r.stderr);
    const g = JSON.parse(r.stdout) as Generation;
    assert.equal(g.text, 'hi there');
    assert.match(g.prompt, /Describe the people and objects in this picture\. <soim>(<👀\d+>){8}<eoim><eoh>/u);
    const wav = path.join(work, 'q.wav');
    writeFileSync(wav, makeWav([sine(300, 16000, 0.2)], 16000, '16'));
    const t = await anygpt(['tokens', '--model', model, '--task', 'asr', '--speech', wav], work);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /prompt\s+speech \[\d+,\d+\) 10 codes/);
  });

  it('reports bad media and missing task input clearly', async () => {
    const bad = path.join(work, 'bad.png');
    writeFileSync(bad, 'not an image');
    const r = await anygpt(['generate', '--model', model, '--ep', 'cpu', '--task', 'caption', '--image', bad], work);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /anygpt: media: bad\.png is not a readable image/);
    const noImage = await anygpt(
      ['generate', '--model', model, '--ep', 'cpu', '--task', 'caption', 'what is it?'],
      work,
    );
    assert.equal(noImage.code, 2);
    assert.match(noImage.stderr, /--task caption needs --image FILE/);
    // The knob table's range, checked at the flag (the engine's own message named no flag).
    const topP = await anygpt(['generate', '--model', model, '--ep', 'cpu', '--top-p', '0', 'hi'], work);
    assert.equal(topP.code, 2);
    assert.match(topP.stderr, /--top-p: 0 is out of range \(0, 1\]/);
  });
});

describe('anygpt CLI: help, usage on wrong flags, defaults and fallbacks (issue 22)', function () {
  this.timeout(120000);
  let model: string;
  let work: string;
  const VARIANTS_PKG = path.join(ROOT, 'test', 'fixtures', 'convert', 'pkg-fp16');
  before(() => {
    model = mediaPackage();
    work = mkdtempSync(path.join(tmpdir(), 'anygpt-cli-help-'));
  });
  after(() => {
    cleanupMediaPackages();
    rmSync(work, { recursive: true, force: true });
  });

  it('per-command --help: usage of that command, exit 0; --variant shown only for a package with variants', async () => {
    const g = await anygpt(['generate', '--help', '--model', model], work);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /^usage: anygpt generate /);
    assert.match(g.stdout, /--out DIR .*default: \.\/out/);
    assert.doesNotMatch(g.stdout, /--variant/, 'the media fixture has no variants');
    const v = await anygpt(['generate', '--model', VARIANTS_PKG, '--help'], work);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /--variant int4 /);
    for (const cmd of ['tokens', 'inspect', 'verify']) {
      const r = await anygpt([cmd, '--help'], work);
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: anygpt ${cmd} `));
    }
  });

  it("a wrong flag gets our message and the command usage (exit 2), not parseArgs' unbalanced quote", async () => {
    const r = await anygpt(['generate', '--model', model, '--bogus', "it's"], work);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^anygpt: generate: unknown option --bogus\n\nusage: anygpt generate /);
    assert.doesNotMatch(r.stderr, /positional argument|'--bogus/);
    const near = await anygpt(['generate', '--jsn', 'hi'], work);
    assert.match(near.stderr, /unknown option --jsn; did you mean --json\?/);
    // A flag of another command is a wrong flag here.
    const t = await anygpt(['tokens', '--seed', '1', 'hi'], work);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /tokens: unknown option --seed\n\nusage: anygpt tokens /);
    const noValue = await anygpt(['generate', '--model'], work);
    assert.equal(noValue.code, 2);
    assert.match(noValue.stderr, /--model needs a value/);
  });

  it('--task asr without --speech names the missing flag; --variant on a package without variants says so', async () => {
    const r = await anygpt(['generate', '--model', model, '--task', 'asr', ''], work);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--task asr needs --speech FILE/);
    assert.doesNotMatch(r.stderr, /a prompt is required/);
    const v = await anygpt(['generate', '--model', model, '--variant', 'int4', 'hi'], work);
    assert.equal(v.code, 2);
    assert.match(v.stderr, /--variant "int4": the package at .* has no variants/);
    assert.doesNotMatch(v.stderr, /invalid model package/);
  });

  it('--ep auto says why it runs on the CPU', async function () {
    const missing = missingCudaLibraries();
    if (!missing) this.skip(); // a machine with the CUDA provider libraries may run on CUDA
    const r = await anygpt(['generate', '--model', model, '--ep', 'auto', '--max-new-tokens', '2', 'hi'], work);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stderr.includes(`anygpt engine: CUDA provider library not installed (${missing}); using CPU`),
      r.stderr,
    );
  });

  it('kernel.js --help prints its usage; a wrong flag prints it too (exit 2)', () => {
    ensureKernelBuilt();
    const h = spawnSync(process.execPath, [KERNEL_JS, '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /^usage: anygpt-kernel .*-f CONNECTION_FILE/);
    assert.match(h.stdout, /anygpt-kernel install /);
    const w = spawnSync(process.execPath, [KERNEL_JS, '--bogus'], { encoding: 'utf8' });
    assert.equal(w.status, 2);
    assert.match(w.stderr, /unknown option --bogus\n\nusage: anygpt-kernel /);
  });
});
