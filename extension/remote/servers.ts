/**
 * Jupyter Servers as places to run AnyGPT kernels: "AnyGPT: Connect to Jupyter Server…" asks for the URL (the
 * `anygpt.jupyterServer.url` setting pre-fills it) and the token, checks that the server has an AnyGPT
 * kernelspec, keeps the token in SecretStorage (never in settings, globalState or the log) and adds an
 * "AnyGPT (host:port)" controller beside "AnyGPT (local)". Servers connected before come back at activation.
 */
import * as vscode from 'vscode';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Jupyter } from '@vscode/jupyter-extension';
import { JupyterServer } from '../../common/jupyter-server';
import { JUPYTER_EXTENSION_ID } from '../identifiers';
import { AnyGptServerProvider, COLLECTION_ID } from './jupyter-server-provider';
import { AnyGptController, type KernelSource } from '../controller';
import { RemoteKernelSession } from '../kernel/remote-session';
import {
  controllerIdFor,
  parseServerUrl,
  serverName,
  tokenSecretKey,
  withServer,
  type SavedServer,
} from './server-entry';

const SAVED = 'anygpt.jupyterServers';

/** What the command accepts instead of asking (tests, tasks, other extensions); never logged. */
export interface ConnectArgs {
  url: string;
  token: string;
  kernelName?: string;
}

export class RemoteServers implements vscode.Disposable {
  private readonly controllers = new Map<string, AnyGptController>();
  /** By controller id; a reconnect replaces the entry (running kernels keep theirs until restarted). */
  private readonly entries = new Map<string, SavedServer>();
  private readonly added = new vscode.EventEmitter<AnyGptController>();
  readonly onDidAddController = this.added.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get all(): AnyGptController[] {
    return [...this.controllers.values()];
  }

  /** The servers with a controller now (connected, token stored). */
  get servers(): SavedServer[] {
    return [...this.entries.values()];
  }

  token(url: string): Promise<string | undefined> {
    return Promise.resolve(this.context.secrets.get(tokenSecretKey(url)));
  }

  /**
   * When ms-toolsai.jupyter is installed, offers our servers to its kernel picker as a server collection. Its API
   * asks to be called once a notebook is open (not at activation, which would activate it needlessly).
   */
  offerToJupyterExtension(): vscode.Disposable {
    let done = false;
    const offer = async () => {
      const ext = vscode.extensions.getExtension<Jupyter>(JUPYTER_EXTENSION_ID);
      if (done || !ext) return;
      done = true;
      try {
        const api = ext.isActive ? ext.exports : await ext.activate();
        const provider = new AnyGptServerProvider(
          {
            servers: () => this.servers,
            token: (url) => this.token(url),
            onDidChange: (listener, thisArg, disposables) =>
              this.added.event(() => listener.call(thisArg, undefined), undefined, disposables),
            connect: async () => {
              const id = await this.connect();
              return id ? this.entries.get(id) : undefined;
            },
          },
          (u) => vscode.Uri.parse(u),
        );
        const collection = api.createJupyterServerCollection(COLLECTION_ID, 'AnyGPT Jupyter Servers', provider);
        collection.commandProvider = provider;
        this.offered = collection;
        this.log.info('offered our Jupyter Servers to the Jupyter extension’s kernel picker');
      } catch (e) {
        this.log.warn(`could not offer servers to the Jupyter extension: ${e}`);
      }
    };
    if (vscode.workspace.notebookDocuments.length) void offer();
    return vscode.workspace.onDidOpenNotebookDocument(() => void offer());
  }

  private offered?: { dispose(): void };

  private saved(): SavedServer[] {
    return this.context.globalState.get<SavedServer[]>(SAVED, []);
  }

  /** Controllers for the servers connected in earlier sessions whose token is still in SecretStorage. */
  async restore(): Promise<void> {
    for (const s of this.saved()) {
      if ((await this.context.secrets.get(tokenSecretKey(s.url))) === undefined) continue;
      this.addController(s);
    }
  }

  /** The command. Returns the controller id, or undefined when the user cancelled or it failed (and was told). */
  async connect(args?: ConnectArgs): Promise<string | undefined> {
    const configured = vscode.workspace.getConfiguration('anygpt').get<string>('jupyterServer.url', '');
    const input =
      args?.url ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t('Connect to Jupyter Server'),
        prompt: vscode.l10n.t('The Jupyter Server URL (it must have the AnyGPT kernelspec installed)'),
        value: configured || 'http://127.0.0.1:8888/',
        ignoreFocusOut: true,
        validateInput: (v) => {
          try {
            parseServerUrl(v);
            return undefined;
          } catch (e) {
            return (e as Error).message;
          }
        },
      }));
    if (input === undefined) return undefined;
    const parsed = parseServerUrl(input);
    const token =
      args?.token ??
      parsed.token ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t('Connect to Jupyter Server'),
        prompt: vscode.l10n.t('The token of {0} (empty if it has none)', parsed.url),
        password: true,
        ignoreFocusOut: true,
      }));
    if (token === undefined) return undefined;
    let names: string[];
    try {
      names = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Connecting to {0}…', parsed.url) },
        () => new JupyterServer({ url: parsed.url, token }).anygptKernelspecs(),
      );
    } catch (e) {
      const status = (e as { response?: Response }).response?.status;
      const why =
        status === 403 || status === 401 ? vscode.l10n.t('the token was refused ({0})', status) : (e as Error).message;
      this.log.error(`connect to ${parsed.url}: ${why}`);
      void vscode.window.showErrorMessage(vscode.l10n.t('Could not connect to {0}: {1}', parsed.url, why));
      return undefined;
    }
    if (!names.length) {
      void vscode.window.showErrorMessage(
        vscode.l10n.t(
          '{0} has no AnyGPT kernelspec. On the server run: node dist/kernel.js install --sys-prefix --model DIR --ep cuda (docs/remote.md).',
          parsed.url,
        ),
      );
      return undefined;
    }
    const kernelName =
      args?.kernelName ??
      (names.length === 1
        ? names[0]
        : await vscode.window.showQuickPick(names, { placeHolder: vscode.l10n.t('AnyGPT kernelspec to run') }));
    if (!kernelName || !names.includes(kernelName)) return undefined;
    await this.context.secrets.store(tokenSecretKey(parsed.url), token);
    const entry: SavedServer = { url: parsed.url, kernelName };
    await this.context.globalState.update(SAVED, withServer(this.saved(), entry));
    const c = this.addController(entry);
    this.log.info(`connected to ${parsed.url} (kernelspec ${kernelName})`);
    return c.controller.id;
  }

  private addController(s: SavedServer): AnyGptController {
    const id = controllerIdFor(s.url);
    this.entries.set(id, s);
    const old = this.controllers.get(id);
    if (old) return old;
    const c = new AnyGptController(this.context, this.log, this.source(s, id));
    this.controllers.set(id, c);
    this.added.fire(c);
    return c;
  }

  private source(s: SavedServer, id: string): KernelSource {
    const name = serverName(s.url);
    return {
      id,
      label: vscode.l10n.t('AnyGPT ({0})', name),
      description: vscode.l10n.t('AnyGPT kernel on the Jupyter Server {0}', name),
      detail: vscode.l10n.t(
        'Kernelspec {0}; media links are copied to the notebook’s folder on the server',
        s.kernelName,
      ),
      preferred: false,
      sendsNotebookFolder: false,
      createSession: async (notebook) => {
        const e = this.entries.get(id) ?? s;
        const token = await this.context.secrets.get(tokenSecretKey(e.url));
        if (token === undefined)
          throw new Error(
            vscode.l10n.t('No token stored for {0}: run "AnyGPT: Connect to Jupyter Server…" again.', e.url),
          );
        this.log.info(`starting kernel ${e.kernelName} on ${e.url} for ${notebook.uri.toString()}`);
        return new RemoteKernelSession({
          endpoint: { url: e.url, token },
          kernelName: e.kernelName,
          notebookPath: localNotebookPath(notebook),
        });
      },
    };
  }

  dispose(): void {
    this.offered?.dispose();
    for (const c of this.controllers.values()) c.dispose();
    this.controllers.clear();
    this.entries.clear();
    this.added.dispose();
  }
}

/** Where media links of this notebook are read from: its file, or for an untitled one, the workspace folder. */
function localNotebookPath(nb: vscode.NotebookDocument): string {
  if (nb.uri.scheme === 'file') return nb.uri.fsPath;
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? tmpdir();
  return join(ws, `${nb.uri.path.split('/').pop() || 'Untitled'}.ipynb`);
}
