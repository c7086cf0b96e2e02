/**
 * nbformat 4 notebooks: read, execute cell by cell through a KernelClient (the way nbclient does), and
 * fold iopub messages into saved outputs (update_display_data replaces the output with that display_id).
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../common/atomic-write';
import type { KernelClient } from './kernel-client';
import { LANGUAGE_INFO } from './language-info';
import { NotebookError, validateNotebook } from './notebook-schema';
import type { Message } from './wire';
import { isMessageType } from '../../common/jupyter-messages';

export interface NbOutput {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error';
  [k: string]: unknown;
}

export interface NbCell {
  id?: string;
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  metadata: { tags?: string[]; [k: string]: unknown };
  outputs?: NbOutput[];
  execution_count?: number | null;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NbCell[];
}

export const source = (c: NbCell) => (Array.isArray(c.source) ? c.source.join('') : c.source);

/** Read and validate (nbformat 4's rules); every error names the file, and the cell where there is one. */
export function readNotebook(path: string): Notebook {
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new NotebookError(`${path}: not a notebook (invalid JSON: ${(e as Error).message})`);
  }
  return validateNotebook(value, path);
}

/** Through a temporary file and a rename: a failed write leaves the previous notebook whole. */
export function writeNotebook(path: string, nb: Notebook): void {
  writeFileAtomic(path, JSON.stringify(nb, null, 1) + '\n');
}

/** iopub messages of one execution → nbformat outputs. */
export function foldOutputs(msgs: Message[]): NbOutput[] {
  const outs: NbOutput[] = [];
  const byDisplay = new Map<string, NbOutput>();
  for (const m of msgs) {
    if (isMessageType(m, 'stream')) {
      const c = m.content;
      const last = outs[outs.length - 1];
      if (last && last.output_type === 'stream' && last.name === c.name) last.text = String(last.text) + String(c.text);
      else outs.push({ output_type: 'stream', name: c.name, text: c.text });
    } else if (isMessageType(m, 'display_data')) {
      const c = m.content;
      const o: NbOutput = { output_type: 'display_data', data: c.data, metadata: c.metadata ?? {} };
      outs.push(o);
      const id = c.transient?.display_id;
      if (id) byDisplay.set(id, o);
    } else if (isMessageType(m, 'update_display_data')) {
      const c = m.content;
      const id = c.transient?.display_id;
      const o = id ? byDisplay.get(id) : undefined;
      if (o) {
        o.data = c.data;
        o.metadata = c.metadata ?? {};
      }
    } else if (isMessageType(m, 'execute_result')) {
      const c = m.content;
      outs.push({
        output_type: 'execute_result',
        execution_count: c.execution_count,
        data: c.data,
        metadata: c.metadata ?? {},
      });
    } else if (isMessageType(m, 'error')) {
      const c = m.content;
      outs.push({ output_type: 'error', ename: c.ename, evalue: c.evalue, traceback: c.traceback });
    } else if (isMessageType(m, 'clear_output')) {
      outs.length = 0;
    }
  }
  return outs;
}

export interface CellRun {
  index: number;
  status: string;
  ms: number;
  skipped?: boolean;
}

/** Execute every code cell in order (cells tagged skipTag are left as they are). Returns a new notebook. */
export async function executeNotebook(
  client: KernelClient,
  nb: Notebook,
  opts: { skipTag?: string; timeoutMs?: number; onCell?: (r: CellRun) => void } = {},
): Promise<{ nb: Notebook; runs: CellRun[] }> {
  const out: Notebook = JSON.parse(JSON.stringify(nb));
  const runs: CellRun[] = [];
  for (const [index, cell] of out.cells.entries()) {
    if (cell.cell_type !== 'code') continue;
    if (opts.skipTag && cell.metadata.tags?.includes(opts.skipTag)) {
      const r = { index, status: 'skipped', ms: 0, skipped: true };
      runs.push(r);
      opts.onCell?.(r);
      continue;
    }
    const r = await client.execute(source(cell), {
      metadata: { cellId: cell.id },
      timeoutMs: opts.timeoutMs,
      stopOnError: false,
    });
    cell.outputs = foldOutputs(r.outputs);
    cell.execution_count = (r.reply.content.execution_count as number | undefined) ?? null;
    const run = { index, status: String(r.reply.content.status), ms: r.ms };
    runs.push(run);
    opts.onCell?.(run);
  }
  out.metadata.kernelspec = { name: 'anygpt', display_name: 'AnyGPT', language: 'anygpt' };
  out.metadata.language_info = { ...LANGUAGE_INFO };
  return { nb: out, runs };
}
