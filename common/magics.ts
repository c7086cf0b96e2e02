/**
 * The magic table: one entry per `%name`, with its argument grammar and help text. The parser, the
 * completer, the inspector, `%help` and the extension's diagnostics for misspelt magics all read this table, so a
 * magic is described in one place.
 * The sampling magics come from the knob table (common/knobs.ts), which the CLI and the extension share.
 */
import { KNOBS, formatRange, type KnobKey, type KnobName, type KnobRange } from './knobs';

export const TASKS = ['chat', 't2i', 'caption', 'asr', 'tts', 't2m', 'm2t'] as const;
export type Task = (typeof TASKS)[number];

export const TASK_HELP: Record<Task, string> = {
  chat: 'multi-turn chat (default): text and any media in, text and media out',
  t2i: 'text → image',
  caption: 'image → text (attach ![image](path))',
  asr: 'speech → text (attach ![speech](x.wav))',
  tts: 'text → speech (optionally %voice x.wav)',
  t2m: 'text → music',
  m2t: 'music → text (attach ![music](x.wav))',
};

/** What a chat turn does when the conversation outgrows the model's context (%overflow, %config overflow=). */
export const OVERFLOW_POLICIES = ['error', 'drop-oldest'] as const;
export type OverflowPolicy = (typeof OVERFLOW_POLICIES)[number];

export type ArgKind =
  | { kind: 'none' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'int' | 'float'; range: KnobRange }
  | { kind: 'path'; optional?: boolean; extraValues?: readonly string[] }
  | { kind: 'rest'; optional?: boolean };

export interface MagicSpec {
  name: string;
  arg: ArgKind;
  usage: string;
  help: string;
}

const spec = (name: string, arg: ArgKind, usage: string, help: string): MagicSpec => ({ name, arg, usage, help });

export const MAGICS: readonly MagicSpec[] = [
  spec(
    'task',
    { kind: 'enum', values: TASKS },
    '%task chat|t2i|caption|asr|tts|t2m|m2t',
    'Pick the prompt template for this cell (default chat).',
  ),
  ...KNOBS.map((k) => spec(k.name, { kind: k.kind, range: k.range }, `%${k.name} ${k.placeholder}`, k.help)),
  spec(
    'voice',
    { kind: 'path', extraValues: ['off'] },
    '%voice path.wav | off',
    'Voice prompt for speech output (used by the acoustic stage). Persists until %voice off.',
  ),
  spec(
    'template',
    { kind: 'enum', values: ['mmgpt', 'anygpt'] },
    '%template mmgpt|anygpt',
    'Chat template for this cell: mmgpt (upstream chat CLI, default) or anygpt (upstream fine-tuning code).',
  ),
  spec(
    'constrain',
    { kind: 'enum', values: ['on', 'off'] },
    '%constrain on|off',
    'Modality-aware constrained decoding (default on).',
  ),
  spec(
    'overflow',
    { kind: 'enum', values: OVERFLOW_POLICIES },
    '%overflow error|drop-oldest',
    "When a chat turn with its history outgrows the model's context: fail (error, default) or leave the oldest " +
      'turns out of this prompt, with a warning (drop-oldest).',
  ),
  spec('model', { kind: 'path' }, '%model DIR', 'Load another model package; clears the conversation.'),
  spec(
    'config',
    { kind: 'rest', optional: true },
    '%config [key=value …]',
    `Show or set persistent defaults (${configKeys().join(', ')}).`,
  ),
  spec(
    'tokens',
    { kind: 'none' },
    '%tokens',
    'Tokenize only: show the full prompt in the token inspector without generating.',
  ),
  spec(
    'raw',
    { kind: 'none' },
    '%raw',
    'The cell body is the exact prompt string, special tokens included (no template).',
  ),
  spec(
    'decode',
    { kind: 'rest' },
    '%decode image|speech|music <tokens…>',
    'Render raw modality tokens (e.g. <👀12><👀7>… or plain numbers) to media.',
  ),
  spec('reset', { kind: 'none' }, '%reset', 'Clear the conversation history.'),
  spec('history', { kind: 'none' }, '%history', 'Show the conversation turns that form the context of the next cell.'),
  spec('help', { kind: 'rest', optional: true }, '%help [magic]', 'Show this help.'),
];

export const MAGIC_BY_NAME: ReadonlyMap<string, MagicSpec> = new Map(MAGICS.map((m) => [m.name, m]));

/** Keys `%config key=value` accepts, each validated by the magic of the same name. */
export const CONFIG_KEYS = configKeys();
export type ConfigKey = 'task' | KnobName | 'template' | 'constrain' | 'overflow';

/** The CellSettings field each config key (and the magic of the same name) sets. */
export type SettingKey = 'task' | KnobKey | 'template' | 'constrain' | 'overflow';
export const SETTING_OF: Readonly<Record<ConfigKey, SettingKey>> = {
  task: 'task',
  ...(Object.fromEntries(KNOBS.map((k) => [k.name, k.key])) as Record<KnobName, KnobKey>),
  template: 'template',
  constrain: 'constrain',
  overflow: 'overflow',
};

function configKeys(): readonly ConfigKey[] {
  return ['task', ...KNOBS.map((k) => k.name), 'template', 'constrain', 'overflow'];
}

/** Levenshtein distance, for "did you mean" hints on misspelt magics and values. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function helpText(name?: string): string {
  if (name) {
    const m = MAGIC_BY_NAME.get(name.replace(/^%/, ''));
    if (!m) return `No magic %${name}. Try %help.`;
    let out = `${m.usage}\n  ${m.help}`;
    if (m.arg.kind === 'int' || m.arg.kind === 'float')
      out += `\n  range ${formatRange(m.arg.range)}${m.arg.kind === 'int' ? ', whole numbers' : ''}`;
    if (m.name === 'task') out += '\n' + TASKS.map((t) => `    ${t.padEnd(8)} ${TASK_HELP[t]}`).join('\n');
    return out;
  }
  const lines = [
    'AnyGPT prompt cells',
    '  Plain text is your chat message; the conversation continues across cells (%reset clears it).',
    '  Attach media with ![image](cat.png), ![speech](hello.wav), ![music](tune.wav); paths are relative to the notebook.',
    '  Reuse an earlier output with ![image](out:3) (execution count 3) or ![speech](out:last).',
    '  Magics go at the top of the cell, one per line:',
    ...MAGICS.map((m) => `    ${m.usage.padEnd(42)} ${m.help}`),
  ];
  return lines.join('\n');
}
