/**
 * nbformat 4's structural rules (the ones its JSON schema states), checked before anything runs so that a broken
 * notebook is refused with the file, the cell and the field named, instead of failing halfway through a run.
 */
import type { Notebook } from './notebook';

export class NotebookError extends Error {}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isMultiline = (v: unknown) =>
  typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string'));
const isCount = (v: unknown) => v === null || (Number.isInteger(v) && (v as number) >= 0);
const CELL_ID = /^[a-zA-Z0-9-_]{1,64}$/;

const CELL_KEYS: Record<string, readonly string[]> = {
  code: ['id', 'cell_type', 'metadata', 'source', 'outputs', 'execution_count'],
  markdown: ['id', 'cell_type', 'metadata', 'source', 'attachments'],
  raw: ['id', 'cell_type', 'metadata', 'source', 'attachments'],
};
const OUTPUT_KEYS: Record<string, { required: readonly string[]; optional?: readonly string[] }> = {
  stream: { required: ['output_type', 'name', 'text'] },
  display_data: { required: ['output_type', 'data', 'metadata'] },
  execute_result: { required: ['output_type', 'execution_count', 'data', 'metadata'] },
  error: { required: ['output_type', 'ename', 'evalue', 'traceback'] },
};

function checkOutput(o: unknown, where: string): void {
  if (!isObject(o)) throw new NotebookError(`${where}: not an object`);
  const rule = OUTPUT_KEYS[String(o.output_type)];
  if (!rule) throw new NotebookError(`${where}: unknown output_type ${JSON.stringify(o.output_type)}`);
  for (const k of rule.required) if (!(k in o)) throw new NotebookError(`${where} (${o.output_type}): missing "${k}"`);
  for (const k of Object.keys(o))
    if (!rule.required.includes(k)) throw new NotebookError(`${where} (${o.output_type}): unexpected key "${k}"`);
  if ('data' in o && !isObject(o.data)) throw new NotebookError(`${where}: "data" must be an object`);
  if ('metadata' in o && !isObject(o.metadata)) throw new NotebookError(`${where}: "metadata" must be an object`);
  if ('execution_count' in o && !isCount(o.execution_count))
    throw new NotebookError(`${where}: "execution_count" must be a non-negative integer or null`);
  if (o.output_type === 'stream' && (typeof o.name !== 'string' || !isMultiline(o.text)))
    throw new NotebookError(`${where}: a stream needs a string "name" and "text"`);
  if (
    o.output_type === 'error' &&
    (typeof o.ename !== 'string' ||
      typeof o.evalue !== 'string' ||
      !Array.isArray(o.traceback) ||
      !o.traceback.every((t) => typeof t === 'string'))
  )
    throw new NotebookError(`${where}: an error needs string "ename", "evalue" and a list of strings "traceback"`);
}

function checkCell(c: unknown, i: number, minor: number, ids: Set<string>): void {
  const at = `cell ${i}`;
  if (!isObject(c)) throw new NotebookError(`${at}: not an object`);
  const keys = CELL_KEYS[String(c.cell_type)];
  if (!keys) throw new NotebookError(`${at}: unknown cell_type ${JSON.stringify(c.cell_type)}`);
  const where = typeof c.id === 'string' ? `${at} (id ${c.id})` : at;
  const required = keys.filter((k) => k !== 'attachments' && (k !== 'id' || minor >= 5));
  for (const k of required) if (!(k in c)) throw new NotebookError(`${where}: missing "${k}"`);
  for (const k of Object.keys(c)) if (!keys.includes(k)) throw new NotebookError(`${where}: unexpected key "${k}"`);
  if ('id' in c) {
    if (typeof c.id !== 'string' || !CELL_ID.test(c.id))
      throw new NotebookError(`${where}: "id" must be 1–64 letters, digits, "-" or "_"`);
    if (ids.has(c.id)) throw new NotebookError(`${where}: duplicate cell id`);
    ids.add(c.id);
  }
  if (!isObject(c.metadata)) throw new NotebookError(`${where}: "metadata" must be an object`);
  const tags = c.metadata.tags;
  if (
    tags !== undefined &&
    !(Array.isArray(tags) && tags.every((t) => typeof t === 'string') && new Set(tags).size === tags.length)
  )
    throw new NotebookError(`${where}: metadata.tags must be a list of distinct strings`);
  if (!isMultiline(c.source)) throw new NotebookError(`${where}: "source" must be a string or a list of strings`);
  if (c.cell_type !== 'code') return;
  if (!isCount(c.execution_count))
    throw new NotebookError(`${where}: "execution_count" must be a non-negative integer or null`);
  if (!Array.isArray(c.outputs)) throw new NotebookError(`${where}: "outputs" must be a list`);
  c.outputs.forEach((o, k) => checkOutput(o, `${where} output ${k}`));
}

/** `value` (parsed JSON) as a Notebook, or a NotebookError naming `file` and the first offending cell and field. */
export function validateNotebook(value: unknown, file: string): Notebook {
  try {
    if (!isObject(value)) throw new NotebookError('not a JSON object');
    for (const k of ['nbformat', 'nbformat_minor', 'metadata', 'cells'])
      if (!(k in value)) throw new NotebookError(`missing "${k}"`);
    for (const k of Object.keys(value))
      if (!['nbformat', 'nbformat_minor', 'metadata', 'cells'].includes(k))
        throw new NotebookError(`unexpected top-level key "${k}"`);
    if (value.nbformat !== 4) throw new NotebookError(`nbformat ${JSON.stringify(value.nbformat)}; only 4 is read`);
    const minor = value.nbformat_minor;
    if (!Number.isInteger(minor) || (minor as number) < 0)
      throw new NotebookError('"nbformat_minor" must be a non-negative integer');
    if (!isObject(value.metadata)) throw new NotebookError('"metadata" must be an object');
    const ks = value.metadata.kernelspec;
    if (ks !== undefined && !(isObject(ks) && typeof ks.name === 'string' && typeof ks.display_name === 'string'))
      throw new NotebookError('metadata.kernelspec needs string "name" and "display_name"');
    const li = value.metadata.language_info;
    if (li !== undefined && !(isObject(li) && typeof li.name === 'string'))
      throw new NotebookError('metadata.language_info needs a string "name"');
    if (!Array.isArray(value.cells)) throw new NotebookError('"cells" must be a list');
    const ids = new Set<string>();
    value.cells.forEach((c, i) => checkCell(c, i, minor as number, ids));
    return value as unknown as Notebook;
  } catch (e) {
    if (e instanceof NotebookError) throw new NotebookError(`${file}: not a valid nbformat 4 notebook: ${e.message}`);
    throw e;
  }
}
