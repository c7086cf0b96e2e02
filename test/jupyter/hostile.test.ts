/**
 * Issue 20's hostile reproductions against the real kernel process over models/anygpt-nano (real codec graphs,
 * long enough decodes): every stage obeys an interrupt, a FIFO is refused, a huge cell is refused before it is
 * parsed or tokenized, and a shutdown during a long decode ends the process. Only outcomes are asserted here; how
 * fast each happens is measured by bench/kernel.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIME } from '../../common/generation';
import type { KernelClient } from '../../kernel/jupyter/kernel-client';
import { haveNano, launchModel, NANO } from './helpers';

type Out = { header: { msg_type: string }; content: unknown };
const mediaOutputs = (outs: Out[]) =>
  outs.filter((o) => {
    const data = (o.content as { data?: Record<string, unknown> }).data ?? {};
    return o.header.msg_type === 'display_data' && (MIME.audio in data || 'image/png' in data || 'audio/wav' in data);
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** nano's music: 2 codebooks of 256 codes; ids interleave the codebooks frame by frame. */
const musicCodes = (n: number) => Array.from({ length: n }, (_, i) => (i % 2) * 256 + ((i * 7) % 256)).join(' ');
const speechCodes = (n: number) => Array.from({ length: n }, (_, i) => (i * 13) % 256).join(' ');

describe('hostile input against the kernel process (models/anygpt-nano)', function () {
  this.timeout(300000);
  let k: KernelClient;
  let dir: string;

  before(async function () {
    if (!haveNano()) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'anygpt-hostile-'));
    k = await launchModel(NANO, { ANYGPT_PROGRESS_DELAY_MS: '0' }, dir);
    // Model and codec sessions open, so the interrupts below land inside the stage under test.
    const warm = await k.execute(`%decode music ${musicCodes(20)}`);
    assert.equal(warm.reply.content.status, 'ok', String(warm.reply.content.evalue));
    const warmSpeech = await k.execute(`%decode speech ${speechCodes(10)}`);
    assert.equal(warmSpeech.reply.content.status, 'ok', String(warmSpeech.reply.content.evalue));
  });
  after(async () => {
    if (k) assert.equal(await k.shutdown(), 0, 'kernel exits 0 on shutdown_request');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The kernel still works: heartbeat, and a short decode (on the worker that replaced an abandoned one). */
  async function alive(): Promise<void> {
    await k.heartbeat(5000);
    const r = await k.execute(`%decode music ${musicCodes(8)}`);
    assert.equal(r.reply.content.status, 'ok', String(r.reply.content.evalue));
    assert.equal(mediaOutputs(r.outputs).length, 1);
  }

  async function interrupted(cell: string, when: (m: Out) => boolean): Promise<Out[]> {
    let trigger!: () => void;
    const reached = new Promise<void>((r) => (trigger = r));
    const exec = k.execute(cell, { stopOnError: false, onOutput: (m) => when(m) && trigger() });
    await reached;
    await k.request('control', 'interrupt_request', {}, { timeoutMs: 5000 });
    const r = await exec;
    assert.equal(r.reply.content.status, 'error');
    assert.equal(r.reply.content.ename, 'KeyboardInterrupt', String(r.reply.content.evalue));
    assert.deepEqual(mediaOutputs(r.outputs), [], 'no media output after an interrupt');
    return r.outputs;
  }

  const progress = (m: Out, stage: RegExp) => {
    const text = (m.content as { data?: Record<string, unknown> }).data?.['text/plain'];
    return typeof text === 'string' && stage.test(text);
  };

  it('%decode music with 10,000 codes ends with KeyboardInterrupt when interrupted inside the codec decode', async () => {
    // The music decode is one ORT run (progress 0/1 is shown as it starts).
    await interrupted(`%decode music ${musicCodes(10000)}`, (m) => progress(m, /music decode .* 0\/1/));
    await alive();
  });

  it('%decode speech with 3,000 codes ends with KeyboardInterrupt when interrupted after SoundStorm (vocoder)', async () => {
    await interrupted(`%decode speech ${speechCodes(3000)}`, (m) => {
      const t = (m.content as { data?: Record<string, unknown> }).data?.['text/plain'];
      const p = typeof t === 'string' ? /(\d+)\/(\d+)$/.exec(t) : null;
      return !!p && p[1] === p[2];
    });
    await alive();
  });

  it('a %task tts cell interrupted while it runs ends with KeyboardInterrupt and no audio', async () => {
    // Interrupted as SoundStorm's last step is shown, so the interrupt lands in the vocoder (one ORT run) or between
    // the decode and the audio output: before issue 20's fix both ran to the end and the cell ended ok with audio.
    await interrupted('%task tts\n%max_new_tokens 200\nred circle blue square green triangle', (m) =>
      progress(m, /^soundstorm .* (\d+)\/\1$/),
    );
    await alive();
  });

  it('a media link to a FIFO is refused (not opened) and the kernel stays usable', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo.wav')]);
    const r = await k.execute('%task asr\n![speech](fifo.wav)', { stopOnError: false, timeoutMs: 60000 });
    assert.equal(r.reply.content.status, 'error');
    assert.equal(r.reply.content.ename, 'PromptError');
    assert.match(String(r.reply.content.evalue), /^line 2, col 1: file is not a regular file .*fifo\.wav/);
    const voice = await k.execute('%voice fifo.wav', { stopOnError: false, timeoutMs: 60000 });
    assert.match(String(voice.reply.content.evalue), /voice file is not a regular file/);
    await alive();
  });

  it('a 20 MB cell is refused by length before it is parsed or tokenized; heartbeat and control answer meanwhile', async () => {
    const huge = 'tell me about the red circle and the blue square. '.repeat(400_000); // 20 MB
    const exec = k.execute(huge, { stopOnError: false, timeoutMs: 120000 });
    const info = k.request('control', 'kernel_info_request', {}, { timeoutMs: 120000 });
    await k.heartbeat(120000);
    assert.equal((await info).reply.content.status, 'ok');
    const r = await exec;
    assert.equal(r.reply.content.ename, 'PromptError');
    assert.match(
      String(r.reply.content.evalue),
      /^line 1, col 1: this cell has more than 51,200 characters other than whitespace, more than can fit the model's context: 512 tokens \(llm\.maxPositions\) × at most 100 characters other than whitespace per token \(the tokenizer's worst case\) = 51,200; shorten it$/,
    );
    // (A long %decode cell is not held to the prompt bound: the 10,000-code cells above are 50,000 characters.)
    await alive();
  });
});

describe('shutdown during a long decode (models/anygpt-nano)', function () {
  this.timeout(300000);
  it('the process exits 0 without waiting for the decode (before jupyter_client would SIGKILL it)', async function () {
    if (!haveNano()) this.skip();
    const k = await launchModel(NANO, { ANYGPT_PROGRESS_DELAY_MS: '0' });
    try {
      const warm = await k.execute(`%decode music ${musicCodes(20)}`);
      assert.equal(warm.reply.content.status, 'ok', String(warm.reply.content.evalue));
      let started!: () => void;
      const inDecode = new Promise<void>((r) => (started = r));
      void k
        .execute(`%decode music ${musicCodes(10000)}`, {
          stopOnError: false,
          onOutput: (m) => {
            const t = (m.content as { data?: Record<string, unknown> }).data?.['text/plain'];
            if (typeof t === 'string' && /music decode .* 0\/1/.test(t)) started();
          },
        })
        .catch(() => {});
      await inDecode;
      await sleep(200);
      // KernelClient.shutdown SIGKILLs after 5 s (jupyter_client's grace) and then reports no exit code.
      assert.equal(await k.shutdown(5000), 0);
    } finally {
      k.dispose();
    }
  });
});
