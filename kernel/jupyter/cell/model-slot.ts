/** The kernel's one loaded model: loaded on first use (with a progress display), replaced by `%model DIR`. */
import type { Backend, BackendFactory, ModelDescription } from '../backend';
import { progressText } from '../mime-bundles';
import type { Emit } from './outcome';

export class ModelSlot {
  private backend?: Backend;
  private loading?: Promise<Backend>;

  constructor(
    private dir: string | undefined,
    private readonly open: BackendFactory,
    private readonly executionProvider: 'cpu' | 'cuda' | undefined,
  ) {}

  get loaded(): ModelDescription | undefined {
    return this.backend?.describeModel();
  }

  get modelDir(): string | undefined {
    return this.dir;
  }

  /** The model, loading it if needed; the load shows progress in the cell `executionCount`. */
  async get(emit: Emit, executionCount: number): Promise<Backend> {
    if (this.backend) return this.backend;
    if (!this.dir) {
      throw new Error(
        'no model package configured: run `anygpt-kernel install --model DIR`, set ANYGPT_MODEL, or use %model DIR',
      );
    }
    const id = `anygpt-${executionCount}-load`;
    let shown = false;
    this.loading ??= this.open(this.dir, {
      executionProvider: this.executionProvider,
      onProgress: (p) => {
        const data = progressText(`loading model: ${p.stage}`, p.done, p.total);
        if (!shown) emit.display(data, {}, id);
        else emit.update(data, {}, id);
        shown = true;
      },
    });
    try {
      this.backend = await this.loading;
    } finally {
      this.loading = undefined;
    }
    const model = this.backend.describeModel();
    if (shown) emit.update({ 'text/plain': `loaded ${model.name} in ${model.loadMs.toFixed(0)} ms` }, {}, id);
    return this.backend;
  }

  /**
   * Loads the model in `dir` and only then closes the current one: a package that fails (missing, corrupt
   * manifest, hash mismatch, a graph ORT rejects) leaves the previous model loaded and in use. Both are in memory
   * while the new one loads.
   */
  async switchTo(dir: string, emit: Emit, executionCount: number): Promise<Backend> {
    const previous = { backend: this.backend, dir: this.dir };
    this.backend = undefined;
    this.dir = dir;
    try {
      await this.get(emit, executionCount);
    } catch (e) {
      this.backend = previous.backend;
      this.dir = previous.dir;
      throw e;
    }
    await previous.backend?.close().catch(() => {});
    return this.backend!;
  }

  async close(): Promise<void> {
    await this.backend?.close().catch(() => {});
    this.backend = undefined;
  }
}
