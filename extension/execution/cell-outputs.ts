/**
 * Jupyter iopub messages → notebook outputs, as plain data (no `vscode`), so the rules are unit
 * tested. The controller turns each returned operation into one NotebookCellExecution call, which
 * keeps renderers from re-rendering outputs that did not change.
 *
 * Output metadata follows the Jupyter extension's shape ({outputType, metadata, executionCount,
 * transient}) because VS Code's built-in .ipynb serializer reads exactly that when saving.
 */
import { forEditor } from './editor-wording';
import { isMessageType, type ContentMap, type MsgType } from '../../common/jupyter-messages';
import type { Message } from '../../common/jupyter-wire';

export const STDOUT = 'application/vnd.code.notebook.stdout';
export const STDERR = 'application/vnd.code.notebook.stderr';
export const ERROR = 'application/vnd.code.notebook.error';

export interface OutputItemData {
  mime: string;
  data: Uint8Array;
}

export interface OutputData {
  items: OutputItemData[];
  metadata: {
    outputType: 'display_data' | 'execute_result' | 'stream' | 'error';
    metadata?: Record<string, unknown>;
    executionCount?: number;
    transient?: { display_id?: string };
  };
}

/** The iopub message types that make or change outputs. */
const OUTPUT_TYPES = [
  'stream',
  'display_data',
  'update_display_data',
  'execute_result',
  'error',
  'clear_output',
] as const satisfies readonly MsgType[];
type OutputMsgType = (typeof OUTPUT_TYPES)[number];

/** One output message as [msg_type, content]: a union discriminated by its first element. */
export type OutputMessage = { [T in OutputMsgType]: [msgType: T, content: ContentMap[T]] }[OutputMsgType];

export type OutputOp =
  { kind: 'append'; output: OutputData } | { kind: 'replace'; index: number; output: OutputData } | { kind: 'clear' };

/**
 * The same visible result in fewer edits: everything before the last clear is dropped, and of several replaces of
 * one output only the last is kept (in its place). Used to batch ops that arrived while VS Code was still applying
 * earlier ones: a fast stream otherwise queues one edit per iopub message, and the cell cannot end until the queue
 * drains.
 */
export function compactOps(ops: readonly OutputOp[]): OutputOp[] {
  const lastClear = ops.map((o) => o.kind).lastIndexOf('clear');
  const tail = lastClear >= 0 ? ops.slice(lastClear) : ops;
  const seen = new Set<number>();
  const kept: OutputOp[] = [];
  for (let i = tail.length - 1; i >= 0; i--) {
    const op = tail[i];
    if (op.kind === 'replace') {
      if (seen.has(op.index)) continue;
      seen.add(op.index);
    }
    kept.push(op);
  }
  return kept.reverse();
}

const enc = new TextEncoder();

/** Custom (vnd.*) mimes first so our renderers win, text/plain last as the universal fallback. */
export function orderMimes(mimes: string[]): string[] {
  const rank = (m: string) =>
    m.startsWith('application/vnd.') ? 0 : m === 'text/plain' ? 3 : m.startsWith('image/') ? 1 : 2;
  return [...mimes].sort((a, b) => rank(a) - rank(b));
}

export function mimeBytes(mime: string, value: unknown): Uint8Array {
  if (mime.startsWith('image/') && mime !== 'image/svg+xml' && typeof value === 'string')
    return Uint8Array.from(Buffer.from(value, 'base64'));
  if (typeof value === 'string') return enc.encode(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return enc.encode(value.join(''));
  return enc.encode(JSON.stringify(value));
}

export function bundleToItems(data: Record<string, unknown>): OutputItemData[] {
  return orderMimes(Object.keys(data)).map((mime) => ({ mime, data: mimeBytes(mime, data[mime]) }));
}

// eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
const ANSI = /\u001b\[[0-9;]*m/g;

/** Per-execution output state: which output a display_id lives in, and the open stream output. */
export class CellOutputs {
  private outputs: OutputData[] = [];
  private displays = new Map<string, number[]>();
  private clearPending = false;

  get current(): readonly OutputData[] {
    return this.outputs;
  }

  constructor(private readonly executionCount: () => number | undefined = () => undefined) {}

  /**
   * Apply one iopub message from our kernel (one that makes no output returns no operations). Its content is
   * read as its msg_type's (the wire decoder has checked it is an object); missing fields still get defaults.
   */
  applyMessage(msg: Message<unknown>): OutputOp[] {
    for (const type of OUTPUT_TYPES)
      if (isMessageType(msg, type)) return this.apply(...([type, msg.content] as OutputMessage));
    return [];
  }

  /** Apply one output message; returns the operations to mirror on the notebook. */
  apply(...msg: OutputMessage): OutputOp[] {
    const [msgType, content] = msg;
    const ops: OutputOp[] = [];
    if (msgType === 'clear_output') {
      if (content.wait) this.clearPending = true;
      else ops.push(...this.clear());
      return ops;
    }
    const out = this.toOutput(msg);
    if (this.clearPending && msgType !== 'update_display_data') {
      this.clearPending = false;
      ops.push(...this.clear());
    }
    if (msgType === 'update_display_data') {
      const id = content.transient?.display_id;
      for (const index of (id && this.displays.get(id)) || []) {
        this.outputs[index] = {
          ...out,
          metadata: { ...out.metadata, outputType: this.outputs[index].metadata.outputType },
        };
        ops.push({ kind: 'replace', index, output: this.outputs[index] });
      }
      return ops;
    }
    if (msgType === 'stream') {
      const last = this.outputs[this.outputs.length - 1];
      const mime = out.items[0].mime;
      if (last?.metadata.outputType === 'stream' && last.items[0].mime === mime) {
        // Streams merge into the previous stream output, as in Jupyter.
        const merged: OutputData = {
          items: [{ mime, data: concat(last.items[0].data, out.items[0].data) }],
          metadata: last.metadata,
        };
        this.outputs[this.outputs.length - 1] = merged;
        ops.push({ kind: 'replace', index: this.outputs.length - 1, output: merged });
        return ops;
      }
    }
    this.outputs.push(out);
    const id = msgType === 'stream' || msgType === 'error' ? undefined : content.transient?.display_id;
    if (id) this.displays.set(id, [...(this.displays.get(id) ?? []), this.outputs.length - 1]);
    ops.push({ kind: 'append', output: out });
    return ops;
  }

  private clear(): OutputOp[] {
    this.outputs = [];
    this.displays.clear();
    return [{ kind: 'clear' }];
  }

  private toOutput(msg: Exclude<OutputMessage, [msgType: 'clear_output', content: unknown]>): OutputData {
    const [msgType, c] = msg;
    switch (msgType) {
      case 'stream': {
        const mime = c.name === 'stderr' ? STDERR : STDOUT;
        return { items: [{ mime, data: enc.encode(String(c.text ?? '')) }], metadata: { outputType: 'stream' } };
      }
      case 'display_data':
      case 'update_display_data':
      case 'execute_result': {
        const outputType = msgType === 'execute_result' ? 'execute_result' : 'display_data';
        return {
          items: bundleToItems(c.data ?? {}),
          metadata: {
            outputType,
            metadata: c.metadata ?? {},
            ...(msgType === 'execute_result' ? { executionCount: c.execution_count ?? this.executionCount() } : {}),
            ...(c.transient && Object.keys(c.transient).length ? { transient: c.transient } : {}),
          },
        };
      }
      case 'error': {
        const tb = c.traceback ?? [];
        const payload = {
          name: String(c.ename ?? 'Error'),
          message: forEditor(String(c.evalue ?? '')),
          stack: forEditor(tb.join('\n').replace(ANSI, '')),
        };
        return {
          items: [{ mime: ERROR, data: enc.encode(JSON.stringify(payload)) }],
          metadata: { outputType: 'error' },
        };
      }
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
