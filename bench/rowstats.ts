/**
 * The per-token statistics pass side by side: sampling.ts (JS) and rowstats.ts (WebAssembly SIMD) on the same
 * 53 516-entry rows (the 93 M bench model's vocabulary), greedy (stats + masked argmax) and sampling (stats with
 * the exps kept + one draw); the first pass alone (scanCopy: what greedy decoding waits for); a top-k 50 draw with
 * the raw statistics deferred (what decode() pays before the next forward) against stats + draw. Median ms per row
 * over 500 rows after a warm-up.
 */
import { Xoshiro128 } from '../common/prng';
import { RowStats } from '../kernel/engine/rowstats';
import { greedyStats, maskedLogZ, rawStats, sampleMasked } from '../kernel/engine/sampling';

const V = 53516;

function median(fn: () => void, n = 500): number {
  for (let i = 0; i < 50; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[n >> 1];
}

export async function benchRowStats(): Promise<Record<string, number>> {
  const k = RowStats.create(V);
  if (!k) throw new Error('no WebAssembly SIMD in this runtime');
  const rng = new Xoshiro128(1);
  for (let i = 0; i < V; i++) k.raw[i] = (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 6;
  k.work.set(k.raw);
  for (let i = 0; i < V; i += 50) k.work[i] = -Infinity;
  const raw = Float32Array.from(k.raw);
  const work = Float32Array.from(k.work);
  const exps = new Float64Array(V);
  const draw = new Xoshiro128(2);
  // The first pass alone, as decode() runs it before the next forward: top-n and argmax, writing the working row.
  const wasmScanCopy = median(() => k.scanCopy(5));
  k.work.set(work);
  const jsGreedy = median(() => greedyStats(raw, work, 5));
  const wasmGreedy = median(() => k.stats(5, false));
  const jsSample = median(() => {
    const r = rawStats(raw, 5, exps);
    sampleMasked(work, exps, r.max, maskedLogZ(work, exps, r.max), draw);
  });
  const wasmSample = median(() => {
    const s = k.stats(5, true)!;
    k.sample(draw.uniform(), s.zw);
  });
  // A top-k 50 row (the text preset's mask): what a draw costs before the next forward can start, with the raw
  // statistics deferred (maskedZ + sample, as decode() does) and with them done first (stats + sample).
  const head = k.scan(5)!;
  const kth = Float32Array.from(k.raw).sort().reverse()[49];
  for (let i = 0; i < V; i++) k.work[i] = k.raw[i] >= kth ? k.raw[i] : -Infinity;
  const topKDraw = median(() => k.sample(draw.uniform(), k.maskedZ(head)));
  const topKFull = median(() => k.sample(draw.uniform(), k.stats(5, true)!.zw));
  return {
    vocabulary: V,
    wasmScanCopyMsPerRow: wasmScanCopy,
    jsGreedyMsPerRow: jsGreedy,
    wasmGreedyMsPerRow: wasmGreedy,
    greedySpeedup: jsGreedy / wasmGreedy,
    jsSamplingMsPerRow: jsSample,
    wasmSamplingMsPerRow: wasmSample,
    samplingSpeedup: jsSample / wasmSample,
    topK50DrawBeforeNextForwardMsPerRow: topKDraw,
    topK50StatsAndDrawMsPerRow: topKFull,
    topK50DeferredSpeedup: topKFull / topKDraw,
  };
}
