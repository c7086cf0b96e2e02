/**
 * The "AnyGPT (local)" NotebookController for .ipynb: a thin Jupyter client in front of our kernel
 * process. The kernel starts on the first execution, cells run one at a time in submission order,
 * cancellation becomes SIGINT, and a crash leaves every output in place and offers a restart.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CellOutputs, type OutputData, type OutputOp } from './execution/outputs';
import { CONTROLLER_ID, isAnyGptNotebook, LANGUAGE_ID } from './execution/kernelspec';
import { KernelSession, type ExitInfo } from './kernel/session';
import { resolveNode } from './kernel/launcher';
import { readSettings, samplingConfigMagic } from './settings';

export type KernelState = 'stopped' | 'starting' | 'idle' | 'busy' | 'dead';

export class AnyGptController implements vscode.Disposable {
  readonly controller: vscode.NotebookController;
  private session?: KernelSession;
  private starting?: Promise<KernelSession>;
  private queue: Promise<void> = Promise.resolve();
  private generation = 0; // bumps on interrupt/restart to drop queued cells
  private readonly disposables: vscode.Disposable[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<KernelState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly outputsChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeOutputs = this.outputsChanged.event;
  private _state: KernelState = 'stopped';
  /** Notebook whose cells are executing now (interrupt targets it). */
  private active?: { cancel: () => void };

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.LogOutputChannel) {
    this.controller = vscode.notebooks.createNotebookController(CONTROLLER_ID, 'jupyter-notebook', vscode.l10n.t('AnyGPT (local)'));
    this.controller.description = vscode.l10n.t('Multimodal prompts on a local ONNX model');
    this.controller.detail = vscode.l10n.t('Runs the AnyGPT Jupyter kernel as a child process of VS Code');
    this.controller.supportedLanguages = [LANGUAGE_ID, 'markdown', 'plaintext'];
    this.controller.supportsExecutionOrder = true;
    this.controller.executeHandler = (cells, notebook) => this.enqueue(cells, notebook);
    const prefer = (nb: vscode.NotebookDocument) => {
      if (nb.notebookType === 'jupyter-notebook' && isAnyGptNotebook(nb.metadata)) this.controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
    };
    vscode.workspace.notebookDocuments.forEach(prefer);
    this.disposables.push(this.controller, this.stateEmitter, this.outputsChanged, vscode.workspace.onDidOpenNotebookDocument(prefer));
  }

  get state(): KernelState {
    return this._state;
  }

  private setState(s: KernelState): void {
    this._state = s;
    this.stateEmitter.fire(s);
  }

  get kernelSession(): KernelSession | undefined {
    return this.session;
  }

  // --- kernel lifecycle

  private async ensureKernel(): Promise<KernelSession> {
    if (this.session?.running) return this.session;
    this.starting ??= this.startKernel().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startKernel(): Promise<KernelSession> {
    const s = readSettings();
    const node = resolveNode(s.nodePath);
    if (!node) {
      throw new Error(s.nodePath
        ? vscode.l10n.t('anygpt.nodePath "{0}" is not an executable.', s.nodePath)
        : vscode.l10n.t('No "node" on PATH. Install Node.js 20 or newer, or set anygpt.nodePath to its full path.'));
    }
    const kernelScript = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'kernel.js').fsPath;
    const modelPath = s.modelPath || this.bundledModel();
    this.setState('starting');
    this.log.info(`starting kernel: ${node} ${kernelScript} (model ${modelPath ?? 'none'}, ep ${s.executionProvider}, threads ${s.threads || 'ORT default'})`);
    const session = new KernelSession({ node, kernelScript, modelPath, executionProvider: s.executionProvider, threads: s.threads, cwd: this.workspaceDir() });
    session.onExit((e) => this.onKernelExit(session, e));
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Starting AnyGPT kernel…') }, () => session.start());
    } catch (e) {
      this.setState('dead');
      throw e;
    }
    this.session = session;
    this.setState('idle');
    this.log.info(`kernel ready: ${JSON.stringify(session.kernelInfo?.implementation_version ?? '')}`);
    const magic = samplingConfigMagic(s);
    if (magic) await session.execute(magic, {}, () => undefined).catch((e) => this.log.warn(`default sampling not applied: ${e}`));
    return session;
  }

  /** The nano model shipped inside the extension, when this build has it. */
  private bundledModel(): string | undefined {
    const dir = vscode.Uri.joinPath(this.context.extensionUri, 'models', 'anygpt-nano').fsPath;
    return existsSync(join(dir, 'anygpt.json')) ? dir : undefined;
  }

  private workspaceDir(): string | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  private onKernelExit(session: KernelSession, e: ExitInfo): void {
    if (session !== this.session) return;
    this.session = undefined;
    if (e.expected) {
      this.setState('stopped');
      return;
    }
    this.setState('dead');
    this.log.error(`kernel exited (code ${e.code}, signal ${e.signal})\n${e.stderr}`);
    const restart = vscode.l10n.t('Restart Kernel');
    const showLog = vscode.l10n.t('Show Log');
    const detail = e.stderr.split('\n').slice(-1)[0] ?? '';
    void vscode.window
      .showErrorMessage(vscode.l10n.t('The AnyGPT kernel stopped unexpectedly ({0}). Cell outputs are kept. {1}', e.signal ?? `exit code ${e.code}`, detail), restart, showLog)
      .then((pick) => {
        if (pick === restart) void this.restart();
        else if (pick === showLog) this.log.show();
      });
  }

  async restart(): Promise<void> {
    this.interrupt();
    this.generation++;
    const old = this.session;
    this.session = undefined;
    await old?.shutdown();
    this.setState('stopped');
    await this.ensureKernel().catch((e) => this.reportStartError(e));
  }

  interrupt(): void {
    this.log.info(`interrupt requested (kernel ${this._state}, cell running: ${!!this.active})`);
    this.generation++;
    this.active?.cancel();
    this.session?.interrupt();
  }

  async shutdown(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.shutdown();
    this.setState('stopped');
  }

  private reportStartError(e: unknown): void {
    const msg = (e as Error).message ?? String(e);
    this.log.error(msg);
    const settings = vscode.l10n.t('Open Settings');
    void vscode.window.showErrorMessage(vscode.l10n.t('Could not start the AnyGPT kernel: {0}', msg), settings).then((p) => {
      if (p === settings) void vscode.commands.executeCommand('workbench.action.openSettings', 'anygpt');
    });
  }

  // --- execution

  private enqueue(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(vscode.l10n.t('AnyGPT does not run cells in an untrusted workspace. Trust the workspace to execute.'));
      return Promise.resolve();
    }
    const gen = this.generation;
    // Create the executions now so every queued cell shows as pending right away.
    const execs = cells.filter((c) => c.kind === vscode.NotebookCellKind.Code).map((c) => this.controller.createNotebookCellExecution(c));
    const run = async () => {
      for (const exec of execs) {
        if (gen !== this.generation || exec.token.isCancellationRequested) {
          exec.start(Date.now());
          exec.end(undefined, Date.now());
          continue;
        }
        await this.runCell(exec, notebook);
      }
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  private async runCell(exec: vscode.NotebookCellExecution, notebook: vscode.NotebookDocument): Promise<void> {
    const cell = exec.cell;
    exec.start(Date.now());
    await exec.clearOutput();
    let session: KernelSession;
    try {
      session = await this.ensureKernel();
    } catch (e) {
      await exec.replaceOutput(new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error(e as Error)]));
      exec.end(false, Date.now());
      this.reportStartError(e);
      return;
    }
    const streaming = readSettings().streaming;
    const mirror = new OutputMirror(exec, streaming);
    const outputs = new CellOutputs(() => exec.executionOrder);
    const cancel = () => session.interrupt();
    const sub = exec.token.onCancellationRequested(cancel);
    this.active = { cancel };
    this.setState('busy');
    try {
      const cellId = cellIdentity(cell);
      const reply = await session.execute(cell.document.getText(), { cellId, cwd: dirname(notebook.uri.fsPath), anygpt: { cwd: dirname(notebook.uri.fsPath) } }, (m) => {
        if (m.header.msg_type === 'execute_input') {
          const n = (m.content as { execution_count?: number }).execution_count;
          if (typeof n === 'number') exec.executionOrder = n;
          return;
        }
        mirror.push(outputs.apply(m.header.msg_type, m.content));
      });
      if (typeof reply.execution_count === 'number') exec.executionOrder = reply.execution_count;
      await mirror.flush(outputs.current);
      exec.end(reply.status === 'ok', Date.now());
    } catch (e) {
      await mirror.flush(outputs.current).catch(() => undefined);
      // The kernel died: say so under the cell, keep what it already produced.
      await exec.appendOutput(new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error(e as Error)])).then(undefined, () => undefined);
      exec.end(false, Date.now());
    } finally {
      sub.dispose();
      this.active = undefined;
      if (this.session === session) this.setState('idle');
      this.outputsChanged.fire();
    }
  }

  dispose(): void {
    void this.session?.shutdown();
    this.disposables.forEach((d) => d.dispose());
  }
}

/** nbformat 4.5 cell ids survive save/reopen; fall back to the cell URI (stable for the session). */
function cellIdentity(cell: vscode.NotebookCell): string {
  const md = cell.metadata as { id?: string; custom?: { id?: string; metadata?: { id?: string } } };
  return md.id ?? md.custom?.id ?? cell.document.uri.toString();
}

/**
 * Mirrors OutputOps onto a NotebookCellExecution through one promise chain (VS Code applies edits
 * asynchronously; interleaving them reorders outputs). With streaming off, only the final state is
 * written when the cell ends.
 */
class OutputMirror {
  private chain: Promise<unknown> = Promise.resolve();
  private shown: vscode.NotebookCellOutput[] = [];

  constructor(private readonly exec: vscode.NotebookCellExecution, private readonly streaming: boolean) {}

  push(ops: OutputOp[]): void {
    if (!this.streaming || !ops.length) return;
    this.chain = this.chain.then(() => this.applyOps(ops)).catch(() => undefined);
  }

  async flush(final: readonly OutputData[]): Promise<void> {
    await this.chain;
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
        await this.exec.replaceOutputItems(op.output.items.map((i) => new vscode.NotebookCellOutputItem(i.data, i.mime)), target);
      }
    }
  }
}

function toVsOutput(o: OutputData): vscode.NotebookCellOutput {
  return new vscode.NotebookCellOutput(o.items.map((i) => new vscode.NotebookCellOutputItem(i.data, i.mime)), o.metadata);
}
