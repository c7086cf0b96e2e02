/**
 * Picking a token and computing its record's statistics (raw log Z, entropy, top-n; the processed row's log Z):
 * one interface, implementations chosen once per sampling preset of a generation by pickerFor(), as a sampler
 * chain is built once from its parameters. decode() drives every step the same way:
 *
 *     const work = picker.begin(logits);   // the working row, = the raw logits
 *     …constraints and processors edit `work` in place…
 *     const id = picker.choose(rng);
 *     …read picker.rawAt(id) and work[id], start the next forward…
 *     const { raw, logZ } = picker.finish();
 *
 * finish() may run while the next forward is in flight: it reads no row that run writes.
 *
 * The implementations:
 * - ReferencePicker (sampling.ts's plain passes): any processors, greedy or sampling. The reference the others
 *   are tested against (test/engine/token-picker.test.ts), and the path for value-changing processors.
 * - JsGreedyPicker: greedy with masking-only processors, statistics and argmax in one pass (greedyStats).
 * - KernelGreedyPicker / KernelSamplingPicker: masking-only processors on the WebAssembly SIMD kernel
 *   (rowstats.ts); the exp pass waits until finish(). Where the raw row has no finite entry they hand the step to
 *   the JS picker of the same settings.
 */
import type { Xoshiro128 } from '../../common/prng';
import { RowStats, TINY_Z, type RowScan } from './rowstats';
import {
  argmax,
  greedyStats,
  logSumExp,
  maskedLogZ,
  rawStats,
  sampleMasked,
  sampleMultinomial,
  type RawStats,
} from './sampling';

/** Top entries recorded per token. */
export const TOP_N = 5;

export interface StepStats {
  /** Statistics of the raw (model) distribution. */
  raw: RawStats;
  /** log Z of the processed (working) row. */
  logZ: number;
}

export interface TokenPicker {
  /** Makes the working row a copy of `logits` (the raw row of this step) and returns it for the processors. */
  begin(logits: Float32Array): Float32Array;
  /** Picks the token from the processed working row (a draw uses `rng` only when sampling). */
  choose(rng: Xoshiro128): number;
  /** The raw logit of `id` in this step's row (read it before the next forward: ORT may overwrite `logits`). */
  rawAt(id: number): number;
  /** The step's statistics. */
  finish(): StepStats;
}

/** What chooses the implementation. */
export interface PickerSettings {
  doSample: boolean;
  /** Every processor only masks entries to -Infinity (constraints, min-new-tokens, top-k, top-p). */
  masksOnly: boolean;
}

/**
 * The rows a generation's pickers share: the working row (in the kernel's memory when there is one, so the kernel
 * reads it in place) and the JS exps row, made on first use.
 */
export class PickerRows {
  readonly work: Float32Array;
  private exps?: Float64Array;

  constructor(
    readonly size: number,
    readonly kernel?: RowStats,
  ) {
    this.work = kernel?.work ?? new Float32Array(size);
  }

  jsExps(): Float64Array {
    return (this.exps ??= new Float64Array(this.size));
  }
}

/** The picker for one preset: the kernel for masking-only pipelines where there is one, else the JS paths. */
export function pickerFor(s: PickerSettings, rows: PickerRows, opts: { reference?: boolean } = {}): TokenPicker {
  if (opts.reference) return new ReferencePicker(s, rows);
  const js = !s.doSample && s.masksOnly ? new JsGreedyPicker(rows) : new ReferencePicker(s, rows);
  if (!s.masksOnly || !rows.kernel) return js;
  return s.doSample ? new KernelSamplingPicker(rows.kernel, js) : new KernelGreedyPicker(rows.kernel, js);
}

abstract class JsPicker implements TokenPicker {
  protected logits: Float32Array = new Float32Array(0);
  protected stats: StepStats | undefined;

  constructor(protected readonly rows: PickerRows) {}

  begin(logits: Float32Array): Float32Array {
    this.logits = logits;
    this.rows.work.set(logits);
    return this.rows.work;
  }

  /** Takes over a step whose working row is already made (a kernel picker's fallback). */
  adopt(logits: Float32Array): void {
    this.logits = logits;
  }

  abstract choose(rng: Xoshiro128): number;

  rawAt(id: number): number {
    return this.logits[id];
  }

  finish(): StepStats {
    return this.stats!;
  }
}

/** sampling.ts's plain passes: raw statistics with their exps, then the working row's log Z and the pick. */
export class ReferencePicker extends JsPicker {
  constructor(
    private readonly s: PickerSettings,
    rows: PickerRows,
  ) {
    super(rows);
  }

  choose(rng: Xoshiro128): number {
    const work = this.rows.work;
    const exps = this.rows.jsExps();
    const raw = rawStats(this.logits, TOP_N, exps);
    // Masking-only pipelines reuse the raw exps: no second exp pass.
    const logZ = this.s.masksOnly ? maskedLogZ(work, exps, raw.max) : logSumExp(work);
    this.stats = { raw, logZ };
    if (!this.s.doSample) return argmax(work);
    return this.s.masksOnly ? sampleMasked(work, exps, raw.max, logZ, rng) : sampleMultinomial(work, rng, logZ);
  }
}

/** Greedy over masking-only processors: raw statistics, the masked log Z and the argmax in one pass. */
export class JsGreedyPicker extends JsPicker {
  choose(): number {
    const { raw, id, logZ } = greedyStats(this.logits, this.rows.work, TOP_N);
    this.stats = { raw, logZ };
    return id;
  }
}

/**
 * The kernel's shared first step: on a bound session ORT wrote the logits into one of the kernel's raw rows, so
 * load() copies nothing; the scan that finds the raw top-n and argmax writes the working copy in the same pass.
 */
abstract class KernelPicker implements TokenPicker {
  protected head: RowScan | undefined;
  /** Set when this step went to the JS picker (a raw row without a finite entry). */
  protected onJs = false;
  protected stats: StepStats | undefined;
  protected deferred: RowScan | undefined;

  constructor(
    protected readonly kernel: RowStats,
    protected readonly js: JsPicker,
  ) {}

  begin(logits: Float32Array): Float32Array {
    this.kernel.load(logits);
    this.head = this.kernel.scanCopy(TOP_N);
    this.onJs = !this.head;
    if (this.onJs) this.js.adopt(logits);
    return this.kernel.work;
  }

  abstract choose(rng: Xoshiro128): number;

  rawAt(id: number): number {
    return this.onJs ? this.js.rawAt(id) : this.kernel.raw[id];
  }

  finish(): StepStats {
    if (this.onJs) return this.js.finish();
    // The exp pass for the raw statistics runs here, once the next forward has started.
    return this.deferred ? this.kernel.finish(this.deferred, false) : this.stats!;
  }
}

/** Greedy: the argmax comes from the scan (unless a mask removed it); no exp before finish(). */
export class KernelGreedyPicker extends KernelPicker {
  choose(rng: Xoshiro128): number {
    if (this.onJs) return this.js.choose(rng);
    this.deferred = this.kernel.afterMasks(this.head!, TOP_N);
    return this.deferred.id;
  }
}

/**
 * Sampling: a draw needs only the working row's Z and exps (the working log Z that the deferred finish() returns
 * is max + log zw, the same).
 */
export class KernelSamplingPicker extends KernelPicker {
  choose(rng: Xoshiro128): number {
    if (this.onJs) return this.js.choose(rng);
    const head = this.head!;
    const zw = this.kernel.maskedZ(head);
    if (zw > TINY_Z) {
      this.deferred = head;
      return this.kernel.sample(rng.uniform(), zw);
    }
    this.deferred = undefined;
    this.stats = this.kernel.finish(head, true);
    return sampleMultinomial(this.kernel.work, rng, this.stats.logZ);
  }
}
