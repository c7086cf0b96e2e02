/**
 * The codec preload (issue 22, first media latency): with preloadCodecs the engine worker opens and warms the codec
 * decoders while it is idle after the load, one step at a time, and an interrupt or a close (what %model does to
 * the old model) during the preload leaves the engine correct. Real ORT sessions over models/anygpt-nano. How much
 * faster the first media output is goes in bench/kernel.ts (benchFirstMedia), not here.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { Engine, type CodecPreloadStatus, type MediaSpan } from '../../kernel/engine';

const NANO = path.join(__dirname, '..', '..', 'models', 'anygpt-nano');
const TTS = '[Human]: I require you to read these mute words aloud. This is input: red circle<eoh> [MMGPT]: <sosp>';
const speechSpan = (n: number) =>
  ({
    kind: 'speech',
    modality: 'speech',
    start: 0,
    end: 0,
    codes: Array.from({ length: n }, (_, i) => (i * 13) % 256),
    role: 'generated',
    complete: true,
  }) as MediaSpan;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls (slower than the preload's 100 ms quiet time, so polling does not hold it back) until `until` holds. */
async function waitFor(e: Engine, until: (s: CodecPreloadStatus) => boolean, ms = 90000): Promise<CodecPreloadStatus> {
  const t0 = performance.now();
  for (;;) {
    const s = await e.codecPreloadStatus();
    if (until(s)) return s;
    if (performance.now() - t0 > ms) throw new Error(`preload status still ${JSON.stringify(s)}`);
    await sleep(150);
  }
}

describe('engine: codec decoders preloaded in the idle time (preloadCodecs)', function () {
  this.timeout(180000);
  before(function () {
    if (!existsSync(path.join(NANO, 'anygpt.json'))) this.skip();
  });

  it('opens and warms every decoder once idle; without the option nothing is preloaded', async () => {
    const e = await Engine.open(NANO, { executionProvider: 'cpu', threads: 1, preloadCodecs: true });
    try {
      const s = await waitFor(e, (x) => x.state === 'done' || x.state === 'failed');
      assert.equal(s.state, 'done', s.error);
      assert.deepEqual(s.opened, [
        'SoundStorm net',
        'speech decoder',
        'speech warm-up',
        'music decoder',
        'music warm-up',
        'image decoder',
        'image warm-up',
      ]);
      const d = await e.decodeSpan(speechSpan(20), { seed: 1 });
      assert.equal(d.mime, 'audio/wav');
    } finally {
      await e.close();
    }
    const lazy = await Engine.open(NANO, { executionProvider: 'cpu', threads: 1 });
    try {
      assert.deepEqual(await lazy.codecPreloadStatus(), { state: 'off', opened: [] });
    } finally {
      await lazy.close();
    }
  });

  it('a generation interrupted while the preload runs stops; the engine then generates and decodes', async () => {
    const e = await Engine.open(NANO, { executionProvider: 'cpu', threads: 1, preloadCodecs: true, abortGraceMs: 100 });
    try {
      await waitFor(e, (s) => s.state === 'loading');
      const ac = new AbortController();
      const run = e.generate(TTS, { preset: 'speech', seed: 3, maxNewTokens: 200 }, { signal: ac.signal });
      setTimeout(() => ac.abort(), 5);
      // Either the worker stopped the generation (aborted record) or, held by a preload step longer than the grace
      // time, was replaced (AbortError); both are an interrupt that ended the request.
      const outcome = await run.then(
        (g) => g.stopReason,
        (err: Error) => err.name,
      );
      assert.ok(['aborted', 'AbortError'].includes(outcome), outcome);
      const g = await e.generate(TTS, { preset: 'speech', seed: 3 });
      const span = g.spans.find((s): s is MediaSpan => s.kind === 'speech' && s.role === 'generated');
      assert.ok(span, 'a speech span after the interrupt');
      assert.equal((await e.decodeSpan(span, { seed: 3 })).mime, 'audio/wav');
      assert.equal((await waitFor(e, (s) => s.state === 'done' || s.state === 'failed')).state, 'done');
    } finally {
      await e.close();
    }
  });

  it('closing while the preload runs (as %model does to the old model) stops it; a new engine works', async () => {
    const e = await Engine.open(NANO, { executionProvider: 'cpu', threads: 1, preloadCodecs: true });
    await waitFor(e, (s) => s.state === 'loading');
    await e.close();
    const next = await Engine.open(NANO, { executionProvider: 'cpu', threads: 1, preloadCodecs: true });
    try {
      assert.equal((await next.decodeSpan(speechSpan(12), { seed: 2 })).mime, 'audio/wav');
      assert.equal((await waitFor(next, (s) => s.state === 'done' || s.state === 'failed')).state, 'done');
    } finally {
      await next.close();
    }
  });
});
