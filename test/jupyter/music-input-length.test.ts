/**
 * Music input length follows the task, as upstream's two CLIs do (chat: 5 s, base inference such as m2t: 20 s):
 * a package's `modalities.music.chatMaxInputSeconds` applies to chat cells only; other tasks keep
 * `maxInputSeconds`. Real kernel over the media fixture package (tiny codec graphs), limits edited to 0.5 s
 * (chat) and 2 s (every task).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelClient } from '../../kernel/jupyter/kernel-client';
import { encodeWav16 } from '../../kernel/codecs/wav-io';
import { editJson } from '../engine/fixtures';
import { cleanupFixtures, launchModel, mediaFixture } from './helpers';

describe('jupyter kernel: music input length by task (chat 5 s / base 20 s upstream)', function () {
  this.timeout(120000);
  let k: KernelClient;
  let dir = '';
  before(async () => {
    const model = mediaFixture();
    editJson(join(model, 'anygpt.json'), (j) => {
      j.modalities.music.maxInputSeconds = 2;
      j.modalities.music.chatMaxInputSeconds = 0.5;
    });
    dir = mkdtempSync(join(tmpdir(), 'anygpt-music-len-'));
    const rate = 32000;
    const samples = Float32Array.from({ length: rate }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate));
    writeFileSync(join(dir, 'one-second.wav'), encodeWav16(samples, rate));
    k = await launchModel(model, { ANYGPT_EP: 'cpu', ANYGPT_THREADS: '1' }, dir);
  });
  after(async () => {
    await k?.shutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
    cleanupFixtures();
  });

  const warnings = (r: Awaited<ReturnType<KernelClient['execute']>>) =>
    r.outputs
      .filter((o) => o.header.msg_type === 'stream')
      .map((o) => String((o.content as { text?: string }).text ?? ''))
      .join('');

  it('a chat cell keeps the first 0.5 s of a 1 s clip', async () => {
    const r = await k.execute('%max_new_tokens 1\nwhat is this?\n![music](one-second.wav)');
    assert.equal(r.reply.content.status, 'ok', JSON.stringify(r.reply.content));
    assert.match(warnings(r), /music input one-second\.wav is 1(\.0+)? s long; kept the first 0\.50* s/);
  });

  it('an m2t cell takes the whole clip (under its 2 s)', async () => {
    const r = await k.execute('%task m2t\n%max_new_tokens 1\n![music](one-second.wav)');
    assert.equal(r.reply.content.status, 'ok', JSON.stringify(r.reply.content));
    assert.doesNotMatch(warnings(r), /kept the first/);
  });
});
