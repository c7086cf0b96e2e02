/**
 * The memory-bandwidth bound of a decode step: a memory-bound step must read every weight it multiplies by (and
 * the KV cache), so tok/s ≤ bandwidth / bytes read per token. Used by the CPU engine bench and the GPU bench.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { llmSpecFor } from '../../kernel/engine/worker-ops';

type LlmSpec = ReturnType<typeof llmSpecFor>;

/**
 * Bytes one decode step reads: the graph's weight files less the embedding table (a step gathers one row of it;
 * tools/convert stores it in the activation dtype, which is the KV dtype), plus K and V of every layer at `context`.
 */
export function bytesPerToken(pkgDir: string, spec: LlmSpec, hidden: number, context: number): number {
  const files = [spec.graph.path, ...(spec.graph.externalData ?? []).map((e) => e.path)];
  const weights = files.reduce((n, f) => n + statSync(path.join(pkgDir, f)).size, 0);
  const act = spec.kvDtype === 'float16' ? 2 : 4;
  const kv = 2 * spec.numLayers * spec.numKvHeads * spec.headDim * context * act;
  return weights - spec.vocabSize * hidden * act + kv;
}

/**
 * Host read bandwidth of one thread (what a single-threaded decode step does with its weights: reads them), from
 * memcmp of two equal 128 MiB buffers (Buffer.compare): bytes read per second, best of 5. (A copy would count
 * writes too, which a decode step hardly does.)
 */
export function hostReadBandwidthGBs(mib = 128): number {
  const a = Buffer.alloc(mib << 20, 1);
  const b = Buffer.alloc(mib << 20, 1);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    Buffer.compare(a, b);
    best = Math.min(best, performance.now() - t);
  }
  return (2 * a.length) / (best / 1000) / 1e9;
}
