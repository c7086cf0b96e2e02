/**
 * One notebook's kernel on a Jupyter Server, behind the same NotebookKernelSession the controller drives for a
 * local kernel. The kernel starts in the notebook's own folder on the server; before each cell the files its media
 * links name are sent there (common/remote-media.ts), and the local `cwd` the controller puts in the execute
 * metadata is dropped: it names a folder on this machine, and the kernel's own working directory is the right one.
 * Free of `vscode` so tests drive it against a real server.
 */
import { basename, dirname } from 'node:path';
import type { ContentMap, ExecuteReplyContent } from '../../common/jupyter-messages';
import { JupyterServer, type RemoteKernel, type ServerEndpoint } from '../../common/jupyter-server';
import { isMessageType } from '../../common/jupyter-messages';
import type { Message } from '../../common/jupyter-wire';
import { MediaUploader, remoteNotebookFolder, type MediaLimits } from '../../common/remote-media';
import type { ExitInfo, NotebookKernelSession } from './notebook-session';

export interface RemoteSessionOptions {
  endpoint: ServerEndpoint;
  /** The kernelspec to start on the server. */
  kernelName: string;
  /** The notebook's path on this machine: its folder is where media links are read from. */
  notebookPath: string;
  limits?: MediaLimits;
  readyTimeoutMs?: number;
}

export class RemoteKernelSession implements NotebookKernelSession {
  private kernel?: RemoteKernel;
  private uploader?: MediaUploader;
  private stopping = false;
  private readonly exitListeners: ((e: ExitInfo) => void)[] = [];
  kernelInfo?: ContentMap['kernel_info_reply'];

  constructor(private readonly opts: RemoteSessionOptions) {}

  get running(): boolean {
    return !!this.kernel?.running;
  }

  /** The server's folder for this notebook (the kernel's working directory). */
  get folder(): string {
    return remoteNotebookFolder(this.opts.notebookPath);
  }

  onExit(fn: (e: ExitInfo) => void): void {
    this.exitListeners.push(fn);
  }

  async start(): Promise<void> {
    const server = new JupyterServer(this.opts.endpoint);
    const kernel = await server.startKernel(this.opts.kernelName, {
      folder: this.folder,
      notebookName: basename(this.opts.notebookPath),
      username: 'vscode',
      readyTimeoutMs: this.opts.readyTimeoutMs,
    });
    this.kernel = kernel;
    this.kernelInfo = kernel.kernelInfo;
    this.uploader = new MediaUploader(server, dirname(this.opts.notebookPath), this.folder, this.opts.limits);
    kernel.onDead((why) => {
      if (this.kernel !== kernel) return;
      const e: ExitInfo = { code: null, signal: null, stderr: why.message, expected: this.stopping };
      for (const l of this.exitListeners) l(e);
    });
  }

  async execute(
    code: string,
    metadata: Record<string, unknown>,
    onIopub: (m: Message) => void,
  ): Promise<ExecuteReplyContent> {
    const kernel = this.kernel;
    if (!kernel?.running || !this.uploader) throw new Error('kernel is not running');
    await this.uploader.sendFor(code);
    const future = kernel.client.execute(
      { code },
      {
        metadata: withoutLocalCwd(metadata),
        onIOPub: (m) => {
          if (isMessageType(m, 'status') && m.content.execution_state === 'idle') return;
          onIopub(m);
        },
      },
    );
    return (await future.done).content;
  }

  async complete(code: string, cursorPos: number): Promise<ContentMap['complete_reply'] | undefined> {
    if (!this.kernel?.running) return undefined;
    const f = this.kernel.client.request(
      'shell',
      'complete_request',
      { code, cursor_pos: cursorPos },
      { timeoutMs: 3000 },
    );
    return (await f.reply.catch(() => undefined))?.content;
  }

  async inspect(code: string, cursorPos: number): Promise<string | undefined> {
    if (!this.kernel?.running) return undefined;
    const f = this.kernel.client.request(
      'shell',
      'inspect_request',
      { code, cursor_pos: cursorPos, detail_level: 0 },
      { timeoutMs: 3000 },
    );
    const c = (await f.reply.catch(() => undefined))?.content;
    const text = c?.found ? (c.data['text/markdown'] ?? c.data['text/plain']) : undefined;
    return text === undefined ? undefined : String(text);
  }

  interrupt(): void {
    // The server interrupts the kernel the way its kernelspec says (our kernelspec: a signal).
    void this.kernel?.interrupt().catch(() => undefined);
  }

  async shutdown(): Promise<void> {
    const kernel = this.kernel;
    if (!kernel) return;
    this.stopping = true;
    await kernel.shutdown().catch(() => undefined);
    for (const l of this.exitListeners) l({ code: 0, signal: null, stderr: '', expected: true });
  }
}

/** The execute metadata without `cwd` / `anygpt.cwd`: they name a folder on this machine. */
export function withoutLocalCwd(metadata: Record<string, unknown>): Record<string, unknown> {
  const { cwd: _cwd, ...rest } = metadata;
  const anygpt = rest.anygpt;
  if (anygpt && typeof anygpt === 'object' && !Array.isArray(anygpt)) {
    const { cwd: _a, ...inner } = anygpt as Record<string, unknown>;
    if (Object.keys(inner).length) rest.anygpt = inner;
    else delete rest.anygpt;
  }
  return rest;
}
