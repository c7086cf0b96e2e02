/**
 * onnxruntime's C API, reached through koffi (an optional dependency) in the same libonnxruntime.so.1 that
 * onnxruntime-node loaded. It gives what the JS binding lacks: IoBinding, so a KV cache can stay where it is
 * (in place on the host, or on the CUDA device) and outputs land in buffers we own, with no per-run copy.
 *
 * Only the entries we call are mirrored. The OrtApi table is append-only (a stable ABI), so an entry's index never
 * changes; indices are those of onnxruntime_c_api.h (checked against a generated binding of the header, API ≥ 17).
 * Nothing here is loaded until `loadOrtCApi()` is called; failures say why, and callers fall back.
 */
import './ort-env';
import * as path from 'node:path';

/** Positions in the OrtApi function table. */
const IDX = {
  GetErrorMessage: 2,
  CreateEnv: 3,
  CreateSession: 7,
  CreateSessionOptions: 10,
  SetSessionExecutionMode: 13,
  SetSessionGraphOptimizationLevel: 23,
  SetIntraOpNumThreads: 24,
  SetInterOpNumThreads: 25,
  SessionGetInputCount: 30,
  SessionGetOutputCount: 31,
  SessionGetInputTypeInfo: 33,
  SessionGetOutputTypeInfo: 34,
  SessionGetInputName: 36,
  SessionGetOutputName: 37,
  CreateRunOptions: 39,
  CreateTensorAsOrtValue: 48,
  CreateTensorWithDataAsOrtValue: 49,
  GetTensorMutableData: 51,
  CastTypeInfoToTensorInfo: 55,
  GetTensorElementType: 60,
  GetDimensionsCount: 61,
  GetDimensions: 62,
  GetSymbolicDimensions: 63,
  CreateMemoryInfo: 68,
  CreateCpuMemoryInfo: 69,
  AllocatorFree: 76,
  GetAllocatorWithDefaultOptions: 78,
  ReleaseEnv: 92,
  ReleaseStatus: 93,
  ReleaseMemoryInfo: 94,
  ReleaseSession: 95,
  ReleaseValue: 96,
  ReleaseRunOptions: 97,
  ReleaseTypeInfo: 98,
  ReleaseSessionOptions: 100,
  AddSessionConfigEntry: 130,
  CreateAllocator: 131,
  ReleaseAllocator: 132,
  RunWithBinding: 133,
  CreateIoBinding: 134,
  ReleaseIoBinding: 135,
  BindInput: 136,
  BindOutput: 137,
  SynchronizeBoundOutputs: 203,
  SessionOptionsAppendExecutionProvider_CUDA_V2: 204,
  CreateCUDAProviderOptions: 205,
  UpdateCUDAProviderOptions: 206,
  ReleaseCUDAProviderOptions: 208,
} as const;
const API_VERSION = 17;

export const ElementType = { float32: 1, int64: 7, float16: 10 } as const;
export type ElementTypeName = keyof typeof ElementType;
const ELEMENT_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

/** An opaque native pointer (koffi's External). */
export type Ptr = object;

export interface TensorMeta {
  name: string;
  type: string;
  shape: (number | string)[];
}

// A koffi function: callable, and `.async(...args, callback)` runs it on a worker thread.
type Fn = ((...args: unknown[]) => unknown) & { async(...args: unknown[]): void };

/** Thrown when the C API cannot be used here (no koffi, no library, no symbol); `message` is the reason. */
export class CApiUnavailable extends Error {}

/**
 * The loaded API: thin wrappers that turn an OrtStatus into an exception and out-parameters into return values.
 * One per process (the library is loaded once).
 */
export class OrtCApi {
  private readonly fns: Record<keyof typeof IDX, Fn>;

  private constructor(
    private readonly koffi: KoffiLike,
    table: Ptr,
    readonly version: string,
  ) {
    const k = koffi;
    const P = 'void *';
    const ptrs = k.decode(table, k.array(P, 216)) as Ptr[];
    const proto = (name: string, sig: string) =>
      k.decode(ptrs[IDX[name as keyof typeof IDX]], k.proto(`${sig.replace('%', name)}`)) as Fn;
    const out = `_Out_ void **out`;
    this.fns = {
      GetErrorMessage: proto('GetErrorMessage', 'const char *%(void *status)'),
      CreateEnv: proto('CreateEnv', `void *%(int level, const char *logid, ${out})`),
      CreateSession: proto('CreateSession', `void *%(void *env, const char *path, void *options, ${out})`),
      CreateSessionOptions: proto('CreateSessionOptions', `void *%(${out})`),
      SetSessionExecutionMode: proto('SetSessionExecutionMode', 'void *%(void *options, int mode)'),
      SetSessionGraphOptimizationLevel: proto('SetSessionGraphOptimizationLevel', 'void *%(void *options, int level)'),
      SetIntraOpNumThreads: proto('SetIntraOpNumThreads', 'void *%(void *options, int n)'),
      SetInterOpNumThreads: proto('SetInterOpNumThreads', 'void *%(void *options, int n)'),
      SessionGetInputCount: proto('SessionGetInputCount', 'void *%(void *session, _Out_ size_t *out)'),
      SessionGetOutputCount: proto('SessionGetOutputCount', 'void *%(void *session, _Out_ size_t *out)'),
      SessionGetInputTypeInfo: proto('SessionGetInputTypeInfo', `void *%(void *session, size_t index, ${out})`),
      SessionGetOutputTypeInfo: proto('SessionGetOutputTypeInfo', `void *%(void *session, size_t index, ${out})`),
      SessionGetInputName: proto(
        'SessionGetInputName',
        `void *%(void *session, size_t index, void *allocator, ${out})`,
      ),
      SessionGetOutputName: proto(
        'SessionGetOutputName',
        `void *%(void *session, size_t index, void *allocator, ${out})`,
      ),
      CreateRunOptions: proto('CreateRunOptions', `void *%(${out})`),
      CreateTensorAsOrtValue: proto(
        'CreateTensorAsOrtValue',
        `void *%(void *allocator, const int64_t *shape, size_t rank, int type, ${out})`,
      ),
      CreateTensorWithDataAsOrtValue: proto(
        'CreateTensorWithDataAsOrtValue',
        `void *%(void *info, void *data, size_t bytes, const int64_t *shape, size_t rank, int type, ${out})`,
      ),
      GetTensorMutableData: proto('GetTensorMutableData', `void *%(void *value, ${out})`),
      CastTypeInfoToTensorInfo: proto('CastTypeInfoToTensorInfo', `void *%(void *typeInfo, ${out})`),
      GetTensorElementType: proto('GetTensorElementType', 'void *%(void *info, _Out_ int *out)'),
      GetDimensionsCount: proto('GetDimensionsCount', 'void *%(void *info, _Out_ size_t *out)'),
      GetDimensions: proto('GetDimensions', 'void *%(void *info, _Out_ int64_t *dims, size_t n)'),
      GetSymbolicDimensions: proto('GetSymbolicDimensions', 'void *%(void *info, _Out_ void **names, size_t n)'),
      CreateMemoryInfo: proto(
        'CreateMemoryInfo',
        `void *%(const char *name, int allocatorType, int id, int memType, ${out})`,
      ),
      CreateCpuMemoryInfo: proto('CreateCpuMemoryInfo', `void *%(int allocatorType, int memType, ${out})`),
      AllocatorFree: proto('AllocatorFree', 'void *%(void *allocator, void *p)'),
      GetAllocatorWithDefaultOptions: proto('GetAllocatorWithDefaultOptions', `void *%(${out})`),
      ReleaseEnv: proto('ReleaseEnv', 'void %(void *p)'),
      ReleaseStatus: proto('ReleaseStatus', 'void %(void *p)'),
      ReleaseMemoryInfo: proto('ReleaseMemoryInfo', 'void %(void *p)'),
      ReleaseSession: proto('ReleaseSession', 'void %(void *p)'),
      ReleaseValue: proto('ReleaseValue', 'void %(void *p)'),
      ReleaseRunOptions: proto('ReleaseRunOptions', 'void %(void *p)'),
      ReleaseTypeInfo: proto('ReleaseTypeInfo', 'void %(void *p)'),
      ReleaseSessionOptions: proto('ReleaseSessionOptions', 'void %(void *p)'),
      AddSessionConfigEntry: proto(
        'AddSessionConfigEntry',
        'void *%(void *options, const char *key, const char *value)',
      ),
      CreateAllocator: proto('CreateAllocator', `void *%(void *session, void *info, ${out})`),
      ReleaseAllocator: proto('ReleaseAllocator', 'void %(void *p)'),
      RunWithBinding: proto('RunWithBinding', 'void *%(void *session, void *runOptions, void *binding)'),
      CreateIoBinding: proto('CreateIoBinding', `void *%(void *session, ${out})`),
      ReleaseIoBinding: proto('ReleaseIoBinding', 'void %(void *p)'),
      BindInput: proto('BindInput', 'void *%(void *binding, const char *name, void *value)'),
      BindOutput: proto('BindOutput', 'void *%(void *binding, const char *name, void *value)'),
      SynchronizeBoundOutputs: proto('SynchronizeBoundOutputs', 'void *%(void *binding)'),
      SessionOptionsAppendExecutionProvider_CUDA_V2: proto(
        'SessionOptionsAppendExecutionProvider_CUDA_V2',
        'void *%(void *options, void *cudaOptions)',
      ),
      CreateCUDAProviderOptions: proto('CreateCUDAProviderOptions', `void *%(${out})`),
      UpdateCUDAProviderOptions: proto(
        'UpdateCUDAProviderOptions',
        'void *%(void *cudaOptions, const char **keys, const char **values, size_t n)',
      ),
      ReleaseCUDAProviderOptions: proto('ReleaseCUDAProviderOptions', 'void %(void *p)'),
    };
  }

  /** Calls `name`; a non-null OrtStatus becomes an Error with ORT's message (and the status is released). */
  call(name: keyof typeof IDX, ...args: unknown[]): void {
    const err = this.statusError(name, this.fns[name](...args) as Ptr | null);
    if (err) throw err;
  }

  /** An OrtStatus as an Error with ORT's message (the status is released); undefined for null (success). */
  private statusError(name: string, status: Ptr | null): Error | undefined {
    if (!status) return undefined;
    const msg = this.fns.GetErrorMessage(status) as string;
    this.fns.ReleaseStatus(status);
    return new Error(`onnxruntime ${name}: ${msg}`);
  }

  /**
   * call() on one of koffi's worker threads: the event loop (and the caller's JS) runs on while ORT works, so the
   * decode loop can compute the previous token's statistics during the next forward. The caller must not touch
   * anything the call uses until the promise settles.
   */
  callAsync(name: keyof typeof IDX, ...args: unknown[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.fns[name].async(...args, (err: unknown, status: Ptr | null) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const failed = this.statusError(name, status);
        if (failed) reject(failed);
        else resolve();
      });
    });
  }

  /** Calls a function whose last parameter is a `void **out`, and returns that pointer. */
  create(name: keyof typeof IDX, ...args: unknown[]): Ptr {
    const out: [Ptr | null] = [null];
    this.call(name, ...args, out);
    if (!out[0]) throw new Error(`onnxruntime ${name} returned no object`);
    return out[0];
  }

  release(
    name:
      | 'ReleaseEnv'
      | 'ReleaseMemoryInfo'
      | 'ReleaseSession'
      | 'ReleaseValue'
      | 'ReleaseRunOptions'
      | 'ReleaseTypeInfo'
      | 'ReleaseSessionOptions'
      | 'ReleaseAllocator'
      | 'ReleaseIoBinding'
      | 'ReleaseCUDAProviderOptions',
    p: Ptr | null | undefined,
  ): void {
    if (p) this.fns[name](p);
  }

  count(name: 'SessionGetInputCount' | 'SessionGetOutputCount', session: Ptr): number {
    const out = [0];
    this.call(name, session, out);
    return Number(out[0]);
  }

  /** Names, element types and dims (symbolic dims as their names) of a session's inputs or outputs. */
  sessionMeta(session: Ptr, which: 'input' | 'output'): TensorMeta[] {
    const n = this.count(which === 'input' ? 'SessionGetInputCount' : 'SessionGetOutputCount', session);
    const alloc = this.create('GetAllocatorWithDefaultOptions');
    const res: TensorMeta[] = [];
    for (let i = 0; i < n; i++) {
      const namePtr = this.create(
        which === 'input' ? 'SessionGetInputName' : 'SessionGetOutputName',
        session,
        i,
        alloc,
      );
      const name = this.koffi.decode(namePtr, 'char', -1) as string;
      this.call('AllocatorFree', alloc, namePtr);
      const typeInfo = this.create(
        which === 'input' ? 'SessionGetInputTypeInfo' : 'SessionGetOutputTypeInfo',
        session,
        i,
      );
      try {
        const out: [Ptr | null] = [null];
        this.call('CastTypeInfoToTensorInfo', typeInfo, out);
        if (!out[0]) {
          res.push({ name, type: 'non-tensor', shape: [] });
          continue;
        }
        res.push({ name, ...this.tensorInfo(out[0]) });
      } finally {
        this.release('ReleaseTypeInfo', typeInfo);
      }
    }
    return res;
  }

  private tensorInfo(info: Ptr): { type: string; shape: (number | string)[] } {
    const t = [0];
    this.call('GetTensorElementType', info, t);
    const rank = [0];
    this.call('GetDimensionsCount', info, rank);
    const R = Number(rank[0]);
    const dims = new BigInt64Array(R);
    this.call('GetDimensions', info, dims, R);
    const symPtrs: (Ptr | null)[] = new Array(R).fill(null);
    this.call('GetSymbolicDimensions', info, symPtrs, R);
    const shape = Array.from(dims, (d, i) => {
      const sym = symPtrs[i] ? (this.koffi.decode(symPtrs[i], 'char', -1) as string) : '';
      return d >= 0n ? Number(d) : sym || 'dynamic';
    });
    return { type: ELEMENT_NAMES[t[0]] ?? `onnx type ${t[0]}`, shape };
  }

  /** A Float32Array / Uint16Array / BigInt64Array over a CPU tensor's own memory (no copy). */
  view(value: Ptr, bytes: number): ArrayBuffer {
    const data = this.create('GetTensorMutableData', value);
    return this.koffi.view(data, bytes) as ArrayBuffer;
  }

  static load(): OrtCApi {
    const koffi = requireKoffi();
    const dir = ortBinaryDir();
    const file = path.join(
      dir,
      process.platform === 'win32'
        ? 'onnxruntime.dll'
        : process.platform === 'darwin'
          ? 'libonnxruntime.1.dylib'
          : 'libonnxruntime.so.1',
    );
    let lib: KoffiLib;
    try {
      lib = koffi.load(file);
    } catch (e) {
      throw new CApiUnavailable(`cannot load ${file}: ${(e as Error).message}`);
    }
    const getBase = lib.func('void *OrtGetApiBase()') as () => Ptr | null;
    const base = getBase();
    if (!base) throw new CApiUnavailable('OrtGetApiBase returned null');
    const fields = koffi.decode(base, koffi.array('void *', 2)) as Ptr[];
    const getApi = koffi.decode(fields[0], koffi.proto('void *OrtGetApi(uint32_t version)')) as (
      v: number,
    ) => Ptr | null;
    const getVersion = koffi.decode(fields[1], koffi.proto('const char *OrtGetVersionString()')) as () => string;
    const table = getApi(API_VERSION);
    if (!table) throw new CApiUnavailable(`onnxruntime ${getVersion()} does not provide C API version ${API_VERSION}`);
    return new OrtCApi(koffi, table, getVersion());
  }
}

let loaded: OrtCApi | CApiUnavailable | undefined;

/** The process-wide C API, or throws CApiUnavailable with the reason (remembered: later calls fail the same way). */
export function loadOrtCApi(): OrtCApi {
  if (!loaded) {
    try {
      loaded = OrtCApi.load();
    } catch (e) {
      loaded = e instanceof CApiUnavailable ? e : new CApiUnavailable((e as Error).message);
    }
  }
  if (loaded instanceof CApiUnavailable) throw loaded;
  return loaded;
}

interface KoffiLib {
  func(sig: string): (...args: unknown[]) => unknown;
}
interface KoffiLike {
  load(file: string): KoffiLib;
  decode(ptr: unknown, type: unknown, len?: number): unknown;
  array(type: string, n: number): unknown;
  proto(sig: string): unknown;
  view(ptr: unknown, len: number): ArrayBuffer;
}

function requireKoffi(): KoffiLike {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('koffi') as KoffiLike;
  } catch (e) {
    throw new CApiUnavailable(
      `the optional dependency koffi is not installed or does not load here (${(e as Error).message.split('\n')[0]})`,
    );
  }
}

/** Where onnxruntime-node keeps its native libraries. */
export function ortBinaryDir(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}
