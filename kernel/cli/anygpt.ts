/**
 * `anygpt` command line: generate, tokens, inspect, verify. A thin shell over kernel/engine; prompts come from
 * kernel/prompt's templates, media goes through the engine's worker (encodeMedia / decodeSpan).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { Generation, GenerationParams } from '../../common/generation';
import { KNOBS, knobValueProblem, type Knob } from '../../common/knobs';
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
  TASK_OUTPUT,
  type PromptMedia,
} from '../prompt/templates';

const USAGE = `usage:
  anygpt generate [--model DIR] [--task TASK] [--image F] [--speech F] [--music F] [--out DIR] [--json] [options] "prompt"
  anygpt tokens   [--model DIR] [--task TASK] [--image F] [--speech F] [--music F] "prompt"
  anygpt inspect  [DIR] [--variant NAME] [--verify] [--json]
  anygpt verify   NOTEBOOK.ipynb [--model DIR] [--update] [--force] [--out DIR] | NOTEBOOK.ipynb --against OTHER.ipynb

tasks (templates from the package manifest; default "raw" sends the prompt as written):
  raw      the prompt string as is (no media files)
  chat     the chat template (system prompt, [Human]: … <eoh> [MMGPT]:); any of --image/--speech/--music
  t2i      text → image     tts  text → speech     t2m  text → music
  caption  --image → text   asr  --speech → text   m2t  --music → text   (the prompt text is optional)

generate options:
  ${KNOBS.map((k) => `--${k.flag} ${k.placeholder}`).join('  ')}
  --min-new-tokens N  --greedy (also --temperature 0)  --no-constrain
  --ep auto|cpu|cuda  --threads N  --json (print the Generation record; file paths go to stderr)
  --variant NAME  run a graph from anygpt.json llm.variants instead of llm.graph (e.g. int4, the fast one on CPU)
  --out DIR   where generated images (PNG) and audio (WAV) go (default: the current directory)
  --voice F   a WAV whose voice speech output imitates (speech decoding with an acoustic model)

inspect options:
  --verify        read and check every file of the package (all variants), whatever the verification stamp says
  --variant NAME  open that llm.variants graph (only its files are verified)
Loads verify a file once and then trust it while its size, mtime, ctime and inode are unchanged (a stamp in
$ANYGPT_CACHE_DIR or $XDG_CACHE_HOME/anygpt or ~/.cache/anygpt); docs/model-package.md "Verification".

The default model is models/anygpt-nano (or $ANYGPT_MODEL).`;

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
    throw new Error(`unknown --task ${JSON.stringify(task)} (one of: ${CLI_TASKS.join(', ')})`);
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
  if (!Number.isFinite(n)) throw new Error(`--${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}

/** A knob's flag, checked against the knob's range (common/knobs.ts) before the engine sees it. */
function knobFlag(v: string | undefined, knob: Knob): number | undefined {
  const n = num(v, knob.flag);
  const problem = n === undefined ? undefined : knobValueProblem(knob, n, v);
  if (problem) throw new Error(`--${knob.flag}: ${problem}`);
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

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === 'verify') {
    // Loaded only here: verify drives a kernel over zeromq, which the other commands never need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runVerify } = require('../jupyter/verify') as typeof import('../jupyter/verify');
    return runVerify(argv.slice(1));
  }
  const { values: o, positionals } = parseArgs({
    args: argv.slice(1),
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      task: { type: 'string', default: 'raw' },
      json: { type: 'boolean', default: false },
      ...Object.fromEntries(KNOBS.map((k) => [k.flag, { type: 'string' } as const])),
      'min-new-tokens': { type: 'string' },
      greedy: { type: 'boolean', default: false },
      'no-constrain': { type: 'boolean', default: false },
      ep: { type: 'string', default: 'auto' },
      threads: { type: 'string' },
      variant: { type: 'string' },
      image: { type: 'string' },
      speech: { type: 'string' },
      music: { type: 'string' },
      voice: { type: 'string' },
      out: { type: 'string' },
      verify: { type: 'boolean', default: false },
    },
  });

  if (cmd === 'inspect') {
    const dir = requireModel(positionals[0] ?? o.model);
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

  if (cmd !== 'generate' && cmd !== 'tokens') {
    console.error(`unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
    return 2;
  }
  const text = positionals.join(' ');
  const task = parseTask(o.task ?? 'raw');
  const hasMedia = !!(o.image || o.speech || o.music);
  // X→text tasks and chat with media may go without words; everything else needs a prompt.
  if (!text && !(hasMedia && task !== 'raw')) throw new Error(`${cmd}: a prompt is required`);
  const ep = o.ep as ExecutionProviderChoice;
  if (!['auto', 'cpu', 'cuda'].includes(ep))
    throw new Error(`--ep: expected auto, cpu or cuda, got ${JSON.stringify(o.ep)}`);
  const engine = await Engine.open(requireModel(o.model), {
    executionProvider: cmd === 'tokens' ? 'cpu' : ep,
    threads: num(o.threads, 'threads'),
    llmVariant: cmd === 'tokens' ? undefined : o.variant,
  });
  try {
    const media = await encodeInputs(engine, { image: o.image, speech: o.speech, music: o.music });
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
    const files = await writeMedia(engine, g, path.resolve(o.out ?? '.'), voicePrompt, ac.signal);
    // With --json, stdout is the record alone; the file list goes to stderr.
    for (const f of files) (o.json ? console.error : console.log)(`wrote ${f}`);
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
    const kind = e instanceof PackageError ? 'invalid model package: ' : e instanceof MediaError ? 'media: ' : '';
    console.error(`anygpt: ${kind}${e.message}`);
    process.exit(1);
  },
);
