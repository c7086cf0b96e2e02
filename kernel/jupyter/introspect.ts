/**
 * complete_request, inspect_request and is_complete_request for prompt cells.
 * The protocol counts cursor_pos in Unicode code points while JS strings are UTF-16; modality tokens
 * are emoji (astral), so every position is converted at this boundary.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Manifest } from '../../common/manifest';
import {
  CONFIG_KEYS,
  MAGIC_BY_NAME,
  MAGICS,
  TASKS,
  TASK_HELP,
  describePiece,
  helpText,
  parseCell,
  PromptError,
  worldCompletions,
} from '../prompt';

export function cpToIndex(s: string, cp: number): number {
  let i = 0;
  for (let c = 0; c < cp && i < s.length; c++) i += s.codePointAt(i)! > 0xffff ? 2 : 1;
  return i;
}

export function indexToCp(s: string, index: number): number {
  let c = 0;
  for (let i = 0; i < index && i < s.length; c++) i += s.codePointAt(i)! > 0xffff ? 2 : 1;
  return c;
}

export interface CompleteReply {
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: Record<string, unknown>;
  status: 'ok';
}

const MEDIA_EXT: Record<string, RegExp> = {
  image: /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i,
  speech: /\.wav$/i,
  music: /\.wav$/i,
  voice: /\.wav$/i,
  model: /$^/, // directories only
};

/** Special tokens and modality token names the completer offers after "<" or "[". */
export function specialTokens(manifest: Manifest | undefined): string[] {
  const out = new Set<string>();
  if (manifest) {
    for (const s of manifest.specialTokens) out.add(s);
    const t = manifest.templates;
    for (const c of [t.chat.mmgpt, t.chat.anygpt])
      for (const s of [c.user, c.assistant, c.userEnd, c.assistantEnd]) out.add(s);
    for (const s of t.stopTokens) out.add(s);
    out.add(manifest.tokenizer.bos);
    out.add(manifest.tokenizer.eos);
    for (const m of Object.values(manifest.modalities)) {
      if (!m) continue;
      out.add(m.tokens.start);
      out.add(m.tokens.end);
      out.add(`<${m.tokens.prefix}`); // the modality token name; the user types the code
    }
  } else {
    for (const s of [
      '[Human]',
      '[MMGPT]',
      '[AnyGPT]',
      '<eoh>',
      '<eos>',
      '<eom>',
      '<soim>',
      '<eoim>',
      '<sosp>',
      '<eosp>',
      '<somu>',
      '<eomu>',
      '<s>',
      '</s>',
      '<👀',
      '<🗣️',
      '<🎶',
    ])
      out.add(s);
  }
  return [...out];
}

function listPaths(cwd: string, partial: string, filter: RegExp): string[] {
  const dirPart = partial.includes('/') ? partial.slice(0, partial.lastIndexOf('/') + 1) : '';
  const base = resolve(cwd, dirPart || '.');
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.') && !partial.slice(dirPart.length).startsWith('.')) continue;
    const full = dirPart + n;
    if (!full.startsWith(partial)) continue;
    let dir: boolean;
    try {
      dir = statSync(join(base, n)).isDirectory();
    } catch {
      continue;
    }
    if (dir) out.push(full + '/');
    else if (filter.test(n)) out.push(full);
  }
  return out.slice(0, 200);
}

export function complete(
  code: string,
  cursorCp: number,
  opts: { cwd: string; manifest?: Manifest; outputs: number[]; defaultTask?: string },
): CompleteReply {
  const cursor = cpToIndex(code, cursorCp);
  const lineStart = code.lastIndexOf('\n', cursor - 1) + 1;
  const before = code.slice(lineStart, cursor);
  const reply = (matches: string[], startIdx: number): CompleteReply => ({
    matches,
    cursor_start: indexToCp(code, startIdx),
    cursor_end: cursorCp,
    metadata: {},
    status: 'ok',
  });

  // %magic name
  let m = /^(\s*)(%\S*)$/.exec(before);
  if (m)
    return reply(
      MAGICS.map((x) => '%' + x.name).filter((n) => n.startsWith(m![2])),
      lineStart + m[1].length,
    );

  // %magic argument
  m = /^\s*%(\S+)\s+(.*)$/.exec(before);
  if (m) {
    const [, name, arg] = m;
    const argStart = cursor - arg.length;
    const spec = MAGIC_BY_NAME.get(name);
    if (spec?.arg.kind === 'enum')
      return reply(
        spec.arg.values.filter((v) => v.startsWith(arg)),
        argStart,
      );
    if (name === 'decode' && !arg.includes(' '))
      return reply(
        ['image', 'speech', 'music'].filter((v) => v.startsWith(arg)),
        argStart,
      );
    if (name === 'help')
      return reply(
        MAGICS.map((x) => x.name).filter((n) => n.startsWith(arg)),
        argStart,
      );
    if (name === 'config') {
      const word = /(\S*)$/.exec(arg)![1];
      const eq = word.indexOf('=');
      if (eq < 0)
        return reply(
          CONFIG_KEYS.map((k) => k + '=').filter((k) => k.startsWith(word)),
          cursor - word.length,
        );
      const spec2 = MAGIC_BY_NAME.get(word.slice(0, eq));
      const v = word.slice(eq + 1);
      if (spec2?.arg.kind === 'enum')
        return reply(
          spec2.arg.values.filter((x) => x.startsWith(v)),
          cursor - v.length,
        );
      return reply([], cursor);
    }
    if (name === 'voice' || name === 'model') {
      const paths = listPaths(opts.cwd, arg, MEDIA_EXT[name]);
      return reply(name === 'voice' ? ['off', ...paths].filter((p) => p.startsWith(arg)) : paths, argStart);
    }
    return reply([], cursor);
  }

  // ![kind](partial path
  m = /!\[([^\]\n]*)\]\(([^)\n]*)$/.exec(before);
  if (m) {
    const kind = m[1].trim().toLowerCase();
    const partial = m[2];
    const outs = opts.outputs.map((n) => `out:${n}`).concat(opts.outputs.length ? ['out:last'] : []);
    const paths = listPaths(opts.cwd, partial, MEDIA_EXT[kind] ?? /\.(png|jpe?g|webp|gif|wav)$/i);
    return reply([...outs.filter((o) => o.startsWith(partial)), ...paths], cursor - partial.length);
  }
  // ![kind
  m = /!\[(\w*)$/.exec(before);
  if (m)
    return reply(
      ['image', 'speech', 'music'].filter((k) => k.startsWith(m![1])).map((k) => k + ']('),
      cursor - m[1].length,
    );

  // special tokens and modality token names
  m = /([<[][^\s<>[\]]*)$/.exec(before);
  if (m)
    return reply(
      specialTokens(opts.manifest).filter((t) => t.startsWith(m![1])),
      cursor - m[1].length,
    );

  // a word of the prompt: the words the model's declared world knows for this cell's task
  m = /([A-Za-z0-9#]*)$/.exec(before);
  if (m && opts.manifest?.world) {
    const task = /^\s*%task\s+(\w+)/m.exec(code)?.[1] ?? opts.defaultTask ?? 'chat';
    return reply(worldCompletions(opts.manifest.world, task, m[1]), cursor - m[1].length);
  }
  return reply([], cursor);
}

export interface InspectReply {
  status: 'ok';
  found: boolean;
  data: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** What the inspector says about the thing under the cursor. Tokenisation needs the model, so it is a callback. */
export async function inspect(
  code: string,
  cursorCp: number,
  opts: { manifest?: Manifest; tokenizeLine?: (line: string) => Promise<string>; context?: () => string },
): Promise<InspectReply> {
  const found = (text: string): InspectReply => ({
    status: 'ok',
    found: true,
    data: { 'text/plain': text },
    metadata: {},
  });
  const cursor = cpToIndex(code, cursorCp);
  const lineStart = code.lastIndexOf('\n', Math.max(0, cursor - 1)) + 1;
  const nl = code.indexOf('\n', cursor);
  const line = code.slice(lineStart, nl < 0 ? code.length : nl);
  const col = cursor - lineStart;

  // A magic: its help.
  const mm = /^\s*%(\S+)/.exec(line);
  if (mm && MAGIC_BY_NAME.has(mm[1])) return found(helpText(mm[1]));

  // A token under the cursor: its meaning.
  const tokRe = /<[^<>\s]{1,16}>|\[(?:Human|MMGPT|AnyGPT)\]/gu;
  let t: RegExpExecArray | null;
  while ((t = tokRe.exec(line))) {
    if (col >= t.index && col <= t.index + t[0].length) {
      const meaning = opts.manifest ? describePiece(opts.manifest, t[0]) : undefined;
      if (meaning) return found(`${t[0]}: ${meaning}`);
    }
  }
  if (/^\s*%task\b/.test(line)) return found(TASKS.map((x) => `${x.padEnd(8)} ${TASK_HELP[x]}`).join('\n'));

  // Otherwise: how the line tokenizes, plus the context this cell would see.
  const parts: string[] = [];
  if (line.trim() && opts.tokenizeLine) {
    try {
      parts.push(await opts.tokenizeLine(line));
    } catch (e) {
      parts.push(`(cannot tokenize: ${(e as Error).message})`);
    }
  }
  if (opts.context) parts.push(opts.context());
  if (!parts.length) return { status: 'ok', found: false, data: {}, metadata: {} };
  return found(parts.join('\n\n'));
}

export type CompleteStatus = { status: 'complete' } | { status: 'incomplete'; indent: string } | { status: 'invalid' };

/**
 * For consoles: Enter runs the cell unless it is obviously unfinished (an unclosed ![…](…), a trailing
 * backslash, or only settings magics with no message yet). A parse error is "invalid".
 */
export function isComplete(code: string): CompleteStatus {
  if (/\\\s*$/.test(code)) return { status: 'incomplete', indent: '' };
  const lastLine = code.slice(code.lastIndexOf('\n') + 1);
  if (/!\[[^\]\n]*$|!\[[^\]\n]*\]\([^)\n]*$/.test(lastLine)) return { status: 'incomplete', indent: '' };
  try {
    const cell = parseCell(code);
    const settingsOnly =
      cell.action.kind === 'none' &&
      !cell.reset &&
      cell.model === undefined &&
      cell.voice === undefined &&
      cell.magics.length > 0;
    if (settingsOnly && !cell.magics.some((m) => m.name === 'raw')) return { status: 'incomplete', indent: '' };
    if (cell.raw && cell.action.kind === 'none') return { status: 'incomplete', indent: '' };
  } catch (e) {
    if (e instanceof PromptError) return { status: 'invalid' };
    throw e;
  }
  return { status: 'complete' };
}
