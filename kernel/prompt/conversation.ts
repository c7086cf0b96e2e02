/**
 * Chat history kept across cells. The rule users can predict: a cell's context is the turns *before
 * its own turn*. A cell identified by `cellId` owns one turn; re-running it replaces that turn in place
 * (no duplicate), so Run All and re-runs give the same context. Cells without an id append.
 */
import type { ChatTurn } from './templates';

export interface Turn extends ChatTurn {
  cellId?: string;
  /** Execution count that produced the turn, for display. */
  executionCount: number;
}

export class Conversation {
  private turns: Turn[] = [];

  get length(): number {
    return this.turns.length;
  }

  all(): readonly Turn[] {
    return this.turns;
  }

  /** The turns a cell sees as context: everything before its own turn, or everything if it has none yet. */
  contextFor(cellId?: string): Turn[] {
    const i = cellId === undefined ? -1 : this.turns.findIndex((t) => t.cellId === cellId);
    return i < 0 ? [...this.turns] : this.turns.slice(0, i);
  }

  /** Record a completed turn: replace the cell's own turn if it has one, else append. */
  commit(turn: Turn): void {
    const i = turn.cellId === undefined ? -1 : this.turns.findIndex((t) => t.cellId === turn.cellId);
    if (i < 0) this.turns.push(turn);
    else this.turns[i] = turn;
  }

  reset(): void {
    this.turns = [];
  }
}
