/**
 * Shared by the fuzz tests (fast-check). `npm test` runs a short pass (FUZZ_RUNS, default 300 cases per target);
 * `npm run fuzz` sets ANYGPT_FUZZ_RUNS=10000. Each target counts the cases it ran and prints the count.
 *
 * The contract every target checks: no crash, no hang, no uncaught exception; input is either accepted or rejected
 * with an Error of the target's class whose message says something (`expectRejection`).
 */
import assert from 'node:assert/strict';

export const FUZZ_RUNS = Math.max(1, Number(process.env.ANYGPT_FUZZ_RUNS ?? 300));
/** A fixed seed unless ANYGPT_FUZZ_SEED says otherwise, so a failure in CI reproduces; fast-check prints it. */
export const FUZZ_SEED = process.env.ANYGPT_FUZZ_SEED ? Number(process.env.ANYGPT_FUZZ_SEED) : 20261207;

const counts = new Map<string, number>();

export function counted(target: string): void {
  counts.set(target, (counts.get(target) ?? 0) + 1);
}

export function fuzzParams(): { numRuns: number; seed: number; endOnFailure: true } {
  return { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, endOnFailure: true };
}

/** Prints how many cases each target ran (mocha root hook order: after all files). */
export function reportCounts(): void {
  for (const [t, n] of [...counts].sort()) console.log(`      fuzz ${t}: ${n.toLocaleString('en-US')} cases`);
}

/** Runs `f`; a throw must be an instance of `cls` with a non-empty message (anything else fails the property). */
export function expectRejection<T>(f: () => T, cls: abstract new (...a: never[]) => Error): T | undefined {
  try {
    return f();
  } catch (e) {
    assertClear(e, cls);
    return undefined;
  }
}

export async function expectRejectionAsync<T>(
  f: () => Promise<T>,
  cls: abstract new (...a: never[]) => Error,
): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    assertClear(e, cls);
    return undefined;
  }
}

function assertClear(e: unknown, cls: abstract new (...a: never[]) => Error): void {
  assert.ok(e instanceof cls, `expected a ${cls.name}, got ${(e as Error)?.stack ?? String(e)}`);
  assert.ok(typeof e.message === 'string' && e.message.trim().length > 0, `${cls.name} without a message`);
}

/** Bytes of `base` with some bytes overwritten, then cut to `keep` bytes and with `drop` bytes removed at `at`. */
export function mutateBytes(
  base: Uint8Array,
  edits: { at: number; value: number }[],
  keep: number,
  drop: { at: number; length: number },
): Uint8Array {
  const b = Uint8Array.from(base);
  for (const e of edits) b[e.at % b.length] = e.value;
  const kept = b.subarray(0, Math.min(b.length, keep));
  const at = drop.at % Math.max(1, kept.length);
  return Uint8Array.from([...kept.subarray(0, at), ...kept.subarray(at + drop.length)]);
}
