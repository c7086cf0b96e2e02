/**
 * In-memory input history for history_request (tail, range, search). Lines are execution counts; the
 * session number is 1 for this kernel process (ipykernel numbers sessions in a SQLite file; we keep none,
 * so a restart starts an empty history, which the protocol allows).
 */
export type HistoryEntry = [number, number, string] | [number, number, [string, string | null]];

interface Row {
  line: number;
  input: string;
  output: string | null;
}

const SESSION = 1;
const MAX_ROWS = 10_000;

export class History {
  private rows: Row[] = [];

  add(line: number, input: string): void {
    this.rows.push({ line, input, output: null });
    if (this.rows.length > MAX_ROWS) this.rows.splice(0, this.rows.length - MAX_ROWS);
  }

  setOutput(line: number, output: string): void {
    const r = this.rows.find((x) => x.line === line);
    if (r) r.output = output;
  }

  query(c: {
    hist_access_type?: string;
    output?: boolean;
    n?: number;
    session?: number;
    start?: number;
    stop?: number;
    pattern?: string;
    unique?: boolean;
  }): HistoryEntry[] {
    let rows: Row[];
    switch (c.hist_access_type) {
      case 'tail':
        rows = c.n ? this.rows.slice(-c.n) : [...this.rows];
        break;
      case 'range': {
        if (c.session !== undefined && c.session !== SESSION && c.session !== 0) return [];
        const start = c.start ?? 0;
        const stop = c.stop ?? Infinity;
        rows = this.rows.filter((r) => r.line >= start && r.line < stop);
        break;
      }
      case 'search': {
        const re = globToRegExp(c.pattern ?? '*');
        rows = this.rows.filter((r) => re.test(r.input));
        if (c.unique) {
          const seen = new Set<string>();
          rows = rows
            .reverse()
            .filter((r) => !seen.has(r.input) && seen.add(r.input))
            .reverse();
        }
        if (c.n) rows = rows.slice(-c.n);
        break;
      }
      default:
        rows = [];
    }
    return rows.map((r): HistoryEntry =>
      c.output ? [SESSION, r.line, [r.input, r.output]] : [SESSION, r.line, r.input],
    );
  }
}

function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[\\s\\S]*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}
