/**
 * The extension's remote kernel session (extension/kernel/remote-session.ts) against a real Jupyter Server
 * (jupyter_server 1.23, test/jupyter/server-fixture.ts) running our kernel over the media and long fixtures: the
 * kernel starts in the notebook's folder on the server, a media link is sent there before its cell, the local
 * cwd in the execute metadata is not used, interrupt goes through the server, shutdown leaves no kernel. And the
 * rules for what the user types into "Connect to Jupyter Server…" (extension/remote/server-entry.ts).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '../../common/jupyter-wire';
import type { ExitInfo } from '../../extension/kernel/notebook-session';
import { RemoteKernelSession, withoutLocalCwd } from '../../extension/kernel/remote-session';
import {
  controllerIdFor,
  parseServerUrl,
  serverName,
  tokenSecretKey,
  withServer,
} from '../../extension/remote/server-entry';
import { cleanupFixtures } from '../jupyter/helpers';
import {
  haveJupyterServer,
  localNotebookFolder,
  startFixtureServer,
  type RunningServer,
} from '../jupyter/server-fixture';

describe('extension: Jupyter Server entries (what Connect to Jupyter Server… accepts)', () => {
  it('normalises the URL; a pasted ?token= is taken out of it; front-end paths lead to the base URL', () => {
    assert.deepEqual(parseServerUrl(' http://gpu:8888 '), { url: 'http://gpu:8888/', token: undefined });
    assert.deepEqual(parseServerUrl('https://gpu:8888/lab?token=abc#x'), { url: 'https://gpu:8888/', token: 'abc' });
    assert.deepEqual(parseServerUrl('https://hub.org/user/ann/tree/sub'), {
      url: 'https://hub.org/user/ann/',
      token: undefined,
    });
    assert.throws(() => parseServerUrl('gpu:8888'), /http:\/\/ or https:\/\//);
    assert.throws(() => parseServerUrl('not a url'), /not a URL/);
    assert.throws(() => parseServerUrl('https://me:secret@gpu/'), /token box/);
  });

  it('names, ids and secret keys per URL; one saved entry per URL', () => {
    assert.equal(serverName('https://hub.org/user/ann/'), 'hub.org/user/ann');
    assert.equal(serverName('http://127.0.0.1:8888/'), '127.0.0.1:8888');
    assert.match(controllerIdFor('http://a/'), /^anygpt-remote-[0-9a-f]{12}$/);
    assert.notEqual(controllerIdFor('http://a/'), controllerIdFor('http://b/'));
    assert.equal(tokenSecretKey('http://a/'), 'anygpt.jupyterServer.token:http://a/');
    const list = withServer([{ url: 'http://a/', kernelName: 'x' }], { url: 'http://a/', kernelName: 'y' });
    assert.deepEqual(list, [{ url: 'http://a/', kernelName: 'y' }]);
  });

  it('drops only the local cwd from the execute metadata', () => {
    assert.deepEqual(withoutLocalCwd({ cellId: 'c', cwd: '/here', anygpt: { cwd: '/here' } }), { cellId: 'c' });
    assert.deepEqual(withoutLocalCwd({ anygpt: { cwd: '/x', keep: 1 } }), { anygpt: { keep: 1 } });
  });
});

describe('extension: remote kernel session on a real Jupyter Server', function () {
  this.timeout(180000);
  let srv: RunningServer;
  let local: string;

  before(async function () {
    if (!haveJupyterServer()) this.skip();
    srv = await startFixtureServer();
    local = localNotebookFolder('anygpt-remote-ext-', 'clips/hi.wav');
  });
  after(async () => {
    await srv?.stop();
    if (local) rmSync(local, { recursive: true, force: true });
    cleanupFixtures();
  });

  it('runs a cell whose media link is only on this machine; the local cwd in its metadata is ignored', async () => {
    const s = new RemoteKernelSession({
      endpoint: { url: srv.url, token: srv.token },
      kernelName: 'anygpt-test',
      notebookPath: join(local, 'nb.ipynb'),
    });
    const exits: ExitInfo[] = [];
    s.onExit((e) => exits.push(e));
    await s.start();
    assert.ok(s.running);
    assert.equal((s.kernelInfo?.language_info as { name?: string }).name, 'anygpt');
    const msgs: Message[] = [];
    // A cwd that does not exist on the server: the kernel would fail to find clips/hi.wav if it were used.
    const reply = await s.execute(
      '%task asr\n![speech](clips/hi.wav)',
      { cellId: 'a', cwd: '/nowhere/on/the/server', anygpt: { cwd: '/nowhere/on/the/server' } },
      (m) => msgs.push(m),
    );
    assert.equal(reply.status, 'ok', String(reply.evalue));
    assert.ok(msgs.some((m) => m.header.msg_type === 'execute_result'));
    assert.ok(!msgs.some((m) => m.header.msg_type === 'status' && /idle/.test(JSON.stringify(m.content))));
    const c = await s.complete('%ta', 3);
    assert.ok(c?.matches.includes('%task'));
    await s.shutdown();
    assert.ok(!s.running);
    assert.deepEqual(exits, [{ code: 0, signal: null, stderr: '', expected: true }]);
  });

  it('interrupt goes through the server and ends a long generation with KeyboardInterrupt', async () => {
    const s = new RemoteKernelSession({
      endpoint: { url: srv.url, token: srv.token },
      kernelName: 'anygpt-test-long',
      notebookPath: join(local, 'long.ipynb'),
    });
    await s.start();
    try {
      let started!: () => void;
      const go = new Promise<void>((r) => (started = r));
      const exec = s.execute('%max_new_tokens 16000\nhello', {}, (m) => {
        if (m.header.msg_type === 'display_data') started();
      });
      await go;
      s.interrupt();
      const r = await exec;
      assert.equal(r.ename, 'KeyboardInterrupt');
    } finally {
      await s.shutdown();
    }
    const left = await fetch(`${srv.url}api/kernels`, { headers: { Authorization: `token ${srv.token}` } });
    assert.deepEqual(await left.json(), []);
  });
});
