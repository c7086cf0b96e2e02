/**
 * Our side of the Jupyter extension's server collection API (@vscode/jupyter-extension), typed against the
 * package's own declarations: the servers we list, what resolving one gives (the base URL and the token from our
 * secret store, read only then), the connect command. The Jupyter extension itself cannot be installed here, so
 * its side of the contract (showing the collection, starting our kernelspec) is not exercised.
 */
import assert from 'node:assert/strict';
import type { JupyterServer, JupyterServerCommandProvider, JupyterServerProvider } from '@vscode/jupyter-extension';
import type { CancellationToken, Disposable, Uri } from 'vscode';
import {
  AnyGptServerProvider,
  CONNECT_COMMAND,
  type ServerSource,
} from '../../extension/remote/jupyter-server-provider';
import { controllerIdFor, type SavedServer } from '../../extension/remote/server-entry';

const never: CancellationToken = {
  isCancellationRequested: false,
  onCancellationRequested: () => ({ dispose: () => undefined }) as Disposable,
};
// The provider only hands the Uri on; a URL object stands in for vscode.Uri outside VS Code.
const parseUri = (s: string) => new URL(s) as unknown as Uri;

function source(servers: SavedServer[], secrets: Record<string, string>, next?: SavedServer) {
  const listeners: (() => void)[] = [];
  const tokenReads: string[] = [];
  const src: ServerSource = {
    servers: () => servers,
    token: async (url) => {
      tokenReads.push(url);
      return secrets[url];
    },
    onDidChange: (l) => {
      listeners.push(() => l());
      return { dispose: () => undefined } as Disposable;
    },
    connect: async () => {
      if (next) servers.push(next);
      listeners.forEach((l) => l());
      return next;
    },
  };
  return { src, tokenReads, listeners };
}

describe('extension: our servers in the Jupyter extension’s kernel picker (@vscode/jupyter-extension API)', () => {
  const a: SavedServer = { url: 'https://gpu-a:8888/', kernelName: 'anygpt' };
  const b: SavedServer = { url: 'http://127.0.0.1:9999/hub/user/ann/', kernelName: 'anygpt-7b' };

  it('lists the connected servers by controller id and name; tokens are read only on resolve', async () => {
    const { src, tokenReads } = source([a, b], { [a.url]: 'tok-a', [b.url]: '' });
    const p: JupyterServerProvider = new AnyGptServerProvider(src, parseUri);
    const listed = (await p.provideJupyterServers(never)) as JupyterServer[];
    assert.deepEqual(listed, [
      { id: controllerIdFor(a.url), label: 'AnyGPT (gpu-a:8888)' },
      { id: controllerIdFor(b.url), label: 'AnyGPT (127.0.0.1:9999/hub/user/ann)' },
    ]);
    assert.ok(
      listed.every((s) => s.connectionInformation === undefined),
      'no token in the listing',
    );
    assert.deepEqual(tokenReads, []);

    const ra = (await p.resolveJupyterServer(listed[0], never)) as JupyterServer;
    assert.equal(String(ra.connectionInformation!.baseUrl), a.url);
    assert.equal(ra.connectionInformation!.token, 'tok-a');
    const rb = (await p.resolveJupyterServer(listed[1], never)) as JupyterServer;
    assert.equal(rb.connectionInformation!.token, '', 'a server without a token resolves with an empty one');
    assert.deepEqual(tokenReads, [a.url, b.url]);
  });

  it('a server forgotten since (or with no stored token) does not resolve', async () => {
    const { src } = source([a], {});
    const p = new AnyGptServerProvider(src, parseUri);
    assert.equal(await p.resolveJupyterServer({ id: controllerIdFor(a.url), label: 'x' }, never), undefined);
    assert.equal(await p.resolveJupyterServer({ id: 'anygpt-remote-000000000000', label: 'x' }, never), undefined);
  });

  it('offers the connect command; a connect adds the server and fires onDidChangeServers; cancel goes back', async () => {
    const servers = [a];
    const { src } = source(servers, { [a.url]: 't', [b.url]: 'u' }, b);
    const p = new AnyGptServerProvider(src, parseUri);
    const commands: JupyterServerCommandProvider = p;
    assert.deepEqual(await commands.provideCommands(undefined, never), [CONNECT_COMMAND]);
    let changed = 0;
    p.onDidChangeServers(() => changed++);
    const added = (await commands.handleCommand(CONNECT_COMMAND, never)) as JupyterServer;
    assert.deepEqual(added, { id: controllerIdFor(b.url), label: 'AnyGPT (127.0.0.1:9999/hub/user/ann)' });
    assert.equal(changed, 1);
    assert.equal(((await p.provideJupyterServers(never)) as JupyterServer[]).length, 2);
    const cancelled = new AnyGptServerProvider(source([a], {}).src, parseUri);
    assert.equal(await cancelled.handleCommand(CONNECT_COMMAND, never), undefined);
  });
});
