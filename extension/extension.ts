/**
 * Entry point of the AnyGPT Notebooks extension (bundled to dist/extension.js). Activation only wires
 * things up; the kernel process starts on the first cell execution.
 */
import * as vscode from 'vscode';
import { AnyGptController } from './controller';
import { installKernelspec } from './commands/install-kernelspec';
import { saveBytes, saveMediaAs, showTokens } from './commands/media';
import { cachedModelInfo, selectModel } from './commands/select-model';
import { newNotebook, openSamples } from './commands/notebooks';
import { verifyNotebook } from './commands/verify-notebook';
import { registerMediaDrop } from './language/drop';
import { registerMagicDiagnostics } from './language/magic-diagnostics';
import { registerKernelLanguage } from './language/kernelLanguage';
import { registerJupyterDeduplication } from './jupyterExtension';
import { RemoteServers, type ConnectArgs } from './remote/servers';
import { readSettings } from './settings';
import { CellStatsProvider, ModelStatus } from './status';
import { registerToolbarContext } from './toolbar-context';
import { refreshKernelspecs } from './kernel/kernelspec-upkeep';

export function activate(context: vscode.ExtensionContext): {
  controller: AnyGptController;
  remotes: RemoteServers;
  status: ModelStatus;
} {
  const log = vscode.window.createOutputChannel('AnyGPT', { log: true });
  const verifyOut = vscode.window.createOutputChannel('AnyGPT Verify');
  const bundled = vscode.Uri.joinPath(context.extensionUri, 'models', 'anygpt-nano').fsPath;
  const controller = new AnyGptController(context, log);
  const cellStats = new CellStatsProvider();
  const sub = context.subscriptions;
  const remotes = new RemoteServers(context, log);
  /** The controller that runs (or is selected for) a notebook; the local one when none is. */
  const owner = (uri?: vscode.Uri) => [controller, ...remotes.all].find((c) => c.owns(uri)) ?? controller;
  // the status bar follows the active notebook's kernel: its state, why it failed to start, the model it loaded
  const status = new ModelStatus(bundled, () => {
    const c = owner();
    return { state: c.state, failure: c.failureOf(), loaded: c.kernelSession?.loadedModel };
  });
  sub.push(log, verifyOut, controller, remotes, status);
  const wire = (c: AnyGptController) =>
    sub.push(
      c.onDidChangeState(() => status.update()),
      c.onDidChangeOutputs(() => cellStats.refresh()),
    );
  wire(controller);
  sub.push(remotes.onDidAddController(wire));

  // --- status
  sub.push(
    vscode.notebooks.registerNotebookCellStatusBarItemProvider('jupyter-notebook', cellStats),
    vscode.window.onDidChangeActiveNotebookEditor((e) => status.setVisible(!!e)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('anygpt')) status.update();
    }),
  );
  status.setVisible(!!vscode.window.activeNotebookEditor);

  // --- commands
  const restartIfRunning = async () => {
    // the model setting is global: every running notebook kernel picks it up
    await Promise.all(controller.runningNotebooks().map((uri) => controller.restart(uri)));
    status.update();
  };
  sub.push(
    vscode.commands.registerCommand('anygpt.newNotebook', () => newNotebook(context.extension.id)),
    vscode.commands.registerCommand('anygpt.selectModel', (dir?: unknown) =>
      selectModel(context, bundled, restartIfRunning, typeof dir === 'string' ? dir : undefined),
    ),
    vscode.commands.registerCommand('anygpt.installKernelspec', () => installKernelspec(context.extensionUri, bundled)),
    vscode.commands.registerCommand('anygpt.showTokens', (cell?: vscode.NotebookCell) => showTokens(cell)),
    vscode.commands.registerCommand('anygpt.saveMediaAs', (cell?: vscode.NotebookCell) => saveMediaAs(cell)),
    vscode.commands.registerCommand('anygpt.verifyNotebook', () =>
      verifyNotebook(context.extensionUri, verifyOut, bundled),
    ),
    vscode.commands.registerCommand('anygpt.openSamples', (name?: unknown) =>
      openSamples(context.extensionUri, typeof name === 'string' ? name : undefined),
    ),
    vscode.commands.registerCommand('anygpt.restartKernel', (arg?: unknown) => {
      const uri = notebookUriOf(arg);
      return owner(uri).restart(uri);
    }),
    vscode.commands.registerCommand('anygpt.interruptKernel', (arg?: unknown) => {
      const uri = notebookUriOf(arg);
      owner(uri).interrupt(uri);
    }),
    vscode.commands.registerCommand('anygpt.connectJupyterServer', (args?: ConnectArgs) => remotes.connect(args)),
    vscode.commands.registerCommand('anygpt.showLog', () => log.show()),
  );

  // --- renderer messaging: the audio player's "Download WAV" (webviews cannot open a save dialog)
  const messaging = vscode.notebooks.createRendererMessaging('anygpt-audio');
  sub.push(
    messaging.onDidReceiveMessage(({ message }) => {
      const m = message as { type?: string; fileName?: string; base64?: string };
      if (m.type === 'anygpt.saveMedia' && m.base64)
        void saveBytes(Buffer.from(m.base64, 'base64'), m.fileName ?? 'anygpt.wav');
    }),
  );

  // --- prompt language: drop/paste media, kernel completion and hover
  const modelHas = (m: string) => {
    const info = cachedModelInfo(context, readSettings().modelPath || bundled);
    return !info || info.modalities.includes(m);
  };
  sub.push(...registerMediaDrop(modelHas), ...registerKernelLanguage(() => owner().kernelSession));
  sub.push(...registerMagicDiagnostics());

  // --- kernelspecs written by Install Kernelspec point at this version's kernel (an update moved the folder)
  try {
    for (const dir of refreshKernelspecs(vscode.Uri.joinPath(context.extensionUri, 'dist', 'kernel.js').fsPath))
      log.info(`kernelspec ${dir} now runs this version of the kernel`);
  } catch (e) {
    log.warn(`kernelspec upkeep: ${(e as Error).message}`);
  }

  // --- toolbar: Restart and Interrupt on every notebook of ours, before a kernel has started
  sub.push(...registerToolbarContext(controller.controller));

  // --- the Jupyter extension, when installed, also lists our kernelspec: bind AnyGPT notebooks to ours
  sub.push(...registerJupyterDeduplication(context, controller.controller, log));

  // Servers connected in earlier sessions (their tokens are in SecretStorage).
  void remotes.restore().catch((e) => log.warn(`restoring Jupyter Servers: ${e}`));
  sub.push(remotes.offerToJupyterExtension());

  return { controller, remotes, status };
}

/** The notebook a command targets: a Uri, a notebook toolbar context ({ notebookEditor }), else the active notebook (undefined). */
function notebookUriOf(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const ctx = arg as
    { notebookEditor?: { notebook?: vscode.NotebookDocument }; notebookEditorUri?: vscode.Uri } | undefined;
  return (
    ctx?.notebookEditor?.notebook?.uri ??
    (ctx?.notebookEditorUri instanceof vscode.Uri ? ctx.notebookEditorUri : undefined)
  );
}

export function deactivate(): void {
  // Subscriptions dispose the controller, which shuts the kernel down.
}
