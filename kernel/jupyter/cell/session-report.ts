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

export function describeHistory(turns: readonly Turn[]): string {
  if (!turns.length) return 'conversation is empty';
  const clip = (s: string) => (s.length > 120 ? s.slice(0, 117) + '…' : s).replace(/\n/g, ' ');
  return turns
    .map(
      (t, i) =>
        `${i + 1}. [${t.executionCount}]${t.cellId ? ` (cell ${t.cellId.slice(0, 8)})` : ''}\n   user: ${clip(t.user)}\n   assistant: ${clip(t.assistant)}`,
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
