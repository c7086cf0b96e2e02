/**
 * Cell text → Cell. Pure: no file system, no model. Every error carries a 1-based line and column so
 * the kernel can point at the exact spot ("line 2, col 14: …").
 *
 * Grammar (deliberately small):
 *   cell   := magic* body
 *   magic  := ws* '%' name (ws+ arg)?        -- only before the first body line; blank lines allowed
 *   body   := any text; media references  ![image](path) ![speech](x.wav) ![music](x.wav) ![image](out:3)
 * `%decode` takes the rest of the cell as its argument (token lists are long and wrap).
 */
import { knobValueProblem, type KnobKey } from '../../common/knobs';
import type { MediaModality } from '../../common/manifest';
import {
  CONFIG_KEYS,
  MAGIC_BY_NAME,
  MAGICS,
  SETTING_OF,
  TASKS,
  closest,
  type ConfigKey,
  type MagicSpec,
  type OverflowPolicy,
  type Task,
} from './magics';

export class PromptError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
    readonly length = 1,
  ) {
    super(message);
    this.name = 'PromptError';
  }
  /** "line 2, col 14: …" — the form users see. */
  get located(): string {
    return `line ${this.line}, col ${this.col}: ${this.message}`;
  }
}

export type MagicValue = string | number | boolean | undefined;

export interface MagicUse {
  name: string;
  /** The argument text as written (trimmed). */
  arg: string;
  /** Parsed and validated value (number for numeric magics, 'on'/'off' kept as boolean for constrain). */
  value: MagicValue;
  line: number;
  col: number;
  argCol: number;
}

export interface MediaRef {
  modality: MediaModality;
  /** The path as written, or `out:N`. */
  target: string;
  /** A previous output: execution count, or 'last'. */
  output?: number | 'last';
  line: number;
  col: number;
  /** Length of the whole `![…](…)` in characters, for error underlines. */
  length: number;
  /** Offset of the reference in Cell.body, so %raw can substitute in place. */
  offset: number;
}

/** What a cell's magics set: the sampling knobs (common/knobs.ts) by their key, and the prompt's shape. */
export type CellSettings = { [K in KnobKey]?: number } & {
  task?: Task;
  template?: 'mmgpt' | 'anygpt';
  constrain?: boolean;
  overflow?: OverflowPolicy;
};

export type CellAction =
  | { kind: 'generate' }
  | { kind: 'tokens' }
  | { kind: 'decode'; modality: MediaModality; tokens: string; line: number; col: number }
  | { kind: 'help'; topic?: string }
  | { kind: 'config'; set: Partial<Record<ConfigKey, MagicValue>>; line: number }
  | { kind: 'history' }
  | { kind: 'none' };

export interface Cell {
  magics: MagicUse[];
  settings: CellSettings;
  action: CellAction;
  raw: boolean;
  reset: boolean;
  /** `%voice path` (string), `%voice off` (null), or absent. */
  voice?: string | null;
  model?: string;
  /** The body with media references kept (for %raw substitution). */
  body: string;
  /** Line number (1-based) of the body's first line. */
  bodyLine: number;
  /** The body with media references removed and whitespace tidied: the user's words. */
  text: string;
  media: MediaRef[];
}

const MEDIA_RE = /!\[([^\]\n]*)\]\(([^)\n]*)\)/g;
const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;

function settingKey(name: string): keyof CellSettings | undefined {
  return Object.hasOwn(SETTING_OF, name) ? SETTING_OF[name as ConfigKey] : undefined;
}

/** Validate one magic argument against the table. Throws PromptError pointing at the argument. */
export function parseMagicValue(spec: MagicSpec, arg: string, line: number, argCol: number): MagicValue {
  const a = spec.arg;
  const fail = (msg: string): never => {
    throw new PromptError(msg, line, argCol, Math.max(1, arg.length));
  };
  switch (a.kind) {
    case 'none':
      if (arg) fail(`%${spec.name} takes no argument (got "${arg}")`);
      return undefined;
    case 'enum': {
      if (!arg) fail(`%${spec.name} needs a value: ${a.values.join('|')}`);
      if (!a.values.includes(arg)) {
        const hint = closest(arg, a.values);
        fail(
          `bad value "${arg}" for %${spec.name}; expected ${a.values.join('|')}${hint ? ` (did you mean ${hint}?)` : ''}`,
        );
      }
      return spec.name === 'constrain' ? arg === 'on' : arg;
    }
    case 'int':
    case 'float': {
      if (!arg) fail(`%${spec.name} needs a number`);
      const n = Number(arg);
      if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(arg) || !Number.isFinite(n))
        fail(`"${arg}" is not a number (%${spec.name})`);
      // The knob's range, the one the engine accepts (top_p is (0, 1]), is checked here, where it is written.
      const problem = knobValueProblem(a, n, arg);
      if (problem) fail(`%${spec.name} ${problem}`);
      return n;
    }
    case 'path':
      if (!arg && !a.optional) fail(`%${spec.name} needs a path`);
      return arg;
    case 'rest':
      if (!arg && !a.optional) fail(`%${spec.name} needs an argument: ${spec.usage}`);
      return arg;
  }
}

function mediaModality(alt: string, target: string, line: number, col: number, len: number): MediaModality {
  const a = alt.trim().toLowerCase();
  if (a === 'image' || a === 'speech' || a === 'music') return a;
  if (a === 'audio')
    throw new PromptError(
      'say ![speech](…) or ![music](…): AnyGPT tokenizes them with different codecs',
      line,
      col,
      len,
    );
  // Markdown habit: ![a cat](cat.png). Images are unambiguous from the extension; audio is not.
  if (IMAGE_EXT.test(target)) return 'image';
  const hint = /\.wav$/i.test(target) ? ' — for audio write ![speech](…) or ![music](…)' : '';
  throw new PromptError(
    `unknown media kind "${alt}"; use ![image](…), ![speech](…) or ![music](…)${hint}`,
    line,
    col,
    len,
  );
}

function parseConfig(arg: string, line: number, argCol: number): Partial<Record<ConfigKey, MagicValue>> {
  const set: Partial<Record<ConfigKey, MagicValue>> = {};
  const re = /(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(arg))) {
    const item = m[1];
    const col = argCol + m.index;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new PromptError(`%config expects key=value, got "${item}"`, line, col, item.length);
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      const hint = closest(key, CONFIG_KEYS);
      throw new PromptError(
        `unknown %config key "${key}"${hint ? ` (did you mean ${hint}?)` : ''}; keys: ${CONFIG_KEYS.join(', ')}`,
        line,
        col,
        key.length,
      );
    }
    const spec = MAGIC_BY_NAME.get(key)!;
    set[key as ConfigKey] = parseMagicValue(spec, value, line, col + eq + 1);
  }
  return set;
}

export function parseCell(source: string): Cell {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const cell: Cell = {
    magics: [],
    settings: {},
    action: { kind: 'generate' },
    raw: false,
    reset: false,
    body: '',
    bodyLine: 1,
    text: '',
    media: [],
  };
  let i = 0;
  let explicitAction: CellAction | undefined;
  const setAction = (a: CellAction, line: number, col: number) => {
    if (explicitAction && explicitAction.kind !== a.kind) {
      throw new PromptError(`%${a.kind} cannot be combined with %${explicitAction.kind} in one cell`, line, col);
    }
    explicitAction = a;
  };
  for (; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = line.trimStart();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('%')) break;
    const lineNo = i + 1;
    const col = line.length - trimmed.length + 1;
    const m = /^%(\S*)\s*(.*)$/.exec(trimmed.trimEnd())!;
    const name = m[1];
    const arg = m[2];
    const argCol = col + trimmed.indexOf(arg, 1 + name.length);
    const spec = MAGIC_BY_NAME.get(name);
    if (!spec) {
      const hint = closest(
        name,
        MAGICS.map((x) => x.name),
      );
      throw new PromptError(
        `unknown magic %${name}${hint ? ` (did you mean %${hint}?)` : ''}; %help lists them`,
        lineNo,
        col,
        name.length + 1,
      );
    }
    if (spec.name === 'decode') {
      // The token list runs to the end of the cell.
      const rest = [arg, ...lines.slice(i + 1)].join('\n').trim();
      const km = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      const kind = km?.[1] ?? '';
      if (kind !== 'image' && kind !== 'speech' && kind !== 'music') {
        throw new PromptError(
          `%decode needs a modality: image|speech|music${kind ? ` (got "${kind}")` : ''}`,
          lineNo,
          argCol,
          Math.max(1, kind.length),
        );
      }
      if (!km![2].trim())
        throw new PromptError(
          `%decode ${kind} needs tokens, e.g. <👀12><👀7>… or 12 7 …`,
          lineNo,
          argCol + kind.length,
        );
      setAction(
        { kind: 'decode', modality: kind, tokens: km![2], line: lineNo, col: argCol + kind.length + 1 },
        lineNo,
        col,
      );
      cell.magics.push({ name, arg: rest, value: rest, line: lineNo, col, argCol });
      i = lines.length;
      break;
    }
    const value = spec.name === 'config' ? arg : parseMagicValue(spec, arg, lineNo, argCol);
    cell.magics.push({ name, arg, value, line: lineNo, col, argCol });
    const key = settingKey(name);
    if (key) (cell.settings as Record<string, MagicValue>)[key] = value;
    switch (name) {
      case 'raw':
        cell.raw = true;
        break;
      case 'reset':
        cell.reset = true;
        break;
      case 'voice':
        cell.voice = arg === 'off' ? null : arg;
        break;
      case 'model':
        cell.model = arg;
        break;
      case 'tokens':
        setAction({ kind: 'tokens' }, lineNo, col);
        break;
      case 'help':
        setAction({ kind: 'help', topic: arg || undefined }, lineNo, col);
        break;
      case 'history':
        setAction({ kind: 'history' }, lineNo, col);
        break;
      case 'config':
        setAction({ kind: 'config', set: parseConfig(arg, lineNo, argCol), line: lineNo }, lineNo, col);
        break;
    }
  }
  cell.bodyLine = i + 1;
  cell.body = lines.slice(i).join('\n').replace(/\s+$/, '');
  if (cell.action.kind === 'generate' && !explicitAction) {
    // A cell of magics only (e.g. "%reset", "%model DIR", "%voice x.wav") generates nothing.
    if (cell.body.trim() === '') cell.action = { kind: 'none' };
  }
  if (explicitAction) cell.action = explicitAction;

  // Media references in the body, with positions.
  let offset = 0;
  const bodyLines = cell.body.split('\n');
  for (let b = 0; b < bodyLines.length; b++) {
    const text = bodyLines[b];
    const lineNo = cell.bodyLine + b;
    if (
      /^\s*%(\S+)/.test(text) &&
      MAGIC_BY_NAME.has(/^\s*%(\S+)/.exec(text)![1]) &&
      !cell.raw &&
      cell.action.kind !== 'decode'
    ) {
      const col = text.length - text.trimStart().length + 1;
      throw new PromptError('magics go at the top of the cell, before the message', lineNo, col, text.trim().length);
    }
    MEDIA_RE.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = MEDIA_RE.exec(text))) {
      const col = m.index + 1;
      const target = m[2].trim();
      if (!target) throw new PromptError('empty media path', lineNo, col, m[0].length);
      const modality = mediaModality(m[1], target, lineNo, col, m[0].length);
      const ref: MediaRef = { modality, target, line: lineNo, col, length: m[0].length, offset: offset + m.index };
      const out = /^out:(.*)$/i.exec(target);
      if (out) {
        const v = out[1].trim();
        if (v === 'last' || v === '-1') ref.output = 'last';
        else if (/^\d+$/.test(v)) ref.output = Number(v);
        else
          throw new PromptError(
            `bad output reference "${target}"; use out:N (execution count) or out:last`,
            lineNo,
            col + m[0].indexOf('(') + 1,
            target.length,
          );
      }
      cell.media.push(ref);
    }
    offset += text.length + 1;
  }
  cell.text = cell.body
    .replace(MEDIA_RE, ' ')
    .split('\n')
    .map((l) => l.replace(/[ \t]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return cell;
}

export { TASKS };
