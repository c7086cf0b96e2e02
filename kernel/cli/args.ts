/**
 * The `anygpt` command line's words: each command's options and usage text, and a parser that answers a wrong
 * flag with our own message and the command's usage (node:util's parseArgs message quotes the flag unevenly and
 * shows no usage). The variant line of the usage is written from the model package at hand: nano has none.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KNOBS } from '../../common/knobs';
import { editDistance } from '../../common/magics';
import { MANIFEST_FILE } from '../../common/manifest';

export const COMMANDS = ['generate', 'tokens', 'inspect', 'verify'] as const;
export type Command = (typeof COMMANDS)[number];

/** A mistake in the command line: printed with the command's usage, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

const MEDIA_OPTIONS: Options = { image: { type: 'string' }, speech: { type: 'string' }, music: { type: 'string' } };
const PROMPT_OPTIONS: Options = {
  model: { type: 'string' },
  task: { type: 'string', default: 'raw' },
  ...MEDIA_OPTIONS,
};

/** Each command's flags; a flag of another command is a wrong flag here (`tokens --seed 1`). */
export const OPTIONS: Record<Exclude<Command, 'verify'>, Options> = {
  generate: {
    ...PROMPT_OPTIONS,
    json: { type: 'boolean', default: false },
    ...Object.fromEntries(KNOBS.map((k) => [k.flag, { type: 'string' } as const])),
    'min-new-tokens': { type: 'string' },
    greedy: { type: 'boolean', default: false },
    'no-constrain': { type: 'boolean', default: false },
    ep: { type: 'string', default: 'auto' },
    threads: { type: 'string' },
    variant: { type: 'string' },
    voice: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  tokens: {
    ...PROMPT_OPTIONS,
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  inspect: {
    model: { type: 'string' },
    variant: { type: 'string' },
    verify: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
};

/** Where generated files go without --out: ./out (created on first use), never the current directory itself. */
export const DEFAULT_OUT_DIR = 'out';

/** The variants a package's anygpt.json lists (llm.variants), or [] (nano has none); undefined when unreadable. */
export function packageVariants(dir: string): string[] | undefined {
  try {
    const m = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as { llm?: { variants?: object } };
    return Object.keys(m.llm?.variants ?? {});
  } catch {
    return undefined;
  }
}

/** The usage's --variant line: only where the package has variants, naming them. */
function variantLine(modelDir: string | undefined, indent: string): string {
  const variants = modelDir && existsSync(path.join(modelDir, MANIFEST_FILE)) ? packageVariants(modelDir) : undefined;
  if (!variants?.length) return '';
  return `\n${indent}--variant ${variants.join('|')}  run that graph from anygpt.json llm.variants instead of llm.graph`;
}

const TASKS_TEXT = `tasks (templates from the package manifest; default "raw" sends the prompt as written):
  raw      the prompt string as is (no media files)
  chat     the chat template (system prompt, [Human]: … <eoh> [MMGPT]:); any of --image/--speech/--music
  t2i      text → image     tts  text → speech     t2m  text → music
  caption  --image FILE → text   asr  --speech FILE → text   m2t  --music FILE → text   (prompt text optional)`;

export const VERIFY_USAGE =
  'usage: anygpt verify NOTEBOOK.ipynb [--model DIR] [--update] [--force] [--out DIR] | NOTEBOOK.ipynb --against OTHER.ipynb';

/** The usage of one command (or of all, without one); `modelDir` decides whether --variant is shown. */
export function usage(command: Command | undefined, modelDir: string | undefined): string {
  const generate = `usage: anygpt generate [--model DIR] [--task TASK] [--image F] [--speech F] [--music F] [--out DIR] [--json] [options] "prompt"

${TASKS_TEXT}

options:
  ${KNOBS.map((k) => `--${k.flag} ${k.placeholder}`).join('  ')}
  --min-new-tokens N  --greedy (also --temperature 0)  --no-constrain
  --ep auto|cpu|cuda  (auto: CUDA where its provider libraries load, else CPU, saying why)  --threads N
  --json      print the Generation record on stdout; file paths go to stderr
  --out DIR   where generated images (PNG) and audio (WAV) go (default: ./${DEFAULT_OUT_DIR}, created when needed)
  --voice F   a WAV whose voice speech output imitates (speech decoding with an acoustic model)${variantLine(modelDir, '  ')}`;
  const tokens = `usage: anygpt tokens [--model DIR] [--task TASK] [--image F] [--speech F] [--music F] [--json] "prompt"
  Prints the prompt's tokens (position, id, modality, span, piece) and its spans, without generating.

${TASKS_TEXT}`;
  const inspect = `usage: anygpt inspect [DIR | --model DIR] [--verify] [--json]${modelDir && packageVariants(modelDir)?.length ? ' [--variant NAME]' : ''}
  --verify   read and check every file of the package (all variants), whatever the verification stamp says${variantLine(modelDir, '  ')}
Loads verify a file once and then trust it while its size, mtime, ctime and inode are unchanged (a stamp in
$ANYGPT_CACHE_DIR or $XDG_CACHE_HOME/anygpt or ~/.cache/anygpt); docs/model-package.md "Verification".`;
  const verify = `${VERIFY_USAGE}
  Re-runs a notebook's cells and compares the tokens with the saved ones (--update writes new outputs).`;
  const tail = `\n\nThe default model is models/anygpt-nano (or $ANYGPT_MODEL).${modelDir ? ` Now: ${modelDir}` : ''}`;
  if (command === 'generate') return generate + tail;
  if (command === 'tokens') return tokens + tail;
  if (command === 'inspect') return inspect + tail;
  if (command === 'verify') return verify + tail;
  return `usage: anygpt COMMAND [options]   (anygpt COMMAND --help for one command's options)
  anygpt generate [--model DIR] [--task TASK] [--image F] [--speech F] [--music F] [--out DIR] [--json] [options] "prompt"
  anygpt tokens   [--model DIR] [--task TASK] [--image F] [--speech F] [--music F] "prompt"
  anygpt inspect  [DIR] [--verify] [--json]
  ${VERIFY_USAGE.slice('usage: '.length)}

${TASKS_TEXT}${tail}`;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** parseArgs with our own messages: a wrong flag or a flag without its value is a UsageError naming it. */
export function parseCommand(command: Exclude<Command, 'verify'>, args: string[]): Parsed {
  const options = OPTIONS[command];
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-[^' ]+)/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
      throw new UsageError(`${command}: unknown option ${flag}${nearest(flag, Object.keys(options))}`, command);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
      const name = flag.replace(/^-+/, '');
      const opt = options[name];
      throw new UsageError(
        opt?.type === 'boolean'
          ? `${command}: --${name} takes no value`
          : `${command}: --${name} needs a value (--${name} VALUE)`,
        command,
      );
    }
    throw new UsageError(`${command}: ${err.message.split('\n')[0]}`, command);
  }
}

/** ", did you mean --x?" for a flag one or two edits away from a known one. */
function nearest(flag: string, known: string[]): string {
  const name = flag.replace(/^-+/, '').split('=')[0];
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d <= 2 && (!best || d < best.d)) best = { k, d };
  }
  return best ? `; did you mean --${best.k}?` : '';
}
