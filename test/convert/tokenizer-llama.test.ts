/**
 * The text tokenizer on the real LLaMA-2 vocabulary, against an independent reference.
 *
 * tools/convert/llama_vocab.py rebuilds LLaMA-2's tokenizer.model from the dev dependency llama-tokenizer-js and
 * writes checkpoint-style tokenizer files with AnyGPT's 21,516 added tokens; tools/convert/tokenizer_convert.py
 * (the converter real checkpoints go through) turns them into tokenizer.json; the engine's TextTokenizer encodes
 * the corpus of test/fixtures/tokenizer-llama/goldens.json, whose ids come from the sentencepiece library under
 * the slow transformers 4.34.1 rules (tools/convert/llama_goldens.py regenerates it). Needs /usr/bin/python3 (no
 * packages beyond the standard library).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import llamaTokenizer from 'llama-tokenizer-js';
import { TextTokenizer } from '../../kernel/engine/tokenizer';

const ROOT = path.join(__dirname, '..', '..');
const PY = '/usr/bin/python3';

interface Case {
  section: string;
  text: string;
  legacy: number[];
  nonlegacy: number[] | null;
  plain?: boolean;
}
interface Goldens {
  vocabulary: string;
  checkedAgainstLlamaTokenizerJs: number;
  stripTokens: Record<string, { lstrip: boolean; rstrip: boolean }>;
  cases: Case[];
  strip: Case[];
}

const goldens = JSON.parse(
  readFileSync(path.join(ROOT, 'test', 'fixtures', 'tokenizer-llama', 'goldens.json'), 'utf8'),
) as Goldens;

/** Every case whose ids differ, as "section: text → got … want …" lines (all of them, not the first). */
function mismatches(tok: TextTokenizer, cases: Case[], mode: 'legacy' | 'nonlegacy'): string[] {
  const out: string[] = [];
  for (const c of cases) {
    const want = mode === 'legacy' ? c.legacy : (c.nonlegacy ?? c.legacy);
    const got = [1, ...tok.encode(c.text)];
    if (JSON.stringify(got) !== JSON.stringify(want))
      out.push(`${c.section}: ${JSON.stringify(c.text)} → got [${got}] want [${want}]`);
  }
  return out;
}

function report(bad: string[], total: number): string {
  return `${bad.length} of ${total} differ:\n${bad.slice(0, 15).join('\n')}`;
}

describe('convert: text tokenizer on the real LLaMA-2 vocabulary vs sentencepiece (slow 4.34.1 rules)', function () {
  this.timeout(300_000);
  let tmp = '';
  const toks: Record<string, TextTokenizer> = {};

  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'anygpt-tok-llama-'));
    const run = (args: string[]) => execFileSync(PY, args, { cwd: ROOT, encoding: 'utf8' });
    const vocab = path.join(tmp, 'llama.json');
    execFileSync('node', ['tools/convert/llama_js_dump.mjs', '--vocab', vocab], { cwd: ROOT });
    const variants: Record<string, string[]> = {
      absent: ['--legacy', 'absent'],
      true: ['--legacy', 'true'],
      false: ['--legacy', 'false'],
      'strip-absent': ['--legacy', 'absent', '--strip'],
      'strip-false': ['--legacy', 'false', '--strip'],
    };
    for (const [name, flags] of Object.entries(variants)) {
      const src = path.join(tmp, name, 'src');
      const pkg = path.join(tmp, name, 'pkg');
      run(['tools/convert/llama_vocab.py', '--vocab', vocab, '--out', src, ...flags]);
      run(['tools/convert/tokenizer_convert.py', '--src', src, '--out', pkg]);
      toks[name] = new TextTokenizer(
        JSON.parse(readFileSync(path.join(pkg, 'tokenizer.json'), 'utf8')),
        JSON.parse(readFileSync(path.join(pkg, 'tokenizer_config.json'), 'utf8')),
      );
    }
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the corpus is the one asked for: ≥ 2,000 strings over every section', () => {
    assert.ok(goldens.cases.length >= 2000, `${goldens.cases.length}`);
    const sections = new Set(goldens.cases.map((c) => c.section));
    for (const s of ['ascii', 'whitespace', 'digits', 'cjk', 'emoji', 'byte-fallback', 'leading', 'anygpt'])
      assert.ok(sections.has(s), s);
  });

  it('llama-tokenizer-js (installed) still gives the reference ids on every string without added tokens', () => {
    const plain = goldens.cases.filter((c) => c.plain);
    const bad = plain.filter((c) => JSON.stringify(llamaTokenizer.encode(c.text)) !== JSON.stringify(c.legacy));
    assert.equal(plain.length, goldens.checkedAgainstLlamaTokenizerJs);
    assert.ok(plain.length >= 1800);
    assert.deepEqual(
      bad.map((c) => c.text),
      [],
    );
  });

  it('legacy (tokenizer_config without "legacy", 4.34 default): every corpus string exact', () => {
    const bad = mismatches(toks.absent, goldens.cases, 'legacy');
    assert.equal(bad.length, 0, report(bad, goldens.cases.length));
  });

  it('"legacy": true written out: the same ids as absent, every corpus string exact', () => {
    const bad = mismatches(toks.true, goldens.cases, 'legacy');
    assert.equal(bad.length, 0, report(bad, goldens.cases.length));
  });

  it('"legacy": false: every corpus string exact', () => {
    const bad = mismatches(toks.false, goldens.cases, 'nonlegacy');
    assert.equal(bad.length, 0, report(bad, goldens.cases.length));
  });

  it('lstrip/rstrip true (<eoh> lstrip, [MMGPT] rstrip, <sosp> both), legacy: every strip string exact', () => {
    assert.deepEqual(goldens.stripTokens['<sosp>'], { lstrip: true, rstrip: true });
    const bad = mismatches(toks['strip-absent'], goldens.strip, 'legacy');
    assert.equal(bad.length, 0, report(bad, goldens.strip.length));
  });

  it('lstrip/rstrip true, "legacy": false: every strip string exact', () => {
    const bad = mismatches(toks['strip-false'], goldens.strip, 'nonlegacy');
    assert.equal(bad.length, 0, report(bad, goldens.strip.length));
  });
});
