/**
 * AnyGPT-nano parity: the TypeScript engine (worker thread, onnxruntime-node, the package's graph as shipped) gives
 * the same greedy tokens as the torch model it was exported from, on the fixed prompts of
 * test/fixtures/nano-parity.json (written by tools/nano/export.py, so CI needs no torch).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../kernel/engine/index';

const ROOT = path.join(__dirname, '..', '..');
const NANO = path.join(ROOT, 'models', 'anygpt-nano');

interface ParityCase {
  task: string;
  prompt: string;
  promptIds: number[];
  generatedIds: number[];
}

describe('engine: AnyGPT-nano greedy tokens equal the torch fixture', function () {
  this.timeout(120000);
  const fixture = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'nano-parity.json'), 'utf8')) as {
    cases: ParityCase[];
  };
  let engine: Engine;
  before(async () => {
    engine = await Engine.open(NANO, { executionProvider: 'cpu', threads: 1 });
  });
  after(async () => {
    await engine?.close();
  });

  it('covers every task of the fixture; the stop tokens are </s>, <eos> and <eom>', () => {
    assert.deepEqual(
      fixture.cases.map((c) => c.task),
      ['t2i', 'caption', 'asr', 'tts', 't2m', 'm2t', 'chat'],
    );
    const v = engine.pkg.vocab;
    assert.deepEqual([v.eosId, ...v.stopIds].map((id) => engine.pkg.tokenizer.decode([id])).sort(), [
      '</s>',
      '<eom>',
      '<eos>',
    ]);
  });

  for (const c of JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'nano-parity.json'), 'utf8'))
    .cases as ParityCase[]) {
    it(`${c.task}: same prompt ids and the same greedy continuation`, async () => {
      // The fixture's decoding: greedy, constraints off, stop after </s>, <eos> or <eom> (included), at most 80
      // tokens. The engine without constraints stops only at </s>, so its output is cut after the first stop token.
      const g = await engine.generate(c.prompt, {
        doSample: false,
        constrain: false,
        minNewTokens: 0,
        maxNewTokens: 80,
        repetitionPenalty: 1,
      });
      assert.deepEqual(
        g.tokens.slice(0, g.promptLength).map((t) => t.id),
        c.promptIds,
        'prompt ids',
      );
      const stops = new Set([engine.pkg.vocab.eosId, ...engine.pkg.vocab.stopIds]); // </s>; <eos>, <eom>
      const out = g.tokens.slice(g.promptLength).map((t) => t.id);
      const end = out.findIndex((id) => stops.has(id));
      assert.deepEqual(end >= 0 ? out.slice(0, end + 1) : out, c.generatedIds, 'generated ids');
    });
  }

  it('runs on the in-place (bound) KV cache when the package graph has GroupQueryAttention', () => {
    const gqa = readFileSync(path.join(NANO, engine.llm.graph)).includes('GroupQueryAttention');
    assert.equal(engine.llm.kvCache, gqa ? 'bound' : 'dynamic');
  });
});
