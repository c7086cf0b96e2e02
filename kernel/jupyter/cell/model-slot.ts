/** The kernel's one loaded model: loaded on first use (progress in the cell's status line), replaced by `%model DIR`. */
import type { Backend, BackendFactory, ModelDescription } from '../backend';
import { progressText } from '../mime-bundles';
import type { LiveLine } from './live-line';
import type { Timings } from './metadata';

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

  /**
   * The model, loading it if needed. The load's progress shows in the cell's status line (which the cell's later
   * stages take over: no "loaded … in N ms" output of its own); its time goes into `timings.load` (the metadata).
   */
  async get(status?: LiveLine, timings?: Timings): Promise<Backend> {
    if (this.backend) return this.backend;
    if (!this.dir) {
      throw new Error(
        'no model package configured: run `anygpt-kernel install --model DIR`, set ANYGPT_MODEL, or use %model DIR',
      );
    }
    this.loading ??= this.open(this.dir, {
      executionProvider: this.executionProvider,
      onProgress: (p) => status?.show(progressText(`loading model: ${p.stage}`, p.done, p.total), {}, 'load'),
    });
    try {
      this.backend = await this.loading;
    } finally {
      this.loading = undefined;
    }
    if (timings) timings.load = this.backend.describeModel().loadMs;
    return this.backend;
  }

  /**
   * Loads the model in `dir` and only then closes the current one: a package that fails (missing, corrupt
   * manifest, hash mismatch, a graph ORT rejects) leaves the previous model loaded and in use. Both are in memory
   * while the new one loads.
   */
  async switchTo(dir: string, status?: LiveLine, timings?: Timings): Promise<Backend> {
    const previous = { backend: this.backend, dir: this.dir };
    this.backend = undefined;
    this.dir = dir;
    try {
      await this.get(status, timings);
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
