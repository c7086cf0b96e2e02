/**
 * `anygpt-kernel`: the Jupyter kernel process (bundled to dist/kernel.js).
 *   anygpt-kernel [--model DIR] [--ep auto|cpu|cuda] [--threads N] [-f] CONNECTION_FILE
 * Environment: ANYGPT_MODEL, ANYGPT_EP, ANYGPT_THREADS (the flags win); the VS Code extension sets them from its settings.
 *   anygpt-kernel install [--user|--sys-prefix|--prefix P] [--model DIR] [--ep auto|cpu|cuda] [--threads N] [--name N] [--display-name S]
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Backend, BackendOptions } from './backend';
import { readConnectionFile } from './connection';
import { CellExecutor, KERNEL_VERSION } from './executor';
import { exitProcess } from './exit';
import { Kernel } from './kernel';
import { installKernelspec, type InstallOptions } from './kernelspec';
import { kernelScriptPath, repoRootPath } from './paths';
import { KernelSockets } from './sockets';

const log = (s: string) => process.stderr.write(`[anygpt-kernel] ${s}\n`);

export function defaultModelDir(): string | undefined {
  if (process.env.ANYGPT_MODEL) return resolve(process.env.ANYGPT_MODEL);
  const nano = join(repoRootPath(), 'models', 'anygpt-nano');
  return existsSync(join(nano, 'anygpt.json')) ? nano : undefined;
}

const KERNEL_USAGE = `usage: anygpt-kernel [--model DIR] [--ep auto|cpu|cuda] [--threads N] -f CONNECTION_FILE
       anygpt-kernel install [--user|--sys-prefix|--prefix P] [--model DIR] [--ep auto|cpu|cuda] [--threads N]
                             [--name NAME] [--display-name TEXT]
       anygpt-kernel --version | --help

  Jupyter starts the kernel with a connection file (-f); \`install\` writes a kernelspec that does so
  (default --user; --name anygpt, --display-name "AnyGPT").
  --model DIR      the model package (default: $ANYGPT_MODEL, else models/anygpt-nano; %model DIR in a cell)
  --ep auto|cpu|cuda  execution provider (default: $ANYGPT_EP, else cpu; auto falls back to CPU, saying why)
  --threads N      intra-op threads (default: $ANYGPT_THREADS, else ONNX Runtime decides)`;

/** A mistake in the command line: printed with the usage, exit status 2. */
class UsageError extends Error {}

function parseArgs(argv: string[]): { flags: Map<string, string | true>; rest: string[] } {
  const flags = new Map<string, string | true>();
  const rest: string[] = [];
  const valued = new Set(['--prefix', '--model', '--name', '--display-name', '-f', '--ep', '--threads']);
  const switches = new Set(['--user', '--sys-prefix', '--version', '--help', '-h']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-')) {
      const [k, v] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
      if (valued.has(k)) {
        const val = v ?? argv[++i];
        if (val === undefined) throw new UsageError(`${k} needs a value`);
        flags.set(k, val);
      } else if (switches.has(k)) flags.set(k, true);
      else throw new UsageError(`unknown option ${k}`);
    } else rest.push(a);
  }
  return { flags, rest };
}

function install(flags: Map<string, string | true>): void {
  const where: InstallOptions['where'] = flags.has('--prefix')
    ? 'prefix'
    : flags.has('--sys-prefix')
      ? 'sys-prefix'
      : 'user';
  const model = flags.get('--model') as string | undefined;
  const dir = installKernelspec({
    where,
    prefix: flags.get('--prefix') as string | undefined,
    model,
    executionProvider: flags.get('--ep') as InstallOptions['executionProvider'],
    threads: flags.has('--threads') ? Number(flags.get('--threads')) : undefined,
    name: flags.get('--name') as string | undefined,
    displayName: flags.get('--display-name') as string | undefined,
    kernelScript: kernelScriptPath(),
  });
  process.stdout.write(`Installed kernelspec ${basename(dir)} in ${dir}\n`);
  if (!model) {
    const d = defaultModelDir();
    process.stdout.write(
      d
        ? `Model: ${d} (default; pass --model DIR to pin another)\n`
        : 'No model yet: pass --model DIR, set ANYGPT_MODEL, or use %model DIR in a cell.\n',
    );
  }
}

type ExecutionProviderChoice = 'auto' | 'cpu' | 'cuda';

/** How the engine runs: execution provider and intra-op threads (undefined: ONNX Runtime decides). */
interface EngineSettings {
  executionProvider: ExecutionProviderChoice;
  threads?: number;
}

/**
 * --ep / --threads, else ANYGPT_EP / ANYGPT_THREADS. Without either the kernel runs on the CPU, as it always
 * has for JupyterLab users; `auto` (the extension's default setting) tries CUDA and falls back to CPU.
 */
function engineSettings(flags: Map<string, string | true>, env: NodeJS.ProcessEnv): EngineSettings {
  const epFlag = flags.get('--ep') as string | undefined;
  const ep = (epFlag ?? env.ANYGPT_EP ?? '').trim().toLowerCase() || 'cpu';
  if (ep !== 'auto' && ep !== 'cpu' && ep !== 'cuda') {
    throw new Error(
      `${epFlag !== undefined ? '--ep' : 'ANYGPT_EP'} must be auto, cpu or cuda, not ${JSON.stringify(ep)}`,
    );
  }
  const threadsFlag = flags.get('--threads') as string | undefined;
  const raw = (threadsFlag ?? env.ANYGPT_THREADS ?? '').trim();
  const threads = raw === '' ? 0 : Number(raw);
  if (!Number.isInteger(threads) || threads < 0) {
    throw new Error(
      `${threadsFlag !== undefined ? '--threads' : 'ANYGPT_THREADS'} must be a whole number >= 0 (0: ONNX Runtime decides), not ${JSON.stringify(raw)}`,
    );
  }
  return { executionProvider: ep, threads: threads || undefined };
}

function describeSettings(s: EngineSettings): string {
  return `execution provider ${s.executionProvider}, threads ${s.threads ?? 'ORT default'}`;
}

/** Opens the engine with these settings for every model the executor loads (%model included). */
function backendFactory(settings: EngineSettings) {
  return async (dir: string, opts: BackendOptions): Promise<Backend> => {
    // Loaded lazily so `install` never loads onnxruntime.
    const { EngineBackend } = await import('./engine-backend');
    // EngineBackend hands executionProvider to Engine.open, which accepts 'auto'; BackendOptions only names
    // the resolved providers, hence the cast.
    const backend = await EngineBackend.open(dir, {
      ...opts,
      executionProvider: settings.executionProvider as BackendOptions['executionProvider'],
      threads: settings.threads,
    });
    const m = backend.describeModel();
    log(`engine: ${m.name} on ${m.executionProvider} (requested ${describeSettings(settings)})`);
    return backend;
  };
}

async function serve(flags: Map<string, string | true>, rest: string[]): Promise<void> {
  const file = (flags.get('-f') as string | undefined) ?? rest[0];
  if (!file) throw new UsageError('no connection file (-f CONNECTION_FILE)');
  const settings = engineSettings(flags, process.env);
  const info = readConnectionFile(file);
  const modelDir = (flags.get('--model') as string | undefined) ?? defaultModelDir();
  log(`starting: model ${modelDir ?? '(none)'}, ${describeSettings(settings)}`);
  const executor = new CellExecutor(modelDir, backendFactory(settings), { log });
  const sockets = new KernelSockets(info, log);
  await sockets.bind();
  const kernel = new Kernel(sockets, executor, { log, exit: (code) => exitProcess(code, log) });
  kernel.start();

  // jupyter_client sends SIGINT for interrupts *and* before every shutdown/restart; Node would exit 130.
  process.on('SIGINT', () => kernel.interrupt('SIGINT'));
  process.on('SIGTERM', () => {
    void kernel.close().finally(() => exitProcess(0, log));
  });
  // Exit with the launcher (ipykernel's ParentPoller): orphaned kernels otherwise pile up.
  const ppid = Number(process.env.JPY_PARENT_PID);
  if (ppid > 1) {
    setInterval(() => {
      try {
        process.kill(ppid, 0);
      } catch {
        log(`parent ${ppid} is gone; exiting`);
        void kernel.close().finally(() => exitProcess(0, log));
      }
    }, 2000).unref();
  }
}

async function main(argv: string[]): Promise<void> {
  const { flags, rest } = parseArgs(argv);
  if (flags.has('--help') || flags.has('-h')) {
    process.stdout.write(KERNEL_USAGE + '\n');
    return;
  }
  if (flags.has('--version')) {
    process.stdout.write(`anygpt-kernel ${KERNEL_VERSION}\n`);
    return;
  }
  if (rest[0] === 'install') return install(flags);
  return serve(flags, rest);
}

main(process.argv.slice(2)).catch((e) => {
  log((e as Error).message);
  if (e instanceof UsageError) {
    process.stderr.write(`\n${KERNEL_USAGE}\n`);
    process.exit(2);
  }
  process.exit(1);
});
