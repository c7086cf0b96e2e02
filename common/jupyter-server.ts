/**
 * A Jupyter Server (or JupyterHub single-user server, or Enterprise Gateway) as a place to run AnyGPT kernels:
 * kernelspecs, kernel start/interrupt/restart/shutdown and the Contents API through @jupyterlab/services' REST
 * clients, and each kernel's messages through the one JupyterClient over a WsTransport (common/jupyter-ws.ts).
 * Node has no WebSocket of its own that accepts headers, so `ws` is handed to @jupyterlab/services; the token
 * travels in the Authorization header of both the REST calls and the WebSocket upgrade, never in a URL (URLs end
 * up in server logs, proxies and our own log).
 */
import {
  Drive,
  KernelAPI,
  KernelConnection,
  KernelSpecAPI,
  ServerConnection,
  SessionAPI,
  type Kernel,
  type KernelSpec,
} from '@jupyterlab/services';
import { WebSocket as NodeWebSocket } from 'ws';
import { JupyterClient } from './jupyter-client';
import type { ContentMap } from './jupyter-messages';
import { WsTransport } from './jupyter-ws';

export interface ServerEndpoint {
  /** http(s)://host:port/base_url/ */
  url: string;
  /** The server's token ('' for a server without one). */
  token: string;
}

export interface RemoteKernelOptions {
  /**
   * A folder on the server (Contents API path, '/'-separated) for the kernel's working directory: the kernel is
   * started through the Sessions API with a notebook path inside it, which is how Jupyter Server picks a cwd.
   * Absent: the kernel starts in the server's root.
   */
  folder?: string;
  /** The notebook's name, shown by the server for the session (default "anygpt.ipynb"). */
  notebookName?: string;
  username?: string;
  readyTimeoutMs?: number;
}

/** A WebSocket class for @jupyterlab/services that authenticates with a header instead of `?token=` in the URL. */
function webSocketWithToken(token: string): typeof WebSocket {
  class TokenWebSocket extends NodeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, token ? { headers: { Authorization: `token ${token}` } } : {});
    }
  }
  return TokenWebSocket as unknown as typeof WebSocket;
}

export class JupyterServer {
  readonly settings: ServerConnection.ISettings;
  readonly contents: Drive;

  constructor(readonly endpoint: ServerEndpoint) {
    const url = new URL(endpoint.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`a Jupyter Server URL starts with http:// or https://, not ${url.protocol}`);
    const baseUrl = url.href.endsWith('/') ? url.href : `${url.href}/`;
    this.settings = ServerConnection.makeSettings({
      baseUrl,
      wsUrl: baseUrl.replace(/^http/, 'ws'),
      token: endpoint.token,
      appendToken: false,
      WebSocket: webSocketWithToken(endpoint.token),
      fetch: (input, init) => fetch(input, init),
      Request,
      Headers,
    });
    this.contents = new Drive({ serverSettings: this.settings });
  }

  /** The server's kernelspecs (GET /api/kernelspecs); fails with the server's answer when the token is wrong. */
  async kernelspecs(): Promise<KernelSpec.ISpecModels> {
    return KernelSpecAPI.getSpecs(this.settings);
  }

  /** Names of the kernelspecs whose language is anygpt (ours), default first. */
  async anygptKernelspecs(): Promise<string[]> {
    const specs = await this.kernelspecs();
    const names = Object.values(specs.kernelspecs)
      .filter((s): s is KernelSpec.ISpecModel => !!s && s.language === 'anygpt')
      .map((s) => s.name);
    return names.sort((a, b) => Number(b === specs.default) - Number(a === specs.default) || a.localeCompare(b));
  }

  /** Makes sure a folder exists on the server (each missing level is created). */
  async ensureFolder(path: string): Promise<void> {
    let at = '';
    for (const part of path.split('/').filter(Boolean)) {
      at = at ? `${at}/${part}` : part;
      const model = await this.contents.get(at, { content: false }).catch(() => undefined);
      if (model?.type === 'directory') continue;
      if (model) throw new Error(`${at} on the server is a ${model.type}, not a folder`);
      await this.contents.save(at, { type: 'directory' });
    }
  }

  async startKernel(name: string, opts: RemoteKernelOptions = {}): Promise<RemoteKernel> {
    let model: Kernel.IModel;
    let sessionId: string | undefined;
    if (opts.folder) {
      await this.ensureFolder(opts.folder);
      const nb = opts.notebookName ?? 'anygpt.ipynb';
      const s = await SessionAPI.startSession(
        { path: `${opts.folder.replace(/\/+$/, '')}/${nb}`, name: nb, type: 'notebook', kernel: { name } },
        this.settings,
      );
      if (!s.kernel) throw new Error(`the server started session ${s.id} without a kernel`);
      model = s.kernel;
      sessionId = s.id;
    } else {
      model = await KernelAPI.startNew({ name }, this.settings);
    }
    const kernel = new RemoteKernel(this, model, sessionId, opts.username ?? 'anygpt');
    try {
      await kernel.connect(opts.readyTimeoutMs ?? 60000);
    } catch (e) {
      await kernel.shutdown().catch(() => undefined);
      throw e;
    }
    return kernel;
  }
}

/**
 * One kernel on a Jupyter Server and the JupyterClient that talks to it. A restart puts a fresh client on the
 * same kernel (the server keeps its id and working directory): requests open at the restart reject, as they do
 * when a local kernel is replaced.
 */
export class RemoteKernel {
  readonly connection: KernelConnection;
  private _client?: JupyterClient;
  kernelInfo?: ContentMap['kernel_info_reply'];
  private readonly deadListeners: ((why: Error) => void)[] = [];
  private stopping = false;

  constructor(
    readonly server: JupyterServer,
    readonly model: Kernel.IModel,
    readonly sessionId: string | undefined,
    private readonly username: string,
  ) {
    // handleComms off: we own no comm targets, and two handlers of one kernel's comms confuse each other.
    this.connection = new KernelConnection({
      model,
      serverSettings: server.settings,
      username,
      handleComms: false,
    });
  }

  get id(): string {
    return this.model.id;
  }

  get client(): JupyterClient {
    if (!this._client) throw new Error('the remote kernel is not connected');
    return this._client;
  }

  /** True until the kernel is shut down or found dead. */
  get running(): boolean {
    return !!this._client && !this._client.isLost && !this.connection.isDisposed;
  }

  /** Called once when the kernel or its connection is lost without our asking. */
  onDead(listener: (why: Error) => void): void {
    this.deadListeners.push(listener);
  }

  /** A fresh client over the WebSocket, ready once the kernel answers kernel_info. */
  async connect(readyTimeoutMs: number): Promise<void> {
    await waitConnected(this.connection, readyTimeoutMs);
    const client = new JupyterClient(new WsTransport(this.connection), { username: this.username });
    this._client = client;
    client.connect();
    const reply = await client.waitReady(readyTimeoutMs, 1000);
    this.kernelInfo = reply.content;
    // Lost without a restart or shutdown of ours: tell the owner (a status item, a message under the cell).
    client.onLost((why) => {
      if (this._client === client && !this.stopping) for (const l of this.deadListeners) l(why);
    });
  }

  /** POST /api/kernels/{id}/interrupt: the server interrupts the kernel the way its kernelspec says (a signal). */
  async interrupt(): Promise<void> {
    await KernelAPI.interruptKernel(this.id, this.server.settings);
  }

  async restart(readyTimeoutMs = 60000): Promise<void> {
    const old = this._client;
    this._client = undefined;
    old?.kernelLost(new Error('the kernel was restarted'));
    old?.close();
    await this.connection.restart();
    await this.connect(readyTimeoutMs);
  }

  /** Shuts the kernel (and its server session) down; a kernel already gone is not an error. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this._client?.close();
    try {
      if (this.sessionId) await SessionAPI.shutdownSession(this.sessionId, this.server.settings);
      else await KernelAPI.shutdownKernel(this.id, this.server.settings);
    } catch (e) {
      if ((e as { response?: Response }).response?.status !== 404) throw e;
    } finally {
      this.connection.dispose();
    }
  }
}

/** Resolves when the KernelConnection's WebSocket is open: a request sent before that is refused by it. */
function waitConnected(k: KernelConnection, timeoutMs: number): Promise<void> {
  if (k.connectionStatus === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      k.connectionStatusChanged.disconnect(on);
      if (err) reject(err);
      else resolve();
    };
    const on = (_: unknown, s: Kernel.ConnectionStatus) => {
      if (s === 'connected') done();
      else if (s === 'disconnected') done(new Error('could not open the kernel WebSocket'));
    };
    const timer = setTimeout(() => done(new Error(`no kernel WebSocket after ${timeoutMs / 1000} s`)), timeoutMs);
    k.connectionStatusChanged.connect(on);
  });
}
