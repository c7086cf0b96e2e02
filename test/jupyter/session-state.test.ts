/**
 * Session state that used to break silently (issue 20, items 9 and 12), against the real kernel over the media
 * fixture package: a %model that fails keeps the previous model, a %raw modality token string the vocabulary
 * lacks is named in a warning with the valid range, and a conversation that outgrows the context says so (item 10).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIME } from '../../common/generation';
import type { OutputMetadata, TokensOutput } from '../../common/output-payloads';
import type { KernelClient } from '../../kernel/jupyter/kernel-client';
import type { Message } from '../../kernel/jupyter/wire';
import { cleanupFixtures, launchModel, mediaFixture } from './helpers';

const stderrOf = (outs: Message[]) =>
  outs
    .filter((o) => o.header.msg_type === 'stream' && (o.content as { name: string }).name === 'stderr')
    .map((o) => (o.content as { text: string }).text)
    .join('');
const resultOf = (outs: Message[]) =>
  outs.find((o) => o.header.msg_type === 'execute_result')?.content as
    { data: Record<string, TokensOutput>; metadata: { anygpt?: OutputMetadata } } | undefined;

describe('session state: a failed %model, unknown modality tokens (real kernel)', function () {
  this.timeout(120000);
  let k: KernelClient;
  let work: string;
  let model: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'anygpt-session-'));
    model = mediaFixture();
    k = await launchModel(model, {}, work);
  });
  after(async () => {
    await k?.shutdown();
    rmSync(work, { recursive: true, force: true });
    cleanupFixtures();
  });

  it('a %model that fails (missing folder, corrupt anygpt.json, hash mismatch) keeps the previous model', async () => {
    const first = await k.execute('Hello!');
    assert.equal(first.reply.content.status, 'ok', String(first.reply.content.evalue));
    const name = resultOf(first.outputs)!.data[MIME.tokens].model.name;

    const corrupt = join(work, 'corrupt');
    mkdirSync(corrupt);
    writeFileSync(join(corrupt, 'anygpt.json'), '{"name": "half a manif');
    const tampered = mediaFixture();
    const manifest = JSON.parse(readFileSync(join(tampered, 'anygpt.json'), 'utf8')) as {
      llm: { graph: { path: string } };
    };
    appendFileSync(join(tampered, manifest.llm.graph.path), Buffer.from([0]));

    for (const dir of [join(work, 'nowhere'), corrupt, tampered]) {
      const bad = await k.execute(`%model ${dir}`);
      assert.equal(bad.reply.content.status, 'error', dir);
      const after = await k.execute('Hello!');
      assert.equal(after.reply.content.status, 'ok', `${dir}: ${String(after.reply.content.evalue)}`);
      assert.equal(resultOf(after.outputs)!.data[MIME.tokens].model.name, name);
      assert.match(String(bad.reply.content.evalue), new RegExp(`still using the previous model, ${name}`));
    }
    const back = await k.execute(`%model ${model}`);
    assert.equal(back.reply.content.status, 'ok', 'a good package still switches');
  });

  it('%raw with a modality token string the vocabulary lacks warns, naming the token and the valid range', async () => {
    const r = await k.execute('%raw\n%max_new_tokens 2\n<soim><👀999999><👀007><👀3><eoim>');
    assert.equal(r.reply.content.status, 'ok', String(r.reply.content.evalue));
    const err = stderrOf(r.outputs);
    assert.match(
      err,
      /warning: <👀999999> is not a vocabulary token \(image tokens are <👀0> … <👀\d+>\); it is tokenized as plain text/,
    );
    assert.match(err, /<👀007> is not a vocabulary token/);
    assert.doesNotMatch(err, /<👀3>/, 'a real token is not reported');
    assert.ok(
      resultOf(r.outputs)!.metadata.anygpt!.warnings!.some((w) => w.startsWith('<👀999999>')),
      'recorded',
    );
  });

  it('a conversation that outgrows the context says so and names %reset and %history', async () => {
    await k.execute('%reset');
    let overflow: Awaited<ReturnType<KernelClient['execute']>> | undefined;
    for (let turn = 0; turn < 400 && !overflow; turn++) {
      const r = await k.execute('Hello!');
      if (r.reply.content.status !== 'ok') overflow = r;
    }
    assert.ok(overflow, 'the fixture context filled up');
    assert.equal(overflow.reply.content.ename, 'ContextOverflow');
    assert.match(
      String(overflow.reply.content.evalue),
      /^the conversation is too long for the model: with its \d+ earlier turn\(s\) .* Run %reset .*%history/,
    );
    await k.execute('%reset');
    assert.equal((await k.execute('Hello!')).reply.content.status, 'ok', '%reset lets the session go on');
  });

  it('%config overflow=drop-oldest leaves the oldest turns out of the prompt, warns and records them', async () => {
    await k.execute('%reset');
    const counts: number[] = [];
    let overflow: Awaited<ReturnType<KernelClient['execute']>> | undefined;
    for (let turn = 0; turn < 400 && !overflow; turn++) {
      const r = await k.execute('Hello!');
      if (r.reply.content.status === 'ok') counts.push(r.reply.content.execution_count as number);
      else overflow = r;
    }
    assert.ok(overflow, 'the fixture context filled up');
    assert.equal(overflow.reply.content.ename, 'ContextOverflow', 'without the option the error stays');
    assert.match(String(overflow.reply.content.evalue), /%overflow drop-oldest/);

    const set = await k.execute('%config overflow=drop-oldest');
    assert.equal(set.reply.content.status, 'ok', String(set.reply.content.evalue));
    const r = await k.execute('Hello!');
    assert.equal(r.reply.content.status, 'ok', String(r.reply.content.evalue));
    const m = /dropped the (\d+) oldest turn\(s\) \[([\d, ]+)\] from this turn's prompt; %history lists them/.exec(
      stderrOf(r.outputs),
    );
    assert.ok(m, stderrOf(r.outputs));
    assert.match(stderrOf(r.outputs), /the conversation is too long for the model's context \(\d+ tokens max\)/);
    const dropped = m[2].split(', ').map(Number);
    assert.equal(dropped.length, Number(m[1]));
    assert.deepEqual(dropped, counts.slice(0, dropped.length), 'the oldest turns, in order');
    const result = resultOf(r.outputs)!;
    assert.deepEqual(result.metadata.anygpt!.droppedTurns, dropped, 'the metadata records them');
    assert.ok(result.metadata.anygpt!.warnings!.some((w) => w.includes('dropped the')));
    const sent = result.data[MIME.tokens].cell!.contextTurns!;
    assert.deepEqual(sent, counts.slice(dropped.length), 'contextTurns lists only the turns sent');

    // The dropped turns stay in the conversation: %history still lists them.
    const history = await k.execute('%history');
    const listed = history.outputs
      .filter((o) => o.header.msg_type === 'stream')
      .map((o) => (o.content as { text: string }).text)
      .join('');
    assert.match(listed, new RegExp(`\\b${counts[0]}\\b`));

    const bad = await k.execute('%overflow maybe\nHello!');
    assert.equal(bad.reply.content.status, 'error');
    assert.match(
      String(bad.reply.content.evalue),
      /^line 1, col 11: bad value "maybe" for %overflow; expected error\|drop-oldest/,
    );
    // The cell magic does the same for one cell, over a %config overflow=error.
    await k.execute('%config overflow=error');
    assert.equal((await k.execute('Hello!')).reply.content.ename, 'ContextOverflow');
    const once = await k.execute('%overflow drop-oldest\nHello!');
    assert.equal(once.reply.content.status, 'ok', String(once.reply.content.evalue));
    assert.ok(resultOf(once.outputs)!.metadata.anygpt!.droppedTurns!.length > 0);
    await k.execute('%reset');
  });
});
