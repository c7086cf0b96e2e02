/**
 * Kernel benchmark: the numbers a notebook user feels, measured through the real
 * kernel process (dist/kernel.js) over ZeroMQ, the way a Jupyter client talks to it.
 *
 * - kernel start → kernel_info reply: spawn, then one kernel_info_request sent at once on a DEALER that
 *   reconnects every 10 ms (so libzmq's 100 ms default reconnect interval is not measured). Target ≤ 0.5 s.
 * - model load: the first cell (`%tokens`) loads the package; the engine's own load time and the cell's wall time.
 *   models/anygpt-nano when it exists, else the engine fixture test/fixtures/engine/det.
 * - execute → first streamed token: execute_request sent → first display_data of the streaming text, with the
 *   model warm. Target ≤ 50 ms on nano.
 * - interrupt latency: interrupt_request (control) and SIGINT during a long generation → execute_reply
 *   (on the long-generating LLaMA fixture: nano's 512-token context ends generations too soon)
 *   (KeyboardInterrupt). The protocol tests require < 100 ms.
 *
 * - interrupt latency per stage (benchInterruptStages, over models/anygpt-nano): each long stage (LLM generation,
 *   SoundStorm, the speech vocoder, the music decode, the encode of a long WAV input, the image decode) is
 *   started, interrupt_request is sent on control a fixed delay after the stage shows it has begun, and the bench
 *   reports ms from the interrupt to the execute_reply (KeyboardInterrupt) and to the reply of the next (short)
 *   cell, i.e. the kernel being usable again. Target ≤ 200 ms (issue 20). "finished first" means the stage ended
 *   before the interrupt landed, so nothing was measured.
 *
 * - first media latency (benchFirstMedia, over models/anygpt-nano): the first speech, music and image decode of an
 *   engine whose codecs were preloaded in its idle time (as the kernel does) and of one that opens them lazily, side
 *   by side in one run, against a warm decode of the same span. Target: first − warm ≤ 150 ms.
 *
 * Run alone: `node --import tsx bench/kernel.ts` (or `npm run bench kernel`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as zmq from 'zeromq';
import { writeConnectionFile } from '../common/jupyter-connection';
import { makeLongFixture } from '../test/fixtures/long-fixture';
import { encodeWav16 } from '../kernel/codecs/wav-io';
import { KernelClient } from '../kernel/jupyter/kernel-client';
import { decode, encode, newHeader, Signer } from '../kernel/jupyter/wire';
import { ensureKernelBuilt, KERNEL_JS } from '../test/jupyter/helpers';

const ROOT = resolve(__dirname, '..');
const NANO = join(ROOT, 'models', 'anygpt-nano');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'engine', 'det');
const STARTS = 5;
const TTFT_RUNS = 7;

const TARGETS = { kernelInfoMs: 500, firstTokenMs: 50, interruptMs: 100 };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Spawn → first kernel_info_reply on shell, ms. The kernel runs without a model (none is loaded at start anyway). */
async function startToKernelInfo(): Promise<number> {
  const { file, info } = await writeConnectionFile({ prefix: 'anygpt-bench-' });
  const tmp = dirname(file);
  const signer = new Signer(info.key, info.signature_scheme);
  const shell = new zmq.Dealer({ linger: 0, reconnectInterval: 10 });
  const t0 = performance.now();
  const proc = spawn(
    process.execPath,
    [KERNEL_JS, '--model', existsSync(join(NANO, 'anygpt.json')) ? NANO : FIXTURE, '-f', file],
    { stdio: 'ignore' },
  );
  try {
    shell.connect(`tcp://127.0.0.1:${info.shell_port}`);
    const header = newHeader('kernel_info_request', 'bench', 'bench');
    await shell.send(encode({ idents: [], header, parent_header: {}, metadata: {}, content: {} }, signer));
    const timer = setTimeout(() => shell.close(), 10000);
    for await (const frames of shell) {
      const m = decode(frames, signer);
      if (m.header.msg_type === 'kernel_info_reply') {
        clearTimeout(timer);
        return performance.now() - t0;
      }
    }
    throw new Error('no kernel_info_reply within 10 s');
  } finally {
    if (!shell.closed) shell.close();
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** execute_request → first display_data (the streaming text display), ms; and the whole cell. */
async function firstToken(
  k: KernelClient,
  code: string,
  cellId: string,
): Promise<{ firstMs: number; totalMs: number; status: string }> {
  const t0 = performance.now();
  let first = NaN;
  const r = await k.execute(code, {
    metadata: { cellId },
    onOutput: (m) => {
      if (Number.isNaN(first) && (m.header.msg_type === 'display_data' || m.header.msg_type === 'stream'))
        first = performance.now() - t0;
    },
  });
  return { firstMs: first, totalMs: performance.now() - t0, status: String(r.reply.content.status) };
}

async function interruptOnce(
  k: KernelClient,
  how: 'control' | 'SIGINT',
  code: string,
): Promise<{ ackMs: number; endMs: number; interrupted: boolean }> {
  let started!: () => void;
  const go = new Promise<void>((r) => (started = r));
  const exec = k.execute(code, { onOutput: (m) => m.header.msg_type === 'display_data' && started() });
  const first = await Promise.race([go.then(() => true), exec.then(() => false)]);
  if (!first) return { ackMs: NaN, endMs: NaN, interrupted: false };
  await new Promise((r) => setTimeout(r, 50)); // mid-generation, not at the first token
  const t0 = performance.now();
  let ackMs: number;
  if (how === 'SIGINT') {
    k.proc!.kill('SIGINT');
    ackMs = 0;
  } else {
    await k.request('control', 'interrupt_request', {}, { timeoutMs: 2000 });
    ackMs = performance.now() - t0;
  }
  const r = await exec;
  return { ackMs, endMs: performance.now() - t0, interrupted: r.reply.content.ename === 'KeyboardInterrupt' };
}

export async function benchKernel(): Promise<Record<string, number>> {
  ensureKernelBuilt();
  const model = existsSync(join(NANO, 'anygpt.json')) ? NANO : FIXTURE;
  const isNano = model === NANO;
  const out: Record<string, number> = {};

  // 1. start → kernel_info
  const starts: number[] = [];
  for (let i = 0; i < STARTS; i++) starts.push(await startToKernelInfo());
  out.kernelStartToKernelInfoMs = r1(median(starts));
  out.kernelStartToKernelInfoMinMs = r1(Math.min(...starts));
  out.kernelStartToKernelInfoMaxMs = r1(Math.max(...starts));

  // 2. model load (first cell), 3. first token, 4. interrupt
  const tLaunch = performance.now();
  const k = await KernelClient.launch([process.execPath, KERNEL_JS, '--model', model, '-f', '{connection_file}'], {
    env: { ...process.env, ANYGPT_PROGRESS_DELAY_MS: '100000' },
  });
  out.clientLaunchReadyMs = r1(performance.now() - tLaunch);
  try {
    const t0 = performance.now();
    const first = await k.execute('%tokens\nhello');
    out.firstCellWithModelLoadMs = r1(performance.now() - t0);
    const res = first.outputs.at(-1)?.content as { data?: Record<string, { stats?: { loadMs?: number } }> } | undefined;
    const rec = res?.data ? Object.values(res.data).find((v) => typeof v === 'object' && v && 'stats' in v) : undefined;
    out.modelLoadMs = r1(rec?.stats?.loadMs ?? NaN);

    const ttft: number[] = [];
    for (let i = 0; i < TTFT_RUNS; i++) {
      const r = await firstToken(k, `%max_new_tokens 8\n%seed ${i}\nhello there`, `ttft-${i}`);
      if (r.status !== 'ok') throw new Error(`bench cell failed: ${r.status}`);
      if (i > 0) ttft.push(r.firstMs); // the first run warms the session
    }
    out.executeToFirstTokenMs = r1(median(ttft));
    out.executeToFirstTokenMaxMs = r1(Math.max(...ttft));

    // nano's context (512) ends a generation before an interrupt can land, so interrupts are measured on the
    // long-generating LLaMA fixture (16k context), loaded into the same kernel with %model.
    const longDir = makeLongFixture(mkdtempSync(join(tmpdir(), 'anygpt-bench-long-')));
    const load = await k.execute(`%model ${longDir}`);
    if (load.reply.content.status !== 'ok')
      throw new Error(`could not load the long fixture: ${String(load.reply.content.evalue)}`);
    const long = '%max_new_tokens 16000\nhello';
    for (const how of ['control', 'SIGINT'] as const) {
      const r = await interruptOnce(k, how, long);
      if (how === 'control') out.interruptReplyMs = r1(r.ackMs);
      out[`interrupt${how === 'control' ? 'Control' : 'Sigint'}ToExecuteReplyMs`] = r.interrupted ? r1(r.endMs) : NaN;
      const ok = await k.execute('%max_new_tokens 2\nready?');
      if (ok.reply.content.status !== 'ok') throw new Error('kernel not ready after the interrupt');
    }
    rmSync(longDir, { recursive: true, force: true });
  } finally {
    await k.shutdown();
  }
  out.modelIsNano = isNano ? 1 : 0;
  out.targetKernelInfoMs = TARGETS.kernelInfoMs;
  out.targetFirstTokenMs = TARGETS.firstTokenMs;
  out.targetInterruptMs = TARGETS.interruptMs;

  const row = (what: string, v: number, target?: number) =>
    `  ${what.padEnd(44)} ${Number.isNaN(v) ? 'n/a (finished first)'.padStart(10) : `${v.toFixed(1).padStart(8)} ms`}${target === undefined ? '' : `   target ≤ ${target} ms  ${v <= target ? 'OK' : 'MISSED'}`}`;
  process.stderr.write(
    [
      `kernel bench (model: ${isNano ? 'anygpt-nano' : 'engine fixture det'} ${model}; median of ${STARTS} starts, ${TTFT_RUNS - 1} warm executes)`,
      row('kernel start → kernel_info reply', out.kernelStartToKernelInfoMs, TARGETS.kernelInfoMs),
      row('model load (engine, package + LLM session)', out.modelLoadMs),
      row('first cell incl. model load (wall)', out.firstCellWithModelLoadMs),
      row('execute → first streamed token', out.executeToFirstTokenMs, isNano ? TARGETS.firstTokenMs : undefined) +
        (isNano ? '' : '   (target applies to nano)'),
      row('interrupt_request → interrupt_reply', out.interruptReplyMs),
      row('interrupt (control) → KeyboardInterrupt reply', out.interruptControlToExecuteReplyMs, TARGETS.interruptMs),
      row('interrupt (SIGINT) → KeyboardInterrupt reply', out.interruptSigintToExecuteReplyMs, TARGETS.interruptMs),
    ].join('\n') + '\n',
  );
  return out;
}

const STAGE_TARGET_MS = 200;
const STAGE_DELAY_MS = 150;
/** nano's music: 2 codebooks of 256 codes; ids interleave the codebooks frame by frame (as in the hostile tests). */
const musicCodes = (n: number) => Array.from({ length: n }, (_, i) => (i % 2) * 256 + ((i * 7) % 256)).join(' ');
const speechCodes = (n: number) => Array.from({ length: n }, (_, i) => (i * 13) % 256).join(' ');
const imageCodes = (n: number) => Array.from({ length: n }, (_, i) => (i * 11) % 256).join(' ');
type Msg = { header: { msg_type: string }; content: unknown };
const textOf = (m: Msg) => {
  const t = (m.content as { data?: Record<string, unknown> }).data?.['text/plain'];
  return typeof t === 'string' ? t : '';
};
const anyOutput = (m: Msg) => ['display_data', 'update_display_data', 'stream'].includes(m.header.msg_type);

/** A 16-bit mono PCM WAV of `seconds` of a tone at 44.1 kHz (so reading it also resamples to the codec's rate). */
function writeLongWav(path: string, seconds: number): void {
  const rate = 44100;
  const samples = new Float32Array(rate * seconds);
  for (let i = 0; i < samples.length; i++) samples[i] = 0.25 * Math.sin((2 * Math.PI * 440 * i) / rate);
  writeFileSync(path, encodeWav16(samples, rate));
}

type StageRow = { stage: string; cell: string; interruptToReplyMs: number; interruptToReadyMs: number; status: string };

/**
 * Interrupt latency per stage over nano: for each stage, run its cell, wait until `begun` sees the stage start,
 * wait STAGE_DELAY_MS more, send interrupt_request on control; report interrupt → execute_reply and
 * interrupt → reply of the next short cell (a small music decode, which needs a working engine worker).
 */
export async function benchInterruptStages(): Promise<{ rows: StageRow[]; targetMs: number; table: string }> {
  ensureKernelBuilt();
  if (!existsSync(join(NANO, 'anygpt.json'))) throw new Error('models/anygpt-nano is missing');
  const dir = mkdtempSync(join(tmpdir(), 'anygpt-bench-stages-'));
  writeLongWav(join(dir, 'long.wav'), 600);
  const k = await KernelClient.launch([process.execPath, KERNEL_JS, '--model', NANO, '-f', '{connection_file}'], {
    env: { ...process.env, ANYGPT_PROGRESS_DELAY_MS: '0' },
    cwd: dir,
  });
  const stages: { stage: string; cell: string; begun: (m: Msg) => boolean }[] = [
    { stage: 'LLM generation', cell: '%max_new_tokens 400\n%temperature 1.5\nhello', begun: anyOutput },
    {
      stage: 'SoundStorm (speech decode, 3,000 codes)',
      cell: `%decode speech ${speechCodes(3000)}`,
      begun: (m) => /soundstorm|acoustic/i.test(textOf(m)) || /\b0\/\d+$/.test(textOf(m)),
    },
    {
      stage: 'speech vocoder (after SoundStorm, 3,000 codes)',
      cell: `%decode speech ${speechCodes(3000)}`,
      begun: (m) => {
        const p = /(\d+)\/(\d+)$/.exec(textOf(m));
        return !!p && p[1] === p[2];
      },
    },
    {
      stage: 'music decode (10,000 codes)',
      cell: `%decode music ${musicCodes(10000)}`,
      begun: (m) => /music decode .* 0\/1/.test(textOf(m)),
    },
    { stage: 'speech encode (600 s WAV input)', cell: '%task asr\n![speech](long.wav)', begun: () => true },
    { stage: 'music encode (600 s WAV input)', cell: '![music](long.wav)\ndescribe', begun: () => true },
    { stage: 'image decode (32 codes)', cell: `%decode image ${imageCodes(32)}`, begun: () => true },
    {
      stage: '%task tts (LLM + speech decode)',
      cell: '%task tts\n%max_new_tokens 200\nred circle blue square green triangle',
      begun: anyOutput,
    },
  ];
  const rows: StageRow[] = [];
  try {
    for (const warm of [
      `%decode music ${musicCodes(20)}`,
      `%decode speech ${speechCodes(10)}`,
      '%max_new_tokens 2\nhi',
    ]) {
      const r = await k.execute(warm);
      if (r.reply.content.status !== 'ok') throw new Error(`warm-up cell failed: ${String(r.reply.content.evalue)}`);
    }
    for (const s of stages) {
      let trigger!: () => void;
      const reached = new Promise<void>((r) => (trigger = r));
      const exec = k.execute(s.cell, {
        stopOnError: false,
        timeoutMs: 120000,
        onOutput: (m) => s.begun(m as Msg) && trigger(),
      });
      // Stages without a progress message of their own are interrupted a fixed delay after the request.
      const started = await Promise.race([reached.then(() => true), exec.then(() => false)]);
      let replyMs = NaN;
      let readyMs = NaN;
      let status = 'finished first';
      if (started) {
        await new Promise((r) => setTimeout(r, STAGE_DELAY_MS));
        const t0 = performance.now();
        await k.request('control', 'interrupt_request', {}, { timeoutMs: 5000 });
        const r = await exec;
        replyMs = performance.now() - t0;
        const ename = r.reply.content.ename;
        status =
          ename === 'KeyboardInterrupt'
            ? 'KeyboardInterrupt'
            : `${String(r.reply.content.status)} ${String(ename ?? '')}`.trim();
        const next = await k.execute(`%decode music ${musicCodes(8)}`, { stopOnError: false });
        readyMs = performance.now() - t0;
        if (next.reply.content.status !== 'ok') throw new Error(`kernel not ready after interrupting ${s.stage}`);
        if (status === 'ok') status = 'finished first (ok)';
        if (status !== 'KeyboardInterrupt') replyMs = readyMs = NaN;
      } else {
        await exec;
      }
      rows.push({
        stage: s.stage,
        cell: s.cell.slice(0, 40),
        interruptToReplyMs: r1(replyMs),
        interruptToReadyMs: r1(readyMs),
        status,
      });
    }
  } finally {
    await k.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
  const cell = (v: number) => (Number.isNaN(v) ? '—' : `${v.toFixed(1)}`);
  const verdict = (v: number) => (Number.isNaN(v) ? '' : v <= STAGE_TARGET_MS ? 'OK' : 'MISSED');
  const table = [
    `interrupt latency per stage (models/anygpt-nano; interrupt_request on control ${STAGE_DELAY_MS} ms after the stage began; target ≤ ${STAGE_TARGET_MS} ms)`,
    '| stage | outcome | interrupt → KeyboardInterrupt reply (ms) | target | | interrupt → next cell done (ms) |',
    '|---|---|---:|---:|---|---:|',
    ...rows.map(
      (r) =>
        `| ${r.stage} | ${r.status} | ${cell(r.interruptToReplyMs)} | ≤ ${STAGE_TARGET_MS} | ${verdict(r.interruptToReplyMs)} | ${cell(r.interruptToReadyMs)} |`,
    ),
    // nano's replies end (EOS) within ~150 ms, so the LLM row usually finishes first; benchKernel measures the
    // LLM step loop's interrupt on the long-generating fixture instead.
    'LLM generation on nano usually ends before the interrupt lands; the LLM loop is measured by benchKernel (interrupt rows) on the long-generating fixture.',
  ].join('\n');
  process.stderr.write(table + '\n');
  return { rows, targetMs: STAGE_TARGET_MS, table };
}

interface FirstMediaRow {
  modality: 'speech' | 'music' | 'image';
  /** The first decode of this kind in a freshly opened engine, ms: codecs preloaded in the idle time / lazy. */
  preloadedMs: number;
  lazyMs: number;
  /** A later decode of the same span (sessions open and warmed), ms, in the preloaded engine. */
  warmMs: number;
}

const FIRST_MEDIA_TARGET_MS = 150;

/**
 * First media latency beyond the LLM, over models/anygpt-nano, both paths in one run: an engine opened with
 * preloadCodecs (what the kernel does) is left idle until its preload reports done (a user typing the next cell),
 * then decodes one span of each kind; an engine opened without it decodes the same spans lazily. The LLM is left
 * out (the spans are fixed codes), so the numbers are what a media cell adds after its generation. The target
 * applies to the first decode's cost over a warm decode of the same span (the first-use penalty), ≤ 150 ms.
 */
export async function benchFirstMedia(): Promise<{
  rows: FirstMediaRow[];
  preloadMs: number;
  firstCellSpeech: Record<string, number>;
  table: string;
}> {
  if (!existsSync(join(NANO, 'anygpt.json'))) throw new Error('benchFirstMedia needs models/anygpt-nano');
  const { Engine } = await import('../kernel/engine');
  const manifest = JSON.parse((await import('node:fs')).readFileSync(join(NANO, 'anygpt.json'), 'utf8')) as {
    modalities: { music: { numCodebooks: number }; image: { tokensPerImage: number } };
  };
  const span = (modality: FirstMediaRow['modality']) => {
    const codes =
      modality === 'speech'
        ? Array.from({ length: 40 }, (_, i) => (i * 13) % 256)
        : modality === 'music'
          ? Array.from({ length: manifest.modalities.music.numCodebooks }, (_, q) =>
              Array.from({ length: 50 }, (_, t) => (t * 7 + q * 3) % 256),
            )
          : Array.from({ length: manifest.modalities.image.tokensPerImage }, (_, i) => (i * 11) % 256);
    return { kind: modality, modality, start: 0, end: 0, codes, role: 'generated', complete: true } as never;
  };
  const kinds: FirstMediaRow['modality'][] = ['speech', 'music', 'image'];
  const timeDecode = async (e: import('../kernel/engine').Engine, m: FirstMediaRow['modality']) => {
    const t = performance.now();
    await e.decodeSpan(span(m), { seed: 1 });
    return performance.now() - t;
  };
  const first: Record<string, { preloaded: number; lazy: number; warm: number }> = {};
  let preloadMs = NaN;
  for (const preload of [true, false]) {
    const e = await Engine.open(NANO, { executionProvider: 'cpu', preloadCodecs: preload, log: () => {} });
    try {
      if (preload) {
        const t0 = performance.now();
        for (;;) {
          const s = await e.codecPreloadStatus();
          if (s.state === 'done') {
            preloadMs = s.ms ?? NaN;
            break;
          }
          if (s.state !== 'waiting' && s.state !== 'loading') throw new Error(`codec preload ${s.state}: ${s.error}`);
          if (performance.now() - t0 > 60000) throw new Error('codec preload not done within 60 s');
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      for (const m of kinds) {
        const ms = await timeDecode(e, m);
        first[m] ??= { preloaded: NaN, lazy: NaN, warm: NaN };
        first[m][preload ? 'preloaded' : 'lazy'] = ms;
        if (preload) first[m].warm = await timeDecode(e, m);
      }
    } finally {
      await e.close();
    }
  }
  // A notebook's first cell: the engine is opened and a TTS generation starts at once (the preload, in the media
  // worker, runs beside it); what counts is the decode after the generation.
  const firstCell: Record<string, number> = {};
  for (const preload of [true, false]) {
    const e = await Engine.open(NANO, { executionProvider: 'cpu', preloadCodecs: preload, log: () => {} });
    try {
      const g = await e.generate(
        '[Human]: I require you to read these mute words aloud. This is input: red circle<eoh> [MMGPT]: <sosp>',
        { preset: 'speech', seed: 1 },
      );
      const s = g.spans.find((x) => x.kind === 'speech' && x.role === 'generated');
      if (!s) throw new Error('nano generated no speech span');
      const t = performance.now();
      await e.decodeSpan(s as never, { seed: 1 });
      firstCell[preload ? 'preloaded' : 'lazy'] = r1(performance.now() - t);
    } finally {
      await e.close();
    }
  }
  const rows = kinds.map((m) => ({
    modality: m,
    preloadedMs: r1(first[m].preloaded),
    lazyMs: r1(first[m].lazy),
    warmMs: r1(first[m].warm),
  }));
  const table = [
    `first media latency beyond the LLM (models/anygpt-nano, CPU; codec preload took ${r1(preloadMs)} ms of idle time)`,
    '| first decode of | preloaded ms | lazy ms | warm ms | preloaded − warm | target | verdict |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const extra = r.preloadedMs - r.warmMs;
      return `| ${r.modality} | ${r.preloadedMs} | ${r.lazyMs} | ${r.warmMs} | ${r1(extra)} | ≤ ${FIRST_MEDIA_TARGET_MS} | ${extra <= FIRST_MEDIA_TARGET_MS ? 'OK' : 'MISSED'} |`;
    }),
    `first cell (open, then a TTS generation at once, then its decode): speech decode ${firstCell.preloaded} ms with the preload running beside the LLM, ${firstCell.lazy} ms lazy`,
  ].join('\n');
  process.stderr.write(table + '\n');
  return { rows, preloadMs: r1(preloadMs), firstCellSpeech: firstCell, table };
}

if (require.main === module) {
  benchKernel().then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
