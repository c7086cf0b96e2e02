/**
 * The `anygpt.ownsActiveNotebook` context key: true while the active notebook is one of ours (our controller is
 * selected for it, or it has not been bound to a kernel yet and its metadata names our kernelspec). The toolbar
 * shows Restart and Interrupt on it before any kernel has started, as the Jupyter extension does for its notebooks;
 * `notebookKernel` alone is empty until a kernel is selected, which VS Code does only on the first run.
 */
import * as vscode from 'vscode';
import { isAnyGptNotebook } from './notebook-ownership';

export const OWNS_ACTIVE_NOTEBOOK = 'anygpt.ownsActiveNotebook';

export function registerToolbarContext(controller: vscode.NotebookController): vscode.Disposable[] {
  // notebooks where the user (or we) selected our controller, or selected another kernel
  const selected = new Map<string, boolean>();
  const update = () => {
    const nb = vscode.window.activeNotebookEditor?.notebook;
    const choice = nb ? selected.get(nb.uri.toString()) : undefined;
    const ours = !!nb && nb.notebookType === 'jupyter-notebook' && (choice ?? isAnyGptNotebook(nb.metadata));
    void vscode.commands.executeCommand('setContext', OWNS_ACTIVE_NOTEBOOK, ours);
  };
  update();
  return [
    controller.onDidChangeSelectedNotebooks(({ notebook, selected: isOurs }) => {
      selected.set(notebook.uri.toString(), isOurs);
      update();
    }),
    vscode.window.onDidChangeActiveNotebookEditor(update),
    vscode.workspace.onDidChangeNotebookDocument((e) => {
      if (e.metadata && e.notebook === vscode.window.activeNotebookEditor?.notebook) update();
    }),
    vscode.workspace.onDidCloseNotebookDocument((nb) => selected.delete(nb.uri.toString())),
  ];
}
