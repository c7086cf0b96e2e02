/**
 * The engine's own worker operations: open a package's LLM session, generate, close.
 * State lives here, inside the worker thread; the main thread holds only the package's tokenizer/vocabulary.
 */
import { GENERATION_SCHEMA } from '../../common/generation';
import { decode } from './decode';
import { LlmSession } from './llm';
import { loadPackage, PackageError, type ModelPackage } from './package';
import { buildGeneration, generatedExtra, SpanTracker } from './record';
import { registerOp } from './worker-host';
import type { TokenRecord } from '../../common/generation';

interface LlmState {
  pkg: ModelPackage;
  llm: LlmSession;
  executionProvider: 'cpu' | 'cuda';
  fallbackReason?: string;
  threads?: number;
}

let state: LlmState | null = null;
/** Called before the open package goes away (re-open, close), so other rooms' sessions can be released. */
const releaseHooks: (() => Promise<void>)[] = [];

export function onPackageRelease(hook: () => Promise<void>): void {
  releaseHooks.push(hook);
}

async function releaseOthers(): Promise<void> {
  for (const h of releaseHooks) await h().catch(() => {});
}

/** anygpt.json llm with `graph` replaced by the chosen variant (the variants share every other field). */
export function llmSpecFor(pkg: ModelPackage, variant: string | undefined): ModelPackage['manifest']['llm'] {
  const llm = pkg.manifest.llm;
  if (!variant) return llm;
  const ref = llm.variants?.[variant];
  if (!ref) {
    const names = Object.keys(llm.variants ?? {});
    throw new PackageError(
      `llmVariant ${JSON.stringify(variant)}: anygpt.json llm.variants has ${names.length ? names.map((n) => JSON.stringify(n)).join(', ') : 'no variants'}`,
    );
  }
  return { ...llm, graph: ref };
}

/** Prompt ids as the LLM sees them (BOS per the manifest), as Engine.encode on the main thread. */
function promptIdsOf(pkg: ModelPackage, prompt: string): number[] {
  const ids = pkg.tokenizer.encode(prompt);
  return pkg.manifest.tokenizer.addBos ? [pkg.vocab.bosId, ...ids] : ids;
}

export function registerEngineOps(): void {
  registerOp('open', async (p) => {
    const t0 = performance.now();
    if (state) {
      await releaseOthers();
      await state.llm.release();
      state = null;
    }
    const pkg = await loadPackage(p.dir, { hashFiles: false, knownHash: p.hash });
    const spec = llmSpecFor(pkg, p.llmVariant);
    const llm = await LlmSession.open(pkg.resolve(spec.graph.path), spec, {
      executionProvider: p.executionProvider,
      threads: p.threads,
      sessionOptions: p.sessionOptions,
      kvCache: p.kvCache,
    });
    state = {
      pkg,
      llm,
      executionProvider: llm.executionProvider,
      fallbackReason: llm.fallbackReason,
      threads: p.threads,
    };
    return {
      executionProvider: llm.executionProvider,
      fallbackReason: llm.fallbackReason,
      sessionMs: performance.now() - t0,
      graph: llm.info,
      llmGraph: spec.graph.path,
      kvCache: llm.kvMode,
    };
  });

  registerOp('generate', async (req, ctx) => {
    if (!state) throw new Error('engine worker: no model open');
    const { pkg, llm } = state;
    const t0 = performance.now();
    const promptIds = req.promptIds ?? promptIdsOf(pkg, req.prompt);
    const tokenizeMs = req.tokenizeMs ?? performance.now() - t0;
    // Streaming: a tracker over prompt + generated gives each token event its span and spots span starts/ends.
    const liveTokens: TokenRecord[] = [];
    const tracker = req.stream ? new SpanTracker(pkg, liveTokens) : null;
    if (tracker) for (const id of promptIds) tracker.push(id, 'prompt');
    const runBefore = llm.runMs;
    const r = await decode({ llm, vocab: pkg.vocab, manifest: pkg.manifest }, promptIds, req.params, {
      cancelled: ctx.cancelled,
      onToken: tracker
        ? (s) => {
            const { token, closed, opened } = tracker.push(s.id, 'generated', generatedExtra(pkg, s));
            if (closed) ctx.emit({ type: 'span-end', span: closed });
            if (opened) ctx.emit({ type: 'span-start', modality: opened });
            ctx.emit({ type: 'token', token });
          }
        : undefined,
      onProgress: req.stream ? (stage, done, total) => ctx.emit({ type: 'progress', stage, done, total }) : undefined,
    });
    const decodeRunMs = llm.runMs - runBefore;
    const n = r.generated.length;
    const warnings = [...req.warnings, ...r.warnings];
    if (llm.kvFallbackReason) warnings.push(llm.kvFallbackReason);
    if (llm.kvExperimental && req.params.numBeams <= 1)
      warnings.push(
        'the bound KV cache on CUDA is experimental: it has never been checked on a GPU (docs/engine.md "GPU")',
      );
    const g = buildGeneration({
      pkg,
      engineVersion: req.engineVersion,
      model: { name: pkg.manifest.name, hash: pkg.hash, executionProvider: state.executionProvider },
      params: req.params,
      prompt: req.prompt,
      promptIds,
      generated: r.generated,
      stopReason: r.stopReason,
      warnings,
      stats: {
        loadMs: req.loadMs,
        prefillMs: r.prefillMs,
        decodeMs: r.decodeMs,
        promptTokens: promptIds.length,
        generatedTokens: n,
        tokensPerSecond: r.decodeMs > 0 ? (n / r.decodeMs) * 1000 : 0,
        stages: { tokenize: tokenizeMs, prefill: r.prefillMs, decode: r.decodeMs, 'session.run': decodeRunMs },
      },
    });
    if (g.schema !== GENERATION_SCHEMA) throw new Error('schema mismatch');
    return g;
  });

  registerOp('close', async () => {
    await releaseOthers();
    if (state) await state.llm.release();
    state = null;
    return null;
  });
}
