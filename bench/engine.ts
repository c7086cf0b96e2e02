/**
 * Engine benchmark (not a timed test): decode tokens/s and per-token overhead beyond session.run, and
 * transformers.js on the same ONNX file, side by side, with the ratio.
 *
 * Model: the tiny LLaMA-style test fixture (test/fixtures/engine/llama, 2 layers, d=32, V=185), so the numbers
 * are dominated by per-token overhead, which is what this measures. Every run generates exactly N tokens
 * greedily (min-new-tokens = N so EOS cannot end it early) from the same prompt ids.
 * Run alone: `node --import tsx bench/engine.ts`.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decode } from '../kernel/engine/decode';
import { Engine, resolveParams } from '../kernel/engine/index';
import { LlmSession } from '../kernel/engine/llm';
import { loadPackage } from '../kernel/engine/package';
import { argmax } from '../kernel/engine/sampling';

const MODEL = path.join(__dirname, '..', 'test', 'fixtures', 'engine', 'llama');
const N = 200;
const RUNS = 3;
const PROMPT = '[Human]: hello world<eoh> [MMGPT]:';

export interface EngineBench {
  model: string;
  newTokens: number;
  /** Full engine through the worker: decode-phase tokens/s (best of runs). */
  engineDecodeTokPerS: number;
  /** Per generated token: (prefill + decode − time inside session.run) / tokens, ms. */
  engineOverheadMsPerToken: number;
  /** The same loop on the calling thread (no worker messages). */
  inThreadDecodeTokPerS: number;
  inThreadOverheadMsPerToken: number;
  /** Bare loop: forward + argmax only, the floor for this graph. */
  bareLoopTokPerS: number;
  /** End-to-end (prefill + decode) tokens/s, engine vs transformers.js, same file, same ids. */
  engineEndToEndTokPerS: number;
  transformersJsTokPerS: number | null;
  ratio: number | null;
  transformersJsError?: string;
  targets: { overheadMsPerToken: 0.2; ratio: 1.5 };
}

const best = (xs: number[]) => Math.max(...xs);
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export async function benchEngine(): Promise<EngineBench> {
  const pkg = await loadPackage(MODEL);
  const params = resolveParams(pkg.manifest, { doSample: false, constrain: false, maxNewTokens: N, minNewTokens: N, seed: 1 });
  const ids = [pkg.vocab.bosId, ...pkg.tokenizer.encode(PROMPT)];

  // 1. The engine as the kernel uses it (worker thread, no streaming).
  const engine = await Engine.open(MODEL, { executionProvider: 'cpu', threads: 1 });
  const eTok: number[] = [];
  const eOver: number[] = [];
  const eE2e: number[] = [];
  await engine.generate(PROMPT, params); // warm-up
  for (let r = 0; r < RUNS; r++) {
    const g = await engine.generate(PROMPT, params);
    const n = g.stats.generatedTokens;
    eTok.push((n / g.stats.decodeMs) * 1000);
    eOver.push((g.stats.prefillMs + g.stats.decodeMs - g.stats.stages['session.run']) / n);
    eE2e.push((n / (g.stats.prefillMs + g.stats.decodeMs)) * 1000);
  }
  await engine.close();

  // 2. Same loop in this thread, and 3. the bare loop.
  const llm = await LlmSession.open(pkg.resolve(pkg.manifest.llm.graph.path), pkg.manifest.llm, { executionProvider: 'cpu', threads: 1 });
  const tTok: number[] = [];
  const tOver: number[] = [];
  const bare: number[] = [];
  await decode({ llm, vocab: pkg.vocab, manifest: pkg.manifest }, ids, params);
  for (let r = 0; r < RUNS; r++) {
    const run0 = llm.runMs;
    const t0 = performance.now();
    const d = await decode({ llm, vocab: pkg.vocab, manifest: pkg.manifest }, ids, params);
    const total = performance.now() - t0;
    tTok.push((d.generated.length / d.decodeMs) * 1000);
    tOver.push((total - (llm.runMs - run0)) / d.generated.length);

    const b0 = performance.now();
    let step = await llm.forward(ids, llm.emptyCache());
    const tb = performance.now();
    for (let i = 0; i < N; i++) step = await llm.forward([argmax(step.logits)], step.cache);
    void b0;
    bare.push((N / (performance.now() - tb)) * 1000);
  }
  await llm.release();

  // 4. transformers.js on the same ONNX file.
  let tjs: number | null = null;
  let tjsError: string | undefined;
  try {
    tjs = await transformersJs(ids, pkg.manifest.llm.numLayers, pkg.manifest.llm.numKvHeads, pkg.manifest.llm.headDim, pkg.manifest.llm.vocabSize);
  } catch (e) {
    tjsError = (e as Error).message;
  }
  const e2e = best(eE2e);
  return {
    model: 'test/fixtures/engine/llama (2 layers, d 32, V 185)',
    newTokens: N,
    engineDecodeTokPerS: round(best(eTok), 1),
    engineOverheadMsPerToken: round(Math.min(...eOver)),
    inThreadDecodeTokPerS: round(best(tTok), 1),
    inThreadOverheadMsPerToken: round(Math.min(...tOver)),
    bareLoopTokPerS: round(best(bare), 1),
    engineEndToEndTokPerS: round(e2e, 1),
    transformersJsTokPerS: tjs === null ? null : round(tjs, 1),
    ratio: tjs === null ? null : round(e2e / tjs, 2),
    ...(tjsError ? { transformersJsError: tjsError } : {}),
    targets: { overheadMsPerToken: 0.2, ratio: 1.5 },
  };
}

/** transformers.js needs its folder layout (config.json + onnx/model.onnx); the graph file is copied unchanged. */
async function transformersJs(ids: number[], layers: number, kvHeads: number, headDim: number, vocab: number): Promise<number> {
  const root = mkdtempSync(path.join(tmpdir(), 'anygpt-tjs-'));
  try {
    const dir = path.join(root, 'tiny');
    cpSync(path.join(MODEL, 'llm.onnx'), path.join(dir, 'onnx', 'model.onnx'));
    const heads = 4; // the fixture's query heads (hidden 32 = 4 × headDim 8)
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        model_type: 'llama',
        architectures: ['LlamaForCausalLM'],
        hidden_size: heads * headDim,
        num_attention_heads: heads,
        num_key_value_heads: kvHeads,
        num_hidden_layers: layers,
        head_dim: headDim,
        vocab_size: vocab,
        bos_token_id: 1,
        eos_token_id: 2,
        max_position_embeddings: 512,
      }),
    );
    writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }));
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = root;
    const model = await tf.AutoModelForCausalLM.from_pretrained('tiny', { dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: 1 } } as never);
    const input = new tf.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const gen = (model as unknown as { generate(o: unknown): Promise<unknown> }).generate.bind(model);
    const opts = { inputs: input, attention_mask: new tf.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]), max_new_tokens: N, min_new_tokens: N, do_sample: false };
    await gen(opts); // warm-up
    const rates: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      await gen(opts);
      rates.push((N / (performance.now() - t0)) * 1000);
    }
    await (model as unknown as { dispose(): Promise<void> }).dispose();
    return best(rates);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('engine.ts')) {
  benchEngine().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
