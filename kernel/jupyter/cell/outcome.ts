/**
 * How a cell talks back: `Emit` (display, update_display_data, stream) towards the protocol layer, the
 * warnings recorded along the way, and the `Outcome` that becomes the execute_reply.
 */
import { PromptError } from '../../prompt';
import type { MimeBundle } from '../mime-bundles';
import { LiveLine } from './live-line';

export interface Emit {
  display(data: MimeBundle, metadata: Record<string, unknown>, displayId?: string): void;
  update(data: MimeBundle, metadata: Record<string, unknown>, displayId: string): void;
  stream(name: 'stdout' | 'stderr', text: string): void;
}

export type Outcome =
  | { status: 'ok'; result?: { data: MimeBundle; metadata: Record<string, unknown> } }
  | { status: 'error'; ename: string; evalue: string; traceback: string[] };

/** The executor's view of Emit: warnings go to stderr as they happen and are recorded for the output metadata. */
export interface CellEmit extends Emit {
  readonly warnings: string[];
  warn(message: string): void;
  /** The cell's one live status display (model load, streamed text, decode progress, summary). */
  readonly status: LiveLine;
}

/** `statusId`: the display id of the cell's status line (unique per execution). */
export function withWarnings(emit: Emit, statusId = `anygpt-${Date.now().toString(36)}-status`): CellEmit {
  const warnings: string[] = [];
  return {
    status: new LiveLine(emit, statusId),
    display: (d, m, id) => emit.display(d, m, id),
    update: (d, m, id) => emit.update(d, m, id),
    stream: (n, t) => emit.stream(n, t),
    warnings,
    warn(message) {
      if (warnings.includes(message)) return;
      warnings.push(message);
      emit.stream('stderr', `warning: ${message}\n`);
    },
  };
}

export class Interrupted extends Error {
  override name = 'KeyboardInterrupt';
}

/** Between stages: an interrupt that arrived while a stage was finishing stops the cell before the next one. */
export function checkInterrupt(signal: AbortSignal, where: string): void {
  if (signal.aborted) throw new Interrupted(`interrupted ${where}`);
}

export function isAbort(e: unknown): boolean {
  return e instanceof Interrupted || (e instanceof Error && e.name === 'AbortError');
}

export function errorOutcome(e: unknown): Outcome {
  if (e instanceof PromptError) {
    return {
      status: 'error',
      ename: 'PromptError',
      evalue: e.located,
      traceback: [`\x1b[31mPromptError\x1b[0m: ${e.located}`],
    };
  }
  if (isAbort(e)) {
    const message = (e as Error).message;
    return {
      status: 'error',
      ename: 'KeyboardInterrupt',
      evalue: message,
      traceback: [`\x1b[31mKeyboardInterrupt\x1b[0m: ${message}`],
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const name = err.name && err.name !== 'Error' ? err.name : 'AnyGPTError';
  return { status: 'error', ename: name, evalue: err.message, traceback: [`\x1b[31m${name}\x1b[0m: ${err.message}`] };
}
