/**
 * One running kernel process plus its client: start (spawn + connect + kernel_info), execute with
 * iopub streaming, interrupt (SIGINT: our kernelspec says interrupt_mode "signal"), shutdown.
 * Free of `vscode` so it can be driven by tests against the real kernel.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { JupyterClient } from './client';
import { kernelArgv, kernelEnv, spawnKernel, newConnectionFile, type KernelSettings } from './launcher';
import type { Message as Message } from '../../common/jupyter-wire';

export interface SessionOptions extends KernelSettings {
  node: string;
  kernelScript: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines the kernel wrote to stderr, for the crash message. */
  stderr: string;
  /** True when we asked it to stop. */
  expected: boolean;
}

export interface ExecuteReply {
  status: 'ok' | 'error' | 'abort';
  execution_count?: number;
  ename?: string;
  evalue?: string;
}

export class KernelSession {
  private proc?: ChildProcess;
  private client?: JupyterClient;
  private connectionFile?: string;
  private stderrTail = '';
  private stopping = false;
  private exitListeners: ((e: ExitInfo) => void)[] = [];
  kernelInfo?: Record<string, unknown>;

  constructor(private readonly opts: SessionOptions) {}

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The kernel process id while it runs. */
  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  onExit(fn: (e: ExitInfo) => void): void {
    this.exitListeners.push(fn);
  }

  /** Starts the kernel; a start lost to a port race (another process bound a picked port first) is retried. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce();
      } catch (e) {
        if (attempt >= 3 || !/Address already in use/.test((e as Error).message)) throw e;
        this.stopping = false;
        this.stderrTail = '';
      }
    }
  }

  private async startOnce(): Promise<void> {
    const { file, info } = await newConnectionFile();
    this.connectionFile = file;
    const argv = kernelArgv(this.opts.node, this.opts.kernelScript, file);
    const proc = spawnKernel(argv, kernelEnv({ ...process.env, ...this.opts.env }, this.opts), this.opts.cwd);
    this.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
    proc.stdout?.on('data', () => undefined);
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (e) => reject(new Error(`cannot start ${argv[0]}: ${e.message}`))),
    );
    proc.once('exit', (code, signal) => {
      this.client?.close();
      this.client = undefined;
      const e: ExitInfo = { code, signal, stderr: this.stderrTail.trim(), expected: this.stopping };
      for (const l of this.exitListeners) l(e);
      this.cleanup();
    });
    this.client = new JupyterClient(info);
    this.client.connect();
    try {
      const reply = await Promise.race([
        this.client.waitReady(this.opts.readyTimeoutMs ?? 60000, () => this.running),
        spawnError,
      ]);
      this.kernelInfo = reply.content;
      // The kernel has read the file and we hold its contents: removing it now leaves no HMAC key behind in the
      // temp folder when the editor is killed before it can shut the kernel down.
      this.cleanup();
    } catch (e) {
      const tail = this.stderrTail.trim().split('\n').slice(-6).join('\n');
      await this.shutdown();
      throw new Error(`${(e as Error).message}${tail ? `\n${tail}` : ''}`, { cause: e });
    }
  }

  /** Execute code; `onIopub` sees every iopub message of this request until the kernel is idle again. */
  async execute(code: string, metadata: Record<string, unknown>, onIopub: (m: Message) => void): Promise<ExecuteReply> {
    const client = this.client;
    if (!client) throw new Error('kernel is not running');
    let idle!: () => void;
    const idleSeen = new Promise<void>((r) => (idle = r));
    const exited = new Promise<never>((_, reject) =>
      this.onExit(() => reject(new Error('kernel died during execution'))),
    );
    exited.catch(() => undefined); // only observed through the race below
    const { msgId, reply } = client.request(
      'shell',
      'execute_request',
      {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
      },
      {
        metadata,
        onIopub: (m) => {
          if (m.header.msg_type === 'status' && (m.content as { execution_state?: string }).execution_state === 'idle')
            idle();
          else onIopub(m);
        },
      },
    );
    try {
      const [r] = await Promise.race([Promise.all([reply, idleSeen]), exited]);
      return r.content as unknown as ExecuteReply;
    } finally {
      client.release(msgId);
    }
  }

  async complete(
    code: string,
    cursorPos: number,
  ): Promise<{ matches: string[]; cursor_start: number; cursor_end: number } | undefined> {
    if (!this.client) return undefined;
    const { reply } = this.client.request(
      'shell',
      'complete_request',
      { code, cursor_pos: cursorPos },
      { timeoutMs: 3000 },
    );
    return (await reply.catch(() => undefined))?.content as never;
  }

  async inspect(code: string, cursorPos: number): Promise<string | undefined> {
    if (!this.client) return undefined;
    const { reply } = this.client.request(
      'shell',
      'inspect_request',
      { code, cursor_pos: cursorPos, detail_level: 0 },
      { timeoutMs: 3000 },
    );
    const c = (await reply.catch(() => undefined))?.content as
      { found?: boolean; data?: Record<string, string> } | undefined;
    return c?.found ? (c.data?.['text/markdown'] ?? c.data?.['text/plain']) : undefined;
  }

  interrupt(): void {
    if (!this.proc?.pid || !this.running) return;
    try {
      this.proc.kill('SIGINT');
    } catch {
      // already gone: the exit handler reports it
    }
  }

  async shutdown(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.stopping = true;
    if (this.running && this.client) {
      const { reply } = this.client.request('control', 'shutdown_request', { restart: false }, { timeoutMs: 2000 });
      await reply.catch(() => undefined);
    }
    if (this.running) {
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => {
        if (this.running) proc.kill('SIGKILL');
      }, 3000);
      await gone;
      clearTimeout(t);
    }
    this.client?.close();
    this.client = undefined;
    this.cleanup();
  }

  private cleanup(): void {
    if (this.connectionFile) rmSync(dirname(this.connectionFile), { recursive: true, force: true });
    this.connectionFile = undefined;
  }
}
