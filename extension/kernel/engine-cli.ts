/**
 * Running the engine's CLI (dist/cli.js) as a child process: model validation (`inspect`) and
 * `verify`. A child process keeps onnxruntime out of the extension host.
 */
import { execFile } from 'node:child_process';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  node: string,
  cliScript: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      node,
      [cliScript, ...args],
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        timeout: opts.timeoutMs ?? 120000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) || (err && code !== 0 && !stderr ? err.message : ''),
        });
      },
    );
  });
}

export interface ModelInfo {
  dir: string;
  name: string;
  description?: string;
  hash?: string;
  modalities: string[];
}

/** The engine's precise refusal is its last stderr line(s); strip our own noise around it. */
export function cliError(r: CliResult): string {
  const lines = (r.stderr || r.stdout)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.slice(-3).join('\n') || `exit code ${r.code}`;
}

export function parseInspect(r: CliResult): ModelInfo {
  if (r.code !== 0) throw new Error(cliError(r));
  const start = r.stdout.indexOf('{');
  const info = JSON.parse(r.stdout.slice(start)) as ModelInfo & { ok?: boolean };
  return {
    dir: info.dir,
    name: info.name,
    description: info.description,
    hash: info.hash,
    modalities: info.modalities ?? [],
  };
}
