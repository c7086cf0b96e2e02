// The extension's Jupyter client against the real kernel process (dist/kernel.js over the real engine, with
// test fixture packages passed as the extension's model path setting): start, execute with streaming and
// cellId, interrupt a long generation, crash detection, shutdown.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CellOutputs } from '../../extension/execution/cell-outputs';
import { resolveNode } from '../../extension/kernel/launcher';
import { KernelSession, type ExitInfo } from '../../extension/kernel/session';
import { cleanupFixtures, longFixture, mediaFixture } from '../jupyter/helpers';

const KERNEL = join(process.cwd(), 'dist', 'kernel.js');

describe('extension: kernel session (real kernel over the real engine, fixture packages)', function () {
  this.timeout(60000);
  let session: KernelSession;
  let long: string;

  before(async function () {
    if (!existsSync(KERNEL)) this.skip(); // `npm test` builds first; a bare mocha run may not have
    // The media fixture answers "hi there" to a prompt without its trigger words.
    session = new KernelSession({ node: resolveNode(undefined)!, kernelScript: KERNEL, modelPath: mediaFixture() });
    await session.start();
    // The random LLaMA fixture, made to generate until %max_new_tokens: something long to interrupt.
    long = longFixture();
  });
  after(async () => {
    await session?.shutdown();
    cleanupFixtures();
  });

  it('answers kernel_info with our language', () => {
    assert.equal((session.kernelInfo?.language_info as { name?: string })?.name, 'anygpt');
  });

  it('executes a prompt cell and maps its outputs (tokens mime first, metadata.anygpt kept)', async () => {
    const outs = new CellOutputs();
    const types: string[] = [];
    const reply = await session.execute('%seed 3\nhello there', { cellId: 'cell-a' }, (m) => {
      types.push(m.header.msg_type);
      outs.applyMessage(m);
    });
    assert.equal(reply.status, 'ok');
    assert.ok(types.includes('execute_input'));
    const tokens = outs.current.find((o) => o.items[0]?.mime === 'application/vnd.anygpt.tokens+json');
    assert.ok(tokens, `no tokens output in ${outs.current.map((o) => o.items.map((i) => i.mime).join('+'))}`);
    assert.equal((tokens!.metadata.metadata?.anygpt as { seed?: number })?.seed, 3);
    assert.equal((tokens!.metadata.metadata?.anygpt as { model?: string })?.model, 'fixture-media');
  });

  it('leaves no connection file (with its HMAC key) behind once the kernel is connected', async () => {
    const ours = () => new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('anygpt-vscode-')));
    const before = ours();
    const s = new KernelSession({ node: resolveNode(undefined)!, kernelScript: KERNEL, modelPath: mediaFixture() });
    await s.start();
    try {
      assert.deepEqual(
        [...ours()].filter((f) => !before.has(f)),
        [],
      );
      const reply = await s.execute('%seed 1\nhello', {}, () => undefined);
      assert.equal(reply.status, 'ok');
    } finally {
      await s.shutdown();
    }
  });

  it('interrupts a long generation with SIGINT and keeps serving', async () => {
    const slow = new KernelSession({ node: resolveNode(undefined)!, kernelScript: KERNEL, modelPath: long });
    const seen: ExitInfo[] = [];
    slow.onExit((e) => seen.push(e));
    await slow.start();
    try {
      const started = Date.now();
      const outs = new CellOutputs();
      const run = slow.execute('%task tts\n%seed 1\n%max_new_tokens 16000\na long sentence to speak', {}, (m) =>
        outs.applyMessage(m),
      );
      setTimeout(() => slow.interrupt(), 800);
      const reply = await run;
      assert.ok(Date.now() - started < 5000, 'stopped well before 16000 tokens');
      assert.equal(reply.status, 'error');
      assert.equal(reply.ename, 'KeyboardInterrupt');
      assert.ok(outs.current.some((o) => o.metadata.outputType === 'error'));
      const again = await slow.execute('%tokens\nstill alive', {}, () => undefined);
      assert.equal(again.status, 'ok');
      assert.equal(seen.length, 0, 'the kernel survived the interrupt');
    } finally {
      await slow.shutdown();
    }
    assert.equal(seen[0]?.expected, true);
  });

  it('reports an unexpected exit with the kernel still running a cell', async () => {
    const other = new KernelSession({ node: resolveNode(undefined)!, kernelScript: KERNEL, modelPath: long });
    const seen: ExitInfo[] = [];
    other.onExit((e) => seen.push(e));
    await other.start();
    const run = other.execute('%task tts\n%max_new_tokens 16000\nlong', {}, () => undefined);
    setTimeout(() => process.kill(other.pid!, 'SIGKILL'), 300);
    await assert.rejects(run, /kernel died/);
    assert.equal(seen[0]?.expected, false);
    assert.equal(seen[0]?.signal, 'SIGKILL');
  });
});
