/**
 * The LLM graph run through onnxruntime's C API with IoBinding (kernel/engine/ort-capi.ts): the KV cache is one
 * static tensor per key/value that ORT owns and GroupQueryAttention updates in place (bound as past *and* present),
 * on the host or on the CUDA device; the logits land in a tensor we read through a view, or in the caller's rows
 * (setLogitsRows: decode's statistics kernel, so they are not copied again). Per decode step nothing is copied or
 * allocated besides the attention mask's OrtValue header, where onnxruntime-node copies every present output into
 * a fresh ArrayBuffer each run.
 *
 * One live sequence per runner (greedy and sampling); beam search keeps the JS binding's dynamic cache.
 */
import { loadOrtCApi, ElementType, type OrtCApi, type Ptr, type TensorMeta } from './ort-capi';

export interface BoundRunnerConfig {
  executionProvider: 'cpu' | 'cuda';
  threads?: number;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  kvDtype: 'float32' | 'float16';
  vocabSize: number;
  maxPositions: number;
  hasPositionIds: boolean;
}

/** Host KV capacities are multiples of this (device caches are allocated at maxPositions once). */
const HOST_KV_CHUNK = 256;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const halves = new WeakMap<BigInt64Array, Int32Array>();

/**
 * a[i] = v for a non-negative integer v < 2^31 (token ids, positions) without allocating a BigInt: through an
 * Int32 view of the same memory, low half = v, high half = 0, on little-endian machines (all Node targets).
 */
function setInt64(a: BigInt64Array, i: number, v: number): void {
  if (!LITTLE_ENDIAN) {
    a[i] = BigInt(v);
    return;
  }
  let h = halves.get(a);
  if (!h) halves.set(a, (h = new Int32Array(a.buffer, a.byteOffset, 2 * a.length)));
  h[2 * i] = v;
  h[2 * i + 1] = 0;
}

export class BoundRunner {
  private readonly binding: Ptr;
  private readonly runOptions: Ptr;
  private readonly cpuInfo: Ptr;
  private readonly deviceAllocator?: Ptr;
  private readonly deviceInfo?: Ptr;
  private readonly hostAllocator: Ptr;
  /** [key0, value0, key1, …] OrtValues of shape [1, kvH, capacity, hd]. */
  private kv: Ptr[] = [];
  private capacity = 0;
  private length = 0;
  // One-token inputs: OrtValues over our own arrays, bound once; their contents change in place.
  private readonly ids1 = new BigInt64Array(1);
  private readonly pos1 = new BigInt64Array(1);
  private readonly ids1Value: Ptr;
  private readonly pos1Value: Ptr;
  private ones = new BigInt64Array(0);
  /** [1, T] of the attention mask, rewritten in place each step. */
  private readonly maskDims = new BigInt64Array([1n, 0n]);
  /** Per-run values of the last run (not the reusable ones): kept while bound, stale once the next run binds. */
  private transient: Ptr[] = [];
  private transientArrays: BigInt64Array[] = [];
  /** The previous run's per-run values: released once the next run is in flight, off the per-token path. */
  private stale: Ptr[] = [];
  /** The attention mask OrtValue for the next one-token step, made while the current run is in flight. */
  private nextMask?: { tokens: number; value: Ptr; owner: BigInt64Array };
  private logits1?: { value: Ptr; data: Float32Array };
  /** The caller's rows that one-token runs write their logits into, in turn (setLogitsRows). */
  private logitsRows: { value: Ptr; data: Float32Array }[] = [];
  private nextRow = 0;
  /** What input_ids / position_ids are bound to now (host runs skip binding the same value again). */
  private boundIds?: Ptr;
  private boundPos?: Ptr;
  private readonly lastOnly: boolean;
  /** A run is in flight: the binding, the KV tensors and the logits belong to ORT until it ends. */
  private busy = false;
  runMs = 0;
  runs = 0;
  /** Whether the graph takes position_ids (known after the graph check). */
  hasPositionIds: boolean;

  private constructor(
    private readonly api: OrtCApi,
    private readonly env: Ptr,
    private readonly options: Ptr,
    private readonly session: Ptr,
    readonly inputs: TensorMeta[],
    readonly outputs: TensorMeta[],
    private readonly cfg: BoundRunnerConfig,
    cudaOptions?: Ptr,
  ) {
    this.binding = api.create('CreateIoBinding', session);
    this.runOptions = api.create('CreateRunOptions');
    this.cpuInfo = api.create('CreateCpuMemoryInfo', 1 /* arena */, 0 /* default mem */);
    this.hostAllocator = api.create('GetAllocatorWithDefaultOptions');
    if (cfg.executionProvider === 'cuda') {
      this.deviceInfo = api.create('CreateMemoryInfo', 'Cuda', 0 /* device allocator */, 0, 0);
      this.deviceAllocator = api.create('CreateAllocator', session, this.deviceInfo);
    }
    api.release('ReleaseCUDAProviderOptions', cudaOptions);
    this.ids1Value = this.wrap(this.ids1, [1, 1]);
    this.pos1Value = this.wrap(this.pos1, [1, 1]);
    this.hasPositionIds = cfg.hasPositionIds;
    const logitsShape = outputs.find((o) => o.name === 'logits')?.shape;
    this.lastOnly = logitsShape?.[1] === 1;
  }

  /** Opens `file` on the chosen EP. Throws CApiUnavailable (no koffi/library) or ORT's error (bad graph, no CUDA). */
  static open(file: string, cfg: BoundRunnerConfig): BoundRunner {
    const api = loadOrtCApi();
    const env = api.create('CreateEnv', 3 /* error */, 'anygpt-bound');
    let options: Ptr | undefined;
    let cudaOptions: Ptr | undefined;
    let session: Ptr | undefined;
    try {
      options = api.create('CreateSessionOptions');
      api.call('SetSessionGraphOptimizationLevel', options, 99);
      api.call('SetSessionExecutionMode', options, 0 /* sequential */);
      api.call('SetInterOpNumThreads', options, 1);
      if (cfg.threads) api.call('SetIntraOpNumThreads', options, cfg.threads);
      // Idle intra-op threads must not spin between decode steps (docs/engine.md, onnxruntime-node; as llm.ts sets).
      api.call('AddSessionConfigEntry', options, 'session.intra_op.allow_spinning', '0');
      if (cfg.executionProvider === 'cuda') {
        cudaOptions = api.create('CreateCUDAProviderOptions');
        api.call('UpdateCUDAProviderOptions', cudaOptions, ['device_id'], ['0'], 1);
        api.call('SessionOptionsAppendExecutionProvider_CUDA_V2', options, cudaOptions);
      }
      session = api.create('CreateSession', env, file, options);
      return new BoundRunner(
        api,
        env,
        options,
        session,
        api.sessionMeta(session, 'input'),
        api.sessionMeta(session, 'output'),
        cfg,
        cudaOptions,
      );
    } catch (e) {
      api.release('ReleaseSession', session);
      api.release('ReleaseCUDAProviderOptions', cudaOptions);
      api.release('ReleaseSessionOptions', options);
      api.release('ReleaseEnv', env);
      throw e;
    }
  }

  /**
   * One-token runs (and the prefill of a last-position-logits graph) write their logits into these rows in turn,
   * instead of ORT's own tensor, and run() returns the row written. The rows' memory must stay where it is, and
   * alive, until release(); with two rows, a caller may read one run's row while the next run writes the other.
   */
  setLogitsRows(rows: readonly Float32Array[]): void {
    this.checkIdle();
    for (const r of rows)
      if (r.length !== this.cfg.vocabSize)
        throw new RangeError(`setLogitsRows: a row of ${r.length}, the vocabulary is ${this.cfg.vocabSize}`);
    for (const r of this.logitsRows) this.api.release('ReleaseValue', r.value);
    this.logitsRows = rows.map((data) => ({
      data,
      value: this.api.create(
        'CreateTensorWithDataAsOrtValue',
        this.cpuInfo,
        data,
        data.byteLength,
        BigInt64Array.from([1n, 1n, BigInt(data.length)]),
        3,
        ElementType.float32,
      ),
    }));
    this.nextRow = 0;
  }

  get tokens(): number {
    return this.length;
  }

  /** Tokens the KV tensors have room for before they must grow. */
  get room(): number {
    return this.capacity;
  }

  /**
   * Starts a new sequence with room for `need` tokens (the previous sequence's cache is reused when big enough).
   * Ask for the whole planned sequence: a host cache that grows mid-generation copies every row into fresh memory
   * (tens of ms at 100 M params), while room that is never used costs address space, not resident pages.
   */
  reset(need: number): void {
    this.checkIdle();
    this.length = 0;
    if (this.capacity < need || this.kv.length === 0) this.grow(need);
  }

  /**
   * Runs `ids` after the tokens already in the cache; returns the last position's logits. ORT works on one of
   * koffi's threads, so the caller's thread is free until the promise settles (the decode loop finishes the previous
   * token's statistics meanwhile); nothing may use this runner until then. The array is a view of ORT-owned memory
   * that the next run overwrites: read it (or copy it) before calling run() again.
   */
  async run(ids: ArrayLike<number>): Promise<Float32Array> {
    const logits = this.bind(ids);
    const t0 = performance.now();
    try {
      const running = this.api.callAsync('RunWithBinding', this.session, this.runOptions, this.binding);
      try {
        this.prepareNextStep(this.length + ids.length + 1);
      } catch {
        // An optimisation only: the next bind() releases and makes what it needs itself.
      }
      await running;
      if (this.deviceAllocator) this.api.call('SynchronizeBoundOutputs', this.binding);
    } finally {
      this.busy = false;
    }
    return this.finish(ids.length, logits, performance.now() - t0);
  }

  /** Binds the inputs of a run of `ids` (growing the cache if needed) and the logits output; marks the runner busy. */
  private bind(ids: ArrayLike<number>): Float32Array {
    this.checkIdle();
    const S = ids.length;
    const P = this.length;
    const T = P + S;
    if (T > this.capacity) this.grow(T);
    const api = this.api;
    this.retireTransient();
    if (S === 1) {
      setInt64(this.ids1, 0, ids[0]);
      setInt64(this.pos1, 0, P);
      this.bindInput('input_ids', this.ids1Value, 'boundIds');
      if (this.hasPositionIds) this.bindInput('position_ids', this.pos1Value, 'boundPos');
    } else {
      const x = new BigInt64Array(S);
      for (let i = 0; i < S; i++) setInt64(x, i, ids[i]);
      this.bindInput('input_ids', this.keep(x, [1, S]), 'boundIds');
      if (this.hasPositionIds) {
        const pos = new BigInt64Array(S);
        for (let i = 0; i < S; i++) setInt64(pos, i, P + i);
        this.bindInput('position_ids', this.keep(pos, [1, S]), 'boundPos');
      }
    }
    // The mask's length changes every step, so it needs a new OrtValue header: the one prepared during the
    // previous run when it fits, else a new one.
    const next = this.nextMask;
    this.nextMask = undefined;
    const mask = next?.tokens === T ? next : this.makeMask(T);
    if (next && next !== mask) this.stale.push(next.value);
    this.transient.push(mask.value);
    this.transientArrays.push(mask.owner);
    api.call('BindInput', this.binding, 'attention_mask', mask.value);
    let logits: { value: Ptr; data: Float32Array };
    if ((S === 1 || this.lastOnly) && this.logitsRows.length > 0) {
      logits = this.logitsRows[this.nextRow];
      this.nextRow = (this.nextRow + 1) % this.logitsRows.length;
    } else if (S === 1 || this.lastOnly) {
      logits = this.logits1 ??= this.hostTensor([1, 1, this.cfg.vocabSize]);
    } else {
      logits = this.hostTensor([1, S, this.cfg.vocabSize]);
      this.transient.push(logits.value);
    }
    api.call('BindOutput', this.binding, 'logits', logits.value);
    this.busy = true;
    return logits.data;
  }

  /**
   * Binds an input unless it is bound to that value already. On the host ORT reads a bound value's memory at each
   * run, so the one-token inputs, rewritten in place, are bound once; a device run copies host inputs when they
   * are bound, so there they are bound every step.
   */
  private bindInput(name: string, value: Ptr, slot: 'boundIds' | 'boundPos'): void {
    if (this.deviceAllocator || this[slot] !== value) this.api.call('BindInput', this.binding, name, value);
    this[slot] = value;
  }

  private finish(S: number, logits: Float32Array, ms: number): Float32Array {
    this.runMs += ms;
    this.runs++;
    this.length += S;
    const V = this.cfg.vocabSize;
    return logits.length === V ? logits : logits.subarray(logits.length - V);
  }

  private checkIdle(): void {
    if (this.busy) throw new Error('BoundRunner: a run is in flight (one run at a time per runner)');
  }

  /** (Re)allocates the KV tensors with room for `need` tokens, keeping rows [0, length), and binds them. */
  private grow(need: number): void {
    const { numLayers, numKvHeads: kvH, headDim: hd, kvDtype, maxPositions } = this.cfg;
    if (need > maxPositions) throw new Error(`context full: ${need} tokens exceed maxPositions = ${maxPositions}`);
    const onDevice = !!this.deviceAllocator;
    if (onDevice && this.kv.length > 0)
      throw new Error('a device KV cache is allocated at maxPositions and never grows');
    // Growth past the planned size adds at least half the capacity, so repeated growth copies stay linear in total.
    const headroom = Math.max(64, this.capacity >> 1);
    const capacity = onDevice
      ? maxPositions
      : Math.min(maxPositions, Math.ceil((need + headroom) / HOST_KV_CHUNK) * HOST_KV_CHUNK);
    const type = ElementType[kvDtype];
    const bytesPer = kvDtype === 'float16' ? 2 : 4;
    const shape = BigInt64Array.from([1n, BigInt(kvH), BigInt(capacity), BigInt(hd)]);
    const next: Ptr[] = [];
    for (let i = 0; i < 2 * numLayers; i++) {
      const value = this.api.create(
        'CreateTensorAsOrtValue',
        onDevice ? this.deviceAllocator : this.hostAllocator,
        shape,
        4,
        type,
      );
      next.push(value);
      if (!onDevice && this.kv.length > 0 && this.length > 0) {
        const row = hd * bytesPer;
        const dst = new Uint8Array(this.api.view(value, kvH * capacity * row));
        const src = new Uint8Array(this.api.view(this.kv[i], kvH * this.capacity * row));
        for (let h = 0; h < kvH; h++)
          dst.set(src.subarray(h * this.capacity * row, (h * this.capacity + this.length) * row), h * capacity * row);
      }
    }
    for (const v of this.kv) this.api.release('ReleaseValue', v);
    this.kv = next;
    this.capacity = capacity;
    for (let i = 0; i < numLayers; i++) {
      for (const [j, part] of [
        [0, 'key'],
        [1, 'value'],
      ] as const) {
        this.api.call('BindInput', this.binding, `past_key_values.${i}.${part}`, next[2 * i + j]);
        this.api.call('BindOutput', this.binding, `present.${i}.${part}`, next[2 * i + j]);
      }
    }
  }

  /** An ORT-allocated host float32 tensor and a Float32Array over its memory. */
  private hostTensor(dims: number[]): { value: Ptr; data: Float32Array } {
    const value = this.api.create(
      'CreateTensorAsOrtValue',
      this.hostAllocator,
      BigInt64Array.from(dims.map(BigInt)),
      dims.length,
      ElementType.float32,
    );
    const n = dims.reduce((a, b) => a * b, 1);
    return { value, data: new Float32Array(this.api.view(value, 4 * n)) };
  }

  /** An OrtValue over `data` (our memory; kept alive until released). ORT copies the dims. */
  private wrap(data: BigInt64Array, dims: number[] | BigInt64Array): Ptr {
    const shape = dims instanceof BigInt64Array ? dims : BigInt64Array.from(dims.map(BigInt));
    return this.api.create(
      'CreateTensorWithDataAsOrtValue',
      this.cpuInfo,
      data,
      data.byteLength,
      shape,
      shape.length,
      ElementType.int64,
    );
  }

  /** wrap() for a per-run input: released (and its array let go) at the next run. */
  private keep(data: BigInt64Array, dims: number[] | BigInt64Array, owner: BigInt64Array = data): Ptr {
    const v = this.wrap(data, dims);
    this.transient.push(v);
    this.transientArrays.push(owner);
    return v;
  }

  /**
   * An attention mask of T ones: an OrtValue over the shared ones buffer, which is replaced by a longer one when
   * short (an array a bound mask still reads stays alive as that run's transient owner).
   */
  private makeMask(T: number): { tokens: number; value: Ptr; owner: BigInt64Array } {
    if (this.ones.length < T)
      this.ones = new BigInt64Array(Math.min(this.cfg.maxPositions, Math.max(T, 2 * this.ones.length, 256))).fill(1n);
    this.maskDims[1] = BigInt(T); // ORT copies the dims
    return { tokens: T, value: this.wrap(this.ones.subarray(0, T), this.maskDims), owner: this.ones };
  }

  /** The last run's per-run values become stale (the binding is about to replace them; ORT keeps its own refs). */
  private retireTransient(): void {
    for (const v of this.transient) this.stale.push(v);
    this.transient = [];
    this.transientArrays = [];
  }

  /**
   * While a run is in flight: release the values the previous run used and make the next one-token step's mask
   * (≈ 50 µs of C API calls that would otherwise sit between two forwards). Neither touches what ORT is reading.
   */
  private prepareNextStep(T: number): void {
    for (const v of this.stale) this.api.release('ReleaseValue', v);
    this.stale = [];
    if (T <= this.cfg.maxPositions) this.nextMask = this.makeMask(T);
  }

  private dropTransient(): void {
    this.retireTransient();
    for (const v of this.stale) this.api.release('ReleaseValue', v);
    this.stale = [];
    if (this.nextMask) this.api.release('ReleaseValue', this.nextMask.value);
    this.nextMask = undefined;
  }

  release(): void {
    this.checkIdle();
    const api = this.api;
    this.dropTransient();
    for (const v of this.kv) api.release('ReleaseValue', v);
    this.kv = [];
    api.release('ReleaseValue', this.logits1?.value);
    for (const r of this.logitsRows) api.release('ReleaseValue', r.value);
    this.logitsRows = [];
    api.release('ReleaseValue', this.ids1Value);
    api.release('ReleaseValue', this.pos1Value);
    api.release('ReleaseIoBinding', this.binding);
    api.release('ReleaseRunOptions', this.runOptions);
    api.release('ReleaseAllocator', this.deviceAllocator);
    api.release('ReleaseMemoryInfo', this.deviceInfo);
    api.release('ReleaseMemoryInfo', this.cpuInfo);
    api.release('ReleaseSession', this.session);
    api.release('ReleaseSessionOptions', this.options);
    api.release('ReleaseEnv', this.env);
  }
}
