/**
 * Our Jupyter Servers in the Jupyter extension's (ms-toolsai.jupyter) kernel picker, through its published API
 * (@vscode/jupyter-extension): a server collection "AnyGPT Jupyter Servers" listing the servers connected with
 * "AnyGPT: Connect to Jupyter Server…", plus a command that runs that connect flow. The Jupyter extension then
 * starts our kernelspec there itself; its outputs carry our MIME types, so our renderers show them as usual.
 * The provider is free of `vscode` at run time (Uri parsing is passed in) so that it is unit-tested against the
 * API's types. Tokens are read from SecretStorage only when the Jupyter extension resolves a server.
 */
import type {
  JupyterServer,
  JupyterServerCommand,
  JupyterServerCommandProvider,
  JupyterServerProvider,
} from '@vscode/jupyter-extension';
import type { CancellationToken, Event, Uri } from 'vscode';
import { controllerIdFor, serverName, type SavedServer } from './server-entry';

/** What the provider needs from the extension's server list (extension/remote/servers.ts). */
export interface ServerSource {
  servers(): SavedServer[];
  token(url: string): Promise<string | undefined>;
  onDidChange: Event<void>;
  /** Runs the connect flow; undefined when the user cancelled. */
  connect(): Promise<SavedServer | undefined>;
}

export const COLLECTION_ID = 'anygpt-servers';
export const CONNECT_COMMAND: JupyterServerCommand = { label: 'Connect to a Jupyter Server with AnyGPT kernels…' };

export class AnyGptServerProvider implements JupyterServerProvider, JupyterServerCommandProvider {
  readonly onDidChangeServers: Event<void>;

  constructor(
    private readonly source: ServerSource,
    private readonly parseUri: (s: string) => Uri,
  ) {
    this.onDidChangeServers = source.onDidChange;
  }

  private server(s: SavedServer): JupyterServer {
    return { id: controllerIdFor(s.url), label: `AnyGPT (${serverName(s.url)})` };
  }

  provideJupyterServers(_token: CancellationToken): JupyterServer[] {
    return this.source.servers().map((s) => this.server(s));
  }

  async resolveJupyterServer(server: JupyterServer, _token: CancellationToken): Promise<JupyterServer | undefined> {
    const s = this.source.servers().find((x) => controllerIdFor(x.url) === server.id);
    if (!s) return undefined;
    const token = await this.source.token(s.url);
    if (token === undefined) return undefined;
    return { ...server, connectionInformation: { baseUrl: this.parseUri(s.url), token } };
  }

  provideCommands(_value: string | undefined, _token: CancellationToken): JupyterServerCommand[] {
    return [CONNECT_COMMAND];
  }

  async handleCommand(_command: JupyterServerCommand, _token: CancellationToken): Promise<JupyterServer | undefined> {
    const s = await this.source.connect();
    // undefined sends the user back to the kernel picker, which is what a cancelled connect should do.
    return s ? this.server(s) : undefined;
  }
}
