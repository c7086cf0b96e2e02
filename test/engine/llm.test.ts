import assert from 'node:assert/strict';
import { LlmSession } from '../../kernel/engine/llm';
import { loadPackage } from '../../kernel/engine/package';
import { argmax } from '../../kernel/engine/sampling';
import { DET, LLAMA } from './fixtures';

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe('engine/llm: KV-cache decoding on real ORT sessions', () => {
  it('tiny LLaMA (position_ids, full logits): KV decode equals recomputation without cache', async () => {
    const pkg = await loadPackage(LLAMA);
    const llm = await LlmSession.open(pkg.resolve('llm.onnx'), pkg.manifest.llm, {
      executionProvider: 'cpu',
      threads: 1,
    });
    const ids = [1, ...pkg.tokenizer.encode('[Human]: hello world<eoh> [MMGPT]:')];
    let step = await llm.forward(ids, llm.emptyCache()); // prefill with zero-length past
    assert.equal(step.cache.length, ids.length);
    const seq = [...ids];
    for (let i = 0; i < 12; i++) {
      const next = argmax(step.logits);
      seq.push(next);
      step = await llm.forward([next], step.cache);
      const full = await llm.forward(seq, llm.emptyCache());
      assert.ok(
        maxAbsDiff(step.logits, full.logits) < 1e-4,
        `step ${i}: logits differ by ${maxAbsDiff(step.logits, full.logits)}`,
      );
      assert.equal(step.cache.length, seq.length);
    }
    // the random model really depends on context (so the check above means something)
    const other = await llm.forward([1, 85], llm.emptyCache());
    assert.ok(maxAbsDiff(other.logits, step.logits) > 1e-2);
    await llm.release();
  });

  it('transition graph (no position_ids, last-token logits): cache grows by one per step', async () => {
    const pkg = await loadPackage(DET);
    const llm = await LlmSession.open(pkg.resolve('llm.onnx'), pkg.manifest.llm, { executionProvider: 'cpu' });
    const r = await llm.forward([1, 85], llm.emptyCache());
    assert.equal(r.logits.length, 185);
    assert.equal(argmax(r.logits), 90); // ▁hi → ▁there
    const r2 = await llm.forward([90], r.cache);
    assert.equal(r2.cache.length, 3);
    assert.deepEqual(r2.cache.tensors[0].dims, [1, 1, 3, 4]);
    assert.equal(argmax(r2.logits), 138); // ▁there → <eos>
    await llm.release();
  });

  it('refuses to run past llm.maxPositions', async () => {
    const pkg = await loadPackage(DET);
    const llm = await LlmSession.open(
      pkg.resolve('llm.onnx'),
      { ...pkg.manifest.llm, maxPositions: 4 },
      { executionProvider: 'cpu' },
    );
    await assert.rejects(
      llm.forward([1, 2, 3, 4, 5], llm.emptyCache()),
      /context full: 5 tokens exceed anygpt.json llm.maxPositions = 4/,
    );
    await llm.release();
  });
});
