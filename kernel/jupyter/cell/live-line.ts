/**
 * A cell's one live status display: shown once (display_data), then replaced in place (update_display_data)
 * by each stage in turn: the model load's progress, the streamed generation, decode progress, the summary.
 * Timings never go into its text; they stay in the outputs' metadata.
 */
import type { MimeBundle } from '../mime-bundles';
import type { Emit } from './outcome';

/** What the line shows now: only the model load's progress, or a later stage that owns it. */
export type LineStage = 'load' | 'cell';

export class LiveLine {
  private shownAs?: LineStage;

  constructor(
    private readonly emit: Emit,
    readonly id: string,
  ) {}

  get shown(): boolean {
    return this.shownAs !== undefined;
  }

  /** The stage whose text the line shows (undefined: nothing shown yet). */
  get stage(): LineStage | undefined {
    return this.shownAs;
  }

  show(data: MimeBundle, metadata: Record<string, unknown> = {}, stage: LineStage = 'cell'): void {
    if (this.shownAs) this.emit.update(data, metadata, this.id);
    else this.emit.display(data, metadata, this.id);
    this.shownAs = stage;
  }

  /**
   * A cell whose line showed only the model load (%tokens, %voice, a failed load): empty it, so no "loading
   * model" bar stays in the saved notebook. Empty text rather than empty data: front-ends render `{}` as an
   * "unrenderable output" notice.
   */
  clearLoad(metadata: Record<string, unknown> = {}): void {
    if (this.shownAs === 'load') this.show({ 'text/plain': '' }, metadata, 'cell');
  }
}
