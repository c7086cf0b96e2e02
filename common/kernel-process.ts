/**
 * A kernel process we launch ourselves: a fresh connection file (ports, HMAC key) in its own temp folder, the
 * process spawned from an argv with "{connection_file}" in it, the tail of its stderr, its exit, and the removal of
 * the temp folder. Shared by the extension's kernel session and the scripts' KernelClient (verify, demo, bench,
 * tests); how to talk to the kernel is the JupyterClient's business.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeConnectionFile, type ConnectionInfo } from './jupyter-connection';

export interface KernelProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** HMAC key (default: a fresh random one). */
  key?: string;
  kernelName?: string;
  /** Prefix of the temp folder that holds the connection file. */
  tempPrefix?: string;
  /** Its own process group (a SIGINT meant for the kernel then never reaches us). */
  detached?: boolean;
  /** How much of stderr to keep, in characters. */
  stderrTail?: number;
}

export interface KernelExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The tail of what the kernel wrote to stderr. */
  stderr: string;
}

/** Kernels this process started and has not disposed: killed, and their key files removed, when it exits. */
const live = new Set<KernelProcess>();
let exitHook = false;
function disposeLiveKernels(): void {
  for (const k of [...live]) k.dispose();
}

export class KernelProcess {
  private stderrTail = '';
  private spawnFailed = false;
  private tempDir?: string;
  private readonly exitListeners: ((e: KernelExit) => void)[] = [];
  /** Rejects when the program cannot be started at all (ENOENT, EACCES). */
  readonly spawnError: Promise<never>;

  private constructor(
    readonly proc: ChildProcess,
    readonly info: ConnectionInfo,
    readonly connectionFile: string,
    stderrTail: number,
  ) {
    this.tempDir = dirname(connectionFile);
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-stderrTail);
    });
    proc.stdout?.resume();
    this.spawnError = new Promise<never>((_, reject) =>
      proc.on('error', (e) => {
        // A process that never started emits no 'exit': nothing to wait for or signal.
        if (proc.pid === undefined) this.spawnFailed = true;
        reject(new Error(`cannot start ${proc.spawnfile}: ${e.message}`, { cause: e }));
      }),
    );
    this.spawnError.catch(() => undefined);
    live.add(this);
    if (!exitHook) {
      // 'exit' runs for process.exit() and the end of the event loop, not for a fatal signal: a script that must
      // clean up on SIGINT/SIGTERM turns them into process.exit (as `anygpt verify` does).
      process.on('exit', disposeLiveKernels);
      exitHook = true;
    }
    proc.once('exit', (code, signal) => {
      const e: KernelExit = { code, signal, stderr: this.stderrTail };
      for (const l of this.exitListeners) l(e);
    });
  }

  /** Writes a connection file and starts `argv` with "{connection_file}" replaced by its path. */
  static async start(argv: string[], opts: KernelProcessOptions = {}): Promise<KernelProcess> {
    const { file, info } = await writeConnectionFile({
      key: opts.key,
      kernelName: opts.kernelName,
      prefix: opts.tempPrefix,
    });
    let proc: ChildProcess;
    try {
      proc = spawn(
        argv[0],
        argv.slice(1).map((a) => a.replace('{connection_file}', file)),
        {
          // The kernel exits by itself when we are gone (as under jupyter_client): no orphans even after SIGKILL.
          env: { ...(opts.env ?? process.env), JPY_PARENT_PID: String(process.pid) },
          cwd: opts.cwd,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: opts.detached ?? false,
        },
      );
    } catch (e) {
      rmSync(dirname(file), { recursive: true, force: true });
      throw e;
    }
    return new KernelProcess(proc, info, file, opts.stderrTail ?? 20000);
  }

  get running(): boolean {
    return !this.spawnFailed && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.proc.pid : undefined;
  }

  /** What the kernel wrote to stderr lately. */
  get stderr(): string {
    return this.stderrTail;
  }

  onExit(listener: (e: KernelExit) => void): void {
    this.exitListeners.push(listener);
  }

  /** Sends a signal if the process still runs; false when it was already gone. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      return this.proc.kill(sig);
    } catch {
      return false;
    }
  }

  /** Resolves with the exit code once the process has exited; SIGKILLs it after timeoutMs. */
  waitExit(timeoutMs: number): Promise<number | null> {
    const p = this.proc;
    if (!this.running) return Promise.resolve(p.exitCode);
    return new Promise((resolve) => {
      const t = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
      p.once('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }

  /** Removes the connection file and its folder (the kernel has read it once it answers; it holds the key). */
  removeConnectionFile(): void {
    if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }

  /** Kills the process if it still runs and removes the connection file. */
  dispose(): void {
    live.delete(this);
    this.signal('SIGKILL');
    this.removeConnectionFile();
  }
}
