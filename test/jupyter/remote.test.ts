/**
 * Kernels on a real Jupyter Server (Debian's jupyter_server 1.23, test/jupyter/server-fixture.ts) driven through
 * our one JupyterClient over the WebSocket transport (@jupyterlab/services): kernelspecs and the token, t2i, out:N,
 * media links sent through the Contents API into the notebook's folder on the server, tts with a voice prompt,
 * interrupt and restart over REST. The kernels run the real engine over the media and long fixtures.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MIME, type Span } from '../../common/generation';
import { JupyterServer, type RemoteKernel } from '../../common/jupyter-server';
import type { Message } from '../../common/jupyter-wire';
import type { AudioOutput, TokensOutput } from '../../common/output-payloads';
import { localMediaTargets, MediaUploader, remoteNotebookFolder, RemoteMediaError } from '../../common/remote-media';
import { cleanupFixtures, MEDIA_IMAGE_GREYS } from './helpers';
import { haveJupyterServer, localNotebookFolder, startFixtureServer, type RunningServer } from './server-fixture';

/** Runs a cell to idle; collects its iopub messages (status excluded). */
async function run(k: RemoteKernel, code: string, onOutput?: (m: Message) => void) {
  const outputs: Message[] = [];
  const reply = await k.client.execute(
    { code },
    {
      onIOPub: (m) => {
        if (m.header.msg_type === 'status') return;
        outputs.push(m);
        onOutput?.(m);
      },
    },
  ).done;
  return { reply: reply.content, outputs };
}
const dataOf = (o: Message) => (o.content as { data: Record<string, unknown> }).data;
const findData = (outs: Message[], mime: string) =>
  outs.find((o) => o.header.msg_type === 'display_data' && mime in ((o.content as { data?: object }).data ?? {}));
const tokensOf = (outs: Message[]) => dataOf(outs.at(-1)!)[MIME.tokens] as TokensOutput;
const spanOf = (g: TokensOutput, kind: Span['kind'], role: 'prompt' | 'generated') =>
  g.spans.find((s) => s.kind === kind && s.role === role);

describe('remote kernels on a real Jupyter Server (WebSocket transport, @jupyterlab/services)', function () {
  this.timeout(180000);
  let srv: RunningServer;
  let server: JupyterServer;
  let local: string;

  before(async function () {
    if (!haveJupyterServer()) this.skip();
    srv = await startFixtureServer();
    server = new JupyterServer({ url: srv.url, token: srv.token });
    // The user's machine: a notebook folder with a media file linked by a relative path.
    local = localNotebookFolder('anygpt-remote-nb-', 'media/hello.wav');
  });
  after(async () => {
    await srv?.stop();
    if (local) rmSync(local, { recursive: true, force: true });
    cleanupFixtures();
  });

  it('lists our kernelspecs with the token; a wrong token is refused with the server’s status', async () => {
    assert.deepEqual(await server.anygptKernelspecs(), ['anygpt-test', 'anygpt-test-long']);
    const wrong = new JupyterServer({ url: srv.url, token: 'not-the-token' });
    await assert.rejects(wrong.kernelspecs(), (e: Error & { response?: Response }) => {
      assert.equal(e.response?.status, 403);
      return true;
    });
    // The token travels in a header, never in a URL the server logs.
    assert.ok(!srv.log().includes(srv.token), 'token not in the server log');
  });

  it('t2i, out:N, an uploaded media link (asr), tts with an uploaded %voice, in the notebook’s own folder', async () => {
    const notebook = join(local, 'demo.ipynb');
    const folder = remoteNotebookFolder(notebook);
    const k = await server.startKernel('anygpt-test', { folder, notebookName: 'demo.ipynb' });
    try {
      const img = await run(k, '%task t2i\nimg of a red square');
      assert.equal(img.reply.status, 'ok', String(img.reply.evalue));
      assert.ok(findData(img.outputs, 'image/png'), 'an image display');
      assert.deepEqual(
        (spanOf(tokensOf(img.outputs), 'image', 'generated') as { codes: number[] }).codes,
        MEDIA_IMAGE_GREYS,
      );

      // out:N: the kernel re-encodes its own earlier output; nothing is sent.
      const capCell = `%task caption\n![image](out:${img.reply.execution_count as number})`;
      assert.deepEqual(localMediaTargets(capCell), []);
      const cap = await run(k, capCell);
      assert.equal(cap.reply.status, 'ok', String(cap.reply.evalue));
      assert.ok(spanOf(tokensOf(cap.outputs), 'image', 'prompt'), 'the image re-encoded into the prompt');

      const uploader = new MediaUploader(server, local, folder);
      const asrCell = '%task asr\n![speech](media/hello.wav)';
      assert.deepEqual(await uploader.sendFor(asrCell), [{ target: 'media/hello.wav', bytes: 32044, uploaded: true }]);
      assert.deepEqual(
        readFileSync(join(srv.root, folder, 'media', 'hello.wav')),
        readFileSync(join(local, 'media', 'hello.wav')),
        'the server holds the same bytes at the same relative path',
      );
      const asr = await run(k, asrCell);
      assert.equal(asr.reply.status, 'ok', String(asr.reply.evalue));
      assert.equal((spanOf(tokensOf(asr.outputs), 'speech', 'prompt') as { codes: number[] }).codes.length, 50);

      const ttsCell = '%voice media/hello.wav\n%task tts\nsay hello world';
      assert.deepEqual(await uploader.sendFor(ttsCell), [{ target: 'media/hello.wav', bytes: 32044, uploaded: false }]);
      const tts = await run(k, ttsCell);
      assert.equal(tts.reply.status, 'ok', String(tts.reply.evalue));
      const audio = dataOf(findData(tts.outputs, MIME.audio)!);
      assert.match(String(audio['text/html']), /^<audio controls/);
      assert.ok((audio[MIME.audio] as AudioOutput).durationSec > 0);
    } finally {
      await k.shutdown();
    }
  });

  it('media links: refused outside the notebook folder or over the size limits, before anything runs', async () => {
    const folder = remoteNotebookFolder(join(local, 'limits.ipynb'));
    const small = new MediaUploader(server, local, folder, { maxFileBytes: 1000, maxCellBytes: 1000 });
    await assert.rejects(
      small.sendFor('![speech](media/hello.wav)'),
      (e: Error) =>
        e instanceof RemoteMediaError && /hello\.wav is 0\.03 MiB; a remote kernel takes files up to/.test(e.message),
    );
    await assert.rejects(small.sendFor('![image](../elsewhere.png)'), /sees only files inside the notebook's folder/);
    // A file not here is left to the kernel (the server's folder may have it): nothing sent, no error.
    assert.deepEqual(await small.sendFor('![image](media/not-here.png)'), []);
    assert.ok(!existsSync(join(srv.root, folder)), 'nothing was written on the server');
  });

  it('interrupt (REST, signal) ends a long generation with KeyboardInterrupt; restart gives a fresh kernel', async () => {
    const k = await server.startKernel('anygpt-test-long');
    try {
      const first = await run(k, '%max_new_tokens 1\nfirst');
      assert.equal(first.reply.status, 'ok', String(first.reply.evalue));
      let started!: () => void;
      const go = new Promise<void>((r) => (started = r));
      const long = run(k, '%max_new_tokens 16000\nhello', (m) => m.header.msg_type === 'display_data' && started());
      await go;
      await k.interrupt();
      const r = await long;
      assert.equal(r.reply.status, 'error');
      assert.equal(r.reply.ename, 'KeyboardInterrupt');
      const after = await run(k, '%max_new_tokens 1\nstill there');
      assert.equal(after.reply.status, 'ok', String(after.reply.evalue));
      assert.equal(after.reply.execution_count, 3);

      // A request open across the restart rejects; the restarted kernel counts from 1 again.
      const open = run(k, '%max_new_tokens 16000\nhello');
      open.catch(() => undefined); // asserted below, after the restart
      const oldClient = k.client;
      await k.restart();
      await assert.rejects(open, /restarted/);
      assert.notEqual(k.client, oldClient);
      const fresh = await run(k, '%max_new_tokens 1\nagain');
      assert.equal(fresh.reply.status, 'ok', String(fresh.reply.evalue));
      assert.equal(fresh.reply.execution_count, 1);
    } finally {
      await k.shutdown();
    }
    const left = await fetch(`${srv.url}api/kernels`, { headers: { Authorization: `token ${srv.token}` } });
    assert.deepEqual(await left.json(), [], 'no kernel left on the server');
  });
});
