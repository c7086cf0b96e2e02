/**
 * The per-token statistics of decode.ts (raw max, log Z, entropy, top-n; the processed row's log Z and argmax;
 * masked sampling) in WebAssembly SIMD (rowstats.wat). At a 53 k vocabulary the JS passes in sampling.ts cost
 * ≈ 0.4–0.6 ms per token; this does the same in two vector passes. The rows live in the module's memory, so the
 * decode loop writes the raw logits and its working copy there directly.
 *
 * Results equal sampling.ts's within float32 exp rounding (relative 3e-7 on each e; sums are float64), and are
 * bit-identical on every machine (WebAssembly arithmetic is IEEE and deterministic), so seeded sampling stays
 * reproducible. sampling.ts stays the reference, and the path for processors that change values (temperature,
 * repetition penalty), for beam search and where WebAssembly SIMD is missing.
 */
import { ROWSTATS_WASM } from './rowstats-wasm';
import { logSumExp, type RawStats } from './sampling';

interface Exports {
  memory: WebAssembly.Memory;
  pass1(raw: number, work: number, len: number, n: number, copy: number): void;
  pass2(raw: number, work: number, exps: number, len: number, max: number): void;
  sample(work: number, exps: number, len: number, target: number): number;
  masked_z(raw: number, work: number, exps: number, len: number, max: number): number;
}

const ROWS_AT = 1024;
const MAX_N = 64;
let compiled: WebAssembly.Module | null | undefined;
let warmed = false;
let sharedKernel: RowStats | undefined;

function module(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(ROWSTATS_WASM, 'base64'));
    } catch {
      compiled = null; // no WebAssembly SIMD here: callers use sampling.ts
    }
  }
  return compiled;
}

export interface RowScan {
  /** The working row's first argmax. */
  id: number;
  filled: number;
  max: number;
}

export interface RowStatsResult {
  raw: RawStats;
  id: number;
  logZ: number;
  zw: number;
}

/** Below this Z (in exps' scale) the processed row kept only entries far below the raw max (as sampling.ts). */
export const TINY_Z = 1e-200;

export class RowStats {
  /**
   * The two raw rows: the model's logits land in one of them (copied by load(), or written there by ORT when the
   * session binds them as its logits output), and the statistics read the one load() selected. Two, so that one
   * step's deferred finish() reads its row while the next forward already writes the other.
   */
  readonly rawRows: readonly [Float32Array, Float32Array];
  /** The working row: the raw row after masks (constraints, min-new-tokens, top-k/p). */
  readonly work: Float32Array;
  private readonly ex: Exports;
  private readonly rawAts: readonly [number, number];
  private rawAt: number;
  private readonly workAt: number;
  private readonly expsAt: number;
  private readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;

  private constructor(
    ex: Exports,
    readonly size: number,
  ) {
    this.ex = ex;
    const row = Math.ceil((4 * size) / 16) * 16;
    this.rawAts = [ROWS_AT, ROWS_AT + row];
    this.rawAt = ROWS_AT;
    this.workAt = ROWS_AT + 2 * row;
    this.expsAt = ROWS_AT + 3 * row;
    const need = this.expsAt + row;
    const have = ex.memory.buffer.byteLength;
    // The only growth: the rows' addresses stay fixed for the module's life (ORT may hold them as an output).
    if (need > have) ex.memory.grow(Math.ceil((need - have) / 65536));
    const buf = ex.memory.buffer;
    this.rawRows = [new Float32Array(buf, this.rawAts[0], size), new Float32Array(buf, this.rawAts[1], size)];
    this.work = new Float32Array(buf, this.workAt, size);
    this.f64 = new Float64Array(buf, 0, 3);
    this.i32 = new Int32Array(buf, 0, 160);
    this.f32 = new Float32Array(buf, 0, 160);
  }

  /**
   * The kernel decode() uses when the session has none of its own: one per thread, made once per row size and
   * reused by every generation, so its memory (four rows, ≈ 860 KB at a 53 k vocabulary) is paged in once rather
   * than on each generation's first token. Safe to share between interleaved generations because each uses the
   * rows only within one synchronous stretch (load, scan, finish) and never across an await.
   */
  static shared(size: number): RowStats | undefined {
    if (sharedKernel?.size !== size) sharedKernel = RowStats.create(size);
    return sharedKernel;
  }

  /**
   * A kernel for rows of `size` entries, or undefined where WebAssembly SIMD is unavailable. The first kernel of a
   * process runs each pass once on its empty rows: V8 compiles WebAssembly lazily with its baseline compiler and
   * tiers hot functions up in the background, so without this the first tokens of the first generation paid
   * 1–4 ms each at a 53 k vocabulary.
   */
  static create(size: number): RowStats | undefined {
    const m = module();
    if (!m) return undefined;
    const ex = new WebAssembly.Instance(m, {}).exports as unknown as Exports;
    const k = new RowStats(ex, size);
    // Written now (fresh wasm pages are mapped on first write), not by the first token that uses them.
    for (const r of k.rawRows) r.fill(0);
    k.work.fill(0);
    if (!warmed) {
      warmed = true;
      const head = k.scan(1);
      if (head) k.sample(0.5, k.finish(head, true).zw);
    }
    return k;
  }

  /** The raw row the statistics read (the one load() selected; row 0 until then). */
  get raw(): Float32Array {
    return this.rawRows[this.rawAt === this.rawAts[0] ? 0 : 1];
  }

  /**
   * Makes `logits` the raw row: when it is one of rawRows (ORT wrote it there) that row is selected without a
   * copy, otherwise it is copied into the row other than the current one.
   */
  load(logits: Float32Array): Float32Array {
    const [a, b] = this.rawRows;
    if (logits === a || logits === b) {
      this.rawAt = logits === a ? this.rawAts[0] : this.rawAts[1];
      return logits;
    }
    const next = this.rawAt === this.rawAts[0] ? 1 : 0;
    this.rawAt = this.rawAts[next];
    this.rawRows[next].set(logits);
    return this.rawRows[next];
  }

  /**
   * Raw statistics of `raw` (top-n by value, lower id first on ties) plus the working row's log Z and its first
   * argmax; with `keepExps`, exp(raw − max) is kept for sample(). Undefined when the raw row has no finite entry
   * (the caller uses sampling.ts, which handles it).
   */
  stats(n: number, keepExps: boolean): RowStatsResult | undefined {
    const head = this.scan(n);
    return head && this.finish(head, keepExps);
  }

  /**
   * The first, cheap pass of stats(): the working row's argmax (all greedy decoding needs to go on) and the raw
   * top-n, without a single exp. finish() completes it; until then the rows must not change.
   */
  scan(n: number): RowScan | undefined {
    return this.pass1(n, 0);
  }

  /**
   * scan() of a working row not made yet: writes work = raw in the same pass (one read of the raw row instead of
   * a copy and a scan), with the raw row's argmax. Apply the masks to `work`, then settle the argmax with
   * afterMasks(). The working row is written even when this returns undefined.
   */
  scanCopy(n: number): RowScan | undefined {
    return this.pass1(n, 1);
  }

  /**
   * The working row's argmax after masks (which only set entries to -Infinity): the raw argmax when it was not
   * masked (then no earlier entry equals it, so it is also the masked row's first argmax), else a rescan.
   */
  afterMasks(head: RowScan, n: number): RowScan {
    return this.work[head.id] !== -Infinity ? head : (this.scan(n) ?? head);
  }

  private pass1(n: number, copy: number): RowScan | undefined {
    if (n > MAX_N) throw new RangeError(`RowStats: at most ${MAX_N} top entries`);
    this.ex.pass1(this.rawAt, this.workAt, this.size, n, copy);
    const filled = this.i32[7];
    if (filled === 0) return undefined;
    return { id: this.i32[6], filled, max: this.f32[80] /* top value 0 (byte 320) */ };
  }

  /** The exp pass after scan(): log Z, entropy and top-n log-probs of the raw row, log Z of the working row. */
  finish(head: RowScan, keepExps: boolean): RowStatsResult {
    const { max, filled } = head;
    this.ex.pass2(this.rawAt, this.workAt, keepExps ? this.expsAt : 0, this.size, max);
    const [z, t, zw] = this.f64;
    const logZ = max + Math.log(z);
    const top: { id: number; logprob: number }[] = [];
    for (let j = 0; j < filled; j++) top.push({ id: this.i32[16 + j], logprob: this.f32[80 + j] - logZ });
    const raw: RawStats = { max, logZ, entropy: Math.log(z) - t / z, top };
    return { raw, id: head.id, logZ: zw > TINY_Z ? max + Math.log(zw) : logSumExp(this.work), zw };
  }

  /**
   * For a draw before the raw statistics: the working row's Z in exp(raw − max) units (finish()'s `zw`, the same
   * bits), keeping the exps sample() needs. Only the vectors of the working row holding a finite entry pay the
   * exp, so after a top-k mask this is a fraction of finish(), which can then wait until the next forward runs.
   */
  maskedZ(head: RowScan): number {
    return this.ex.masked_z(this.rawAt, this.workAt, this.expsAt, this.size, head.max);
  }

  /**
   * Inverse-CDF draw with uniform `u` over the working row's finite entries, weights from stats(…, true) or
   * maskedZ(). Only for zw > TINY_Z (below it every weight is 0 in float32; the caller samples the row itself).
   */
  sample(u: number, zw: number): number {
    return this.ex.sample(this.workAt, this.expsAt, this.size, u * zw);
  }
}
