/** The kernel over the real engine (worker thread, ORT) with the engine's tiny fixture package. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MIME } from '../../common/generation';
import type { TokensOutput } from '../../common/outputs';
import type { KernelClient } from '../../kernel/jupyter/client';
import { launchModel, ROOT } from './helpers';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'engine', 'det');

describe('jupyter kernel over the real engine (fixture package)', function () {
  this.timeout(120000);
  let k: KernelClient;
  before(async function () {
    if (!existsSync(join(FIXTURE, 'anygpt.json'))) this.skip();
    k = await launchModel(FIXTURE, { ANYGPT_PROGRESS_DELAY_MS: '0' });
  });
  after(async () => {
    if (k) assert.equal(await k.shutdown(), 0);
  });

  it('generates and streams; the same cell reproduces the same tokens', async () => {
    const ids = async () => {
      const r = await k.execute('%max_new_tokens 8\nhello', { metadata: { cellId: 'x' } });
      assert.equal(r.reply.content.status, 'ok', String(r.reply.content.evalue));
      assert.ok(r.outputs.some((o) => o.header.msg_type === 'update_display_data'));
      const g = (r.outputs.at(-1)!.content as { data: Record<string, TokensOutput> }).data[MIME.tokens];
      assert.equal(g.model.name, 'fixture-det');
      return g.tokens.map((t) => t.id);
    };
    assert.deepEqual(await ids(), await ids());
  });

  it('%tokens shows the prompt without generating; codec failures are clear errors', async () => {
    const r = await k.execute('%tokens\nhello <👀1>');
    const g = (r.outputs.at(-1)!.content as { data: Record<string, TokensOutput> }).data[MIME.tokens];
    assert.equal(g.tokens.length, g.promptLength);
    const d = await k.execute('%decode speech 1 2 3', { stopOnError: false });
    assert.equal(d.reply.content.status, 'error');
    assert.match(String(d.reply.content.evalue), /stub\.onnx|contract/);
  });
});
