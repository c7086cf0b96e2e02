// Lints the Python under tools/ with ruff (its official WebAssembly build, so no PyPI is needed).
// Usage: node tools/lint/ruff.mjs [--fix-format]   (exit 1 on any finding; --fix-format rewrites files with ruff format)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PositionEncoding, Workspace } from '@astral-sh/ruff-wasm-nodejs';

const root = new URL('../..', import.meta.url).pathname;
const SKIP = new Set(['node_modules', 'work', '__pycache__', '.cache', 'dist']);

function* pythonFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* pythonFiles(p);
    else if (e.name.endsWith('.py')) yield p;
  }
}

const workspace = new Workspace(
  { 'line-length': 120, lint: { select: ['E', 'F', 'W'], ignore: ['E501', 'E741', 'E731', 'E401'] } },
  PositionEncoding.Utf16,
);
const rewrite = process.argv.includes('--fix-format');
let findings = 0;
let files = 0;
for (const file of pythonFiles(join(root, 'tools'))) {
  files++;
  let text = readFileSync(file, 'utf8');
  if (rewrite) {
    const formatted = workspace.format(text);
    if (formatted !== text) writeFileSync(file, (text = formatted));
  }
  for (const d of workspace.check(text)) {
    findings++;
    console.log(`${relative(root, file)}:${d.start_location.row}:${d.start_location.column}: ${d.code} ${d.message}`);
  }
}
console.log(`ruff ${Workspace.version()}: ${files} files, ${findings} finding(s)`);
process.exit(findings ? 1 : 0);
