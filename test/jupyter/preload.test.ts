/**
 * The kernel opens the codec decoders in the engine worker's idle time after a model load (issue 22): a %model
 * switch while the old model preloads, and a media cell interrupted while the new one preloads, leave the kernel
 * correct (the next media cell shows its audio). Over models/anygpt-nano; outcomes only (speed: bench/kernel.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIME } from '../../common/generation';
import type { KernelClient } from '../../kernel/jupyter/kernel-client';
import { haveNano, launchModel, NANO } from './helpers';

type Out = { header: { msg_type: string }; content: unknown };
const hasAudio = (outs: Out[]) =>
  outs.some((o) => o.header.msg_type === 'display_data' && MIME.audio in ((o.content as { data?: object }).data ?? {}));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kernel: codec preload with %model switches and interrupts (models/anygpt-nano)', function () {
  this.timeout(300000);
  let k: KernelClient;
  let dir: string;

  before(async function () {
    if (!haveNano()) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'anygpt-preload-'));
    k = await launchModel(NANO, {}, dir);
  });
  after(async () => {
    if (k) assert.equal(await k.shutdown(), 0);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('%model while the first model preloads its codecs; then a tts cell shows its audio', async () => {
    const a = await k.execute('%max_new_tokens 1\nhello');
    assert.equal(a.reply.content.status, 'ok', String(a.reply.content.evalue));
    await sleep(300); // idle: the preload is in its steps now
    const b = await k.execute(`%model ${NANO}\n%max_new_tokens 1\nhello`);
    assert.equal(b.reply.content.status, 'ok', String(b.reply.content.evalue));
    const c = await k.execute('%task tts\nred circle');
    assert.equal(c.reply.content.status, 'ok', String(c.reply.content.evalue));
    assert.ok(hasAudio(c.outputs), 'audio output');
  });

  it('a tts cell interrupted while the codecs preload ends the cell; the next tts cell shows its audio', async () => {
    const b = await k.execute(`%model ${NANO}\n%max_new_tokens 1\nhello`);
    assert.equal(b.reply.content.status, 'ok', String(b.reply.content.evalue));
    await sleep(300);
    const exec = k.execute('%task tts\n%max_new_tokens 200\nred circle blue square green triangle', {
      stopOnError: false,
    });
    await sleep(30);
    await k.request('control', 'interrupt_request', {}, { timeoutMs: 5000 });
    const r = await exec;
    // The interrupt may land after nano's short generation and decode ended (then the cell is ok, with its audio).
    if (r.reply.content.status === 'error') assert.equal(r.reply.content.ename, 'KeyboardInterrupt');
    else assert.ok(hasAudio(r.outputs));
    const next = await k.execute('%task tts\nblue square');
    assert.equal(next.reply.content.status, 'ok', String(next.reply.content.evalue));
    assert.ok(hasAudio(next.outputs), 'audio output after the interrupt');
  });
});
