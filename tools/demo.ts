/**
 * `npm run demo`: executes samples/*.ipynb headless through the real kernel (as nbclient does) and
 * writes the executed notebooks plus every PNG/WAV to out/, then prints a summary table.
 * Needs models/anygpt-nano (or --model DIR). `--simulate` runs the kernel's model-free backend instead.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { MIME } from '../common/generation';
import type { AudioOutput, TokensOutput } from '../common/outputs';
import { KernelClient } from '../kernel/jupyter/client';
import { executeNotebook, readNotebook, writeNotebook } from '../kernel/jupyter/notebook';
import { kernelScriptPath } from '../kernel/jupyter/paths';

const root = resolve(__dirname, '..');
const args = process.argv.slice(2);
const simulate = args.includes('--simulate');
const mi = args.indexOf('--model');
const model = resolve(mi >= 0 ? args[mi + 1] : join(root, 'models', 'anygpt-nano'));
const only = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--model');

async function main(): Promise<number> {
  if (!simulate && !existsSync(join(model, 'anygpt.json'))) {
    process.stderr.write(
      `demo: no model package at ${model} (anygpt.json missing).\n` +
        `  The default model models/anygpt-nano is built by the nano training (issue 4).\n` +
        `  Use --model DIR for another package, or --simulate to exercise the kernel without a model.\n`,
    );
    return 1;
  }
  const kernel = kernelScriptPath();
  if (!existsSync(kernel)) throw new Error(`${kernel} missing: run npm run build`);
  const samples = join(root, 'samples');
  if (!existsSync(join(samples, 'media', 'voice.wav'))) execFileSync(process.execPath, ['--import', 'tsx', join(samples, 'make-samples.ts')], { stdio: 'inherit' });
  const out = join(root, 'out');
  mkdirSync(out, { recursive: true });
  const names = readdirSync(samples)
    .filter((f) => f.endsWith('.ipynb'))
    .map((f) => f.replace(/\.ipynb$/, ''))
    .filter((n) => !only.length || only.includes(n))
    .sort();
  const argv = [process.execPath, kernel, ...(simulate ? ['--simulate'] : ['--model', model]), '-f', '{connection_file}'];
  const rows: string[][] = [];
  let failed = 0;
  for (const name of names) {
    const t0 = performance.now();
    const client = await KernelClient.launch(argv, { cwd: samples });
    let result;
    try {
      result = await executeNotebook(client, readNotebook(join(samples, `${name}.ipynb`)), { timeoutMs: 600000 });
    } finally {
      await client.shutdown();
    }
    writeNotebook(join(out, `${name}.ipynb`), result.nb);
    const files: string[] = [];
    let tokens = 0;
    let tps = 0;
    for (const [i, cell] of result.nb.cells.entries()) {
      for (const o of cell.outputs ?? []) {
        const data = (o.data ?? {}) as Record<string, unknown>;
        if (typeof data['image/png'] === 'string') {
          const f = `${name}-cell${i}.png`;
          writeFileSync(join(out, f), Buffer.from(data['image/png'] as string, 'base64'));
          files.push(f);
        }
        const audio = data[MIME.audio] as AudioOutput | undefined;
        if (audio) {
          const f = `${name}-cell${i}-${audio.modality}.wav`;
          writeFileSync(join(out, f), Buffer.from(audio.wav, 'base64'));
          files.push(f);
        }
        const g = data[MIME.tokens] as TokensOutput | undefined;
        if (g && o.output_type === 'execute_result') {
          tokens += g.tokens.length - g.promptLength;
          tps = Math.max(tps, g.stats.tokensPerSecond);
        }
      }
    }
    const errors = result.runs.filter((r) => r.status !== 'ok').length;
    failed += errors;
    rows.push([name, String(result.runs.length), errors ? `${errors} error(s)` : 'ok', String(tokens), tps.toFixed(1), ((performance.now() - t0) / 1000).toFixed(1), files.join(' ') || '-']);
  }
  const head = ['notebook', 'cells', 'status', 'gen tokens', 'tok/s', 'seconds', 'files in out/'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((x, c) => x.padEnd(widths[c])).join('  ');
  console.log(`\n${simulate ? 'SIMULATED backend (no model)' : `model: ${model}`}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  console.log(`\nexecuted notebooks and media: ${out}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`demo: ${(e as Error).message}`);
    process.exit(1);
  },
);
