/**
 * Checks the runtime the kernel would run on before launching it: a missing `node`, a path to another program
 * (python3) or an old Node gives one line that names the setting to change, instead of a stack trace or the
 * other program's own error from a failed start. Free of `vscode`: tests run it against real binaries.
 */
import { execFile } from 'node:child_process';
import { resolveNode } from './launcher';

/** The oldest Node the kernel runs on (package.json engines.node). */
export const MIN_NODE_MAJOR = 20;

export type RuntimeCheck = { ok: true; node: string; version: string } | { ok: false; reason: string };

/** `node --version` prints `v20.19.0`; anything else (Python prints `Python 3.11.2`) is not Node. */
export function parseNodeVersion(out: string): { major: number; version: string } | undefined {
  const m = /^v(\d+)\.(\d+)\.(\d+)\s*$/.exec(out.trim());
  return m ? { major: Number(m[1]), version: out.trim() } : undefined;
}

function runVersion(exe: string, timeoutMs: number): Promise<{ out: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(exe, ['--version'], { timeout: timeoutMs, env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({
        out: String(stdout),
        error: err ? (typeof code === 'string' ? code : err.killed ? 'no answer' : `exit code ${code}`) : undefined,
      });
    });
  });
}

/** Finds the configured (or PATH) Node and checks that it is Node.js MIN_NODE_MAJOR or newer. */
export async function checkNodeRuntime(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 15000,
): Promise<RuntimeCheck> {
  const setting = configured?.trim();
  const node = resolveNode(setting, env);
  if (!node)
    return {
      ok: false,
      reason: setting
        ? `The setting anygpt.nodePath ("${setting}") is not an executable file. Point it at Node.js ${MIN_NODE_MAJOR} or newer.`
        : `No "node" on PATH. Install Node.js ${MIN_NODE_MAJOR} or newer, or set anygpt.nodePath to its full path.`,
    };
  const where = setting ? `anygpt.nodePath (${node})` : `"node" on PATH (${node})`;
  const r = await runVersion(node, timeoutMs);
  const v = parseNodeVersion(r.out);
  if (!v)
    return {
      ok: false,
      reason: `${where} is not Node.js (\`--version\` ${r.error ? `failed: ${r.error}` : `printed "${r.out.trim().split('\n')[0].slice(0, 60)}"`}). Set anygpt.nodePath to Node.js ${MIN_NODE_MAJOR} or newer.`,
    };
  if (v.major < MIN_NODE_MAJOR)
    return {
      ok: false,
      reason: `${where} is Node.js ${v.version}; the kernel needs Node.js ${MIN_NODE_MAJOR} or newer. Set anygpt.nodePath to a newer Node.`,
    };
  return { ok: true, node, version: v.version };
}
