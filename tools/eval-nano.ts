/**
 * `npm run eval:nano`: the AnyGPT-nano scorecard, run by the TypeScript engine on the held-out cases of
 * test/fixtures/nano-eval.json with fixed seeds. Prints measured vs target per check with PASS/FAIL and writes
 * out/eval-nano.json. A report: exits 0 whether checks pass or fail, non-zero only when it cannot run.
 *
 *   npm run eval:nano -- [--model DIR] [--fixture FILE] [--limit N] [--tasks t2i,caption,asr,tts,t2m,m2t,chat_edit,chat_image_question]
 *                        [--greedy] [--seed N] [--t2m-samples N] [--no-calibrate] [--threads N] [--out FILE]
 *
 * What each check measures: tools/eval/run.ts (and tools/eval/image.ts, audio.ts, text.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  DEFAULT_FIXTURE,
  DEFAULT_MODEL,
  ROOT,
  TASKS,
  formatTable,
  runEval,
  writeReport,
  type TaskName,
} from './eval/run';

async function main(argv: string[]): Promise<number> {
  const opt = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (name: string) => {
    const v = opt(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const model = resolve(opt('model') ?? DEFAULT_MODEL);
  if (!existsSync(join(model, 'anygpt.json'))) {
    console.error(
      `eval:nano: no model package at ${model} (anygpt.json missing); tools/nano/train.sh builds models/anygpt-nano, or pass --model DIR`,
    );
    return 1;
  }
  const tasks = opt('tasks')
    ?.split(',')
    .map((t) => t.trim()) as TaskName[] | undefined;
  const unknown = tasks?.filter((t) => !TASKS.includes(t));
  if (unknown?.length) throw new Error(`--tasks: unknown ${unknown.join(', ')}; known: ${TASKS.join(', ')}`);
  const out = resolve(opt('out') ?? join(ROOT, 'out', 'eval-nano.json'));
  const report = await runEval({
    model,
    fixture: opt('fixture') ?? DEFAULT_FIXTURE,
    limit: int('limit'),
    tasks,
    decoding: argv.includes('--greedy') ? 'greedy' : 'preset',
    seed: int('seed'),
    t2mSamples: int('t2m-samples'),
    calibrate: !argv.includes('--no-calibrate'),
    threads: int('threads'),
    log: (s) => process.stderr.write(`eval:nano: ${s}…\n`),
  });
  console.log(`AnyGPT-nano scorecard — ${report.model.name} ${report.model.hash.slice(0, 12)} (${report.model.dir})`);
  console.log(
    `held-out cases: ${report.fixture}; decoding: ${report.decoding === 'greedy' ? 'greedy, minNewTokens 0 (as tools/nano/evaluate.py; other preset fields kept)' : "the package's presets"}, fixed seeds from ${report.seed}; ${report.seconds} s\n`,
  );
  const pr = Object.entries(report.presets).map(
    ([k, p]) =>
      `${k}: ${p.doSample ? `sample T=${p.temperature} top-k ${p.topK} top-p ${p.topP}` : p.numBeams > 1 ? `beam ${p.numBeams}` : 'greedy'}, rep ${p.repetitionPenalty}, new tokens ${p.minNewTokens}–${p.maxNewTokens}`,
  );
  console.log(`package presets: ${pr.join('; ')}\n`);
  console.log(formatTable(report));
  const checks = report.rows.filter((r) => r.pass !== null && r.task !== 'measurement');
  console.log(`\n${checks.filter((r) => r.pass).length} of ${checks.length} targets met.`);
  for (const n of report.notes) console.log(`note: ${n}`);
  mkdirSync(dirname(out), { recursive: true });
  writeReport(report, out);
  console.log(`wrote ${out}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`eval:nano: ${e.stack ?? e.message}`);
    process.exit(2);
  },
);
