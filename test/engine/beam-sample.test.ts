/**
 * Beam-sample (kernel/engine/beam-sample.ts): transformers 4.34's beam-sample with our PRNG. transformers itself
 * cannot be installed on this machine (no network, no Debian package), so the scorer is checked against the
 * rules as restated from its source (docs/engine.md "Beam-sample"), and the whole search on a real ONNX fixture.
 */
import assert from 'node:assert/strict';
import { Xoshiro128 } from '../../common/prng';
import { drawWithoutReplacement, Hypotheses } from '../../kernel/engine/beam-sample';
import { Engine } from '../../kernel/engine/index';
import { LLAMA } from './fixtures';

describe('engine/beam-sample: transformers beam-sample, seeded', () => {
  let llama: Engine;
  before(async () => {
    llama = await Engine.open(LLAMA, { executionProvider: 'cpu', threads: 1 });
  });
  after(async () => {
    await llama?.close();
  });
  const ids = (g: { tokens: { id: number; generated?: true }[] }) =>
    g.tokens.filter((t) => t.generated).map((t) => t.id);

  it('the same seed gives the same tokens; other seeds give others', async () => {
    const p = { doSample: true, numBeams: 4, maxNewTokens: 16, constrain: false, topK: 0, temperature: 1.5 };
    const a = await llama.generate('hello world', { ...p, seed: 7 });
    const b = await llama.generate('hello world', { ...p, seed: 7 });
    assert.deepEqual(ids(a), ids(b));
    const others = await Promise.all([8, 9, 10].map((seed) => llama.generate('hello world', { ...p, seed })));
    assert.ok(
      others.some((o) => JSON.stringify(ids(o)) !== JSON.stringify(ids(a))),
      'three other seeds all gave the same tokens',
    );
    assert.ok(!a.warnings.some((w) => /deterministic/.test(w)), 'doSample is no longer ignored with beams');
  });

  it('at a temperature near 0 its first tokens are greedy decoding, as in transformers 4.34 (beams start as equal copies)', async () => {
    // The warped score is carried forward, so the temperature divides it again every step: after t steps the
    // first token's log-prob is scaled by T^-t and, in float32 as upstream, later differences are lost. Only the
    // first few tokens are the greedy ones; at T = 0.01 three are safe.
    for (const prompt of ['hello world', 'the cat sat']) {
      const g = await llama.generate(prompt, { doSample: false, maxNewTokens: 3, constrain: false, seed: 1 });
      for (const seed of [1, 2, 3]) {
        const s = await llama.generate(prompt, {
          doSample: true,
          numBeams: 3,
          temperature: 0.01,
          topK: 50,
          maxNewTokens: 3,
          constrain: false,
          seed,
        });
        assert.deepEqual(ids(s), ids(g), `${prompt}, seed ${seed}`);
      }
    }
  });

  it('the records carry the raw statistics of each chosen token', async () => {
    const p = { doSample: true, numBeams: 3, maxNewTokens: 8, constrain: false, seed: 3 };
    const g = await llama.generate('hello world', p);
    for (const t of g.tokens.filter((x) => x.generated)) {
      assert.ok(t.logprob! <= 0 && t.logprob! > -Infinity);
      assert.ok(t.top!.length === 5 && t.top![0].prob >= t.top![4].prob);
    }
  });

  it('draws without replacement: no entry twice, first draws follow softmax over all rows together', () => {
    const rows = [Float64Array.from([0, Math.log(2), -Infinity]), Float64Array.from([Math.log(3), -Infinity, 0])];
    const rng = new Xoshiro128(11);
    const counts = new Map<string, number>();
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const d = drawWithoutReplacement(rows, 4, rng);
      assert.equal(d.length, 4, 'four finite entries, four draws');
      assert.equal(new Set(d.map((x) => `${x.row}:${x.id}`)).size, 4);
      const k = `${d[0].row}:${d[0].id}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    // weights 1, 2 | 3, 1 of 7
    for (const [k, w] of [
      ['0:0', 1],
      ['0:1', 2],
      ['1:0', 3],
      ['1:2', 1],
    ] as const)
      assert.ok(Math.abs(counts.get(k)! / N - w / 7) < 0.015, `${k}: ${counts.get(k)! / N} vs ${w / 7}`);
    assert.equal(drawWithoutReplacement(rows, 9, rng).length, 4, 'never more than the finite entries');
  });

  it('hypotheses: score / length^penalty, only the numBeams best kept, transformers early-stopping test', () => {
    const h = new Hypotheses(2);
    h.add({ steps: [], stopReason: 'eos' }, -6, 3); // -2
    h.add({ steps: [], stopReason: 'eos' }, -4, 4); // -1
    assert.equal(h.isDone(-10, 5), true, 'worst -2 ≥ -10/5');
    assert.equal(h.isDone(-5, 5), false, 'worst -2 < -5/5 = -1: a live beam may still win');
    h.add({ steps: [], stopReason: 'stop-token' }, -3, 2); // -1.5 replaces -2
    assert.deepEqual(
      h.list.map((x) => x.score),
      [-1, -1.5],
    );
    h.add({ steps: [], stopReason: 'eos' }, -8, 2); // -4: worse than the worst kept, not added
    assert.equal(h.list.length, 2);
    h.add({ steps: [], stopReason: 'max-new-tokens' }, -3, 3); // -1 ties the best: the later one wins
    assert.equal(h.best()!.stopReason, 'max-new-tokens');
    const lp = new Hypotheses(1, 2);
    lp.add({ steps: [], stopReason: 'eos' }, -8, 2);
    assert.equal(lp.list[0].score, -2);
  });
});
