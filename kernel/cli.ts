/**
 * `anygpt` command line: generate, tokens, inspect. A thin shell over kernel/engine.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { Generation, GenerationParams } from '../common/generation';
import { MANIFEST_FILE, type Modality } from '../common/manifest';
import { Engine, loadPackage, PackageError, type ExecutionProviderChoice } from './engine/index';

const USAGE = `usage:
  anygpt generate [--model DIR] [--task TASK] [--json] [options] "prompt"
  anygpt tokens   [--model DIR] [--task TASK] "prompt"
  anygpt inspect  [DIR]

tasks (templates from the package manifest; default "raw" sends the prompt as written):
  raw      the prompt string as is
  chat     the base template: [Human]: {prompt}<eoh> [MMGPT]:
  t2i      text → image     tts  text → speech     t2m  text → music
  (caption, asr, m2t take media input: --image/--speech/--music arrive with kernel/codecs)

generate options:
  --max-new-tokens N  --min-new-tokens N  --seed N  --greedy  --beams N
  --temperature T  --top-k K  --top-p P  --repetition-penalty R  --no-constrain
  --ep auto|cpu|cuda  --threads N  --json (print the Generation record)

The default model is models/anygpt-nano (or $ANYGPT_MODEL).`;

const TASK_PRESET: Record<string, Modality> = { raw: 'text', chat: 'text', t2i: 'image', tts: 'speech', t2m: 'music' };
const MEDIA_TASKS = new Set(['caption', 'asr', 'm2t']);

function defaultModelDir(): string {
  if (process.env.ANYGPT_MODEL) return process.env.ANYGPT_MODEL;
  // dist/cli.js or kernel/cli.ts: the repository root is one level up.
  const fromRepo = path.join(__dirname, '..', 'models', 'anygpt-nano');
  return existsSync(fromRepo) ? fromRepo : path.join(process.cwd(), 'models', 'anygpt-nano');
}

function requireModel(dir: string | undefined): string {
  const d = dir ?? defaultModelDir();
  if (!existsSync(path.join(d, MANIFEST_FILE))) {
    throw new PackageError(
      `no model package at ${d} (${MANIFEST_FILE} missing). ` +
        (dir ? 'Check --model.' : 'The default model models/anygpt-nano is not built yet: build it (see README) or pass --model DIR.'),
    );
  }
  return d;
}

function buildPrompt(engine: Engine, task: string, text: string): string {
  const t = engine.pkg.manifest.templates;
  const fill = (message: string) => t.base.replace('{message}', message);
  switch (task) {
    case 'raw':
      return text;
    case 'chat':
      return fill(text);
    case 't2i':
      return fill(`${t.instructions.t2i} This is input: ${text}`);
    case 'tts':
      return fill(`${t.instructions.tts} This is input: ${text}`);
    case 't2m':
      return fill(`${t.instructions.t2m} This is input: ${text}`);
    default:
      if (MEDIA_TASKS.has(task)) throw new Error(`--task ${task} needs media input, which arrives with the codecs (kernel/codecs)`);
      throw new Error(`unknown --task ${JSON.stringify(task)} (one of: ${[...Object.keys(TASK_PRESET), ...MEDIA_TASKS].join(', ')})`);
  }
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
}

function describeSpans(g: Generation): string {
  return g.spans
    .map((s, i) => {
      const toks = g.tokens.slice(s.start, s.end);
      const body = s.kind === 'text' ? JSON.stringify(s.text) : s.kind === 'music' ? `${s.codes.length}×${s.codes[0]?.length ?? 0} codes` : `${s.codes.length} codes`;
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
  const { values: o, positionals } = parseArgs({
    args: argv.slice(1),
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      task: { type: 'string', default: 'raw' },
      json: { type: 'boolean', default: false },
      'max-new-tokens': { type: 'string' },
      'min-new-tokens': { type: 'string' },
      seed: { type: 'string' },
      greedy: { type: 'boolean', default: false },
      beams: { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      'no-constrain': { type: 'boolean', default: false },
      ep: { type: 'string', default: 'auto' },
      threads: { type: 'string' },
      image: { type: 'string' },
      speech: { type: 'string' },
      music: { type: 'string' },
    },
  });

  if (cmd === 'inspect') {
    const dir = requireModel(positionals[0] ?? o.model);
    const pkg = await loadPackage(dir);
    const m = pkg.manifest;
    // The graph check needs a session: open the engine on CPU briefly.
    const engine = await Engine.open(dir, { executionProvider: 'cpu', threads: 1 });
    await engine.close();
    const info = {
      ok: true,
      dir: pkg.dir,
      name: m.name,
      description: m.description,
      hash: pkg.hash,
      llm: { graph: m.llm.graph.path, layers: m.llm.numLayers, kvHeads: m.llm.numKvHeads, headDim: m.llm.headDim, vocabSize: m.llm.vocabSize, maxPositions: m.llm.maxPositions, kvDtype: m.llm.kvDtype },
      modalities: Object.keys(m.modalities),
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
  if (!text) throw new Error(`${cmd}: a prompt is required`);
  if (o.image || o.speech || o.music) throw new Error('--image/--speech/--music need the codecs (kernel/codecs), not available in this build yet');
  const ep = o.ep as ExecutionProviderChoice;
  if (!['auto', 'cpu', 'cuda'].includes(ep)) throw new Error(`--ep: expected auto, cpu or cuda, got ${JSON.stringify(o.ep)}`);
  const engine = await Engine.open(requireModel(o.model), { executionProvider: cmd === 'tokens' ? 'cpu' : ep, threads: num(o.threads, 'threads') });
  try {
    const task = o.task ?? 'raw';
    const prompt = buildPrompt(engine, task, text);
    const preset = TASK_PRESET[task] ?? 'text';
    if (cmd === 'tokens') {
      const g = engine.tokenize(prompt, { preset });
      if (o.json) console.log(JSON.stringify(g, null, 2));
      else {
        console.log(g.tokens.map((t) => `${String(t.position).padStart(4)} ${String(t.id).padStart(6)}  ${t.modality.padEnd(6)} span ${String(t.span).padStart(2)}  ${JSON.stringify(t.piece)}`).join('\n'));
        console.log(`\nspans:\n${describeSpans(g)}`);
      }
      return 0;
    }
    const params: Partial<GenerationParams> = {
      preset,
      maxNewTokens: num(o['max-new-tokens'], 'max-new-tokens'),
      minNewTokens: num(o['min-new-tokens'], 'min-new-tokens'),
      seed: num(o.seed, 'seed'),
      numBeams: num(o.beams, 'beams'),
      temperature: num(o.temperature, 'temperature'),
      topK: num(o['top-k'], 'top-k'),
      topP: num(o['top-p'], 'top-p'),
      repetitionPenalty: num(o['repetition-penalty'], 'repetition-penalty'),
      ...(o.greedy ? { doSample: false } : {}),
      ...(o['no-constrain'] ? { constrain: false } : {}),
    };
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    const g = await engine.generate(prompt, params, {
      signal: ac.signal,
      onEvent: o.json ? undefined : (e) => {
        if (e.type === 'token' && e.token.modality === 'text' && e.token.span >= 0) process.stdout.write(e.token.piece.replace(/\u2581/g, ' '));
        if (e.type === 'span-start') process.stdout.write(`[${e.modality}…`);
        if (e.type === 'span-end') process.stdout.write(`${e.span.kind === 'music' ? e.span.codes[0].length + ' frames' : ('codes' in e.span ? e.span.codes.length + ' codes' : '')}]`);
      },
    });
    if (o.json) console.log(JSON.stringify(g, null, 2));
    else {
      process.stdout.write('\n');
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
    console.error(e instanceof PackageError ? `anygpt: invalid model package: ${e.message}` : `anygpt: ${e.message}`);
    process.exit(1);
  },
);
