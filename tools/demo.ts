/**
 * `npm run demo`: executes samples/*.ipynb headless through the real kernel (as nbclient does) and
 * writes the executed notebooks plus every PNG/WAV to out/, then prints a summary table.
 * Needs models/anygpt-nano (or --model DIR: any model package, e.g. a test fixture).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { MIME } from '../common/generation';
import type { AudioOutput, TokensOutput } from '../common/output-payloads';
import { KernelClient } from '../kernel/jupyter/kernel-client';
import { executeNotebook, readNotebook, writeNotebook } from '../kernel/jupyter/notebook';
import { kernelScriptPath } from '../kernel/jupyter/paths';

const root = resolve(__dirname, '..');
const args = process.argv.slice(2);
const mi = args.indexOf('--model');
const model = resolve(mi >= 0 ? args[mi + 1] : join(root, 'models', 'anygpt-nano'));
const only = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--model');

async function main(): Promise<number> {
  if (!existsSync(join(model, 'anygpt.json'))) {
    process.stderr.write(
      `demo: no model package at ${model} (anygpt.json missing).\n` +
        `  The default model models/anygpt-nano is built by the nano training (tools/nano/train.sh).\n` +
        `  Use --model DIR for another package.\n`,
    );
    return 1;
  }
  const kernel = kernelScriptPath();
  if (!existsSync(kernel)) throw new Error(`${kernel} missing: run npm run build`);
  const samples = join(root, 'samples');
  if (!existsSync(join(samples, 'media', 'voice.wav')))
    execFileSync(process.execPath, ['--import', 'tsx', join(samples, 'make-samples.ts')], { stdio: 'inherit' });
  const out = join(root, 'out');
  mkdirSync(out, { recursive: true });
  // The executed notebooks link media/… relative to themselves: copy the samples' media so out/*.ipynb re-run and verify.
  cpSync(join(samples, 'media'), join(out, 'media'), { recursive: true });
  const names = readdirSync(samples)
    .filter((f) => f.endsWith('.ipynb'))
    .map((f) => f.replace(/\.ipynb$/, ''))
    .filter((n) => !only.length || only.includes(n))
    .sort();
  const argv = [process.execPath, kernel, '--model', model, '-f', '{connection_file}'];
  const rows: string[][] = [];
  const notes: string[] = [];
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
    // Media from an earlier run of this notebook must not pass for this run's.
    for (const f of readdirSync(out)) if (f.startsWith(`${name}-cell`) && /\.(png|wav)$/.test(f)) rmSync(join(out, f));
    const files: string[] = [];
    let tokens = 0;
    let tps = 0;
    let warnings = 0;
    const answers: string[] = [];
    for (const [i, cell] of result.nb.cells.entries()) {
      const source = Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '');
      const task = /^\s*%task\s+(\w+)/m.exec(source)?.[1];
      const want = task === 't2i' ? 'image' : task === 'tts' ? 'speech' : task === 't2m' ? 'music' : undefined;
      let got = false;
      for (const o of cell.outputs ?? []) {
        if (o.output_type === 'stream' && o.name === 'stderr')
          warnings += (String(Array.isArray(o.text) ? o.text.join('') : o.text).match(/^warning: /gm) ?? []).length;
        const data = (o.data ?? {}) as Record<string, unknown>;
        if (typeof data['image/png'] === 'string') {
          const f = `${name}-cell${i}.png`;
          writeFileSync(join(out, f), Buffer.from(data['image/png'] as string, 'base64'));
          files.push(f);
          if (want === 'image') got = true;
        }
        const audio = data[MIME.audio] as AudioOutput | undefined;
        if (audio) {
          const f = `${name}-cell${i}-${audio.modality}.wav`;
          writeFileSync(join(out, f), Buffer.from(audio.wav, 'base64'));
          files.push(f);
          if (want === audio.modality) got = true;
        }
        const g = data[MIME.tokens] as TokensOutput | undefined;
        if (g && o.output_type === 'execute_result') {
          tokens += g.tokens.length - g.promptLength;
          tps = Math.max(tps, g.stats.tokensPerSecond);
          if (g.text.trim()) answers.push(g.text.trim());
        }
      }
      if (want && !got && !(cell.outputs ?? []).some((o) => o.output_type === 'error')) {
        notes.push(
          `${name} cell ${i} (%task ${task}): the model generated no complete ${want} span, so there is no ${want === 'image' ? 'PNG' : 'WAV'} (see out/${name}.ipynb)`,
        );
      }
    }
    const errors = result.runs.filter((r) => r.status !== 'ok').length;
    failed += errors;
    const status = [errors ? `${errors} error(s)` : 'ok', warnings ? `${warnings} warning(s)` : '']
      .filter(Boolean)
      .join(', ');
    rows.push([
      name,
      String(result.runs.length),
      status,
      String(tokens),
      tps.toFixed(1),
      ((performance.now() - t0) / 1000).toFixed(1),
      truncate(answers.map((a) => JSON.stringify(a)).join(' | '), 60) || '-',
      files.join(' ') || '-',
    ]);
  }
  const head = ['notebook', 'cells', 'status', 'gen tokens', 'tok/s', 'seconds', 'the model said', 'files in out/'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((x, c) => x.padEnd(widths[c])).join('  ');
  console.log(`\nmodel: ${model}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  if (notes.length)
    console.log(
      `\nmissing media (a model-side result, not a kernel error):\n${notes.map((n) => `  - ${n}`).join('\n')}`,
    );
  console.log(`\nexecuted notebooks and media: ${out}`);
  return failed ? 1 : 0;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`demo: ${(e as Error).message}`);
    process.exit(1);
  },
);
