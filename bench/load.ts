/**
 * Package load, cold vs warm: what `Engine.open` costs the first time a package is seen (every file the chosen
 * graph uses is hashed) and afterwards (the verification stamp vouches for the files; docs/model-package.md
 * "Verification"). Each load runs in its own process (bench/lib/load-child.ts), as a CLI call or a kernel restart
 * would; "cold" starts from an empty stamp folder, "warm" reuses it (best of WARM runs). The OS page cache is not
 * dropped: cold is "never verified", not "never read from disk".
 *
 * Packages: models/anygpt-nano, and any listed in ANYGPT_BENCH_PACKAGES (comma-separated `DIR` or `DIR#variant`),
 * e.g. the full-size fake package that tools/convert/fullsize-check.sh --keep leaves behind.
 * Run alone: `node --import tsx bench/run.ts load`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LoadChildResult } from './lib/load-child';

const NANO = path.join(__dirname, '..', 'models', 'anygpt-nano');
const WARM = 2;

interface LoadRow {
  package: string;
  variant?: string;
  cold: LoadChildResult;
  warm: LoadChildResult;
  /** cold load ms / warm load ms */
  ratio: number;
}

function child(dir: string, variant: string | undefined, cacheDir: string): LoadChildResult {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'lib', 'load-child.ts'), JSON.stringify({ dir, variant })],
    { encoding: 'utf8', env: { ...process.env, ANYGPT_CACHE_DIR: cacheDir }, maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as LoadChildResult;
}

export async function benchLoad() {
  const targets: { dir: string; variant?: string }[] = [];
  const notes: string[] = [];
  if (existsSync(path.join(NANO, 'anygpt.json'))) targets.push({ dir: NANO });
  else notes.push('models/anygpt-nano not present; skipped');
  for (const item of (process.env.ANYGPT_BENCH_PACKAGES ?? '').split(',').filter(Boolean)) {
    const [dir, variant] = item.split('#');
    if (existsSync(path.join(dir, 'anygpt.json'))) targets.push({ dir: path.resolve(dir), variant });
    else notes.push(`${dir}: no anygpt.json; skipped`);
  }
  if (targets.length === 1) notes.push('no full-size package (set ANYGPT_BENCH_PACKAGES=DIR[#variant])');
  const rows: LoadRow[] = [];
  for (const t of targets) {
    const cache = mkdtempSync(path.join(tmpdir(), 'anygpt-bench-stamps-'));
    try {
      const cold = child(t.dir, t.variant, cache);
      let warm = child(t.dir, t.variant, cache);
      for (let i = 1; i < WARM; i++) {
        const w = child(t.dir, t.variant, cache);
        if (w.loadMs < warm.loadMs) warm = w;
      }
      rows.push({ package: t.dir, variant: t.variant, cold, warm, ratio: round(cold.loadMs / warm.loadMs, 2) });
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  return { rows, notes, table: formatTable(rows, notes) };
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function formatTable(rows: LoadRow[], notes: string[]): string {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    '| package | variant | cold load ms (verify ms, files hashed, bytes) | warm load ms (verify ms, files hashed / stamped) | cold / warm |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${path.basename(r.package)} | ${r.variant ?? '(main)'} | ${round(r.cold.loadMs, 0)} (${round(r.cold.verifyMs, 0)}, ${r.cold.hashed}, ${gib(r.cold.hashedBytes)}) ` +
        `| ${round(r.warm.loadMs, 0)} (${round(r.warm.verifyMs, 0)}, ${r.warm.hashed} / ${r.warm.stamped}) | ${r.ratio} |`,
    ),
  ];
  return [...lines, ...notes.map((n) => `note: ${n}`)].join('\n');
}
