/**
 * A small Jupyter client over ZeroMQ: launches a kernel from argv, writes its connection file, and
 * executes cells the way nbclient does (wait for the reply *and* status idle on iopub, since there is
 * no ordering across channels). Used by `verify`, the demo and the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import * as zmq from 'zeromq';
import { writeConnectionFile, type ConnectionInfo } from '../../common/jupyter-connection';
import { decode, encode, newHeader, Signer, type Message } from './wire';

export interface ExecuteResult {
  reply: Message;
  /** iopub messages with this request as parent, in arrival order, status messages excluded. */
  outputs: Message[];
  /** Wall time from send to idle, ms. */
  ms: number;
}

type Waiter = { msgId: string; onMsg: (m: Message, channel: 'shell' | 'control' | 'iopub') => void };

export class KernelClient {
  readonly session = randomUUID();
  private readonly signer: Signer;
  private readonly shell = new zmq.Dealer();
  private readonly control = new zmq.Dealer();
  private readonly iopub = new zmq.Subscriber();
  private readonly waiters = new Set<Waiter>();
  private closed = false;
  /** Every iopub message seen (for tests that check ordering); capped. */
  readonly iopubLog: Message[] = [];
  stderr = '';

  private constructor(
    readonly info: ConnectionInfo,
    readonly proc: ChildProcess | undefined,
    private readonly tmp: string | undefined,
  ) {
    this.signer = new Signer(info.key, info.signature_scheme);
    for (const s of [this.shell, this.control, this.iopub]) s.linger = 0;
  }

  /** Start `argv` (with "{connection_file}" substituted) and connect. */
  static async launch(
    argv: string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string; key?: string; readyTimeoutMs?: number } = {},
  ): Promise<KernelClient> {
    const { file, info } = await writeConnectionFile({ key: opts.key, prefix: 'anygpt-client-' });
    const tmp = dirname(file);
    const proc = spawn(
      argv[0],
      argv.slice(1).map((a) => a.replace('{connection_file}', file)),
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const c = new KernelClient(info, proc, tmp);
    proc.stderr!.on('data', (d: Buffer) => {
      c.stderr = (c.stderr + d.toString()).slice(-20000);
    });
    proc.stdout!.resume();
    await c.connect();
    await c.waitReady(opts.readyTimeoutMs ?? 30000);
    return c;
  }

  private async connect(): Promise<void> {
    const ep = (p: number) => `tcp://${this.info.ip}:${p}`;
    this.shell.connect(ep(this.info.shell_port));
    this.control.connect(ep(this.info.control_port));
    this.iopub.connect(ep(this.info.iopub_port));
    this.iopub.subscribe();
    void this.loop(this.shell, 'shell');
    void this.loop(this.control, 'control');
    void this.loop(this.iopub, 'iopub');
  }

  private async loop(sock: zmq.Dealer | zmq.Subscriber, channel: 'shell' | 'control' | 'iopub'): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: Message;
        try {
          msg = decode(frames, this.signer);
        } catch {
          continue;
        }
        if (channel === 'iopub' && this.iopubLog.length < 5000) this.iopubLog.push(msg);
        for (const w of [...this.waiters]) {
          if ((msg.parent_header as { msg_id?: string }).msg_id === w.msgId) w.onMsg(msg, channel);
        }
      }
    } catch {
      // socket closed
    }
  }

  /**
   * The iopub slow joiner: a SUB only receives once its subscription reached the PUB, so nudge with
   * kernel_info until one of its status messages arrives on iopub (what jupyter_client does).
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.proc && this.proc.exitCode !== null)
        throw new Error(`kernel exited with ${this.proc.exitCode}: ${this.stderr}`);
      try {
        await this.request('shell', 'kernel_info_request', {}, { timeoutMs: 500, waitIdle: true });
        return;
      } catch {
        // not yet
      }
    }
    throw new Error(`kernel not ready after ${timeoutMs} ms: ${this.stderr}`);
  }

  send(
    channel: 'shell' | 'control',
    type: string,
    content: unknown,
    metadata: Record<string, unknown> = {},
    header = newHeader(type, this.session, 'test'),
  ): string {
    const frames = encode({ idents: [], header, parent_header: {}, metadata, content }, this.signer);
    void (channel === 'shell' ? this.shell : this.control).send(frames);
    return header.msg_id;
  }

  /** Send raw frames (tests: bad signatures). */
  sendRaw(channel: 'shell' | 'control', frames: Buffer[]): void {
    void (channel === 'shell' ? this.shell : this.control).send(frames);
  }

  get signerForTests(): Signer {
    return this.signer;
  }

  /** Send a request; resolve with the reply and its iopub outputs (waitIdle: also wait for status idle). */
  request(
    channel: 'shell' | 'control',
    type: string,
    content: unknown,
    opts: {
      metadata?: Record<string, unknown>;
      timeoutMs?: number;
      waitIdle?: boolean;
      onOutput?: (m: Message) => void;
    } = {},
  ): Promise<ExecuteResult> {
    const header = newHeader(type, this.session, 'test');
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      let reply: Message | undefined;
      let idle = !opts.waitIdle;
      const outputs: Message[] = [];
      const waiter: Waiter = {
        msgId: header.msg_id,
        onMsg: (m, ch) => {
          if (ch !== 'iopub') reply = m;
          else if (m.header.msg_type === 'status') {
            if ((m.content as { execution_state?: string }).execution_state === 'idle') idle = true;
          } else {
            outputs.push(m);
            opts.onOutput?.(m);
          }
          if (reply && idle) done();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${type}: no ${reply ? 'idle status' : 'reply'} within ${opts.timeoutMs ?? 60000} ms`));
      }, opts.timeoutMs ?? 60000);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve({ reply: reply!, outputs, ms: performance.now() - t0 });
      };
      this.waiters.add(waiter);
      this.send(channel, type, content, opts.metadata ?? {}, header);
    });
  }

  execute(
    code: string,
    opts: {
      metadata?: Record<string, unknown>;
      timeoutMs?: number;
      onOutput?: (m: Message) => void;
      stopOnError?: boolean;
    } = {},
  ): Promise<ExecuteResult> {
    return this.request(
      'shell',
      'execute_request',
      {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: opts.stopOnError ?? true,
      },
      { metadata: opts.metadata, timeoutMs: opts.timeoutMs ?? 600000, waitIdle: true, onOutput: opts.onOutput },
    );
  }

  /** Heartbeat round trip in ms (REQ/REP echo), or throws after timeoutMs. */
  async heartbeat(timeoutMs = 1000): Promise<number> {
    const req = new zmq.Request();
    req.linger = 0;
    req.receiveTimeout = timeoutMs;
    req.connect(`tcp://${this.info.ip}:${this.info.hb_port}`);
    const t0 = performance.now();
    try {
      await req.send('ping');
      await req.receive();
      return performance.now() - t0;
    } finally {
      req.close();
    }
  }

  /** Ask for shutdown, wait for the process to exit (kill after timeoutMs). Returns the exit code. */
  async shutdown(timeoutMs = 5000): Promise<number | null> {
    if (this.closed) return this.proc?.exitCode ?? null;
    try {
      await this.request('control', 'shutdown_request', { restart: false }, { timeoutMs: 2000 });
    } catch {
      // fall through to kill
    }
    const code = await this.waitExit(timeoutMs);
    this.dispose();
    return code;
  }

  async waitExit(timeoutMs: number): Promise<number | null> {
    const p = this.proc;
    if (!p) return null;
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
    return new Promise((res) => {
      const t = setTimeout(() => {
        p.kill('SIGKILL');
      }, timeoutMs);
      p.once('exit', (code) => {
        clearTimeout(t);
        res(code);
      });
    });
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [this.shell, this.control, this.iopub]) s.close();
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGKILL');
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
  }
}
