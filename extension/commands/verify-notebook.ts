/** Verify Notebook: re-run the notebook with `node dist/cli.js verify` and show differences per cell. */
import * as vscode from 'vscode';
import { cliError, runCli } from '../kernel/engine-cli';
import { resolveNode } from '../kernel/launcher';
import { readSettings } from '../settings';

export async function verifyNotebook(
  extensionUri: vscode.Uri,
  out: vscode.OutputChannel,
  bundledModel: string,
): Promise<void> {
  const nb = vscode.window.activeNotebookEditor?.notebook;
  if (!nb || nb.uri.scheme !== 'file') {
    void vscode.window.showInformationMessage(vscode.l10n.t('Open a saved .ipynb notebook to verify it.'));
    return;
  }
  if (nb.isDirty) await nb.save();
  const s = readSettings();
  const node = resolveNode(s.nodePath);
  if (!node) {
    void vscode.window.showErrorMessage(
      vscode.l10n.t('No "node" on PATH. Install Node.js 20 or newer, or set anygpt.nodePath.'),
    );
    return;
  }
  const cli = vscode.Uri.joinPath(extensionUri, 'dist', 'cli.js').fsPath;
  const r = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Verifying {0}…', vscode.workspace.asRelativePath(nb.uri)),
    },
    () =>
      runCli(node, cli, ['verify', nb.uri.fsPath], {
        env: { ANYGPT_MODEL: s.modelPath || bundledModel },
        timeoutMs: 30 * 60000,
      }),
  );
  out.clear();
  out.appendLine(r.stdout);
  if (r.stderr) out.appendLine(r.stderr);
  out.show(true);
  if (r.code === 0)
    void vscode.window.showInformationMessage(vscode.l10n.t('Verified: every cell reproduces its saved tokens.'));
  else
    void vscode.window.showWarningMessage(
      vscode.l10n.t('Verify found differences (details per cell in the output panel): {0}', cliError(r)),
    );
}
