/**
 * One package load in its own process, for bench/load.ts:
 *   node --import tsx bench/lib/load-child.ts '{"dir": "...", "variant": "int4"}'
 * opens the engine on CPU (package load with verification, then session creation in the worker), closes it, and
 * prints one JSON line (LoadChildResult). Not a bench module itself.
 */
import { Engine } from '../../kernel/engine/index';

export interface LoadChildResult {
  /** Engine.open: package load + verification + worker session creation, ms. */
  loadMs: number;
  /** Of which: stat-ing and hashing files, ms. */
  verifyMs: number;
  hashed: number;
  hashedBytes: number;
  stamped: number;
  unused: number;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as { dir: string; variant?: string };
  const engine = await Engine.open(a.dir, { executionProvider: 'cpu', llmVariant: a.variant });
  const v = engine.pkg.verify;
  const r: LoadChildResult = {
    loadMs: engine.loadMs,
    verifyMs: v.ms,
    hashed: v.hashed.length,
    hashedBytes: v.hashedBytes,
    stamped: v.stamped.length,
    unused: v.unused.length,
  };
  await engine.close();
  console.log(JSON.stringify(r));
}

if (require.main === module)
  main().catch((e: Error) => {
    console.error(e.stack);
    process.exit(1);
  });
