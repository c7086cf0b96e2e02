/**
 * `npm run bench`: runs every benchmark module in bench/ (each exports `bench…()` functions returning plain data)
 * one after another and prints the results as JSON, then the tables (a result's `table` field, or a flat
 * record as name | value), and writes everything to out/bench.json. A failing bench is reported and the others
 * still run. Arguments: module-name prefixes to run only some (e.g. `engine`), and flags (`--quick`, `--gpu`,
 * `--threads N`, and for `gpu`: `--gpu-shape 7b|small`, `--ctx N`, `--tokens N`) that the modules read from process.argv.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Flags whose next argument is their value, not a module name. */
const VALUE_FLAGS = ['--threads', '--gpu-shape', '--ctx', '--tokens'];

async function main(): Promise<number> {
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
    .sort();
  const args = process.argv.slice(2);
  const only = args.filter((a, i) => !a.startsWith('--') && !VALUE_FLAGS.includes(args[i - 1]));
  const results: { bench: string; result?: unknown; error?: string }[] = [];
  let failed = 0;
  for (const f of files) {
    if (only.length && !only.some((o) => f.startsWith(o))) continue;
    const mod = (await import(path.join(__dirname, f))) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(mod)) {
      if (!name.startsWith('bench') || typeof fn !== 'function') continue;
      process.stderr.write(`bench: ${f} ${name} …\n`);
      try {
        const result = await (fn as () => Promise<unknown>)();
        console.log(JSON.stringify({ bench: `${f}:${name}`, result }, null, 2));
        results.push({ bench: `${f}:${name}`, result });
      } catch (e) {
        failed++;
        console.log(JSON.stringify({ bench: `${f}:${name}`, error: (e as Error).message }, null, 2));
        results.push({ bench: `${f}:${name}`, error: (e as Error).message });
      }
    }
  }
  const outDir = path.join(__dirname, '..', 'out');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'bench.json'),
    JSON.stringify({ date: new Date().toISOString(), args, results }, null, 2),
  );
  console.log('');
  for (const r of results) {
    console.log(`## ${r.bench}`);
    if (r.error) console.log(`error: ${r.error}`);
    else console.log(tableOf(r.result));
    console.log('');
  }
  console.log('written: out/bench.json');
  return failed ? 1 : 0;
}

/** A result's own `table` string, or a flat record as a two-column table. */
function tableOf(result: unknown): string {
  if (result && typeof result === 'object' && typeof (result as { table?: unknown }).table === 'string')
    return (result as { table: string }).table;
  if (result && typeof result === 'object') {
    const rows = Object.entries(result as Record<string, unknown>).filter(
      ([, v]) => typeof v !== 'object' || v === null,
    );
    return [
      '| name | value |',
      '|---|---:|',
      ...rows.map(([k, v]) => `| ${k} | ${typeof v === 'number' ? Math.round(v * 1000) / 1000 : String(v)} |`),
    ].join('\n');
  }
  return String(result);
}

main().then((code) => process.exit(code));
