/**
 * `anygpt verify notebook.ipynb`: re-execute a notebook through the kernel and compare, cell by cell,
 * the token-id sequences of the saved tokens outputs with the new ones. Reports the *first* diverging
 * token per cell (position, expected vs got, both pieces), always prints the report, writes it and the
 * re-executed notebook next to the notebook (or in --out), and exits non-zero whenever the report says FAIL.
 *
 *   anygpt verify NB.ipynb [--model DIR] [--update] [--force] [--out DIR]
 *   anygpt verify NB.ipynb --against OTHER.ipynb        (compare two saved notebooks; nothing runs)
 *
 * Before anything runs the notebook is validated (nbformat 4's rules) and its kernelspec checked: a notebook of
 * another kernel (python3, …) is refused unless --force. --update writes back only the cells that ran cleanly
 * (and anygpt-verify-error cells that failed as tagged); a cell that errored keeps its saved outputs. Every file
 * is written through a temporary file and a rename, so a failed write leaves the previous one whole.
 *
 * Cell tags: anygpt-verify-skip (not run, not compared), anygpt-verify-lax (must run without error; tokens
 * not compared), anygpt-verify-error (must fail).
 */
import { accessSync, constants, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write';
import { MIME } from '../../common/generation';
import type { TokensOutput } from '../../common/output-payloads';
import { KernelClient } from './kernel-client';
import { LANGUAGE_INFO } from './language-info';
import { executeNotebook, readNotebook, source, writeNotebook, type NbCell, type Notebook } from './notebook';
import { kernelScriptPath } from './paths';

export const TAGS = { skip: 'anygpt-verify-skip', lax: 'anygpt-verify-lax', error: 'anygpt-verify-error' } as const;

export interface CellVerdict {
  index: number;
  /** unrecorded: the saved cell has no outputs at all (never run), so there is nothing to compare. */
  status: 'same' | 'differs' | 'skipped' | 'lax-ok' | 'no-tokens' | 'unrecorded' | 'failed';
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
    if (!cell.outputs?.length && cell.execution_count == null) return verdicts.push({ index, status: 'unrecorded' });
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
  const bad = verdicts.filter(isFailure).length;
  const unrecorded = verdicts.filter((v) => v.status === 'unrecorded').length;
  lines.push(
    '',
    bad
      ? `FAIL: ${bad} cell(s) differ or failed`
      : `OK: ${verdicts.filter((v) => v.status === 'same').length} cell(s) reproduced token for token` +
          (unrecorded ? ` (${unrecorded} cell(s) had no saved outputs to compare)` : ''),
  );
  return lines.join('\n') + '\n';
}

const isFailure = (v: CellVerdict) => v.status === 'differs' || v.status === 'failed';

/** Why `nb` belongs to another kernel, or undefined when it is ours (or names no kernel at all). */
export function foreignKernel(nb: Notebook): string | undefined {
  const ks = nb.metadata.kernelspec as { name?: string; language?: string } | undefined;
  const li = nb.metadata.language_info as { name?: string } | undefined;
  if (ks && ks.language !== LANGUAGE_INFO.name && !/^anygpt/.test(String(ks.name)))
    return `its kernelspec is ${JSON.stringify(ks.name)}${ks.language ? ` (language ${ks.language})` : ''}`;
  if (li && li.name !== LANGUAGE_INFO.name) return `its language is ${JSON.stringify(li.name)}`;
  return undefined;
}

/**
 * What --update writes: the saved notebook as it was, with the new outputs of the cells that ran cleanly (or failed
 * as tagged). Cells that errored keep their saved outputs; the notebook's metadata stays the user's.
 */
export function mergeUpdate(
  saved: Notebook,
  ran: Notebook,
  verdicts: CellVerdict[],
): { nb: Notebook; updated: number[]; kept: number[] } {
  const nb: Notebook = JSON.parse(JSON.stringify(saved));
  const updated: number[] = [];
  const kept: number[] = [];
  for (const v of verdicts) {
    if (v.status === 'skipped') continue;
    const got = ran.cells[v.index];
    const taggedError = (saved.cells[v.index].metadata.tags ?? []).includes(TAGS.error);
    const clean = taggedError ? v.status === 'lax-ok' : v.status !== 'failed' && !hasError(got);
    if (!clean) {
      kept.push(v.index);
      continue;
    }
    nb.cells[v.index].outputs = got.outputs;
    nb.cells[v.index].execution_count = got.execution_count;
    updated.push(v.index);
  }
  nb.metadata.kernelspec ??= ran.metadata.kernelspec;
  nb.metadata.language_info ??= ran.metadata.language_info;
  return { nb, updated, kept };
}

/** The folder a rename over `file` needs write access to; throws a clear error when it has none. */
function requireWritableFolder(file: string, why: string): void {
  const dir = dirname(existsSync(file) ? realpathSync(file) : file);
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new Error(
      `${why}: the folder ${dir} is not writable (${(e as NodeJS.ErrnoException).code}); nothing was run`,
      { cause: e },
    );
  }
}

export interface VerifyArgs {
  notebook: string;
  against?: string;
  update?: boolean;
  /** Run a notebook whose kernelspec names another kernel. */
  force?: boolean;
  model?: string;
  outDir?: string;
  kernelArgv?: string[];
  log?: (s: string) => void;
}

export interface VerifyResult {
  /** false whenever the report says FAIL (--update does not change that). */
  ok: boolean;
  verdicts: CellVerdict[];
  reportPath: string;
  executedPath?: string;
  /** Files that could not be written (the report was printed all the same). */
  writeErrors: string[];
}

export async function verify(a: VerifyArgs): Promise<VerifyResult> {
  const log = a.log ?? ((s: string) => process.stdout.write(s));
  const nbPath = resolve(a.notebook);
  const expected = readNotebook(nbPath);
  const foreign = foreignKernel(expected);
  if (foreign && !a.against && !a.force)
    throw new Error(
      `${a.notebook} is not an AnyGPT notebook: ${foreign}. verify would run its cells as AnyGPT prompts` +
        `${a.update ? ' and --update would replace their outputs' : ''}; pass --force to do it anyway`,
    );
  if (a.update) requireWritableFolder(nbPath, `cannot --update ${a.notebook}`);
  const outDir = resolve(a.outDir ?? dirname(nbPath));
  const stem = basename(nbPath).replace(/\.ipynb$/, '');
  const reportPath = join(outDir, `${stem}.verify.txt`);
  const writeErrors: string[] = [];
  // Print first, then write: a file that cannot be written must not cost the user the report.
  const save = (what: string, write: () => void) => {
    try {
      mkdirSync(dirname(what), { recursive: true });
      write();
    } catch (e) {
      writeErrors.push(what);
      log(`verify: could not write ${what}: ${(e as Error).message}\n`);
    }
  };
  if (a.against) {
    const actual = readNotebook(resolve(a.against));
    const verdicts = compareCells(expected, actual);
    const report = formatReport(`verify: ${a.notebook} vs ${a.against} (no execution)`, verdicts);
    log(report);
    save(reportPath, () => writeFileAtomic(reportPath, report));
    return { ok: !verdicts.some(isFailure), verdicts, reportPath, writeErrors };
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
  const verdicts = compareCells(expected, actual);
  const report = formatReport(`verify: ${a.notebook} (re-executed: ${executedPath})`, verdicts);
  log(report);
  save(executedPath, () => writeNotebook(executedPath, actual));
  save(reportPath, () => writeFileAtomic(reportPath, report));
  if (a.update) {
    const { nb, updated, kept } = mergeUpdate(expected, actual, verdicts);
    const list = (xs: number[]) => xs.join(', ');
    if (kept.length)
      log(
        `--update: kept the saved outputs of cell(s) ${list(kept)}: they failed (see above), so nothing of theirs is written\n`,
      );
    if (updated.length) {
      let wrote = false;
      save(nbPath, () => {
        writeNotebook(nbPath, nb);
        wrote = true;
      });
      if (wrote) log(`--update: wrote the new outputs of cell(s) ${list(updated)} to ${a.notebook}\n`);
    } else log(`--update: no cell ran cleanly; ${a.notebook} is unchanged\n`);
  }
  return { ok: !verdicts.some(isFailure), verdicts, reportPath, executedPath, writeErrors };
}

const VERIFY_USAGE =
  'usage: anygpt verify NOTEBOOK.ipynb [--model DIR] [--update] [--force] [--out DIR] | NOTEBOOK.ipynb --against OTHER.ipynb';

/** CLI entry for `anygpt verify …`; returns the exit code (0 reproduced, 1 the report says FAIL, 2 usage/error). */
export async function runVerify(args: string[]): Promise<number> {
  const a: VerifyArgs = { notebook: '' };
  for (let i = 0; i < args.length; i++) {
    const x = args[i];
    if (x === '--update') a.update = true;
    else if (x === '--force') a.force = true;
    else if (x === '--against') a.against = args[++i];
    else if (x === '--model') a.model = args[++i];
    else if (x === '--out') a.outDir = args[++i];
    else if (!x.startsWith('-') && !a.notebook) a.notebook = x;
    else {
      process.stderr.write(`anygpt verify: unknown argument ${x}\n${VERIFY_USAGE}\n`);
      return 2;
    }
  }
  if (!a.notebook) {
    process.stderr.write(`${VERIFY_USAGE}\n`);
    return 2;
  }
  // A fatal signal would skip every cleanup: turn it into process.exit, whose 'exit' hook stops the kernel this
  // process started and removes its connection file (it holds the HMAC key).
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`anygpt verify: ${sig}; stopping the kernel\n`);
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    const r = await verify(a);
    // 1 whenever the report says FAIL; 2 when it passed but a file could not be written.
    return !r.ok ? 1 : r.writeErrors.length ? 2 : 0;
  } catch (e) {
    process.stderr.write(`anygpt verify: ${(e as Error).message}\n`);
    return 2;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
