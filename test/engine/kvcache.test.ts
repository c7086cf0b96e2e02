/**
 * CPU fast path: the shared-buffer KV cache of GroupQueryAttention graphs, through the JS binding or bound through
 * the C API (IoBinding), gives the same tokens as the dynamic cache; variants are selectable; a non-GQA graph keeps
 * (or falls back to) the dynamic cache.
 * Packages: the converter's fixtures (test/fixtures/convert/pkg-*: llm_builder GQA graphs, fp32/fp16 + int4
 * variants) and the engine's torch-exported LLaMA fixture (no GQA).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { GenerationParams } from '../../common/generation';
import { decode } from '../../kernel/engine/decode';
import { Engine, PackageError, resolveParams } from '../../kernel/engine/index';
import { graphUsesGqa, LlmSession, type KvCacheChoice } from '../../kernel/engine/llm';
import { loadPackage, type ModelPackage } from '../../kernel/engine/package';
import { llmSpecFor } from '../../kernel/engine/worker-ops';
import { cleanupCopies, copyPackage, editJson, LLAMA } from './fixtures';

const CONVERT = path.join(__dirname, '..', 'fixtures', 'convert');
const FP32 = path.join(CONVERT, 'pkg-fp32');
const FP16 = path.join(CONVERT, 'pkg-fp16');
const PROMPT = '[Human]: hello world<eoh> [MMGPT]:';

async function run(
  pkg: ModelPackage,
  variant: string | undefined,
  kvCache: KvCacheChoice,
  params: Partial<GenerationParams>,
  prompt = PROMPT,
) {
  const spec = llmSpecFor(pkg, variant);
  const llm = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
    executionProvider: 'cpu',
    threads: 1,
    kvCache,
  });
  try {
    const ids = [pkg.vocab.bosId, ...pkg.tokenizer.encode(prompt)];
    const full = resolveParams(pkg.manifest, params);
    const r = await decode({ llm, vocab: pkg.vocab, manifest: pkg.manifest }, ids, full);
    return { mode: llm.kvMode, fallback: llm.kvFallbackReason, r };
  } finally {
    await llm.release();
  }
}

describe('engine/kvcache: shared-buffer and bound KV caches, and variants', () => {
  after(cleanupCopies);

  it('detects GroupQueryAttention in the converter graphs and not in the torch export', () => {
    assert.equal(graphUsesGqa(path.join(FP32, 'llm.onnx')), true);
    assert.equal(graphUsesGqa(path.join(FP32, 'llm-int4.onnx')), true);
    assert.equal(graphUsesGqa(path.join(LLAMA, 'llm.onnx')), false);
  });

  for (const [name, dir, variant] of [
    ['fp32', FP32, undefined],
    ['fp32 int4 variant', FP32, 'int4'],
    ['fp16', FP16, undefined],
  ] as const) {
    it(`${name}: shared-buffer (JS binding) and bound (C API + IoBinding) give the same tokens and statistics as dynamic`, async () => {
      const pkg = await loadPackage(dir);
      const params = { doSample: false, constrain: false, maxNewTokens: 60, minNewTokens: 60, seed: 3 };
      const dyn = await run(pkg, variant, 'dynamic', params);
      assert.equal(dyn.mode, 'dynamic');
      for (const mode of ['shared-buffer', 'bound'] as const) {
        const r = await run(pkg, variant, mode, params);
        assert.equal(r.mode, mode, r.fallback);
        assert.equal(r.fallback, undefined);
        assert.equal(r.r.generated.length, 60);
        assert.deepEqual(
          r.r.generated.map((g) => g.id),
          dyn.r.generated.map((g) => g.id),
          mode,
        );
        const tol = name === 'fp16' ? 2e-2 : 1e-4;
        for (let i = 0; i < 60; i++) {
          assert.ok(Math.abs(r.r.generated[i].logprob - dyn.r.generated[i].logprob) < tol, `${mode} step ${i} logprob`);
          assert.ok(Math.abs(r.r.generated[i].entropy - dyn.r.generated[i].entropy) < tol, `${mode} step ${i} entropy`);
        }
      }
    });
  }

  it('bound cache: grows past its first capacity, serves a second sequence, and beam search opens the JS session for its caches', async () => {
    const pkg = await loadPackage(FP32);
    const spec = pkg.manifest.llm;
    const ids = [pkg.vocab.bosId, ...pkg.tokenizer.encode(PROMPT)];
    const sampled = resolveParams(pkg.manifest, {
      doSample: true,
      temperature: 1.3,
      topK: 0,
      topP: 1,
      constrain: false,
      maxNewTokens: 300,
      minNewTokens: 300,
      seed: 11,
    });
    const ref = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
      executionProvider: 'cpu',
      threads: 1,
      kvCache: 'dynamic',
    });
    const want = (await decode({ llm: ref, vocab: pkg.vocab, manifest: pkg.manifest }, ids, sampled)).generated.map(
      (g) => g.id,
    );
    const beams = resolveParams(pkg.manifest, {
      numBeams: 3,
      doSample: false,
      constrain: false,
      maxNewTokens: 12,
      seed: 1,
    });
    const wantBeams = (await decode({ llm: ref, vocab: pkg.vocab, manifest: pkg.manifest }, ids, beams)).generated.map(
      (g) => g.id,
    );
    await ref.release();
    const llm = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
      executionProvider: 'cpu',
      threads: 1,
      kvCache: 'bound',
    });
    try {
      assert.equal(llm.kvMode, 'bound');
      // 16 tokens asked for: the first capacity (256) is passed at ~290 tokens, so the cache grows mid-generation.
      const small = {
        forward: llm.forward.bind(llm),
        emptyCache: llm.emptyCache.bind(llm),
        spec: llm.spec,
        decodeCache: () => llm.decodeCache(16),
      };
      for (let round = 0; round < 2; round++) {
        const r = await decode({ llm: small, vocab: pkg.vocab, manifest: pkg.manifest }, ids, sampled);
        assert.deepEqual(
          r.generated.map((g) => g.id),
          want,
          `round ${round}`,
        );
      }
      const b = await decode({ llm, vocab: pkg.vocab, manifest: pkg.manifest }, ids, beams);
      assert.deepEqual(
        b.generated.map((g) => g.id),
        wantBeams,
      );
    } finally {
      await llm.release();
    }
  });

  it('bound cache: room for prompt + max new tokens at the start, one run at a time, and ORT errors from the worker thread', async () => {
    const pkg = await loadPackage(FP32);
    const spec = pkg.manifest.llm;
    const llm = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
      executionProvider: 'cpu',
      threads: 1,
      kvCache: 'bound',
    });
    try {
      const cache = llm.decodeCache(10, 300);
      const runner = cache.bound!;
      assert.ok(runner.room >= 310, `room ${runner.room}`);
      const inFlight = runner.run([1, 5, 6]);
      await assert.rejects(runner.run([7]), /in flight/);
      assert.throws(() => llm.decodeCache(4), /in flight/);
      const logits = await inFlight;
      assert.equal(logits.length, spec.vocabSize);
      assert.equal(runner.tokens, 3);
      await runner.run([7]);
      assert.equal(runner.tokens, 4);
      // ORT's error from the worker thread reaches the caller, and the runner is usable again.
      await assert.rejects(runner.run([spec.vocabSize + 1000]), /onnxruntime RunWithBinding: .*/);
      assert.equal(runner.tokens, 4);
      await runner.run([8]);
      assert.equal(runner.tokens, 5);
      // decode() asks for prompt + maxNewTokens: 300 new tokens after a 12-token prompt never grow the cache.
      const ids = [pkg.vocab.bosId, ...pkg.tokenizer.encode(PROMPT)];
      const params = resolveParams(pkg.manifest, {
        doSample: false,
        constrain: false,
        maxNewTokens: 300,
        minNewTokens: 300,
        seed: 1,
      });
      const r = await decode({ llm, vocab: pkg.vocab, manifest: pkg.manifest }, ids, params);
      assert.equal(r.generated.length, 300);
      assert.equal(llm.decodeCache(1).bound!.room, runner.room, 'grew mid-generation');
    } finally {
      await llm.release();
    }
  });

  it("bound cache: one-token logits land in the session's statistics-kernel rows in turn (no copy); seeded sampling with constraints matches dynamic", async () => {
    const pkg = await loadPackage(FP32);
    const spec = pkg.manifest.llm;
    const llm = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
      executionProvider: 'cpu',
      threads: 1,
      kvCache: 'bound',
    });
    try {
      const rows = llm.statsKernel!.rawRows;
      const cache = llm.decodeCache(3, 8);
      const runner = cache.bound!;
      await runner.run([1, 5, 6]);
      const a = await runner.run([7]);
      const copyA = Float32Array.from(a);
      const b = await runner.run([8]);
      const c = await runner.run([9]);
      assert.ok(rows.includes(a) && rows.includes(b), 'logits are a kernel row');
      assert.notEqual(a, b, 'consecutive runs write different rows');
      assert.equal(c, a);
      assert.notDeepEqual(Array.from(b), Array.from(copyA));
      // The same three steps through the JS binding's dynamic cache give the same rows.
      const ref = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
        executionProvider: 'cpu',
        threads: 1,
        kvCache: 'dynamic',
      });
      try {
        let step = await ref.forward([1, 5, 6], ref.emptyCache());
        step = await ref.forward([7], step.cache);
        for (let i = 0; i < copyA.length; i++) assert.ok(Math.abs(step.logits[i] - copyA[i]) < 1e-4, `logit ${i}`);
      } finally {
        await ref.release();
      }
    } finally {
      await llm.release();
    }
    const params = { doSample: true, constrain: true, maxNewTokens: 40, seed: 11 };
    const dyn = await run(pkg, undefined, 'dynamic', params);
    const bound = await run(pkg, undefined, 'bound', params);
    assert.equal(bound.mode, 'bound');
    assert.ok(bound.r.generated.length >= 10, `${bound.r.generated.length} tokens`);
    assert.deepEqual(
      bound.r.generated.map((g) => g.id),
      dyn.r.generated.map((g) => g.id),
    );
    for (let i = 0; i < bound.r.generated.length; i++)
      assert.ok(Math.abs(bound.r.generated[i].logprob - dyn.r.generated[i].logprob) < 1e-4, `step ${i}`);
  });

  it('a non-GQA graph asked for the bound cache uses the dynamic one and says why', async () => {
    const pkg = await loadPackage(LLAMA);
    const params = { doSample: false, constrain: false, maxNewTokens: 10, minNewTokens: 10, seed: 1 };
    const dyn = await run(pkg, undefined, 'auto', params);
    const forced = await run(pkg, undefined, 'bound', params);
    assert.equal(forced.mode, 'dynamic');
    assert.match(forced.fallback ?? '', /bound KV cache unavailable \(llm\.onnx has no GroupQueryAttention/);
    assert.deepEqual(
      forced.r.generated.map((g) => g.id),
      dyn.r.generated.map((g) => g.id),
    );
  });

  it('shared buffer grows in chunks past its initial capacity with identical sampled tokens (seeded)', async () => {
    const pkg = await loadPackage(FP32);
    const spec = pkg.manifest.llm;
    const ids = [pkg.vocab.bosId, ...pkg.tokenizer.encode(PROMPT)];
    const params = resolveParams(pkg.manifest, {
      doSample: true,
      temperature: 1.3,
      topK: 0,
      topP: 1,
      constrain: false,
      maxNewTokens: 300,
      minNewTokens: 300,
      seed: 11,
    });
    const out: number[][] = [];
    for (const kvCache of ['dynamic', 'shared-buffer'] as const) {
      const llm = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
        executionProvider: 'cpu',
        threads: 1,
        kvCache,
      });
      // A deliberately small first capacity (16 tokens): forward() must grow it (chunks of 128) mid-generation.
      const small = {
        forward: llm.forward.bind(llm),
        emptyCache: llm.emptyCache.bind(llm),
        spec: llm.spec,
        decodeCache: () => llm.decodeCache(16),
      };
      const r = await decode({ llm: small, vocab: pkg.vocab, manifest: pkg.manifest }, ids, params);
      assert.equal(r.generated.length, 300);
      out.push(r.generated.map((g) => g.id));
      await llm.release();
    }
    assert.deepEqual(out[1], out[0]);
  });

  it('beam search keeps the dynamic cache and matches across modes', async () => {
    const pkg = await loadPackage(FP32);
    const params = { numBeams: 3, doSample: false, constrain: false, maxNewTokens: 12, seed: 1 };
    const a = await run(pkg, undefined, 'dynamic', params);
    for (const mode of ['shared-buffer', 'auto'] as const) {
      const b = await run(pkg, undefined, mode, params);
      assert.deepEqual(
        b.r.generated.map((g) => g.id),
        a.r.generated.map((g) => g.id),
        mode,
      );
    }
  });

  it('a non-GQA graph forced to shared-buffer falls back to dynamic with the reason, same tokens', async () => {
    const pkg = await loadPackage(LLAMA);
    const params = { doSample: false, constrain: false, maxNewTokens: 20, minNewTokens: 20, seed: 1 };
    const dyn = await run(pkg, undefined, 'auto', params);
    assert.equal(dyn.mode, 'dynamic');
    const forced = await run(pkg, undefined, 'shared-buffer', params);
    assert.equal(forced.mode, 'dynamic');
    assert.match(forced.fallback ?? '', /shared-buffer KV cache refused by llm\.onnx/);
    assert.deepEqual(
      forced.r.generated.map((g) => g.id),
      dyn.r.generated.map((g) => g.id),
    );
  });

  it('anygpt.json llm.kvCache: validated, and "dynamic" overrides the GQA detection', async () => {
    const bad = copyPackage(FP32);
    editJson(path.join(bad, 'anygpt.json'), (j) => {
      j.llm.kvCache = 'static';
    });
    await assert.rejects(
      loadPackage(bad),
      (e: Error) =>
        e instanceof PackageError &&
        /llm\.kvCache: expected one of "dynamic", "shared-buffer", got "static"/.test(e.message),
    );
    const dir = copyPackage(FP32);
    editJson(path.join(dir, 'anygpt.json'), (j) => {
      j.llm.kvCache = 'dynamic';
    });
    const pkg = await loadPackage(dir);
    assert.equal(pkg.manifest.llm.kvCache, 'dynamic');
    const r = await run(pkg, undefined, 'auto', { doSample: false, constrain: false, maxNewTokens: 3, seed: 1 });
    assert.equal(r.mode, 'dynamic');
  });

  it("Engine: the bound cache (the default for GQA graphs) runs through the worker thread with the JS shared buffer's tokens", async () => {
    const out: number[][] = [];
    for (const kvCache of ['shared-buffer', 'auto'] as const) {
      const engine = await Engine.open(FP32, { executionProvider: 'cpu', threads: 1, kvCache });
      try {
        // auto: a GQA graph runs bound where the C API loads (it does here: koffi is installed)
        assert.equal(engine.llm.kvCache, kvCache === 'auto' ? 'bound' : 'shared-buffer');
        const g = await engine.generate(PROMPT, {
          doSample: false,
          constrain: false,
          maxNewTokens: 24,
          minNewTokens: 24,
        });
        assert.deepEqual(g.warnings, []);
        out.push(g.tokens.slice(g.promptLength).map((t) => t.id));
      } finally {
        await engine.close();
      }
    }
    assert.deepEqual(out[1], out[0]);
  });

  it('Engine: llmVariant selects llm.variants.int4 through the worker; unknown variants list the names', async () => {
    const engine = await Engine.open(FP32, { executionProvider: 'cpu', threads: 1, llmVariant: 'int4' });
    try {
      assert.equal(engine.llm.graph, 'llm-int4.onnx');
      assert.equal(engine.llm.kvCache, 'bound');
      const g = await engine.generate(PROMPT, { doSample: false, constrain: false, maxNewTokens: 8, minNewTokens: 8 });
      assert.equal(g.stats.generatedTokens, 8);
      assert.deepEqual(g.warnings, []);
    } finally {
      await engine.close();
    }
    await assert.rejects(
      Engine.open(FP32, { executionProvider: 'cpu', llmVariant: 'int8' }),
      (e: Error) => e.name === 'PackageError' && e.message === 'llmVariant "int8": anygpt.json llm.variants has "int4"',
    );
  });
});
