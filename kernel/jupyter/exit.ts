/**
 * How the kernel process ends. Node joins every worker thread before it exits, and an engine worker inside one
 * long ORT run (a decode of 10,000 music codes) cannot be stopped from JavaScript, so a plain process.exit()
 * would wait for that run: a shutdown during a decode then outlives jupyter_client's 5 s grace and is SIGKILLed.
 * When such a thread is left (busy-threads.ts), the process runs its 'exit' listeners and ends through libc's
 * _exit (reached with koffi, an optional dependency), which does not wait for threads. Without koffi it falls back
 * to process.exit.
 */
import { busyThreads } from '../engine/busy-threads';

type ExitFn = (code: number) => void;

function libcExit(): ExitFn | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require('koffi') as { load(name: string): { func(sig: string): ExitFn } };
    return koffi.load('libc.so.6').func('void _exit(int)');
  } catch {
    return undefined;
  }
}

/** Ends the process with `code`, without waiting for engine threads stuck in native code. */
export function exitProcess(code: number, log?: (s: string) => void): void {
  const busy = busyThreads();
  const hard = busy > 0 && process.platform === 'linux' ? libcExit() : undefined;
  if (!hard) {
    process.exit(code);
    return;
  }
  log?.(`exiting without waiting for ${busy} engine thread(s) still in a native call`);
  process.exitCode = code;
  try {
    process.emit('exit', code);
  } finally {
    hard(code);
  }
}
