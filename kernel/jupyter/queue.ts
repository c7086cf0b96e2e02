/**
 * The execution queue: execute_requests run one at a time, in arrival order, while the shell loop keeps
 * reading (so complete/inspect/kernel_info are answered during a long generation). After an error with
 * stop_on_error, requests that were already queued are answered "aborted", as ipykernel does, so Run All
 * stops at the first failing cell.
 */
export interface Job {
  run(): Promise<'ok' | 'error'>;
  abort(): Promise<void>;
  stopOnError: boolean;
}

export class ExecutionQueue {
  private jobs: Job[] = [];
  private running = false;

  get busy(): boolean {
    return this.running || this.jobs.length > 0;
  }

  push(job: Job): void {
    this.jobs.push(job);
    if (!this.running) void this.pump();
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (this.jobs.length) {
        const job = this.jobs.shift()!;
        let status: 'ok' | 'error' = 'error';
        try {
          status = await job.run();
        } catch {
          status = 'error';
        }
        if (status === 'error' && job.stopOnError) {
          const dropped = this.jobs.splice(0);
          for (const d of dropped) await d.abort().catch(() => {});
        }
      }
    } finally {
      this.running = false;
    }
  }
}
