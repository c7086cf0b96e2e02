/**
 * Engine worker threads that were told to terminate but are still inside a native call (an ORT run cannot be
 * stopped from JavaScript). Node joins every worker thread before the process exits, so while this count is
 * non-zero a plain process.exit() waits for that native call to return; the kernel's exit path reads it
 * (kernel/jupyter/exit.ts). A process-wide counter on globalThis, so every bundle that includes this module sees
 * the same number.
 */
const KEY = Symbol.for('anygpt.engine.busyThreads');

type Counter = { n: number };

function counter(): Counter {
  const g = globalThis as { [KEY]?: Counter };
  return (g[KEY] ??= { n: 0 });
}

export function busyThreadStarted(): void {
  counter().n++;
}

export function busyThreadEnded(): void {
  counter().n = Math.max(0, counter().n - 1);
}

/** Worker threads still running native code after being told to terminate. */
export function busyThreads(): number {
  return counter().n;
}
