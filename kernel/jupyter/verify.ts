/**
 * `anygpt verify notebook.ipynb`: re-execute a notebook through the kernel and compare, cell by cell,
 * the token-id sequences of the saved tokens outputs with the new ones. Reports the *first* diverging
 * token per cell (position, expected vs got, both pieces), always writes the re-executed notebook next to
 * the report, and exits non-zero on a mismatch.
 *
 *   anygpt verify NB.ipynb [--model DIR] [--update] [--out DIR]
 *   anygpt verify NB.ipynb --against OTHER.ipynb        (compare two saved notebooks; nothing runs)
 *
 * Cell tags: anygpt-verify-skip (not run, not compared), anygpt-verify-lax (must run without error; tokens
 * not compared), anygpt-verify-error (must fail).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MIME } from '../../common/generation';
import type { TokensOutput } from '../../common/outputs';
import { KernelClient } from './client';
import { executeNotebook, readNotebook, source, writeNotebook, type NbCell, type Notebook } from './notebook';
import { kernelScriptPath } from './paths';

export const TAGS = { skip: 'anygpt-verify-skip', lax: 'anygpt-verify-lax', error: 'anygpt-verify-error' } as const;

export interface CellVerdict {
  index: number;
  status: 'same' | 'differs' | 'skipped' | 'lax-ok' | 'no-tokens' | 'failed';
  detail?: string;
  divergence?: {
    position: number;
    expected?: { id: number; piece: string };
    got?: { id: number; piece: string };
    generated: boolean;
    context: string;
  };
}

function tokensOf(cell: NbCell): TokensOutput[] {
  const out: TokensOutput[] = [];
  for (const o of cell.outputs ?? []) {
    const data = o.data as Record<string, unknown> | undefined;
    const t = data?.[MIME.tokens];
    if (t && typeof t === 'object') out.push(t as TokensOutput);
  }
  return out;
}

function hasError(cell: NbCell): { ename: string; evalue: string } | undefined {
  const e = (cell.outputs ?? []).find((o) => o.output_type === 'error');
  return e ? { ename: String(e.ename), evalue: String(e.evalue) } : undefined;
}

/** First position where two token sequences differ, or undefined when identical. */
export function firstDivergence(a: TokensOutput, b: TokensOutput): CellVerdict['divergence'] {
  const n = Math.max(a.tokens.length, b.tokens.length);
  for (let i = 0; i < n; i++) {
    const x = a.tokens[i];
    const y = b.tokens[i];
    if (x && y && x.id === y.id) continue;
    const around = (g: TokensOutput) =>
      g.tokens
        .slice(Math.max(0, i - 5), i)
        .map((t) => t.piece)
        .join('');
    return {
      position: i,
      expected: x && { id: x.id, piece: x.piece },
      got: y && { id: y.id, piece: y.piece },
      generated: i >= Math.min(a.promptLength, b.promptLength),
      context: around(a),
    };
  }
  return undefined;
}

export function compareCells(expected: Notebook, actual: Notebook): CellVerdict[] {
  const verdicts: CellVerdict[] = [];
  expected.cells.forEach((cell, index) => {
    if (cell.cell_type !== 'code') return;
    const tags = cell.metadata.tags ?? [];
    const got = actual.cells[index];
    if (tags.includes(TAGS.skip)) return verdicts.push({ index, status: 'skipped' });
    if (!got || source(got) !== source(cell))
      return verdicts.push({ index, status: 'failed', detail: 'the cell source differs between the notebooks' });
    const err = hasError(got);
    if (tags.includes(TAGS.error)) {
      return verdicts.push(
        err
          ? { index, status: 'lax-ok', detail: `failed as expected: ${err.ename}` }
          : { index, status: 'failed', detail: `tagged ${TAGS.error} but ran without error` },
      );
    }
    const expErr = hasError(cell);
    if (err && !expErr) return verdicts.push({ index, status: 'failed', detail: `${err.ename}: ${err.evalue}` });
    if (tags.includes(TAGS.lax)) return verdicts.push({ index, status: 'lax-ok' });
    const a = tokensOf(cell);
    const b = tokensOf(got);
    if (!a.length && !b.length) return verdicts.push({ index, status: 'no-tokens' });
    if (a.length !== b.length)
      return verdicts.push({ index, status: 'differs', detail: `${a.length} tokens output(s) saved, ${b.length} now` });
    for (let k = 0; k < a.length; k++) {
      const d = firstDivergence(a[k], b[k]);
      if (d) {
        const params = a[k].params.seed !== b[k].params.seed ? ` (seed ${a[k].params.seed} → ${b[k].params.seed})` : '';
        const model =
          a[k].model.hash !== b[k].model.hash
            ? ` (model ${a[k].model.hash.slice(0, 12)} → ${b[k].model.hash.slice(0, 12)})`
            : '';
        return verdicts.push({
          index,
          status: 'differs',
          divergence: d,
          detail: `${params}${model}`.trim() || undefined,
        });
      }
    }
    verdicts.push({ index, status: 'same' });
  });
  return verdicts;
}

export function formatReport(title: string, verdicts: CellVerdict[]): string {
  const lines = [title, ''];
  for (const v of verdicts) {
    const head = `cell ${v.index}: ${v.status}`;
    if (v.divergence) {
      const d = v.divergence;
      const show = (t?: { id: number; piece: string }) => (t ? `${t.id} ${JSON.stringify(t.piece)}` : '(end)');
      lines.push(
        `${head} at token ${d.position} (${d.generated ? 'generated' : 'prompt'}): expected ${show(d.expected)}, got ${show(d.got)}; after …${JSON.stringify(d.context)}${v.detail ? ` ${v.detail}` : ''}`,
      );
    } else lines.push(v.detail ? `${head}: ${v.detail}` : head);
  }
  const bad = verdicts.filter((v) => v.status === 'differs' || v.status === 'failed').length;
  lines.push(
    '',
    bad
      ? `FAIL: ${bad} cell(s) differ`
      : `OK: ${verdicts.filter((v) => v.status === 'same').length} cell(s) reproduced token for token`,
  );
  return lines.join('\n') + '\n';
}

export interface VerifyArgs {
  notebook: string;
  against?: string;
  update?: boolean;
  model?: string;
  outDir?: string;
  kernelArgv?: string[];
  log?: (s: string) => void;
}

export interface VerifyResult {
  ok: boolean;
  verdicts: CellVerdict[];
  reportPath: string;
  executedPath?: string;
}

export async function verify(a: VerifyArgs): Promise<VerifyResult> {
  const log = a.log ?? ((s: string) => process.stdout.write(s));
  const nbPath = resolve(a.notebook);
  const expected = readNotebook(nbPath);
  const outDir = resolve(a.outDir ?? dirname(nbPath));
  mkdirSync(outDir, { recursive: true });
  const stem = basename(nbPath).replace(/\.ipynb$/, '');
  const reportPath = join(outDir, `${stem}.verify.txt`);
  if (a.against) {
    const actual = readNotebook(resolve(a.against));
    const verdicts = compareCells(expected, actual);
    const report = formatReport(`verify: ${a.notebook} vs ${a.against} (no execution)`, verdicts);
    writeFileSync(reportPath, report);
    log(report);
    return { ok: !verdicts.some((v) => v.status === 'differs' || v.status === 'failed'), verdicts, reportPath };
  }
  const script = kernelScriptPath();
  if (!a.kernelArgv && !existsSync(script)) throw new Error(`kernel bundle ${script} missing; run npm run build`);
  const argv = a.kernelArgv ?? [
    process.execPath,
    script,
    ...(a.model ? ['--model', resolve(a.model)] : []),
    '-f',
    '{connection_file}',
  ];
  const client = await KernelClient.launch(argv, { cwd: dirname(nbPath) });
  let actual: Notebook;
  try {
    ({ nb: actual } = await executeNotebook(client, expected, {
      skipTag: TAGS.skip,
      onCell: (r) => log(`  cell ${r.index}: ${r.status} (${r.ms.toFixed(0)} ms)\n`),
    }));
  } finally {
    await client.shutdown();
  }
  const executedPath = join(outDir, `${stem}.verified.ipynb`);
  writeNotebook(executedPath, actual);
  const verdicts = compareCells(expected, actual);
  const report = formatReport(`verify: ${a.notebook} (re-executed: ${executedPath})`, verdicts);
  writeFileSync(reportPath, report);
  log(report);
  const ok = !verdicts.some((v) => v.status === 'differs' || v.status === 'failed');
  if (a.update) {
    writeNotebook(nbPath, actual);
    log(`--update: wrote the new outputs to ${a.notebook}\n`);
  }
  return { ok: ok || !!a.update, verdicts, reportPath, executedPath };
}

/** CLI entry for `anygpt verify …`; returns the exit code (0 reproduced, 1 mismatch, 2 usage/error). */
export async function runVerify(args: string[]): Promise<number> {
  const a: VerifyArgs = { notebook: '' };
  for (let i = 0; i < args.length; i++) {
    const x = args[i];
    if (x === '--update') a.update = true;
    else if (x === '--against') a.against = args[++i];
    else if (x === '--model') a.model = args[++i];
    else if (x === '--out') a.outDir = args[++i];
    else if (!x.startsWith('-') && !a.notebook) a.notebook = x;
    else {
      process.stderr.write(`anygpt verify: unknown argument ${x}\n`);
      return 2;
    }
  }
  if (!a.notebook) {
    process.stderr.write(
      'usage: anygpt verify NOTEBOOK.ipynb [--model DIR] [--update] [--out DIR] | NOTEBOOK.ipynb --against OTHER.ipynb\n',
    );
    return 2;
  }
  try {
    return (await verify(a)).ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`anygpt verify: ${(e as Error).message}\n`);
    return 2;
  }
}
