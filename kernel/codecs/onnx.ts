/**
 * One ONNX component of a modality (an encoder, a decoder, the SoundStorm net…): opened on first use,
 * checked against its contract (input names), and run with errors that name the component and file.
 */
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { OnnxRef } from '../../common/manifest';
import { MediaError } from './errors';

export type Ort = typeof import('onnxruntime-node');

export interface ComponentHost {
  dir: string;
  ort: Ort;
  sessionOptions?: InferenceSession.SessionOptions;
}

export class Component {
  private session?: Promise<InferenceSession>;

  constructor(
    private readonly host: ComponentHost,
    /** e.g. "speech encoder"; used in messages. */
    readonly label: string,
    readonly ref: OnnxRef,
    /** Input names the contract requires (docs/model-package.md). */
    readonly inputs: readonly string[],
  ) {}

  get file(): string {
    return this.ref.path;
  }

  open(): Promise<InferenceSession> {
    this.session ??= this.create();
    return this.session;
  }

  private async create(): Promise<InferenceSession> {
    let s: InferenceSession;
    try {
      s = await this.host.ort.InferenceSession.create(
        join(this.host.dir, this.ref.path),
        this.host.sessionOptions ?? {},
      );
    } catch (e) {
      this.session = undefined; // allow a retry after the file is fixed
      throw new MediaError(`the ${this.label} graph ${this.ref.path} could not be opened: ${msg(e)}`, 'model', {
        cause: e,
      });
    }
    const missing = this.inputs.filter((n) => !s.inputNames.includes(n));
    if (missing.length)
      throw new MediaError(
        `the ${this.label} graph ${this.ref.path} has inputs [${s.inputNames.join(', ')}] but its contract needs [${this.inputs.join(', ')}] (see docs/model-package.md)`,
        'model',
      );
    return s;
  }

  /** Element type the graph declares for an input, if it says. */
  async inputType(name: string): Promise<{ type?: string; rank?: number; dims?: ReadonlyArray<number | string> }> {
    const s = await this.open();
    const m = s.inputMetadata?.find((x) => x.name === name);
    if (!m || !m.isTensor) return {};
    return { type: m.type, rank: m.shape.length || undefined, dims: m.shape };
  }

  /** Runs the graph and returns the named output (or the first output when the name is absent). */
  async run(feeds: Record<string, Tensor>, output: string): Promise<Tensor> {
    const s = await this.open();
    let res: InferenceSession.ReturnType;
    try {
      res = await s.run(feeds);
    } catch (e) {
      const shapes = Object.entries(feeds)
        .map(([k, t]) => `${k} ${t.type}[${t.dims.join(',')}]`)
        .join(', ');
      throw new MediaError(`the ${this.label} graph ${this.ref.path} failed on ${shapes}: ${msg(e)}`, 'model', {
        cause: e,
      });
    }
    const t = (res[output] ?? res[s.outputNames[0]]) as Tensor | undefined;
    if (!t) throw new MediaError(`the ${this.label} graph ${this.ref.path} returned no output`, 'model');
    return t;
  }

  tensor(type: 'float32', data: Float32Array, dims: readonly number[]): Tensor;
  tensor(type: 'int64', data: BigInt64Array, dims: readonly number[]): Tensor;
  tensor(type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: readonly number[]): Tensor {
    return new this.host.ort.Tensor(type, data as never, dims);
  }

  int64(values: ArrayLike<number>, dims: readonly number[]): Tensor {
    const a = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) a[i] = BigInt(values[i]);
    return this.tensor('int64', a, dims);
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await (await s.catch(() => undefined))?.release();
  }
}

/** Tensor → plain numbers (int64/int32/float). */
export function tensorNumbers(t: Tensor, label: string): number[] {
  const d = t.data as unknown;
  if (d instanceof BigInt64Array) return Array.from(d, Number);
  if (d instanceof Float32Array || d instanceof Int32Array || d instanceof Uint8Array || d instanceof Float64Array)
    return Array.from(d as ArrayLike<number>);
  throw new MediaError(`the ${label} output has element type ${t.type}, expected numbers`, 'model');
}

/** Tensor → Float32Array (float32 or uint8 outputs). */
export function tensorFloats(t: Tensor, label: string): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Uint8Array || t.data instanceof Float64Array)
    return Float32Array.from(t.data as ArrayLike<number>);
  throw new MediaError(`the ${label} output has element type ${t.type}, expected float32`, 'model');
}

function msg(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
