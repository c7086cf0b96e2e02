/**
 * `npm run bench`: runs every benchmark module in bench/ (each exports `bench…()` functions returning plain data)
 * one after another and prints the results as JSON. A failing bench is reported and the others still run.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

async function main(): Promise<number> {
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts')).sort();
  const only = process.argv.slice(2);
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
      } catch (e) {
        failed++;
        console.log(JSON.stringify({ bench: `${f}:${name}`, error: (e as Error).message }, null, 2));
      }
    }
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code));
