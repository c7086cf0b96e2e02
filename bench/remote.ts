/**
 * Remote-kernel benchmark: the same kernel and model reached two ways in one run, side by side, so the
 * ratio is the cost of the Jupyter Server path (WebSocket → jupyter_server → ZeroMQ → kernel) over our local
 * ZeroMQ client.
 *
 * - execute → first output: execute_request sent → first display_data/stream of the cell, model warm, runs
 *   alternated local/remote. models/anygpt-nano when it exists, else the engine fixture test/fixtures/engine/det.
 * - interrupt → KeyboardInterrupt reply during a long generation (the long-generating LLaMA fixture): locally an
 *   interrupt_request on control; remotely POST /api/kernels/{id}/interrupt (the server signals the kernel, as
 *   its kernelspec says), and interrupt_request on control over the WebSocket.
 *
 * Needs Debian's python3-jupyter-server (/usr/bin/python3 -m jupyter_server). Run alone:
 * `node --import tsx bench/remote.ts` (or `npm run bench remote`).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { JupyterServer, type RemoteKernel } from '../common/jupyter-server';
import type { Message } from '../common/jupyter-wire';
import { KernelClient } from '../kernel/jupyter/kernel-client';
import { makeLongFixture } from '../test/fixtures/long-fixture';
import { ensureKernelBuilt, KERNEL_JS } from '../test/jupyter/helpers';
import { haveJupyterServer, startJupyterServer } from '../test/jupyter/server-fixture';

const ROOT = resolve(__dirname, '..');
const NANO = join(ROOT, 'models', 'anygpt-nano');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'engine', 'det');
const RUNS = 9;
const INTERRUPTS = 3;

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const isOutput = (m: Message) => m.header.msg_type === 'display_data' || m.header.msg_type === 'stream';

/** One way of reaching a kernel: run a cell (reporting its first output), interrupt it. */
interface Path {
  execute(code: string, onOutput: (m: Message) => void): Promise<Record<string, unknown>>;
  interrupt(how: 'control' | 'rest'): Promise<void>;
}

function localPath(k: KernelClient): Path {
  return {
    execute: async (code, onOutput) =>
      (await k.execute(code, { onOutput })).reply.content as unknown as Record<string, unknown>,
    interrupt: async () => {
      await k.request('control', 'interrupt_request', {}, { timeoutMs: 2000 });
    },
  };
}

function remotePath(k: RemoteKernel): Path {
  return {
    execute: async (code, onOutput) =>
      (
        await k.client.execute(
          { code },
          { onIOPub: (m) => m.header.msg_type !== 'status' && onOutput(m), timeoutMs: 600000 },
        ).done
      ).content as unknown as Record<string, unknown>,
    interrupt: async (how) => {
      if (how === 'rest') await k.interrupt();
      else await k.client.request('control', 'interrupt_request', {}, { timeoutMs: 2000 }).reply;
    },
  };
}

async function firstOutputMs(p: Path, code: string): Promise<number> {
  const t0 = performance.now();
  let first = NaN;
  const reply = await p.execute(code, (m) => {
    if (Number.isNaN(first) && isOutput(m)) first = performance.now() - t0;
  });
  if (reply.status !== 'ok') throw new Error(`bench cell failed: ${String(reply.evalue)}`);
  return first;
}

/** ms from the interrupt to the KeyboardInterrupt reply; NaN when the cell ended first. */
async function interruptMs(p: Path, how: 'control' | 'rest'): Promise<number> {
  let started!: () => void;
  const go = new Promise<void>((r) => (started = r));
  const exec = p.execute('%max_new_tokens 16000\nhello', (m) => m.header.msg_type === 'display_data' && started());
  const running = await Promise.race([go.then(() => true), exec.then(() => false)]);
  if (!running) return NaN;
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await p.interrupt(how);
  const reply = await exec;
  const ms = performance.now() - t0;
  const ok = await p.execute('%max_new_tokens 1\nready?', () => undefined);
  if (ok.status !== 'ok') throw new Error('kernel not ready after the interrupt');
  return reply.ename === 'KeyboardInterrupt' ? ms : NaN;
}

export async function benchRemote(): Promise<Record<string, number | string>> {
  if (!haveJupyterServer()) throw new Error('needs /usr/bin/python3 with jupyter_server (apt python3-jupyter-server)');
  ensureKernelBuilt();
  const model = existsSync(join(NANO, 'anygpt.json')) ? NANO : FIXTURE;
  const longDir = makeLongFixture(mkdtempSync(join(tmpdir(), 'anygpt-bench-rlong-')));
  const env = { ANYGPT_PROGRESS_DELAY_MS: '100000' };
  const srv = await startJupyterServer(
    [
      { name: 'anygpt-bench', model },
      { name: 'anygpt-bench-long', model: longDir, args: ['--ep', 'cpu'] },
    ],
    env,
  );
  const server = new JupyterServer({ url: srv.url, token: srv.token });
  const launch = (m: string) =>
    KernelClient.launch([process.execPath, KERNEL_JS, '--model', m, '-f', '{connection_file}'], {
      env: { ...process.env, ...env },
    });
  const out: Record<string, number | string> = {};
  const kernels: { shutdown(): Promise<unknown> }[] = [];
  try {
    const lk = await launch(model);
    kernels.push(lk);
    const rk = await server.startKernel('anygpt-bench');
    kernels.push(rk);
    const [local, remote] = [localPath(lk), remotePath(rk)];
    const lf: number[] = [];
    const rf: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const code = `%max_new_tokens 8\n%seed ${i}\nhello there`;
      const a = await firstOutputMs(local, code);
      const b = await firstOutputMs(remote, code);
      if (i === 0) continue; // the first run loads the model
      lf.push(a);
      rf.push(b);
    }
    out.localExecuteToFirstOutputMs = r1(median(lf));
    out.remoteExecuteToFirstOutputMs = r1(median(rf));
    out.remoteOverLocalFirstOutput = Math.round((median(rf) / median(lf)) * 100) / 100;

    const ll = await launch(longDir);
    kernels.push(ll);
    const rl = await server.startKernel('anygpt-bench-long');
    kernels.push(rl);
    const [lp, rp] = [localPath(ll), remotePath(rl)];
    await lp.execute('%max_new_tokens 1\nwarm', () => undefined);
    await rp.execute('%max_new_tokens 1\nwarm', () => undefined);
    const li: number[] = [];
    const ri: number[] = [];
    const rc: number[] = [];
    for (let i = 0; i < INTERRUPTS; i++) {
      li.push(await interruptMs(lp, 'control'));
      ri.push(await interruptMs(rp, 'rest'));
      rc.push(await interruptMs(rp, 'control'));
    }
    out.localInterruptControlMs = r1(median(li));
    out.remoteInterruptRestMs = r1(median(ri));
    out.remoteInterruptControlWsMs = r1(median(rc));
    out.model = model === NANO ? 'anygpt-nano' : 'engine fixture det';
    out.runs = RUNS;
  } finally {
    for (const k of kernels.reverse()) await k.shutdown().catch(() => undefined);
    await srv.stop();
    rmSync(longDir, { recursive: true, force: true });
  }
  const row = (what: string, v: number | string) =>
    `  ${what.padEnd(52)} ${typeof v === 'number' ? (Number.isNaN(v) ? 'n/a (finished first)' : `${v.toFixed(1).padStart(8)} ms`) : v}`;
  process.stderr.write(
    [
      `remote bench (model: ${out.model}; median of ${RUNS} warm executes, ${INTERRUPTS} interrupts each, alternated)`,
      row('local  (ZeroMQ)    execute → first output', out.localExecuteToFirstOutputMs),
      row('remote (WebSocket) execute → first output', out.remoteExecuteToFirstOutputMs),
      `  remote / local first output: ×${out.remoteOverLocalFirstOutput}`,
      row('local  interrupt_request (control) → KeyboardInterrupt', out.localInterruptControlMs),
      row('remote POST …/interrupt (SIGINT) → KeyboardInterrupt', out.remoteInterruptRestMs),
      row('remote interrupt_request (control, WS) → KeyboardInterrupt', out.remoteInterruptControlWsMs),
    ].join('\n') + '\n',
  );
  return out;
}

if (require.main === module)
  benchRemote().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
