/**
 * What the front-end tests share: a temp folder with copies of samples/*.ipynb and their media, our kernelspecs
 * installed into a temp prefix found through JUPYTER_PATH (the user's home is never touched), and a Jupyter
 * environment that keeps data, runtime and config inside the temp folder.
 *
 * Kernelspecs: `anygpt` (the name the samples' metadata asks for) over the media fixture package (known outputs,
 * real codecs: test/jupyter/helpers.ts mediaFixture), and `anygpt-long` over the long-generating LLaMA fixture
 * (test/fixtures/long-fixture.ts), something real to interrupt.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanupFixtures,
  ensureKernelBuilt,
  jupyterSandboxEnv,
  KERNEL_JS,
  longFixture,
  mediaFixture,
  ROOT,
} from '../jupyter/helpers';

export const PY = '/usr/bin/python3';
export const SAMPLES = join(ROOT, 'samples');
export const SHOTS = join(ROOT, 'test-output', 'frontends');

export interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
export interface NbCell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  outputs?: NbOutput[];
  execution_count?: number | null;
}
export interface Nb {
  metadata: Record<string, unknown> & { kernelspec?: { name: string; display_name?: string; language?: string } };
  cells: NbCell[];
  nbformat: number;
  nbformat_minor: number;
}

export const src = (s: string | string[]): string => (Array.isArray(s) ? s.join('') : s);
export const codeCells = (nb: Nb): NbCell[] => nb.cells.filter((c) => c.cell_type === 'code');

export interface Sandbox {
  tmp: string;
  /** The notebook folder: the samples with media/, plus the -fixture variants and long.ipynb. */
  work: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/**
 * The samples' own prompts get "hi there" from the media fixture's LLM; the `-fixture` copies add its trigger
 * words so the tts and t2i cells generate speech and image spans (magics, %voice and media paths stay the samples').
 */
function writeFixtureVariants(work: string): void {
  for (const [name, word] of [
    ['tts', 'say'],
    ['t2i', 'img'],
  ] as const) {
    const nb = JSON.parse(readFileSync(join(work, `${name}.ipynb`), 'utf8')) as Nb;
    for (const c of codeCells(nb)) c.source = src(c.source).replace(/\n([^%\n][^\n]*)$/, `\n${word}: $1`);
    writeFileSync(join(work, `${name}-fixture.ipynb`), JSON.stringify(nb, null, 1));
  }
}

/** A notebook on the long fixture: a quick cell, then one that generates until it is interrupted. */
function writeLongNotebook(work: string): void {
  const cell = (id: string, source: string): NbCell & { id: string } => ({
    id,
    cell_type: 'code',
    metadata: {},
    source,
    outputs: [],
    execution_count: null,
  });
  const t2i = JSON.parse(readFileSync(join(work, 't2i.ipynb'), 'utf8')) as Nb;
  const nb: Nb = {
    ...t2i,
    metadata: {
      ...t2i.metadata,
      kernelspec: { name: 'anygpt-long', display_name: 'AnyGPT (long)', language: 'anygpt' },
    },
    cells: [
      cell('quick', '%max_new_tokens 1\nstill here'),
      cell('long', '%max_new_tokens 16000\n%temperature 0.5\nKeep talking for a long time.'),
    ],
  };
  writeFileSync(join(work, 'long.ipynb'), JSON.stringify(nb, null, 1));
}

export function makeSandbox(prefixName: string, extraEnv: NodeJS.ProcessEnv = {}): Sandbox {
  if (!existsSync(join(SAMPLES, 'media', 'voice.wav')))
    execFileSync(process.execPath, ['--import', 'tsx', join(SAMPLES, 'make-samples.ts')], { stdio: 'pipe' });
  ensureKernelBuilt();
  const tmp = mkdtempSync(join(tmpdir(), `anygpt-${prefixName}-`));
  const prefix = join(tmp, 'prefix');
  const install = (name: string, model: string, ...rest: string[]) =>
    execFileSync(
      process.execPath,
      [KERNEL_JS, 'install', '--prefix', prefix, '--name', name, '--model', model, ...rest],
      {
        stdio: 'pipe',
      },
    );
  install('anygpt', mediaFixture());
  install('anygpt-long', longFixture(), '--ep', 'cpu', '--threads', '1');
  const work = join(tmp, 'nb');
  cpSync(SAMPLES, work, { recursive: true, filter: (p) => !p.endsWith('.ts') });
  writeFixtureVariants(work);
  writeLongNotebook(work);
  const env = jupyterSandboxEnv(tmp, prefix, extraEnv);
  return {
    tmp,
    work,
    env,
    cleanup() {
      rmSync(tmp, { recursive: true, force: true });
      cleanupFixtures();
    },
  };
}
