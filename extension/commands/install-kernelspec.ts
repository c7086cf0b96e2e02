/** Install Kernelspec for Jupyter: `node dist/kernel.js install --user`, so JupyterLab and nbclient find the same kernel. */
import * as vscode from 'vscode';
import { runCli } from '../kernel/engine-cli';
import { resolveNode } from '../kernel/launcher';
import { readSettings } from '../settings';

export async function installKernelspec(extensionUri: vscode.Uri, bundledModel: string): Promise<void> {
  const s = readSettings();
  const node = resolveNode(s.nodePath);
  if (!node) {
    void vscode.window.showErrorMessage(
      vscode.l10n.t('No "node" on PATH. Install Node.js 20 or newer, or set anygpt.nodePath.'),
    );
    return;
  }
  const kernel = vscode.Uri.joinPath(extensionUri, 'dist', 'kernel.js').fsPath;
  const r = await runCli(node, kernel, ['install', '--user', '--model', s.modelPath || bundledModel]);
  if (r.code !== 0) {
    void vscode.window.showErrorMessage(
      vscode.l10n.t('Installing the kernelspec failed: {0}', (r.stderr || r.stdout).trim()),
    );
    return;
  }
  // The Jupyter extension lists user kernelspecs too; say which entry is which so users do not pick a duplicate.
  const jupyter = vscode.extensions.getExtension('ms-toolsai.jupyter')
    ? ' ' +
      vscode.l10n.t(
        'In VS Code keep using "AnyGPT (local)"; the "AnyGPT" Jupyter kernel entry is the same kernel for JupyterLab and nbclient.',
      )
    : '';
  void vscode.window.showInformationMessage(r.stdout.trim().split('\n')[0] + jupyter);
}
