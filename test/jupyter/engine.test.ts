/** The kernel over the real engine (worker thread, ORT) with the engine's tiny fixture package. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIME } from '../../common/generation';
import type { TokensOutput } from '../../common/output-payloads';
import type { KernelClient } from '../../kernel/jupyter/kernel-client';
import { encodeWav16 } from '../../kernel/codecs/wav-io';
import { haveNano, launchModel, NANO, ROOT } from './helpers';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'engine', 'det');

describe('jupyter kernel over the real engine (fixture package)', function () {
  this.timeout(120000);
  let k: KernelClient;
  before(async () => {
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
    const result = r.outputs.at(-1)!.content as {
      data: Record<string, TokensOutput>;
      metadata: { anygpt: { seed: number } };
    };
    const g = result.data[MIME.tokens];
    assert.equal(g.tokens.length, g.promptLength);
    // one seed: the record the inspector shows and the metadata the cell status bar reads agree (issue 24 item 8)
    assert.equal(g.params.seed, result.metadata.anygpt.seed);
    const d = await k.execute('%decode speech 1 2 3', { stopOnError: false });
    assert.equal(d.reply.content.status, 'error');
    assert.match(String(d.reply.content.evalue), /stub\.onnx|contract/);
  });
});

describe('jupyter kernel over models/anygpt-nano: warnings and file errors through the engine worker', function () {
  this.timeout(120000);
  let k: KernelClient;
  let media: string;
  before(async function () {
    if (!haveNano()) this.skip();
    media = mkdtempSync(join(tmpdir(), 'anygpt-nano-media-'));
    // Longer than any package's speech input limit (nano: 8 s): the encoder keeps a prefix and warns.
    writeFileSync(
      join(media, 'long.wav'),
      encodeWav16(
        new Float32Array(16000 * 40).map((_, i) => 0.3 * Math.sin(i / 9)),
        16000,
      ),
    );
    k = await launchModel(NANO, {});
  });
  after(async () => {
    if (media) rmSync(media, { recursive: true, force: true });
    if (k) assert.equal(await k.shutdown(), 0);
  });
  const stderrOf = (outs: { header: { msg_type: string }; content: unknown }[]) =>
    outs
      .filter((o) => o.header.msg_type === 'stream' && (o.content as { name: string }).name === 'stderr')
      .map((o) => (o.content as { text: string }).text)
      .join('');

  it('trimmed input audio and decoder warnings show on stderr; a missing file names the resolved path', async () => {
    const asr = await k.execute(`%task asr\n%max_new_tokens 4\n![speech](${join(media, 'long.wav')})`);
    assert.equal(asr.reply.content.status, 'ok', String(asr.reply.content.evalue));
    assert.match(
      stderrOf(asr.outputs),
      /warning: line 3, col 1: speech input long\.wav is 40(\.0)? s long; kept the first [\d.]+ s/,
    );
    const q = 2; // nano: 2 music codebooks; one stray token makes an incomplete frame
    const dec = await k.execute(
      `%decode music ${Array.from({ length: 2 * q + 1 }, (_, i) => (i % q) * 256 + 3).join(' ')}`,
    );
    assert.equal(dec.reply.content.status, 'ok', String(dec.reply.content.evalue));
    assert.match(
      stderrOf(dec.outputs),
      /warning: the music tokens are 5, not a multiple of 2 codebooks; dropped the incomplete last frame/,
    );
    const stdoutOf = (outs: typeof asr.outputs) =>
      outs
        .filter((o) => o.header.msg_type === 'stream' && (o.content as { name: string }).name === 'stdout')
        .map((o) => (o.content as { text: string }).text)
        .join('');
    assert.match(
      stdoutOf((await k.execute('%config')).outputs),
      /^voice: the model's default, the canonical voice \(espeak-ng en-us, "red circle blue square"\) \(%voice x\.wav to change\)$/m,
    );
    const voice = await k.execute(`%voice ${join(media, 'long.wav')}`);
    assert.match(
      stderrOf(voice.outputs),
      /warning: line 1, col 8: voice prompt long\.wav is 40(\.0)? s long; kept the first/,
    );
    assert.match(stdoutOf((await k.execute('%config')).outputs), /^voice: \/\S+\/long\.wav$/m);
    const missing = await k.execute('%task asr\n![speech](nope/x.wav)', { stopOnError: false });
    assert.match(
      String(missing.reply.content.evalue),
      /^line 2, col 1: file not found: \/\S+\/nope\/x\.wav \(relative to the notebook folder \/\S+\)$/,
    );
  });
});
