/**
 * Living next to the Jupyter extension (ms-toolsai.jupyter) without depending on it. If it is installed and
 * our kernelspec is installed for Jupyter too, an .ipynb with kernelspec "anygpt" has two Preferred kernels:
 * ours ("AnyGPT (local)") and the Jupyter extension's "AnyGPT" entry, which starts the same kernel through
 * Jupyter. The stable API cannot hide another extension's controller, so we settle the tie: when such a
 * notebook is shown, it is bound to our controller once, and a user who then picks the Jupyter entry keeps it
 * (remembered per workspace).
 */
import * as vscode from 'vscode';
import { CONTROLLER_ID, JUPYTER_EXTENSION_ID } from './identifiers';
import { isAnyGptNotebook, shouldClaimNotebook } from './notebook-ownership';

const USER_CHOSE_OTHER = 'anygpt.notebooksOnAnotherKernel';

export function registerJupyterDeduplication(
  context: vscode.ExtensionContext,
  controller: vscode.NotebookController,
  log: vscode.LogOutputChannel,
): vscode.Disposable[] {
  const selected = new Set<string>();
  const claimed = new Set<string>();
  const elsewhere = () => new Set(context.workspaceState.get<string[]>(USER_CHOSE_OTHER, []));
  const remember = (uri: string, other: boolean) => {
    const s = elsewhere();
    if (other === s.has(uri)) return;
    if (other) s.add(uri);
    else s.delete(uri);
    void context.workspaceState.update(USER_CHOSE_OTHER, [...s]);
  };

  const claim = (editor: vscode.NotebookEditor | undefined) => {
    const nb = editor?.notebook;
    if (!editor || !nb || nb.notebookType !== 'jupyter-notebook') return;
    const uri = nb.uri.toString();
    const go = shouldClaimNotebook({
      ours: isAnyGptNotebook(nb.metadata),
      jupyterExtension: !!vscode.extensions.getExtension(JUPYTER_EXTENSION_ID),
      selectedHere: selected.has(uri),
      claimedThisSession: claimed.has(uri),
      userChoseOther: elsewhere().has(uri),
    });
    if (!go) return;
    claimed.add(uri);
    log.info(`the Jupyter extension also offers our kernelspec: binding ${nb.uri.fsPath} to ${CONTROLLER_ID}`);
    void vscode.commands
      .executeCommand('notebook.selectKernel', {
        id: CONTROLLER_ID,
        extension: context.extension.id,
        notebookEditor: editor,
      })
      .then(undefined, (e) => log.warn(`notebook.selectKernel failed: ${e}`));
  };

  const subs = [
    controller.onDidChangeSelectedNotebooks(({ notebook, selected: isOurs }) => {
      const uri = notebook.uri.toString();
      if (isOurs) {
        selected.add(uri);
        remember(uri, false);
      } else if (selected.delete(uri) && isAnyGptNotebook(notebook.metadata)) {
        // The user moved this notebook to another kernel (e.g. the Jupyter extension's): respect that from now on.
        // Closing a notebook unbinds it too; that is not a choice, so look again once the close has happened.
        setTimeout(() => {
          if (!notebook.isClosed && !selected.has(uri)) remember(uri, true);
        }, 500);
      }
    }),
    vscode.window.onDidChangeActiveNotebookEditor(claim),
  ];
  claim(vscode.window.activeNotebookEditor);
  return subs;
}
