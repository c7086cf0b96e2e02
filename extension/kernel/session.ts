/**
 * One running kernel process plus its client: start (spawn + connect + kernel_info), execute with
 * iopub streaming, interrupt (SIGINT: our kernelspec says interrupt_mode "signal"), shutdown.
 * Free of `vscode` so it can be driven by tests against the real kernel.
 */
import { JupyterClient } from '../../common/jupyter-client';
import { isMessageType, type ContentMap, type ExecuteReplyContent } from '../../common/jupyter-messages';
import type { Message } from '../../common/jupyter-wire';
import { ZmqTransport } from '../../common/jupyter-zmq';
import { KernelProcess } from '../../common/kernel-process';
import { kernelArgv, kernelEnv, type KernelSettings } from './launcher';
import type { ExitInfo, LoadedModel, NotebookKernelSession } from './notebook-session';

export type { ExitInfo } from './notebook-session';

export interface SessionOptions extends KernelSettings {
  node: string;
  kernelScript: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

export type ExecuteReply = ExecuteReplyContent;

export class KernelSession implements NotebookKernelSession {
  private kernel?: KernelProcess;
  private client?: JupyterClient;
  private stopping = false;
  private exitListeners: ((e: ExitInfo) => void)[] = [];
  kernelInfo?: ContentMap['kernel_info_reply'];
  /** The model the kernel has loaded, from the last execute_reply's metadata (a `%model` cell changes it). */
  loadedModel?: LoadedModel;

  constructor(private readonly opts: SessionOptions) {}

  get running(): boolean {
    return !!this.kernel?.running;
  }

  /** The kernel process id while it runs. */
  get pid(): number | undefined {
    return this.kernel?.pid;
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
      }
    }
  }

  private async startOnce(): Promise<void> {
    const argv = kernelArgv(this.opts.node, this.opts.kernelScript, '{connection_file}');
    const kernel = await KernelProcess.start(argv, {
      env: kernelEnv({ ...process.env, ...this.opts.env }, this.opts),
      cwd: this.opts.cwd,
      kernelName: 'anygpt',
      tempPrefix: 'anygpt-vscode-',
      // its own process group, so SIGINT to the kernel does not reach the extension host
      detached: process.platform !== 'win32',
      stderrTail: 4000,
    });
    this.kernel = kernel;
    const client = new JupyterClient(new ZmqTransport(kernel.info), { username: 'vscode' });
    this.client = client;
    kernel.onExit(({ code, signal, stderr }) => {
      client.kernelLost(new Error('kernel died during execution'));
      client.close();
      if (this.client === client) this.client = undefined;
      const e: ExitInfo = { code, signal, stderr: stderr.trim(), expected: this.stopping };
      for (const l of this.exitListeners) l(e);
      kernel.removeConnectionFile();
    });
    client.connect();
    try {
      const reply = await Promise.race([client.waitReady(this.opts.readyTimeoutMs ?? 60000, 1000), kernel.spawnError]);
      this.kernelInfo = reply.content;
      // The kernel has read the file and we hold its contents: removing it now leaves no HMAC key behind in the
      // temp folder when the editor is killed before it can shut the kernel down.
      kernel.removeConnectionFile();
    } catch (e) {
      const tail = kernel.stderr.trim().split('\n').slice(-6).join('\n');
      const why = client.isLost ? 'kernel process exited during start-up' : (e as Error).message;
      await this.shutdown();
      throw new Error(`${why}${tail ? `\n${tail}` : ''}`, { cause: e });
    }
  }

  /** Execute code; `onIopub` sees every iopub message of this request (but its idle status) until it is done. */
  async execute(code: string, metadata: Record<string, unknown>, onIopub: (m: Message) => void): Promise<ExecuteReply> {
    const client = this.client;
    if (!client) throw new Error('kernel is not running');
    const future = client.execute(
      { code },
      {
        metadata,
        onIOPub: (m) => {
          if (isMessageType(m, 'status') && m.content.execution_state === 'idle') return;
          onIopub(m);
        },
      },
    );
    const reply = await future.done;
    const model = (reply.metadata as { anygpt?: { model?: LoadedModel } } | undefined)?.anygpt?.model;
    if (model && typeof model.name === 'string') this.loadedModel = model;
    return reply.content;
  }

  async complete(code: string, cursorPos: number): Promise<ContentMap['complete_reply'] | undefined> {
    if (!this.client) return undefined;
    const future = this.client.request(
      'shell',
      'complete_request',
      { code, cursor_pos: cursorPos },
      { timeoutMs: 3000 },
    );
    return (await future.reply.catch(() => undefined))?.content;
  }

  async inspect(code: string, cursorPos: number): Promise<string | undefined> {
    if (!this.client) return undefined;
    const future = this.client.request(
      'shell',
      'inspect_request',
      { code, cursor_pos: cursorPos, detail_level: 0 },
      { timeoutMs: 3000 },
    );
    const c = (await future.reply.catch(() => undefined))?.content;
    const text = c?.found ? (c.data['text/markdown'] ?? c.data['text/plain']) : undefined;
    return text === undefined ? undefined : String(text);
  }

  interrupt(): void {
    // SIGINT: our kernelspec says interrupt_mode "signal". Already gone: the exit handler reports it.
    this.kernel?.signal('SIGINT');
  }

  async shutdown(): Promise<void> {
    const kernel = this.kernel;
    if (!kernel) return;
    this.stopping = true;
    if (kernel.running && this.client && !this.client.isLost) {
      const future = this.client.request('control', 'shutdown_request', { restart: false }, { timeoutMs: 2000 });
      await future.reply.catch(() => undefined);
    }
    if (kernel.running) {
      const gone = new Promise<void>((r) => kernel.proc.once('exit', () => r()));
      kernel.signal('SIGTERM');
      const t = setTimeout(() => kernel.signal('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    this.client?.close();
    this.client = undefined;
    kernel.removeConnectionFile();
  }
}
