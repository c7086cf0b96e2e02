/**
 * The kernel proper: a dispatch table from msg_type to handler (the shape of ipykernel's kernelbase),
 * status publishing, the execution queue, interrupts and shutdown. Transport lives in sockets.ts,
 * cell semantics in executor.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Manifest } from '../../common/manifest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellExecutor, Emit, Outcome } from './executor';
import { KERNEL_VERSION } from './executor';
import { History } from './history';
import { complete, inspect, isComplete } from './introspect';
import type { MimeBundle } from './mime-bundles';
import { ExecutionQueue } from './queue';
import type { KernelSockets } from './sockets';
import { newHeader, PROTOCOL_VERSION, type Header, type Message } from './wire';
import { LANGUAGE_INFO } from './language-info';
import { receivedContent, type HistoryRequestContent } from '../../common/jupyter-messages';

type ShellOrControl = 'shell' | 'control' | 'stdin';
type Handler = (channel: ShellOrControl, msg: Message) => Promise<void>;

/**
 * A request's cursor_pos (code points): absent means the end of the code; an integer is clamped into the code;
 * anything else is an error the client gets as an error reply (not echoed back as cursor_end).
 */
export function cursorPos(code: string, pos: unknown): number {
  const end = [...code].length;
  if (pos === undefined || pos === null) return end;
  if (typeof pos !== 'number' || !Number.isInteger(pos))
    throw new TypeError(`cursor_pos must be an integer, got ${JSON.stringify(pos) ?? typeof pos}`);
  return Math.min(Math.max(pos, 0), end);
}

/** A history_request's fields that have the protocol's types; a field of another type reads as absent. */
function historyRequest(msg: Message): Partial<HistoryRequestContent> {
  const c = receivedContent(msg, 'history_request');
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const bool = (v: unknown) => (typeof v === 'boolean' ? v : undefined);
  const type = c.hist_access_type;
  return {
    hist_access_type: type === 'range' || type === 'tail' || type === 'search' ? type : undefined,
    output: bool(c.output),
    raw: bool(c.raw),
    session: num(c.session),
    start: num(c.start),
    stop: num(c.stop),
    n: num(c.n),
    pattern: typeof c.pattern === 'string' ? c.pattern : undefined,
    unique: bool(c.unique),
  };
}

export interface KernelOptions {
  log: (s: string) => void;
  /** Called after shutdown_request was answered and sockets closed. */
  exit: (code: number) => void;
}

export class Kernel {
  readonly session = randomUUID();
  private executionCount = 0;
  private current?: { controller: AbortController; started: number };
  private readonly queue = new ExecutionQueue();
  private readonly history = new History();
  private shuttingDown = false;
  /** A Map, not an object: a msg_type such as "constructor" or "__proto__" must not find Object.prototype's members. */
  private readonly handlers: ReadonlyMap<string, Handler>;

  constructor(
    private readonly sockets: KernelSockets,
    private readonly executor: CellExecutor,
    private readonly opts: KernelOptions,
  ) {
    // The dispatch table. kernel_info may come on control too (Deno and JupyterLab do this).
    this.handlers = new Map<string, Handler>(
      Object.entries({
        kernel_info_request: (ch, m) => this.simple(ch, m, () => this.kernelInfo()),
        execute_request: (ch, m) => this.enqueueExecute(ch, m),
        complete_request: (ch, m) => this.simple(ch, m, () => this.complete(m)),
        inspect_request: (ch, m) => this.simple(ch, m, () => this.inspect(m)),
        is_complete_request: (ch, m) =>
          this.simple(ch, m, () => isComplete(String(receivedContent(m, 'is_complete_request').code ?? ''))),
        history_request: (ch, m) =>
          this.simple(ch, m, () => ({ status: 'ok', history: this.history.query(historyRequest(m)) })),
        comm_info_request: (ch, m) => this.simple(ch, m, () => ({ status: 'ok', comms: {} })),
        comm_open: (_ch, m) => this.rejectComm(m),
        comm_msg: async () => {},
        comm_close: async () => {},
        interrupt_request: (ch, m) =>
          this.simple(ch, m, () => {
            this.interrupt('interrupt_request');
            return { status: 'ok' };
          }),
        shutdown_request: (ch, m) => this.shutdown(ch, m),
      } satisfies Record<string, Handler>),
    );
  }

  start(): void {
    this.sockets.start((ch, msg) => this.dispatch(ch, msg));
    void this.publish('status', { execution_state: 'starting' }, {});
  }

  private dispatch(channel: ShellOrControl, msg: Message): void {
    const type = msg.header.msg_type;
    const handler = this.handlers.get(type);
    if (!handler) {
      // Unknown requests get an error reply so a client never waits forever (e.g. debug_request).
      if (type.endsWith('_request'))
        void this.reply(channel, msg, type.replace(/_request$/, '_reply'), {
          status: 'error',
          ename: 'NotImplemented',
          evalue: `${type} is not supported`,
          traceback: [],
        });
      this.opts.log(`unhandled ${type} on ${channel}`);
      return;
    }
    handler(channel, msg).catch((e) => this.opts.log(`${type} failed: ${(e as Error).stack ?? e}`));
  }

  /** Interrupt the running execution: its AbortSignal fires and the engine stops within one step. */
  interrupt(why: string): void {
    if (this.current) {
      this.opts.log(`interrupt (${why}) after ${(performance.now() - this.current.started).toFixed(0)} ms`);
      this.current.controller.abort();
    }
  }

  // ---- messaging helpers ----

  private header(type: string): Header {
    return newHeader(type, this.session);
  }

  private publish(
    type: string,
    content: unknown,
    parent: Message | Record<string, never>,
    metadata: Record<string, unknown> = {},
  ): Promise<void> {
    const parentHeader = 'header' in parent ? (parent as Message).header : {};
    return this.sockets.send('iopub', {
      idents: [Buffer.from(type)],
      header: this.header(type),
      parent_header: parentHeader,
      metadata,
      content,
    });
  }

  private reply(
    channel: ShellOrControl,
    req: Message,
    type: string,
    content: unknown,
    metadata: Record<string, unknown> = {},
  ): Promise<void> {
    return this.sockets.send(channel, {
      idents: req.idents,
      header: this.header(type),
      parent_header: req.header,
      metadata,
      content,
    });
  }

  /**
   * Request → reply, wrapped in busy/idle. While an execution is running the kernel *is* busy, so quick
   * requests answered meanwhile do not publish idle (that would make front ends show "idle" mid-run).
   */
  private async simple(channel: ShellOrControl, msg: Message, make: () => unknown | Promise<unknown>): Promise<void> {
    const status = channel === 'shell' && !this.queue.busy;
    if (status) await this.publish('status', { execution_state: 'busy' }, msg);
    let content: unknown;
    try {
      content = await make();
    } catch (e) {
      content = { status: 'error', ename: (e as Error).name, evalue: (e as Error).message, traceback: [] };
    }
    await this.reply(channel, msg, msg.header.msg_type.replace(/_request$/, '_reply'), content);
    if (status) await this.publish('status', { execution_state: 'idle' }, msg);
  }

  private kernelInfo() {
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'anygpt',
      implementation_version: KERNEL_VERSION,
      language_info: LANGUAGE_INFO,
      banner: `AnyGPT kernel ${KERNEL_VERSION}: type a message, attach media with ![image](path), %help for magics.`,
      help_links: [],
      // false keeps JupyterLab from sending debug_request.
      debugger: false,
    };
  }

  /** execute_reply metadata: the model loaded now (after a `%model` cell, the new one), so a front end can name it. */
  private replyMetadata(): Record<string, unknown> {
    const m = this.executor.loadedModel;
    return m ? { anygpt: { model: { name: m.name, dir: m.dir, executionProvider: m.executionProvider } } } : {};
  }

  private manifest(): Manifest | undefined {
    const loaded = this.executor.loadedModel?.manifest;
    if (loaded) return loaded;
    const dir = this.executor.currentModelDir;
    if (!dir) return undefined;
    try {
      return JSON.parse(readFileSync(join(dir, 'anygpt.json'), 'utf8')) as Manifest;
    } catch {
      return undefined;
    }
  }

  private complete(msg: Message) {
    const c = receivedContent(msg, 'complete_request');
    const code = String(c.code ?? '');
    return complete(code, cursorPos(code, c.cursor_pos), {
      cwd: this.cwd(msg),
      manifest: this.manifest(),
      outputs: this.executor.mediaOutputs(),
      defaultTask: this.executor.defaultTask(),
    });
  }

  private inspect(msg: Message) {
    const c = receivedContent(msg, 'inspect_request');
    const code = String(c.code ?? '');
    return inspect(code, cursorPos(code, c.cursor_pos), {
      manifest: this.manifest(),
      tokenizeLine: (line) => this.executor.describeTokens(line),
      context: () => this.executor.describeContext(),
    });
  }

  private async rejectComm(msg: Message): Promise<void> {
    // No comm targets: close it at once so widgets/extensions do not wait.
    await this.publish('comm_close', { comm_id: receivedContent(msg, 'comm_open').comm_id, data: {} }, msg);
  }

  private cwd(msg: Message): string {
    const md = msg.metadata as { cwd?: unknown; anygpt?: { cwd?: unknown } };
    const c = md.anygpt?.cwd ?? md.cwd;
    return typeof c === 'string' && c ? c : process.cwd();
  }

  // ---- execution ----

  private async enqueueExecute(channel: ShellOrControl, msg: Message): Promise<void> {
    this.queue.push({
      run: () => this.execute(channel, msg),
      abort: async () => {
        await this.publish('status', { execution_state: 'busy' }, msg);
        await this.reply(channel, msg, 'execute_reply', { status: 'aborted', execution_count: this.executionCount });
        await this.publish('status', { execution_state: 'idle' }, msg);
      },
    });
  }

  private async execute(channel: ShellOrControl, msg: Message): Promise<'ok' | 'error'> {
    const content = receivedContent(msg, 'execute_request');
    const code = String(content.code ?? '');
    const stopOnError = content.stop_on_error !== false;
    let dropped: { abort(): Promise<void> }[] = [];
    const silent = content.silent === true;
    const storeHistory = content.store_history !== false && !silent;
    await this.publish('status', { execution_state: 'busy' }, msg);
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) await this.publish('execute_input', { code, execution_count: count }, msg);
    if (storeHistory) this.history.add(count, code);

    const emit: Emit = {
      display: (data: MimeBundle, metadata, displayId) => {
        if (!silent)
          void this.publish(
            'display_data',
            { data, metadata, transient: displayId ? { display_id: displayId } : {} },
            msg,
          );
      },
      update: (data, metadata, displayId) => {
        if (!silent)
          void this.publish('update_display_data', { data, metadata, transient: { display_id: displayId } }, msg);
      },
      stream: (name, text) => {
        if (!silent) void this.publish('stream', { name, text }, msg);
      },
    };
    const controller = new AbortController();
    this.current = { controller, started: performance.now() };
    const md = msg.metadata as { cellId?: unknown };
    let outcome: Outcome;
    try {
      outcome = await this.executor.run(
        code,
        {
          executionCount: count,
          cellId: typeof md.cellId === 'string' ? md.cellId : undefined,
          signal: controller.signal,
          cwd: this.cwd(msg),
        },
        emit,
      );
    } finally {
      this.current = undefined;
    }
    if (outcome.status === 'ok') {
      if (outcome.result && !silent) {
        await this.publish(
          'execute_result',
          { execution_count: count, data: outcome.result.data, metadata: outcome.result.metadata },
          msg,
        );
        if (storeHistory) this.history.setOutput(count, String(outcome.result.data['text/plain'] ?? ''));
      }
      await this.reply(
        channel,
        msg,
        'execute_reply',
        { status: 'ok', execution_count: count, user_expressions: {}, payload: [] },
        this.replyMetadata(),
      );
    } else {
      const { ename, evalue, traceback } = outcome;
      dropped = stopOnError ? this.queue.takeQueued() : [];
      if (!silent) await this.publish('error', { ename, evalue, traceback }, msg);
      await this.reply(
        channel,
        msg,
        'execute_reply',
        { status: 'error', execution_count: count, ename, evalue, traceback, user_expressions: {}, payload: [] },
        this.replyMetadata(),
      );
    }
    await this.publish('status', { execution_state: 'idle' }, msg);
    for (const job of dropped) await job.abort();
    return outcome.status;
  }

  private async shutdown(channel: ShellOrControl, msg: Message): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const restart = receivedContent(msg, 'shutdown_request').restart === true;
    this.interrupt('shutdown');
    await this.publish('status', { execution_state: 'busy' }, msg);
    await this.reply(channel, msg, 'shutdown_reply', { status: 'ok', restart });
    await this.publish('status', { execution_state: 'idle' }, msg);
    await this.close();
    this.opts.exit(0);
  }

  async close(): Promise<void> {
    await this.executor.close().catch(() => {});
    await this.sockets.close();
  }
}
