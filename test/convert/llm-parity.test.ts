/**
 * Parity of the converter's LLM graphs (tools/convert/llm_builder.py) with the plain-torch LLaMA replica
 * (tools/convert/llama_ref.py) on the same random weights, run through real onnxruntime-node.
 * Fixtures: test/fixtures/convert (regenerate with tools/convert/make_fixtures.sh).
 *
 * Tolerances (max-abs over the vocabulary, logits std ≈ 1):
 *   fp32                         ≤ 1e-3   (measured ≈ 2e-6)
 *   fp16 (weights, activations, KV fp16) vs the fp32 reference        ≤ 1.5e-2 (measured ≈ 4e-3)
 *   int4 vs the reference with RTN-dequantised weights (what MatMulNBits computes):
 *     float32 activations, accuracy_level 4 (int8 activations on CPU) ≤ 0.1 (measured ≈ 4e-2)
 *     float16 activations                                             ≤ 0.1 (measured ≈ 4e-2)
 *   int4 vs the unquantised fp32 reference is quantisation error, only reported.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Engine } from '../../kernel/engine';
import { checkLlmGraph, loadPackage } from '../../kernel/engine/package';

const FIX = path.join(__dirname, '..', 'fixtures', 'convert');
const parity = JSON.parse(readFileSync(path.join(FIX, 'parity.json'), 'utf8')) as {
  ids: number[];
  steps: number[];
  greedy: number[];
  prompt: string;
  reference: { fp32: number[][]; int4: number[][] };
};

interface Case {
  pkg: string;
  file: string;
  kv: 'float32' | 'float16';
  ref: 'fp32' | 'int4';
  tol: number;
}
const CASES: Case[] = [
  { pkg: 'pkg-fp32', file: 'llm.onnx', kv: 'float32', ref: 'fp32', tol: 1e-3 },
  { pkg: 'pkg-fp32', file: 'llm-int4.onnx', kv: 'float32', ref: 'int4', tol: 0.1 },
  { pkg: 'pkg-fp16', file: 'llm.onnx', kv: 'float16', ref: 'fp32', tol: 1.5e-2 },
  { pkg: 'pkg-fp16', file: 'llm-int4.onnx', kv: 'float16', ref: 'int4', tol: 0.1 },
];

function maxAbs(a: ArrayLike<number>, b: number[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Prefill the prompt with empty past, then feed parity.steps one token at a time; returns last-token logits per run. */
async function runGraph(file: string, kv: 'float32' | 'float16'): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(file, {
    intraOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  try {
    const manifest = JSON.parse(readFileSync(path.join(path.dirname(file), 'anygpt.json'), 'utf8'));
    const { numLayers, numKvHeads, headDim, vocabSize } = manifest.llm;
    let past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < numLayers; i++) {
      for (const k of ['key', 'value']) {
        past[`past_key_values.${i}.${k}`] = new ort.Tensor(
          kv,
          kv === 'float16' ? new Uint16Array(0) : new Float32Array(0),
          [1, numKvHeads, 0, headDim],
        );
      }
    }
    const out: Float32Array[] = [];
    let total = parity.ids.length;
    let feed = parity.ids;
    for (let step = 0; step <= parity.steps.length; step++) {
      const r = await s.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(feed.map(BigInt)), [1, feed.length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
        ...past,
      });
      assert.deepEqual(r.logits.dims, [1, 1, vocabSize]);
      out.push(r.logits.data as Float32Array);
      past = {};
      for (let i = 0; i < numLayers; i++) {
        for (const k of ['key', 'value']) {
          const p = r[`present.${i}.${k}`];
          assert.deepEqual(p.dims, [1, numKvHeads, total, headDim]);
          past[`past_key_values.${i}.${k}`] = p;
        }
      }
      if (step < parity.steps.length) {
        feed = [parity.steps[step]];
        total += 1;
      }
    }
    return out;
  } finally {
    await s.release();
  }
}

describe('convert: LLM graph parity with the torch replica (onnxruntime-node CPU)', function () {
  this.timeout(120_000);
  for (const c of CASES) {
    it(`${c.pkg}/${c.file}: prefill + ${parity.steps.length} KV-cache steps within ${c.tol}`, async () => {
      const got = await runGraph(path.join(FIX, c.pkg, c.file), c.kv);
      const errs = got.map((g, i) => maxAbs(g, parity.reference[c.ref][i]));
      const vsFp32 = got.map((g, i) => maxAbs(g, parity.reference.fp32[i]));
      console.log(
        `      max-abs vs ${c.ref} reference: ${errs.map((e) => e.toExponential(1)).join(' ')}` +
          (c.ref === 'fp32' ? '' : `; vs unquantised fp32: ${vsFp32.map((e) => e.toExponential(1)).join(' ')}`),
      );
      for (const e of errs) assert.ok(e <= c.tol, `max-abs ${e} > ${c.tol}`);
    });
  }

  it('the engine accepts the converted packages (manifest, tokenizer, vocabulary, graph contract)', async () => {
    for (const p of ['pkg-fp32', 'pkg-fp16']) {
      const pkg = await loadPackage(path.join(FIX, p));
      for (const file of ['llm.onnx', 'llm-int4.onnx']) {
        const s = await ort.InferenceSession.create(path.join(FIX, p, file));
        const meta = {
          inputs: s.inputMetadata.map((m) =>
            m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name },
          ),
          outputs: s.outputMetadata.map((m) =>
            m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name },
          ),
        };
        const info = checkLlmGraph(pkg.manifest.llm, meta, file);
        assert.equal(info.hasPositionIds, false);
        assert.equal(info.lastTokenLogitsOnly, true);
        await s.release();
      }
    }
  });

  it("the engine generates the torch replica's greedy tokens from the converted fp32 package", async () => {
    const engine = await Engine.open(path.join(FIX, 'pkg-fp32'), { executionProvider: 'cpu', threads: 1 });
    try {
      assert.deepEqual(engine.encode(parity.prompt), parity.ids);
      const g = await engine.generate(parity.prompt, {
        doSample: false,
        numBeams: 1,
        maxNewTokens: parity.greedy.length,
        repetitionPenalty: 1,
        constrain: false,
      });
      const ids = g.tokens.slice(g.promptLength).map((t) => t.id);
      assert.deepEqual(ids, parity.greedy.slice(0, ids.length));
      assert.ok(ids.length >= 1);
    } finally {
      await engine.close();
    }
  });
});
