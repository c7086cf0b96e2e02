/**
 * The execution queue: execute_requests run one at a time, in arrival order, while the shell loop keeps
 * reading (so complete/inspect/kernel_info are answered during a long generation). After an error with
 * stop_on_error, requests that were already queued when the error happened are answered "aborted" (as
 * ipykernel does), so Run All stops at the first failing cell.
 */
export interface Job {
  run(): Promise<'ok' | 'error'>;
  abort(): Promise<void>;
}

export class ExecutionQueue {
  private jobs: Job[] = [];
  private running = false;

  get busy(): boolean {
    return this.running || this.jobs.length > 0;
  }

  /**
   * Take the jobs queued *now*. Called before the failing execute_reply is sent, so a request a client
   * sends after seeing that reply is never aborted by mistake.
   */
  takeQueued(): Job[] {
    return this.jobs.splice(0);
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
        try {
          await job.run();
        } catch {
          // run() reports its own errors; the queue must keep going.
        }
      }
    } finally {
      this.running = false;
    }
  }
}
