/**
 * A kernel launched for a script: `anygpt verify`, the demo, the bench and the tests. It is the common JupyterClient
 * (futures, typed messages) over the ZeroMQ transport, with a KernelProcess it started from argv, and the small
 * conveniences those scripts share: a request resolves with its reply and its iopub outputs, executions wait for
 * status idle (the way nbclient does), every iopub message is logged for ordering checks.
 */
import { JupyterClient } from '../../common/jupyter-client';
import type { ConnectionInfo } from '../../common/jupyter-connection';
import type { ContentMap, ReplyTo, RequestType } from '../../common/jupyter-messages';
import { ZmqTransport } from '../../common/jupyter-zmq';
import { KernelProcess } from '../../common/kernel-process';
import type { Header, Message, Signer } from './wire';

export interface ExecuteResult<R extends RequestType = RequestType> {
  reply: ReplyTo<R>;
  /** iopub messages with this request as parent, in arrival order, status messages excluded. */
  outputs: Message[];
  /** Wall time from send to idle, ms. */
  ms: number;
}

export class KernelClient {
  /** Every iopub message seen (for tests that check ordering); capped. */
  readonly iopubLog: Message[] = [];

  private constructor(
    readonly client: JupyterClient,
    private readonly transport: ZmqTransport,
    readonly kernel: KernelProcess,
  ) {
    client.onAnyIOPub((m) => {
      if (this.iopubLog.length < 5000) this.iopubLog.push(m);
    });
    kernel.onExit(({ code, signal }) =>
      client.kernelLost(new Error(`kernel exited with ${code ?? signal}: ${kernel.stderr}`)),
    );
  }

  /** Start `argv` (with "{connection_file}" substituted) and connect. */
  static async launch(
    argv: string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string; key?: string; readyTimeoutMs?: number } = {},
  ): Promise<KernelClient> {
    const kernel = await KernelProcess.start(argv, {
      env: opts.env,
      cwd: opts.cwd,
      key: opts.key,
      tempPrefix: 'anygpt-client-',
    });
    const transport = new ZmqTransport(kernel.info);
    const c = new KernelClient(new JupyterClient(transport, { username: 'test' }), transport, kernel);
    c.client.connect();
    const timeoutMs = opts.readyTimeoutMs ?? 30000;
    try {
      await Promise.race([c.client.waitReady(timeoutMs), kernel.spawnError]);
    } catch (e) {
      c.dispose();
      const msg = (e as Error).message;
      throw new Error(c.client.isLost ? msg : `kernel not ready after ${timeoutMs} ms: ${kernel.stderr}`, { cause: e });
    }
    return c;
  }

  get info(): ConnectionInfo {
    return this.kernel.info;
  }

  get proc() {
    return this.kernel.proc;
  }

  get session(): string {
    return this.client.session;
  }

  get stderr(): string {
    return this.kernel.stderr;
  }

  /** Send a message without waiting for anything; returns its msg_id. */
  send(
    channel: 'shell' | 'control',
    type: string,
    content: unknown,
    metadata: Record<string, unknown> = {},
    header: Header = this.client.header(type),
  ): string {
    void this.transport.send(channel, { header, parent_header: {}, metadata, content }).catch(() => undefined);
    return header.msg_id;
  }

  /** Send raw frames (tests: bad signatures). */
  sendRaw(channel: 'shell' | 'control', frames: Buffer[]): void {
    void this.transport.sendRaw(channel, frames).catch(() => undefined);
  }

  get signerForTests(): Signer {
    return this.transport.signer;
  }

  /** Send a request; resolve with the reply and its iopub outputs (waitIdle: also wait for status idle). */
  async request<R extends RequestType>(
    channel: 'shell' | 'control',
    type: R,
    content: ContentMap[R],
    opts: {
      metadata?: Record<string, unknown>;
      timeoutMs?: number;
      waitIdle?: boolean;
      onOutput?: (m: Message) => void;
    } = {},
  ): Promise<ExecuteResult<R>> {
    const t0 = performance.now();
    const outputs: Message[] = [];
    const future = this.client.request(channel, type, content, {
      metadata: opts.metadata,
      timeoutMs: opts.timeoutMs ?? 60000,
      onIOPub: (m) => {
        if (m.header.msg_type === 'status') return;
        outputs.push(m);
        opts.onOutput?.(m);
      },
    });
    const reply = await (opts.waitIdle ? future.done : future.reply);
    if (!opts.waitIdle) future.dispose();
    return { reply, outputs, ms: performance.now() - t0 };
  }

  execute(
    code: string,
    opts: {
      metadata?: Record<string, unknown>;
      timeoutMs?: number;
      onOutput?: (m: Message) => void;
      stopOnError?: boolean;
    } = {},
  ): Promise<ExecuteResult<'execute_request'>> {
    return this.request(
      'shell',
      'execute_request',
      {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: opts.stopOnError ?? true,
      },
      { metadata: opts.metadata, timeoutMs: opts.timeoutMs ?? 600000, waitIdle: true, onOutput: opts.onOutput },
    );
  }

  /** Heartbeat round trip in ms (REQ/REP echo), or throws after timeoutMs. */
  heartbeat(timeoutMs = 1000): Promise<number> {
    return this.transport.heartbeat(timeoutMs);
  }

  /** Ask for shutdown, wait for the process to exit (kill after timeoutMs). Returns the exit code. */
  async shutdown(timeoutMs = 5000): Promise<number | null> {
    if (this.client.isLost && !this.kernel.running) {
      this.dispose();
      return this.kernel.proc.exitCode;
    }
    try {
      await this.request('control', 'shutdown_request', { restart: false }, { timeoutMs: 2000 });
    } catch {
      // fall through to kill
    }
    const code = await this.waitExit(timeoutMs);
    this.dispose();
    return code;
  }

  waitExit(timeoutMs: number): Promise<number | null> {
    return this.kernel.waitExit(timeoutMs);
  }

  dispose(): void {
    this.client.close();
    this.kernel.dispose();
  }
}
