/**
 * An AnyGPT NotebookController for .ipynb: a thin Jupyter client in front of one kernel per notebook. "AnyGPT
 * (local)" runs our kernel as a child process; one controller per connected Jupyter Server ("AnyGPT (host)")
 * runs it there (extension/remote). Where the kernel lives is the KernelSource's business; everything else is
 * shared: the kernel starts on the first execution, cells run one at a time in submission order, cancellation
 * becomes an interrupt, and a crash leaves every output in place and offers a restart.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CellOutputs, compactOps, type OutputData, type OutputOp } from './execution/cell-outputs';
import { isMessageType } from '../common/jupyter-messages';
import { CONTROLLER_ID, LANGUAGE_ID } from './identifiers';
import { isAnyGptNotebook } from './notebook-ownership';
import { KernelSession } from './kernel/session';
import type { ExitInfo, NotebookKernelSession } from './kernel/notebook-session';
import { checkNodeRuntime } from './kernel/runtime-check';
import { forEditor } from './execution/editor-wording';
import { readSettings, samplingConfigMagic } from './settings';

export type KernelState = 'stopped' | 'starting' | 'idle' | 'busy' | 'dead' | 'failed';

/** Where a controller's kernels run. */
export interface KernelSource {
  /** The NotebookController id (the `notebookKernel` context key ends with it). */
  id: string;
  label: string;
  description: string;
  detail: string;
  /** Whether AnyGPT notebooks prefer this controller (only the local one: a server is the user's choice). */
  preferred: boolean;
  /** A session for this notebook, not started yet; throws an Error the user can act on when it cannot. */
  createSession(notebook: vscode.NotebookDocument): Promise<NotebookKernelSession>;
  /** Whether the execute metadata carries the notebook's folder (a remote kernel has its own). */
  sendsNotebookFolder: boolean;
}

/** One notebook's kernel (Jupyter convention: one kernel per notebook). */
interface NotebookKernel {
  notebook?: vscode.NotebookDocument;
  session?: NotebookKernelSession;
  starting?: Promise<NotebookKernelSession>;
  queue: Promise<void>;
  generation: number; // bumps on interrupt/restart to drop queued cells
  /** The cell executing now (interrupt targets it). */
  active?: { cancel: () => void };
  state: KernelState;
  /** Why the last start failed (state 'failed'), one line. */
  failure?: string;
}

/** A kernel that could not start: its message is one line that names the cause (and the setting to change). */
export class KernelStartError extends Error {
  override name = 'Kernel not started';
}

export class AnyGptController implements vscode.Disposable {
  readonly controller: vscode.NotebookController;
  /** Kernels by notebook URI. */
  private readonly kernels = new Map<string, NotebookKernel>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<KernelState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly outputsChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeOutputs = this.outputsChanged.event;

  private readonly selected = new Set<string>();
  private readonly source: KernelSource;

  constructor(
    context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    source?: KernelSource,
  ) {
    this.source = source ?? localKernelSource(context, log);
    this.controller = vscode.notebooks.createNotebookController(this.source.id, 'jupyter-notebook', this.source.label);
    this.controller.description = this.source.description;
    this.controller.detail = this.source.detail;
    this.controller.supportedLanguages = [LANGUAGE_ID, 'markdown', 'plaintext'];
    this.controller.supportsExecutionOrder = true;
    this.controller.executeHandler = (cells, notebook) => this.enqueue(cells, notebook);
    // VS Code then shows one stop control while cells run (its Interrupt, in place of Stop Execution), which
    // interrupts the kernel as our Interrupt Kernel does; the toolbar hides ours meanwhile (package.json)
    this.controller.interruptHandler = (notebook) => this.interrupt(notebook.uri);
    const prefer = (nb: vscode.NotebookDocument) => {
      if (this.source.preferred && nb.notebookType === 'jupyter-notebook' && isAnyGptNotebook(nb.metadata))
        this.controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
    };
    vscode.workspace.notebookDocuments.forEach(prefer);
    this.disposables.push(
      this.controller,
      this.stateEmitter,
      this.outputsChanged,
      vscode.workspace.onDidOpenNotebookDocument(prefer),
      vscode.workspace.onDidCloseNotebookDocument((nb) => void this.shutdown(nb.uri)),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.stateEmitter.fire(this.state)),
      this.controller.onDidChangeSelectedNotebooks(({ notebook, selected }) => {
        if (selected) this.selected.add(notebook.uri.toString());
        else this.selected.delete(notebook.uri.toString());
      }),
    );
  }

  /** The active notebook's kernel state. */
  get state(): KernelState {
    return this.stateOf();
  }

  stateOf(uri?: vscode.Uri): KernelState {
    const key = this.keyOf(uri);
    return (key ? this.kernels.get(key)?.state : undefined) ?? 'stopped';
  }

  /** Why the given (default: active) notebook's kernel failed to start, when it did. */
  failureOf(uri?: vscode.Uri): string | undefined {
    const key = this.keyOf(uri);
    return key ? this.kernels.get(key)?.failure : undefined;
  }

  /** The active notebook's kernel session. */
  get kernelSession(): NotebookKernelSession | undefined {
    return this.sessionOf();
  }

  /** Whether this controller runs (or is selected for) the given notebook (default: the active one). */
  owns(uri?: vscode.Uri): boolean {
    const key = this.keyOf(uri);
    return !!key && (this.selected.has(key) || !!this.kernels.get(key)?.session);
  }

  sessionOf(uri?: vscode.Uri): NotebookKernelSession | undefined {
    const key = this.keyOf(uri);
    return key ? this.kernels.get(key)?.session : undefined;
  }

  /** Notebooks whose kernel is running now. */
  runningNotebooks(): vscode.Uri[] {
    return [...this.kernels].filter(([, k]) => k.session?.running).map(([key]) => vscode.Uri.parse(key));
  }

  /** The given notebook, else the active notebook editor's. */
  private keyOf(uri?: vscode.Uri): string | undefined {
    return (uri ?? vscode.window.activeNotebookEditor?.notebook.uri)?.toString();
  }

  private kernel(key: string, notebook?: vscode.NotebookDocument): NotebookKernel {
    let k = this.kernels.get(key);
    if (!k) this.kernels.set(key, (k = { queue: Promise.resolve(), generation: 0, state: 'stopped' }));
    k.notebook ??= notebook ?? vscode.workspace.notebookDocuments.find((nb) => nb.uri.toString() === key);
    return k;
  }

  private setState(k: NotebookKernel, s: KernelState, failure?: string): void {
    k.state = s;
    k.failure = s === 'failed' ? failure : undefined;
    // the window status shows the active notebook's kernel
    this.stateEmitter.fire(this.state);
  }

  // --- kernel lifecycle

  private async ensureKernel(k: NotebookKernel): Promise<NotebookKernelSession> {
    if (k.session?.running) return k.session;
    k.starting ??= this.startKernel(k).finally(() => (k.starting = undefined));
    return k.starting;
  }

  private async startKernel(k: NotebookKernel): Promise<NotebookKernelSession> {
    if (!k.notebook) throw new Error(vscode.l10n.t('The notebook of this kernel is closed.'));
    this.setState(k, 'starting');
    let session: NotebookKernelSession;
    try {
      // the local source checks the runtime first: a missing node, another program (python3) or an old Node
      session = await this.source.createSession(k.notebook);
    } catch (e) {
      const reason = forEditor(String((e as Error).message ?? e).split('\n')[0]);
      this.setState(k, 'failed', reason);
      throw new KernelStartError(reason);
    }
    session.onExit((e) => this.onKernelExit(k, session, e));
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Starting AnyGPT kernel…') },
        () => session.start(),
      );
    } catch (e) {
      const why = (e as Error).message ?? String(e);
      this.log.error(`kernel start failed: ${why}`);
      // one line: what failed, and the kernel's last word on stderr (its own reason), in the editor's wording
      const lines = why.split('\n').map((l) => l.trim());
      const last = lines.slice(1).filter(Boolean).pop();
      const line = forEditor(last ? `${lines[0]}: ${last.slice(0, 240)}` : lines[0]);
      this.setState(k, 'failed', line);
      throw new KernelStartError(line);
    }
    k.session = session;
    this.setState(k, 'idle');
    this.log.info(`kernel ready: ${JSON.stringify(session.kernelInfo?.implementation_version ?? '')}`);
    const magic = samplingConfigMagic(readSettings());
    if (magic)
      await session
        .execute(magic, {}, () => undefined)
        .catch((e) => this.log.warn(`default sampling not applied: ${e}`));
    return session;
  }

  private onKernelExit(k: NotebookKernel, session: NotebookKernelSession, e: ExitInfo): void {
    if (session !== k.session) return;
    k.session = undefined;
    if (e.expected) {
      this.setState(k, 'stopped');
      return;
    }
    this.setState(k, 'dead');
    this.log.error(`kernel exited (code ${e.code}, signal ${e.signal})\n${e.stderr}`);
    const restart = vscode.l10n.t('Restart Kernel');
    const showLog = vscode.l10n.t('Show Log');
    const detail = e.stderr.split('\n').slice(-1)[0] ?? '';
    void vscode.window
      .showErrorMessage(
        vscode.l10n.t(
          'The AnyGPT kernel stopped unexpectedly ({0}). Cell outputs are kept. {1}',
          e.signal ?? `exit code ${e.code}`,
          detail,
        ),
        restart,
        showLog,
      )
      .then((pick) => {
        const uri = [...this.kernels].find(([, v]) => v === k)?.[0];
        if (pick === restart && uri) void this.restart(vscode.Uri.parse(uri));
        else if (pick === showLog) this.log.show();
      });
  }

  /** Restarts the kernel of the given notebook (default: the active notebook editor's). */
  async restart(uri?: vscode.Uri): Promise<void> {
    const key = this.keyOf(uri);
    if (!key) return;
    const k = this.kernel(key);
    this.interrupt(uri);
    k.generation++;
    const old = k.session;
    k.session = undefined;
    await old?.shutdown();
    this.setState(k, 'stopped');
    await this.ensureKernel(k).catch((e) => this.reportStartError(e));
  }

  /** Interrupts the kernel of the given notebook (default: the active notebook editor's). */
  interrupt(uri?: vscode.Uri): void {
    const key = this.keyOf(uri);
    const k = key ? this.kernels.get(key) : undefined;
    this.log.info(
      `interrupt requested (${key ?? 'no notebook'}: kernel ${k?.state ?? 'stopped'}, cell running: ${!!k?.active})`,
    );
    if (!k) return;
    k.generation++;
    k.active?.cancel();
    k.session?.interrupt();
  }

  /** Shuts the kernel of the given notebook (default: the active notebook editor's) down and forgets it. */
  async shutdown(uri?: vscode.Uri): Promise<void> {
    const key = this.keyOf(uri);
    const k = key ? this.kernels.get(key) : undefined;
    if (!key || !k) return;
    this.kernels.delete(key);
    k.generation++;
    k.active?.cancel();
    const s = k.session;
    k.session = undefined;
    await s?.shutdown();
    k.state = 'stopped';
    this.stateEmitter.fire(this.state);
  }

  private reportStartError(e: unknown): void {
    const msg = (e as Error).message ?? String(e);
    this.log.error(msg);
    const settings = vscode.l10n.t('Open Settings');
    void vscode.window
      .showErrorMessage(vscode.l10n.t('Could not start the AnyGPT kernel: {0}', msg), settings)
      .then((p) => {
        if (p === settings) void vscode.commands.executeCommand('workbench.action.openSettings', 'anygpt');
      });
  }

  // --- execution

  private enqueue(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(
        vscode.l10n.t('AnyGPT does not run cells in an untrusted workspace. Trust the workspace to execute.'),
      );
      return Promise.resolve();
    }
    const k = this.kernel(notebook.uri.toString(), notebook);
    const gen = k.generation;
    // Create the executions now so every queued cell shows as pending right away.
    const execs = cells
      .filter((c) => c.kind === vscode.NotebookCellKind.Code)
      .map((c) => this.controller.createNotebookCellExecution(c));
    const run = async () => {
      for (const exec of execs) {
        if (gen !== k.generation || exec.token.isCancellationRequested) {
          exec.start(Date.now());
          exec.end(undefined, Date.now());
          continue;
        }
        await this.runCell(k, exec, notebook);
      }
    };
    k.queue = k.queue.then(run, run);
    return k.queue;
  }

  private async runCell(
    k: NotebookKernel,
    exec: vscode.NotebookCellExecution,
    notebook: vscode.NotebookDocument,
  ): Promise<void> {
    const cell = exec.cell;
    exec.start(Date.now());
    await exec.clearOutput();
    let session: NotebookKernelSession;
    try {
      session = await this.ensureKernel(k);
    } catch (e) {
      // one line, no stack: the cause and the setting to change (the log has the details)
      const err = e instanceof KernelStartError ? e : new KernelStartError(String((e as Error).message).split('\n')[0]);
      await exec.replaceOutput(
        new vscode.NotebookCellOutput([
          vscode.NotebookCellOutputItem.error({ name: err.name, message: err.message, stack: '' }),
        ]),
      );
      exec.end(false, Date.now());
      this.reportStartError(e);
      return;
    }
    const streaming = readSettings().streaming;
    const mirror = new OutputMirror(exec, streaming);
    const outputs = new CellOutputs(() => exec.executionOrder);
    const cancel = () => session.interrupt();
    const sub = exec.token.onCancellationRequested(cancel);
    k.active = { cancel };
    this.setState(k, 'busy');
    try {
      const cellId = cellIdentity(cell);
      const folder = dirname(notebook.uri.fsPath);
      const reply = await session.execute(
        cell.document.getText(),
        this.source.sendsNotebookFolder ? { cellId, cwd: folder, anygpt: { cwd: folder } } : { cellId },
        (m) => {
          if (isMessageType(m, 'execute_input')) {
            const n = m.content.execution_count;
            if (typeof n === 'number') exec.executionOrder = n;
            return;
          }
          mirror.push(outputs.applyMessage(m));
        },
      );
      if (typeof reply.execution_count === 'number') exec.executionOrder = reply.execution_count;
      await mirror.flush(outputs.current);
      exec.end(reply.status === 'ok', Date.now());
    } catch (e) {
      await mirror.flush(outputs.current).catch(() => undefined);
      // The kernel died: say so under the cell, keep what it already produced.
      await exec
        .appendOutput(new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error(e as Error)]))
        .then(undefined, () => undefined);
      exec.end(false, Date.now());
    } finally {
      sub.dispose();
      k.active = undefined;
      if (k.session === session) this.setState(k, 'idle');
      this.outputsChanged.fire();
    }
  }

  dispose(): void {
    for (const k of this.kernels.values()) void k.session?.shutdown();
    this.kernels.clear();
    this.disposables.forEach((d) => d.dispose());
  }
}

/** The kernel as a child process of VS Code, with the node, model and execution provider of the settings. */
function localKernelSource(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): KernelSource {
  const bundledModel = () => {
    const dir = vscode.Uri.joinPath(context.extensionUri, 'models', 'anygpt-nano').fsPath;
    return existsSync(join(dir, 'anygpt.json')) ? dir : undefined;
  };
  return {
    id: CONTROLLER_ID,
    label: vscode.l10n.t('AnyGPT (local)'),
    description: vscode.l10n.t('Multimodal prompts on a local ONNX model'),
    detail: vscode.l10n.t('Runs the AnyGPT Jupyter kernel as a child process of VS Code'),
    preferred: true,
    sendsNotebookFolder: true,
    createSession: async () => {
      const s = readSettings();
      // the runtime first: a missing node, another program (python3) or Node < 20 fails here with one line
      const runtime = await checkNodeRuntime(s.nodePath);
      if (!runtime.ok) {
        log.error(runtime.reason);
        throw new KernelStartError(runtime.reason);
      }
      const node = runtime.node;
      const kernelScript = vscode.Uri.joinPath(context.extensionUri, 'dist', 'kernel.js').fsPath;
      const modelPath = s.modelPath || bundledModel();
      log.info(
        `starting kernel: ${node} ${kernelScript} (model ${modelPath ?? 'none'}, ep ${s.executionProvider}, threads ${s.threads || 'ORT default'})`,
      );
      return new KernelSession({
        node,
        kernelScript,
        modelPath,
        executionProvider: s.executionProvider,
        threads: s.threads,
        cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      });
    },
  };
}

/** nbformat 4.5 cell ids survive save/reopen; fall back to the cell URI (stable for the session). */
function cellIdentity(cell: vscode.NotebookCell): string {
  const md = cell.metadata as { id?: string; custom?: { id?: string; metadata?: { id?: string } } };
  return md.id ?? md.custom?.id ?? cell.document.uri.toString();
}

/**
 * Mirrors OutputOps onto a NotebookCellExecution, one batch of edits at a time (VS Code applies edits
 * asynchronously; interleaving them reorders outputs). Ops that arrive while a batch is being applied wait and
 * are compacted (compactOps), so a fast token stream cannot build a backlog the cell's end would wait for. With
 * streaming off, only the final state is written when the cell ends.
 */
class OutputMirror {
  private pending: OutputOp[] = [];
  private draining?: Promise<void>;
  private shown: vscode.NotebookCellOutput[] = [];

  constructor(
    private readonly exec: vscode.NotebookCellExecution,
    private readonly streaming: boolean,
  ) {}

  push(ops: OutputOp[]): void {
    if (!this.streaming || !ops.length) return;
    this.pending.push(...ops);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.pending.length) {
      const batch = compactOps(this.pending.splice(0));
      await this.applyOps(batch).catch(() => undefined);
    }
    this.draining = undefined;
  }

  async flush(final: readonly OutputData[]): Promise<void> {
    while (this.draining) await this.draining;
    if (this.streaming) return;
    await this.exec.replaceOutput(final.map(toVsOutput));
  }

  private async applyOps(ops: OutputOp[]): Promise<void> {
    for (const op of ops) {
      if (op.kind === 'clear') {
        this.shown = [];
        await this.exec.clearOutput();
      } else if (op.kind === 'append') {
        const out = toVsOutput(op.output);
        this.shown.push(out);
        await this.exec.appendOutput(out);
      } else {
        const target = this.shown[op.index];
        if (!target) continue;
        // Replacing the items keeps the output (and its renderer element) in place: no flicker.
        await this.exec.replaceOutputItems(
          op.output.items.map((i) => new vscode.NotebookCellOutputItem(i.data, i.mime)),
          target,
        );
      }
    }
  }
}

function toVsOutput(o: OutputData): vscode.NotebookCellOutput {
  return new vscode.NotebookCellOutput(
    o.items.map((i) => new vscode.NotebookCellOutputItem(i.data, i.mime)),
    o.metadata,
  );
}
