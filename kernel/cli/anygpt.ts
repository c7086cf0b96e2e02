/**
 * `anygpt` command line: generate, tokens, inspect, verify. A thin shell over kernel/engine; prompts come from
 * kernel/prompt's templates, media goes through the engine's worker (encodeMedia / decodeSpan).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Generation, GenerationParams } from '../../common/generation';
import { KNOBS, knobValueProblem, type Knob } from '../../common/knobs';
import { COMMANDS, DEFAULT_OUT_DIR, packageVariants, parseCommand, usage, UsageError, type Command } from './args';
import { MANIFEST_FILE, type MediaModality, type Modality } from '../../common/manifest';
import { MediaError } from '../codecs/errors';
import { Engine, loadPackage, PackageError, type ExecutionProviderChoice, type MediaSpan } from '../engine/index';
import { repoRootPath } from '../jupyter/paths';
import { TASKS, type Task } from '../prompt/magics';
import {
  basePrompt,
  chatPrompt,
  chatUserMessage,
  forceOutputStart,
  TASK_INPUT,
  TASK_OUTPUT,
  type PromptMedia,
} from '../prompt/templates';

type CliTask = Task | 'raw';
const CLI_TASKS: readonly CliTask[] = ['raw', ...TASKS];
const MEDIA_FLAGS: readonly MediaModality[] = ['image', 'speech', 'music'];

function defaultModelDir(): string {
  if (process.env.ANYGPT_MODEL) return process.env.ANYGPT_MODEL;
  const fromRepo = path.join(repoRootPath(), 'models', 'anygpt-nano');
  return existsSync(fromRepo) ? fromRepo : path.join(process.cwd(), 'models', 'anygpt-nano');
}

function requireModel(dir: string | undefined): string {
  const d = dir ?? defaultModelDir();
  if (!existsSync(path.join(d, MANIFEST_FILE))) {
    throw new PackageError(
      `no model package at ${d} (${MANIFEST_FILE} missing). ` +
        (dir
          ? 'Check --model.'
          : 'The default model models/anygpt-nano is not built yet: build it (see README) or pass --model DIR.'),
    );
  }
  return d;
}

function parseTask(task: string): CliTask {
  if (!(CLI_TASKS as readonly string[]).includes(task))
    throw new UsageError(`unknown --task ${JSON.stringify(task)} (one of: ${CLI_TASKS.join(', ')})`);
  return task as CliTask;
}

/** The prompt string, from kernel/prompt's templates (the same ones the notebook kernel uses). */
function buildPrompt(engine: Engine, task: CliTask, text: string, media: PromptMedia[], forceOutput: boolean): string {
  const m = engine.pkg.manifest;
  if (task === 'raw') {
    if (media.length)
      throw new Error('--task raw sends the prompt as written; media files need --task chat, caption, asr or m2t');
    return text;
  }
  if (task === 'chat') return chatPrompt(m.templates.chat[m.templates.defaultChat], [], chatUserMessage(text, media));
  return basePrompt(m, task, text, media, 1, { forceOutput });
}

/** Encodes --image/--speech/--music in the engine's worker; encoder warnings go to stderr. */
async function encodeInputs(engine: Engine, files: Partial<Record<MediaModality, string>>): Promise<PromptMedia[]> {
  const media: PromptMedia[] = [];
  for (const modality of MEDIA_FLAGS) {
    const file = files[modality];
    if (!file) continue;
    const r = await engine.encodeMedia(modality, { path: file });
    for (const w of r.warnings) console.error(`-- ${file}: ${w}`);
    media.push({ modality, tokens: r.tokens });
  }
  return media;
}

/** A name in `dir` that does not exist yet: image-1.png, image-2.png, … (never overwrites). */
function freshPath(dir: string, stem: string, ext: string): string {
  for (let n = 1; ; n++) {
    const p = path.join(dir, `${stem}-${n}.${ext}`);
    if (!existsSync(p)) return p;
  }
}

/** Decodes each generated media span (seeded with the generation's seed) and writes PNG/WAV files. */
async function writeMedia(
  engine: Engine,
  g: Generation,
  outDir: string,
  voicePrompt: number[][] | undefined,
  signal: AbortSignal,
): Promise<string[]> {
  const spans = g.spans.filter((s): s is MediaSpan => s.kind !== 'text' && s.role === 'generated');
  if (!spans.length) return [];
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const span of spans) {
    const r = await engine.decodeSpan(span, {
      seed: g.params.seed,
      voicePrompt: span.modality === 'speech' ? voicePrompt : undefined,
      signal,
    });
    for (const w of r.warnings) console.error(`-- ${span.modality}: ${w}`);
    const file = freshPath(outDir, span.modality, r.mime === 'image/png' ? 'png' : 'wav');
    writeFileSync(file, r.data, { flag: 'wx' }); // freshPath's name may have been taken since: never overwrite
    written.push(file);
  }
  return written;
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}

/** A knob's flag, checked against the knob's range (common/knobs.ts) before the engine sees it. */
function knobFlag(v: string | undefined, knob: Knob): number | undefined {
  const n = num(v, knob.flag);
  const problem = n === undefined ? undefined : knobValueProblem(knob, n, v);
  if (problem) throw new UsageError(`--${knob.flag}: ${problem}`);
  return n;
}

function describeSpans(g: Generation): string {
  return g.spans
    .map((s, i) => {
      const toks = g.tokens.slice(s.start, s.end);
      const body =
        s.kind === 'text'
          ? JSON.stringify(s.text)
          : s.kind === 'music'
            ? `${s.codes.length}×${s.codes[0]?.length ?? 0} codes`
            : `${s.codes.length} codes`;
      const ids = toks.map((t) => t.id).join(' ');
      return `#${i} ${s.role.padEnd(9)} ${s.kind.padEnd(6)} [${s.start},${s.end}) ${body}${'complete' in s ? (s.complete ? '' : ' (incomplete)') : ''}\n     ids: ${ids}`;
    })
    .join('\n');
}

const isCommand = (c: string | undefined): c is Command => (COMMANDS as readonly (string | undefined)[]).includes(c);

/** The model a --help describes: --model DIR (or inspect's DIR) when given, else the default one. */
function helpModel(args: string[]): string | undefined {
  const i = args.findIndex((a) => a === '--model' || a.startsWith('--model='));
  if (i >= 0) return args[i].includes('=') ? args[i].slice('--model='.length) : args[i + 1];
  const d = defaultModelDir();
  return existsSync(path.join(d, MANIFEST_FILE)) ? d : undefined;
}

/**
 * --variant against the package's llm.variants, before anything loads: nano has none, and the engine's own
 * message ("llmVariant …") reads like a broken package.
 */
function checkVariant(dir: string, variant: string | undefined): void {
  if (variant === undefined) return;
  const variants = packageVariants(dir) ?? [];
  if (!variants.length)
    throw new UsageError(
      `--variant ${JSON.stringify(variant)}: the package at ${dir} has no variants (its anygpt.json lists no llm.variants); run without --variant`,
    );
  if (!variants.includes(variant))
    throw new UsageError(`--variant ${JSON.stringify(variant)}: the package at ${dir} has ${variants.join(', ')}`);
}

/** What an X→text task or a text-only task needs from the media flags, named as flags. */
function checkTaskInputs(task: CliTask, files: Partial<Record<MediaModality, string>>, text: string): void {
  const given = MEDIA_FLAGS.filter((m) => files[m]);
  if (task === 'raw' || task === 'chat') {
    if (task === 'raw' && given.length)
      throw new UsageError(
        `--task raw sends the prompt as written; --${given[0]} needs --task chat, caption, asr or m2t`,
      );
    if (!text && !given.length)
      throw new UsageError(
        `a prompt is required (the text to send${task === 'chat' ? ', or --image/--speech/--music FILE' : ''})`,
      );
    return;
  }
  const input = TASK_INPUT[task];
  if (input) {
    if (!files[input])
      throw new UsageError(
        `--task ${task} needs --${input} FILE (the ${input} to turn into text)${text ? '' : '; the prompt text is optional'}`,
      );
    const other = given.find((m) => m !== input);
    if (other) throw new UsageError(`--task ${task} reads --${input} only; --${other} needs --task chat`);
    return;
  }
  if (given.length) throw new UsageError(`--task ${task} takes text only; --${given[0]} needs --task chat`);
  if (!text) throw new UsageError(`--task ${task} needs a prompt: the text to turn into ${TASK_OUTPUT[task]}`);
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' && argv[1] && isCommand(argv[1]) ? argv[1] : undefined;
    (cmd ? console.log : console.error)(usage(topic, helpModel(argv.slice(1))));
    return cmd ? 0 : 2;
  }
  if (!isCommand(cmd)) throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  if (cmd === 'verify') {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(usage('verify', undefined));
      return 0;
    }
    // Loaded only here: verify drives a kernel over zeromq, which the other commands never need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runVerify } = require('../jupyter/verify') as typeof import('../jupyter/verify');
    return runVerify(argv.slice(1));
  }
  const { values: o, positionals } = parseCommand(cmd, argv.slice(1)) as {
    values: Record<string, string | undefined> &
      Record<'json' | 'greedy' | 'no-constrain' | 'verify' | 'help', boolean>;
    positionals: string[];
  };
  if (o.help) {
    console.log(usage(cmd, helpModel(argv.slice(1))));
    return 0;
  }

  if (cmd === 'inspect') {
    const dir = requireModel(positionals[0] ?? o.model);
    checkVariant(dir, o.variant);
    const pkg = await loadPackage(dir, { llmVariant: o.variant, verify: o.verify ? 'full' : 'stamp' });
    const m = pkg.manifest;
    // The graph check needs a session: open the engine on CPU briefly (its own load finds the files stamped).
    const engine = await Engine.open(dir, { executionProvider: 'cpu', threads: 1, llmVariant: o.variant });
    await engine.close();
    const v = pkg.verify;
    const info = {
      ok: true,
      dir: pkg.dir,
      name: m.name,
      description: m.description,
      hash: pkg.hash,
      llm: {
        graph: m.llm.graph.path,
        layers: m.llm.numLayers,
        kvHeads: m.llm.numKvHeads,
        headDim: m.llm.headDim,
        vocabSize: m.llm.vocabSize,
        maxPositions: m.llm.maxPositions,
        kvDtype: m.llm.kvDtype,
      },
      modalities: Object.keys(m.modalities),
      verify: {
        mode: v.mode,
        hashedFiles: v.hashed.length,
        hashedBytes: v.hashedBytes,
        stampedFiles: v.stamped.length,
        unusedFiles: v.unused.length,
        ms: Math.round(v.ms),
        hashed: v.hashed,
        unused: v.unused,
        ...(v.stampError ? { stampError: v.stampError } : {}),
      },
      vocabulary: pkg.vocab.describe(),
      presets: m.presets,
    };
    console.log(o.json ? JSON.stringify(info, null, 2) : formatInspect(info));
    return 0;
  }

  const text = positionals.join(' ');
  const task = parseTask(o.task ?? 'raw');
  const files = { image: o.image, speech: o.speech, music: o.music };
  checkTaskInputs(task, files, text);
  const ep = (o.ep ?? 'auto') as ExecutionProviderChoice;
  if (!['auto', 'cpu', 'cuda'].includes(ep))
    throw new UsageError(`--ep: expected auto, cpu or cuda, got ${JSON.stringify(o.ep)}`);
  const modelDir = requireModel(o.model);
  checkVariant(modelDir, o.variant);
  const engine = await Engine.open(modelDir, {
    executionProvider: cmd === 'tokens' ? 'cpu' : ep,
    threads: num(o.threads, 'threads'),
    llmVariant: cmd === 'tokens' ? undefined : o.variant,
  });
  try {
    const media = await encodeInputs(engine, files);
    const prompt = buildPrompt(
      engine,
      task,
      text,
      media,
      forceOutputStart(engine.pkg.manifest, o['no-constrain'] ? false : undefined),
    );
    const preset: Modality = task === 'raw' ? 'text' : TASK_OUTPUT[task];
    if (cmd === 'tokens') {
      const g = engine.tokenize(prompt, { preset });
      if (o.json) console.log(JSON.stringify(g, null, 2));
      else {
        console.log(
          g.tokens
            .map(
              (t) =>
                `${String(t.position).padStart(4)} ${String(t.id).padStart(6)}  ${t.modality.padEnd(6)} span ${String(t.span).padStart(2)}  ${JSON.stringify(t.piece)}`,
            )
            .join('\n'),
        );
        console.log(`\nspans:\n${describeSpans(g)}`);
      }
      return 0;
    }
    const flags = o as Record<string, string | boolean | undefined>;
    const knobs = Object.fromEntries(KNOBS.map((k) => [k.key, knobFlag(flags[k.flag] as string | undefined, k)]));
    const params: Partial<GenerationParams> = {
      preset,
      // A chat turn takes the package's chat preset where it has one (a converted AnyGPT: upstream's chat config).
      ...(task === 'chat' ? engine.pkg.manifest.presets.chat : undefined),
      ...knobs,
      minNewTokens: num(o['min-new-tokens'], 'min-new-tokens'),
      // As in a cell, temperature 0 means greedy; the preset's temperature stays (the engine wants > 0).
      ...(knobs.temperature === 0 ? { temperature: undefined } : {}),
      ...(o.greedy || knobs.temperature === 0 ? { doSample: false } : {}),
      ...(o['no-constrain'] ? { constrain: false } : {}),
    };
    const v = engine.pkg.verify;
    console.error(
      `-- loaded in ${engine.loadMs.toFixed(0)} ms: files verified in ${v.ms.toFixed(0)} ms ` +
        `(${v.hashed.length} hashed, ${(v.hashedBytes / 2 ** 30).toFixed(2)} GiB; ${v.stamped.length} stamped; ` +
        `${v.unused.length} of other variants skipped)${v.stampError ? `; stamp not written: ${v.stampError}` : ''}`,
    );
    const voicePrompt = o.voice
      ? ((await engine.encodeMedia('speech', { path: o.voice }, 'voice-prompt')).codes as number[][])
      : undefined;
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    // Stream text as the tokenizer decodes it (pieces alone lack the spaces a decoder inserts, e.g. WordPiece).
    const textIds: number[] = [];
    let printed = '';
    const g = await engine.generate(prompt, params, {
      signal: ac.signal,
      onEvent: o.json
        ? undefined
        : (e) => {
            if (e.type === 'token' && e.token.modality === 'text' && e.token.span >= 0) {
              textIds.push(e.token.id);
              const text = engine.pkg.tokenizer.decode(textIds);
              if (text.startsWith(printed)) process.stdout.write(text.slice(printed.length));
              printed = text;
            }
            // A span may open in the prompt (a forced start tag), so name it when it closes.
            if (e.type === 'span-end' && e.span.kind !== 'text')
              process.stdout.write(
                `[${e.span.kind}: ${e.span.kind === 'music' ? `${e.span.codes[0]?.length ?? 0} frames` : `${e.span.codes.length} codes`}]`,
              );
          },
    });
    if (!o.json) process.stdout.write('\n');
    const written = await writeMedia(engine, g, path.resolve(o.out ?? DEFAULT_OUT_DIR), voicePrompt, ac.signal);
    // With --json, stdout is the record alone; the file list goes to stderr.
    for (const f of written) (o.json ? console.error : console.log)(`wrote ${f}`);
    if (o.json) console.log(JSON.stringify(g, null, 2));
    else {
      const s = g.stats;
      console.error(
        `-- ${g.stopReason}; ${s.promptTokens} prompt + ${s.generatedTokens} generated tokens; prefill ${s.prefillMs.toFixed(1)} ms; ` +
          `${s.tokensPerSecond.toFixed(1)} tok/s; seed ${g.params.seed}; ${g.model.executionProvider}` +
          (g.warnings.length ? `\n-- warnings: ${g.warnings.join('; ')}` : ''),
      );
    }
    return 0;
  } finally {
    await engine.close();
  }
}

function formatInspect(i: Record<string, unknown>): string {
  return Object.entries(i)
    .map(([k, v]) => `${k.padEnd(12)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('\n');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    if (e instanceof UsageError) {
      const cmd = process.argv[2];
      console.error(
        `anygpt: ${e.message}\n\n${usage(e.command ?? (isCommand(cmd) ? cmd : undefined), helpModel(process.argv.slice(3)))}`,
      );
      process.exit(2);
    }
    const kind = e instanceof PackageError ? 'invalid model package: ' : e instanceof MediaError ? 'media: ' : '';
    console.error(`anygpt: ${kind}${e.message}`);
    process.exit(1);
  },
);
