/**
 * Hostile-client edges of the wire protocol (issue 20, items 13–15), against the real kernel process over the
 * media fixture package: a replayed, identically signed execute_request is dropped; complete_request's cursor_pos
 * is clamped or refused; msg_types that name Object.prototype members are unknown types.
 */
import assert from 'node:assert/strict';
import { SignatureHistory } from '../../common/jupyter-wire';
import type { KernelClient } from '../../kernel/jupyter/kernel-client';
import { encode, newHeader, type Message } from '../../kernel/jupyter/wire';
import { cleanupFixtures, launchModel, mediaFixture } from './helpers';

describe('protocol edges against the real kernel (replays, cursor_pos, msg_type names)', function () {
  this.timeout(120000);
  let k: KernelClient;

  before(async () => {
    k = await launchModel(mediaFixture());
  });
  after(async () => {
    await k?.shutdown();
    cleanupFixtures();
  });

  /** The kernel's stderr arrives on a pipe, unordered with zeromq replies: wait for `re` (up to 10 s). */
  const stderrShows = async (re: RegExp) => {
    for (let i = 0; i < 200 && !re.test(k.stderr); i++) await new Promise((r) => setTimeout(r, 50));
    return re.test(k.stderr);
  };

  const inputsOf = (msgId: string) =>
    k.iopubLog.filter(
      (m: Message) =>
        m.header.msg_type === 'execute_input' && (m.parent_header as { msg_id?: string }).msg_id === msgId,
    ).length;

  it('drops a replayed, identically signed execute_request (it runs once)', async () => {
    const header = newHeader('execute_request', k.session, 'attacker');
    const frames = encode(
      {
        idents: [],
        header,
        parent_header: {},
        metadata: {},
        content: { code: 'Hello!', silent: false, store_history: true, user_expressions: {}, allow_stdin: false },
      },
      k.signerForTests,
    );
    k.sendRaw('shell', frames);
    k.sendRaw(
      'shell',
      frames.map((f) => Buffer.from(f)),
    );
    // The shell channel is handled in order: once this cell is done, both copies have been seen.
    const after = await k.execute('Hello!');
    assert.equal(after.reply.content.status, 'ok');
    assert.equal(inputsOf(header.msg_id), 1, 'the replayed copy did not run');
    assert.ok(await stderrShows(/shell: dropped message: duplicate signature/), k.stderr);
  });

  it('forgets the oldest signatures when its history is full (bounded memory)', () => {
    const h = new SignatureHistory(10);
    const sig = (i: number) => Buffer.from(`sig-${i}`);
    for (let i = 0; i < 25; i++) assert.equal(h.isReplay(sig(i)), false);
    assert.ok(h.size <= 10);
    assert.equal(h.isReplay(sig(24)), true, 'a recent one is still known');
    assert.equal(h.isReplay(sig(0)), false, 'the oldest were forgotten');
    assert.equal(h.isReplay(Buffer.alloc(0)), false, 'unsigned messages (no key) are never replays');
    assert.equal(h.isReplay(Buffer.alloc(0)), false);
  });

  it('complete_request clamps an out-of-range cursor_pos and refuses a non-integer one', async () => {
    const code = '%task t2i';
    const ask = async (cursor_pos: unknown) =>
      // A hostile client sends whatever it likes, whatever the typed content says.
      (await k.request('shell', 'complete_request', { code, cursor_pos: cursor_pos as number })).reply
        .content as unknown as {
        status: string;
        cursor_start: number;
        cursor_end: number;
        ename?: string;
        evalue?: string;
      };
    const neg = await ask(-5);
    assert.equal(neg.status, 'ok');
    assert.equal(neg.cursor_end, 0);
    assert.ok(neg.cursor_start <= neg.cursor_end, JSON.stringify(neg));
    const big = await ask(1000);
    assert.equal(big.status, 'ok');
    assert.equal(big.cursor_end, code.length);
    assert.ok(big.cursor_start <= big.cursor_end);
    for (const bad of [2.5, { x: 1 }, '3']) {
      const r = await ask(bad);
      assert.equal(r.status, 'error', JSON.stringify(r));
      assert.match(String(r.evalue), /cursor_pos must be an integer/);
      assert.equal(r.cursor_end, undefined, 'nothing echoed back');
    }
  });

  it('msg_types named after Object.prototype members are unknown types, and the kernel carries on', async () => {
    const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
    for (const n of names) k.send('shell', n, {});
    const info = await k.request('shell', 'kernel_info_request', {});
    assert.equal(info.reply.content.status, 'ok');
    for (const n of names) assert.ok(await stderrShows(new RegExp(`unhandled ${n} on shell`)), `${n}: ${k.stderr}`);
    assert.doesNotMatch(k.stderr, /is not a function|handler threw/);
  });
});
