/**
 * One measurement in its own process (so RSS belongs to one engine, one model, one context):
 *   node --import tsx bench/lib/llm-child.ts '<json ChildArgs>'
 * prints one JSON line (ChildResult). Used by bench/engine.ts; not a bench module itself.
 *
 * - `anygpt`: our engine's decode loop (kernel/engine decode() over LlmSession — the code the engine worker runs),
 *   greedy, min-new-tokens = N, modality constraints off (transformers.js has none), the package's default KV mode
 *   (shared-buffer for GroupQueryAttention graphs) unless `kvCache` says otherwise.
 * - `tjs`: transformers.js 4.3.1 `generate()` on the same ONNX file (a folder with config.json and onnx/model.onnx
 *   symlinked to the package's graph and its external data), greedy, min_new_tokens = N; session.run is wrapped
 *   to time it, and a streamer timestamps each token.
 * Both sessions get the same intra-op thread count. Prompt: C fixed pseudo-random ids from the text range.
 * Each engine first runs one short warm-up generation (WARMUP_PROMPT ids, WARMUP_TOKENS tokens) in the same process,
 * as a kernel has run a cell before: the measured generation then shows the per-token cost of a warm process, not
 * the JIT tier-up of its first ~20 steps (which a fresh process pays once, on both sides).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { decode } from '../../kernel/engine/decode';
import { resolveParams } from '../../kernel/engine/index';
import { LlmSession, type KvCacheChoice } from '../../kernel/engine/llm';
import { loadPackage } from '../../kernel/engine/package';
import { Xoshiro128 } from '../../common/prng';
import { llmSpecFor } from '../../kernel/engine/worker-ops';

export interface ChildArgs {
  engine: 'anygpt' | 'tjs';
  /** Package directory. */
  model: string;
  variant?: string;
  context: number;
  newTokens: number;
  threads: number;
  kvCache?: KvCacheChoice;
  /** anygpt only; default cpu. */
  executionProvider?: 'cpu' | 'cuda';
  /** Where transformers.js's folder layout is made (tjs only). */
  scratch?: string;
  /** Highest prompt id (exclusive) to draw from. */
  idRange: number;
}

export interface ChildResult {
  loadMs: number;
  prefillMs: number;
  prefillTokPerS: number;
  /** (N − 1) forwards after the prefill, tokens/s. */
  decodeTokPerS: number;
  /** Decode-phase wall time minus time inside session.run, per token, ms (one-time first-step costs included). */
  overheadMsPerToken: number;
  /** Median over decode steps of (step wall time − its session.run time), ms: the steady per-token cost. */
  steadyOverheadMsPerToken: number;
  runMsPerToken: number;
  rssMiB: number;
  kvCache?: string;
  /** anygpt: where the LLM ran, and why not on the requested provider or KV mode. */
  executionProvider?: string;
  fallbackReason?: string;
  ids: number[];
}

/** Parent side: runs one measurement in a fresh process and returns its result. */
export function runChild(a: ChildArgs, timeoutMs = 15 * 60 * 1000): ChildResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, JSON.stringify(a)], {
    cwd: path.join(__dirname, '..', '..'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 20,
    timeout: timeoutMs,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

const WARMUP_PROMPT = 32;
const WARMUP_TOKENS = 16;

export function promptIds(n: number, range: number, bos: number): number[] {
  const rng = new Xoshiro128(1234);
  const ids = [bos];
  while (ids.length < n) ids.push(3 + Math.floor(rng.uniform() * (range - 3)));
  return ids;
}

/**
 * The steady per-token cost beyond session.run: the median, over decode steps (every run after the prefill, which
 * is run 0), of the time from one run's start to the next run's start minus the first run's own time. One-time
 * costs of the first steps (JIT tier-up, first-touch pages) stay in `overheadMsPerToken` and out of this.
 */
export function steadyOverhead(starts: number[], runs: number[]): number {
  const gaps: number[] = [];
  for (let i = 1; i + 1 < starts.length; i++) gaps.push(starts[i + 1] - starts[i] - runs[i]);
  if (gaps.length === 0) return NaN;
  gaps.sort((a, b) => a - b);
  const m = gaps.length >> 1;
  return gaps.length % 2 ? gaps[m] : (gaps[m - 1] + gaps[m]) / 2;
}

async function runAnygpt(a: ChildArgs): Promise<ChildResult> {
  const t0 = performance.now();
  const pkg = await loadPackage(a.model, { hashFiles: false });
  const spec = llmSpecFor(pkg, a.variant);
  const llm = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
    executionProvider: a.executionProvider ?? 'cpu',
    threads: a.threads,
    kvCache: a.kvCache,
  });
  const loadMs = performance.now() - t0;
  const ids = promptIds(a.context, a.idRange, pkg.vocab.bosId);
  const N = a.newTokens;
  const params = resolveParams(pkg.manifest, {
    doSample: false,
    constrain: false,
    maxNewTokens: N,
    minNewTokens: N,
    repetitionPenalty: 1,
    seed: 1,
  });
  // Prefill alone is timed by decode() itself; the decode-phase run time is the runs after the first.
  let prefillRunMs = 0;
  const starts: number[] = [];
  const runs: number[] = [];
  const wrapped = {
    spec: llm.spec,
    statsKernel: llm.statsKernel,
    emptyCache: () => llm.emptyCache(),
    decodeCache: (n: number, m?: number) => llm.decodeCache(n, m),
    // Not an async function: decode() awaits the session's own promise, as it does without the bench (an extra
    // async layer costs 10–20 µs per token here once ORT's run has left the caches cold). The bookkeeping runs in
    // a callback of the same promise, before decode() resumes.
    forward: (x: ArrayLike<number>, c: Parameters<LlmSession['forward']>[1]) => {
      const before = llm.runMs;
      starts.push(performance.now());
      const p = llm.forward(x, c);
      p.then(
        () => {
          runs.push(llm.runMs - before);
          if (x.length > 1) prefillRunMs += llm.runMs - before;
        },
        () => undefined,
      );
      return p;
    },
  };
  const ctx = { llm: wrapped, vocab: pkg.vocab, manifest: pkg.manifest };
  const warm = resolveParams(pkg.manifest, { ...params, maxNewTokens: WARMUP_TOKENS, minNewTokens: WARMUP_TOKENS });
  await decode(ctx, promptIds(WARMUP_PROMPT, a.idRange, pkg.vocab.bosId), warm);
  starts.length = 0;
  runs.length = 0;
  prefillRunMs = 0;
  const run0 = llm.runMs;
  const r = await decode(ctx, ids, params);
  const decodeRunMs = llm.runMs - run0 - prefillRunMs;
  const n = r.generated.length;
  const res: ChildResult = {
    loadMs,
    prefillMs: r.prefillMs,
    prefillTokPerS: (ids.length / r.prefillMs) * 1000,
    decodeTokPerS: ((n - 1) / r.decodeMs) * 1000,
    overheadMsPerToken: (r.decodeMs - decodeRunMs) / (n - 1),
    steadyOverheadMsPerToken: steadyOverhead(starts, runs),
    runMsPerToken: decodeRunMs / (n - 1),
    rssMiB: process.resourceUsage().maxRSS / 1024,
    kvCache: llm.kvMode,
    executionProvider: llm.executionProvider,
    ...(llm.fallbackReason || llm.kvFallbackReason
      ? { fallbackReason: [llm.fallbackReason, llm.kvFallbackReason].filter(Boolean).join('; ') }
      : {}),
    ids: r.generated.map((g) => g.id).slice(0, 16),
  };
  await llm.release();
  return res;
}

async function runTjs(a: ChildArgs): Promise<ChildResult> {
  const t0 = performance.now();
  const pkg = await loadPackage(a.model, { hashFiles: false });
  const spec = llmSpecFor(pkg, a.variant);
  const root = a.scratch!;
  const dir = path.join(root, 'm');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  symlinkSync(pkg.resolve(spec.graph.path), path.join(dir, 'onnx', 'model.onnx'));
  // ORT resolves external data next to the path it was given (the symlink), under the name the graph records.
  for (const ext of spec.graph.externalData ?? [])
    symlinkSync(pkg.resolve(ext.path), path.join(dir, 'onnx', path.basename(ext.path)));
  const src = path.join(a.model, 'config.json');
  const hf = existsSync(src) ? JSON.parse(readFileSync(src, 'utf8')) : {};
  const { numLayers, numKvHeads, headDim, vocabSize } = spec;
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      hidden_size: numKvHeads * headDim,
      num_attention_heads: numKvHeads,
      head_dim: headDim,
      ...hf,
      num_key_value_heads: numKvHeads,
      num_hidden_layers: numLayers,
      vocab_size: vocabSize,
      bos_token_id: pkg.vocab.bosId,
      eos_token_id: pkg.vocab.eosId,
      max_position_embeddings: spec.maxPositions,
    }),
  );
  writeFileSync(
    path.join(dir, 'generation_config.json'),
    JSON.stringify({ bos_token_id: pkg.vocab.bosId, eos_token_id: pkg.vocab.eosId }),
  );
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = root;
  const model = (await tf.AutoModelForCausalLM.from_pretrained('m', {
    dtype: 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: a.threads },
  } as never)) as unknown as {
    sessions: Record<string, { run: (...x: unknown[]) => Promise<unknown> }>;
    generate(o: unknown): Promise<unknown>;
    dispose(): Promise<void>;
  };
  const loadMs = performance.now() - t0;
  let runMs = 0;
  const runTimes: number[] = [];
  const runStarts: number[] = [];
  for (const s of Object.values(model.sessions)) {
    const orig = s.run.bind(s);
    // As on our side: no async layer of the bench's own between transformers.js and its session.
    s.run = (...x: unknown[]) => {
      const t = performance.now();
      runStarts.push(t);
      const out = orig(...x);
      out.then(
        () => {
          const dt = performance.now() - t;
          runMs += dt;
          runTimes.push(dt);
        },
        () => undefined,
      );
      return out;
    };
  }
  const warmIds = promptIds(WARMUP_PROMPT, a.idRange, pkg.vocab.bosId);
  await model.generate({
    inputs: new tf.Tensor('int64', BigInt64Array.from(warmIds.map(BigInt)), [1, warmIds.length]),
    attention_mask: new tf.Tensor('int64', new BigInt64Array(warmIds.length).fill(1n), [1, warmIds.length]),
    max_new_tokens: WARMUP_TOKENS,
    min_new_tokens: WARMUP_TOKENS,
    do_sample: false,
    repetition_penalty: 1,
  });
  runMs = 0;
  runTimes.length = 0;
  runStarts.length = 0;
  const ids = promptIds(a.context, a.idRange, pkg.vocab.bosId);
  const N = a.newTokens;
  const stamps: number[] = [];
  const out: number[] = [];
  const streamer = {
    put(v: bigint[][]) {
      stamps.push(performance.now());
      if (stamps.length > 1) out.push(Number(v[0][v[0].length - 1]));
    },
    end() {},
  };
  const input = new tf.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  const mask = new tf.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
  await model.generate({
    inputs: input,
    attention_mask: mask,
    max_new_tokens: N,
    min_new_tokens: N,
    do_sample: false,
    repetition_penalty: 1,
    streamer,
  });
  // stamps[0]: before prefill; stamps[1]: first token (prefill + its sampling); stamps[N]: last token.
  const prefillMs = stamps[1] - stamps[0];
  const decodeMs = stamps[stamps.length - 1] - stamps[1];
  const decodeRunMs = runTimes.slice(1).reduce((x, y) => x + y, 0);
  const n = stamps.length - 1;
  void runMs;
  const res: ChildResult = {
    loadMs,
    prefillMs,
    prefillTokPerS: (ids.length / prefillMs) * 1000,
    decodeTokPerS: ((n - 1) / decodeMs) * 1000,
    overheadMsPerToken: (decodeMs - decodeRunMs) / (n - 1),
    steadyOverheadMsPerToken: steadyOverhead(runStarts, runTimes),
    runMsPerToken: decodeRunMs / (n - 1),
    rssMiB: process.resourceUsage().maxRSS / 1024,
    ids: out.slice(0, 16),
  };
  await model.dispose();
  rmSync(root, { recursive: true, force: true });
  return res;
}

if (process.argv[1]?.endsWith('llm-child.ts')) {
  const a = JSON.parse(process.argv[2]) as ChildArgs;
  (a.engine === 'tjs' ? runTjs(a) : runAnygpt(a)).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e) => {
      process.stderr.write(String((e as Error).stack ?? e) + '\n');
      process.exit(1);
    },
  );
}
