/**
 * End to end on a fake checkpoint with the full upstream vocabulary layout (21,516 added tokens):
 * tools/convert/fake_checkpoints.py → tools/convert/convert.py → the engine loads and generates.
 * Needs Debian's /usr/bin/python3 with torch 1.13 + onnx 1.12; skipped (with the reason) when absent.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { Engine } from '../../kernel/engine';

const ROOT = path.join(__dirname, '..', '..');
const PY = '/usr/bin/python3';

describe('convert: fake full-layout checkpoint → package → engine (needs python3-torch)', function () {
  this.timeout(300_000);
  let tmp = '';
  before(function () {
    const probe = spawnSync(PY, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log(`      skipped: ${PY} with torch+onnx not available`);
      this.skip();
    }
    tmp = mkdtempSync(path.join(tmpdir(), 'anygpt-convert-e2e-'));
    const run = (args: string[]) => execFileSync('nice', ['-n', '10', PY, ...args], { cwd: ROOT, encoding: 'utf8' });
    run([
      'tools/convert/fake_checkpoints.py',
      '--out',
      path.join(tmp, 'src'),
      '--hidden',
      '64',
      '--layers',
      '2',
      '--heads',
      '4',
    ]);
    const log = run([
      'tools/convert/convert.py',
      '--src',
      path.join(tmp, 'src'),
      '--out',
      path.join(tmp, 'pkg'),
      '--llm-dtype',
      'int4',
    ]);
    assert.match(log, /estimate: peak RAM/);
    assert.match(log, /done: /);
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('convert.py refuses a folder without weights, with a clear message', () => {
    const r = spawnSync(
      PY,
      ['tools/convert/convert.py', '--src', path.join(tmp, 'nope'), '--out', path.join(tmp, 'x')],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a directory/);
  });

  it('the tokenizer has the upstream layout and matches the slow-tokenizer goldens', () => {
    const pkg = path.join(tmp, 'pkg');
    const json = JSON.parse(readFileSync(path.join(pkg, 'tokenizer.json'), 'utf8'));
    const tok = new Tokenizer(json, JSON.parse(readFileSync(path.join(pkg, 'tokenizer_config.json'), 'utf8')));
    const id = new Map<string, number>(
      json.added_tokens.map((t: { content: string; id: number }) => [t.content, t.id]),
    );
    const base = id.get('[Human]')!;
    const order: [string, number][] = [
      ['[MMGPT]', 1],
      ['<eoh>', 2],
      ['<eos>', 3],
      ['<\u{1F440}0>', 4],
      ['<\u{1F440}8191>', 8195],
      ['<soim>', 8196],
      ['<eoim>', 8197],
      ['<\u{1F5E3}\u{FE0F}0>', 8198],
      ['<\u{1F5E3}\u{FE0F}1023>', 9221],
      ['<sosp>', 9222],
      ['<eosp>', 9223],
      ['<\u{1F3B6}0>', 9224],
      ['<\u{1F3B6}8191>', 17415],
      ['<somu>', 17416],
      ['<eomu>', 17417],
      ['<\u{1F442}0>', 17418],
      ['<\u{1F442}4095>', 21513],
      ['<soau>', 21514],
      ['<eoau>', 21515],
    ];
    for (const [t, off] of order) assert.equal(id.get(t), base + off, t);
    const g = JSON.parse(readFileSync(path.join(pkg, 'checks', 'tokenizer-goldens.json'), 'utf8'));
    for (const { text, ids } of g.goldens) assert.deepEqual(tok.encode(text).ids, ids, JSON.stringify(text));
  });

  it('SEED decoder at full size (8192×32 codebook, 4×768 blocks → 1024-d): export matches torch within 1e-3', async () => {
    const py = [
      'import sys, json, torch; sys.path.insert(0, "tools/convert"); import seed_decoder as s',
      `d = ${JSON.stringify(tmp)}`,
      's.make_fake(d + "/seed_quantizer.pt", small=False, seed=1)',
      'm, dims = s.load(d + "/seed_quantizer.pt"); s.export(m, d + "/image_seed_decoder.onnx")',
      'codes = torch.arange(32).unsqueeze(0) * 255 % 8192',
      'json.dump({"codes": codes[0].tolist(), "out": m(codes)[0].tolist(), "dims": dims}, open(d + "/seed.json", "w"))',
    ].join('\n');
    execFileSync('nice', ['-n', '10', PY, '-c', py], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ref = JSON.parse(readFileSync(path.join(tmp, 'seed.json'), 'utf8'));
    assert.equal(ref.dims.out_dim, 1024);
    const s = await ort.InferenceSession.create(path.join(tmp, 'image_seed_decoder.onnx'));
    const r = await s.run({ codes: new ort.Tensor('int64', BigInt64Array.from(ref.codes.map(BigInt)), [1, 32]) });
    await s.release();
    assert.deepEqual(r.image_embeds.dims, [1, 1024]);
    let m = 0;
    ref.out.forEach(
      (v: number, i: number) => (m = Math.max(m, Math.abs((r.image_embeds.data as Float32Array)[i] - v))),
    );
    console.log(`      max-abs ${m.toExponential(1)}`);
    assert.ok(m <= 1e-3);
  });

  it('the engine opens the int4 package and generates', async () => {
    const engine = await Engine.open(path.join(tmp, 'pkg'), { executionProvider: 'cpu', threads: 1 });
    try {
      assert.equal(engine.pkg.manifest.llm.vocabSize, 1000 + 21516);
      const prompt =
        '[Human]: Could you discern what is uttered in the next sound bite? <sosp><\u{1F5E3}\u{FE0F}5><eosp><eoh> [MMGPT]:';
      const g = await engine.generate(prompt, { doSample: true, seed: 1, maxNewTokens: 6, constrain: false });
      assert.equal(g.tokens.length - g.promptLength, g.stats.generatedTokens);
      assert.ok(g.stats.generatedTokens >= 1);
      for (const t of g.tokens) assert.ok(t.id >= 0 && t.id < 22516);
    } finally {
      await engine.close();
    }
  });
});
