/** The text of %config, %history and the inspect "context" view: what the kernel session holds. */
import type { Turn } from '../../prompt';
import type { CellDefaults } from './plan';

export interface SessionState {
  defaults: CellDefaults;
  turns: readonly Turn[];
  modelName?: string;
  modelDir?: string;
  voicePath?: string;
  defaultVoiceName?: string;
}

/** %config's reply: the defaults after `set` was applied, the model, the voice and the conversation length. */
export function describeConfig(set: CellDefaults, s: SessionState): string {
  const rows = Object.entries(s.defaults).map(([k, v]) => `  ${k} = ${v === true ? 'on' : v === false ? 'off' : v}`);
  const lines = [
    Object.keys(set).length ? 'defaults updated:' : 'defaults (set with %config key=value):',
    ...(rows.length ? rows : ['  (none: model presets apply)']),
  ];
  lines.push(`model: ${s.modelName ?? '(not loaded)'} ${s.modelDir ?? ''}`.trimEnd());
  if (s.voicePath) lines.push(`voice: ${s.voicePath}`);
  else if (s.defaultVoiceName) lines.push(`voice: the model's default, ${s.defaultVoiceName} (%voice x.wav to change)`);
  lines.push(`conversation: ${s.turns.length} turn(s)`);
  return lines.join('\n');
}

/** A run of this many media tokens (`<👀12>`…) or more is shown as its first two and last codes with a count. */
const LONG_RUN = 6;
const TOKEN_RUN = new RegExp(`(?:<[^<>\\s]+?\\d+>){${LONG_RUN},}`, 'gu');

/** `<👀1><👀2>…(64 codes)…<👀9>`: a media token string short enough to read. */
export function shortenTokenRuns(s: string): string {
  return s.replace(TOKEN_RUN, (run) => {
    const codes = run.match(/<[^<>]+>/gu) ?? [];
    return `${codes[0]}${codes[1]}…(${codes.length} codes)…${codes[codes.length - 1]}`;
  });
}

/** Lines of at most `width` characters, broken at spaces where possible; continuation lines are indented. */
export function wrapLine(head: string, text: string, width = 100): string {
  const indent = ' '.repeat(Math.min(head.length, 12));
  const lines: string[] = [];
  let line = head;
  let empty = true;
  const flush = () => {
    lines.push(line);
    line = indent;
    empty = true;
  };
  for (let w of text.split(' ')) {
    while (w) {
      const room = width - line.length - (empty ? 0 : 1);
      if (w.length <= room) {
        line += (empty ? '' : ' ') + w;
        empty = false;
        w = '';
      } else if (!empty && w.length <= width - indent.length) flush();
      else {
        // a word longer than a line (a path): break it
        const cut = Math.max(1, room);
        line += (empty ? '' : ' ') + w.slice(0, cut);
        w = w.slice(cut);
        flush();
      }
    }
  }
  if (!empty) lines.push(line);
  return lines.length ? lines.join('\n') : head.trimEnd();
}

export function describeHistory(turns: readonly Turn[]): string {
  if (!turns.length) return 'conversation is empty';
  const clip = (s: string) => {
    const short = shortenTokenRuns(s).replace(/\s+/g, ' ');
    return short.length > 400 ? short.slice(0, 397) + '…' : short;
  };
  return turns
    .map(
      (t, i) =>
        `${i + 1}. [${t.executionCount}]${t.cellId ? ` (cell ${t.cellId.slice(0, 8)})` : ''}\n` +
        `${wrapLine('   user: ', clip(t.user))}\n${wrapLine('   assistant: ', clip(t.assistant))}`,
    )
    .join('\n');
}

/** For inspect: the context a chat cell run now would see. */
export function describeContext(turns: readonly Turn[], defaults: CellDefaults): string {
  const cfg = Object.entries(defaults)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    `context: ${turns.length ? `${turns.length} turn(s) from cells [${turns.map((t) => t.executionCount).join(', ')}]` : 'empty conversation'}`,
    cfg ? `defaults: ${cfg}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The note an interrupted chat cell adds: its turn is not in the conversation, and what later cells see. */
export function turnNotAddedNote(turns: readonly Turn[], cellId: string | undefined): string {
  const kept = cellId !== undefined && turns.some((t) => t.cellId === cellId);
  const n = turns.length;
  return `; this turn was NOT added to the conversation${kept ? " (the cell's previous turn is kept)" : ''}: later cells see ${n} turn${n === 1 ? '' : 's'}. Re-run the cell to add it`;
}
