/**
 * A cell's media references → codes: a file is encoded off the main thread, `out:N` / `out:last` reuses
 * the codes an earlier cell of this kernel session produced (kept in `MediaOutputs`).
 */
import { PromptError, type MediaCodes, type MediaRef } from '../../prompt';
import type { Backend, EncodedMedia } from '../backend';
import { checkFile, fileError, resolvePath } from './files';
import { Interrupted, isAbort, type CellEmit } from './outcome';

/** The media codes of earlier cells, by execution count, for `out:N`. */
export class MediaOutputs {
  private readonly byCell = new Map<number, MediaCodes[]>();
  private last?: number;

  /** Execution counts whose media can be reused with out:N (for completion). */
  cells(): number[] {
    return [...this.byCell.keys()];
  }

  remember(executionCount: number, media: MediaCodes[]): void {
    if (!media.length) return;
    this.byCell.set(executionCount, media);
    this.last = executionCount;
    // Bound memory: keep the media codes of the last 100 cells that produced any.
    if (this.byCell.size > 100) this.byCell.delete(this.byCell.keys().next().value!);
  }

  /** The codes `ref` (an out:N reference) names; a located error when there are none. */
  lookup(ref: MediaRef): MediaCodes {
    const n = ref.output === 'last' ? this.last : ref.output;
    const media = n === undefined ? undefined : this.byCell.get(n);
    if (!media) {
      const have = this.cells().join(', ') || 'none yet';
      throw new PromptError(
        `no media output from cell ${ref.output === 'last' ? '(last)' : `[${ref.output}]`} in this kernel session (cells with media: ${have})`,
        ref.line,
        ref.col,
        ref.length,
      );
    }
    const m = media.find((x) => x.modality === ref.modality);
    if (!m)
      throw new PromptError(
        `cell [${n}] produced no ${ref.modality} (it has ${media.map((x) => x.modality).join(', ')})`,
        ref.line,
        ref.col,
        ref.length,
      );
    return m;
  }
}

/** Missing files fail fast, before a model load. */
export async function checkMediaFiles(refs: readonly MediaRef[], cwd: string): Promise<void> {
  for (const ref of refs)
    if (ref.output === undefined) await checkFile(resolvePath(cwd, ref.target), ref.target, cwd, ref);
}

export async function encodeMediaFile(
  ref: MediaRef,
  cwd: string,
  backend: Backend,
  emit: CellEmit,
  signal?: AbortSignal,
  maxSeconds?: number,
): Promise<MediaCodes> {
  const path = resolvePath(cwd, ref.target);
  // The encoder reads the file itself, off the main thread and only as far as it needs.
  let r: EncodedMedia;
  try {
    r = await backend.encodeMedia(ref.modality, { path }, { signal, maxSeconds });
  } catch (e) {
    if (isAbort(e)) throw new Interrupted(`interrupted while encoding ${ref.target}`);
    throw (
      fileError(e, path, ref.target, cwd, ref) ??
      new PromptError(
        `cannot use ${ref.target} as ${ref.modality}: ${(e as Error).message}`,
        ref.line,
        ref.col,
        ref.length,
      )
    );
  }
  for (const w of r.warnings ?? []) emit.warn(`line ${ref.line}, col ${ref.col}: ${w}`);
  const { warnings: _, ...codes } = r;
  return codes as MediaCodes;
}
