/** New AnyGPT Notebook (from a template) and Open Samples. */
import * as vscode from 'vscode';
import { CONTROLLER_ID, LANGUAGE_ID } from '../identifiers';
import { NOTEBOOK_METADATA } from '../notebook-ownership';

const md = (s: string) => new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, s, 'markdown');
const code = (s: string) => new vscode.NotebookCellData(vscode.NotebookCellKind.Code, s, LANGUAGE_ID);

export function templateNotebook(): vscode.NotebookData {
  const data = new vscode.NotebookData([
    md(
      vscode.l10n.t(
        '# AnyGPT notebook\nEach code cell is a prompt. Magics such as `%seed`, `%task` and `%temperature` go at the top of a cell; attach media with `![image](path.png)`, `![speech](clip.wav)` or `![music](song.wav)` (drag a file into a cell). `%help` lists everything.',
      ),
    ),
    code('%seed 42\nDescribe a quiet harbour at dawn in one sentence.'),
    code('%task t2i\n%seed 7\na red kite over green hills'),
    code('%task tts\nHello from AnyGPT.'),
    code('%tokens\nHow does the tokenizer split this sentence?'),
  ]);
  // The layout VS Code's ipynb serializer uses (dropCustomMetadata): nbformat keys beside `metadata`.
  data.metadata = { metadata: NOTEBOOK_METADATA, nbformat: 4, nbformat_minor: 5 };
  return data;
}

export async function newNotebook(extensionId: string): Promise<void> {
  const doc = await vscode.workspace.openNotebookDocument('jupyter-notebook', templateNotebook());
  const editor = await vscode.window.showNotebookDocument(doc);
  await vscode.commands.executeCommand('notebook.selectKernel', {
    id: CONTROLLER_ID,
    extension: extensionId,
    notebookEditor: editor,
  });
}

/** What Open Samples copies: the notebooks and the media folder they link (not the scripts that make them). */
export function isSampleFile(relPath: string): boolean {
  const parts = relPath.split(/[\\/]/);
  if (parts.length === 1) return parts[0].endsWith('.ipynb');
  return parts[0] === 'media' && !parts.some((p) => p.startsWith('.'));
}

async function copySamples(src: vscode.Uri, dest: vscode.Uri, rel = ''): Promise<void> {
  for (const [name, type] of await vscode.workspace.fs.readDirectory(rel ? vscode.Uri.joinPath(src, rel) : src)) {
    const r = rel ? `${rel}/${name}` : name;
    if (type === vscode.FileType.Directory) {
      if (r === 'media' || r.startsWith('media/')) await copySamples(src, dest, r);
    } else if (type === vscode.FileType.File && isSampleFile(r)) {
      await vscode.workspace.fs.copy(vscode.Uri.joinPath(src, r), vscode.Uri.joinPath(dest, r), { overwrite: false });
    }
  }
}

/**
 * Copies the bundled sample notebooks and their media into the workspace (editable, next to the user's files)
 * and opens one: `pick` (a command argument) or the one chosen in a quick pick.
 */
export async function openSamples(extensionUri: vscode.Uri, pick?: string): Promise<vscode.Uri | undefined> {
  const src = vscode.Uri.joinPath(extensionUri, 'samples');
  let entries: [string, vscode.FileType][];
  try {
    entries = await vscode.workspace.fs.readDirectory(src);
  } catch {
    void vscode.window.showWarningMessage(vscode.l10n.t('This build of the extension ships no samples.'));
    return;
  }
  const notebooks = entries
    .filter(([n, t]) => t === vscode.FileType.File && n.endsWith('.ipynb'))
    .map(([n]) => n)
    .sort();
  if (!notebooks.length) {
    void vscode.window.showWarningMessage(vscode.l10n.t('This build of the extension ships no samples.'));
    return;
  }
  if (!pick || !notebooks.includes(pick))
    pick = await vscode.window.showQuickPick(notebooks, {
      placeHolder: vscode.l10n.t('Open an AnyGPT sample notebook'),
    });
  if (!pick) return;
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
  let target = vscode.Uri.joinPath(src, pick);
  if (ws) {
    const dest = vscode.Uri.joinPath(ws, 'anygpt-samples');
    const exists = await vscode.workspace.fs.stat(dest).then(
      () => true,
      () => false,
    );
    if (!exists) await copySamples(src, dest);
    target = vscode.Uri.joinPath(dest, pick);
  }
  const doc = await vscode.workspace.openNotebookDocument(target);
  await vscode.window.showNotebookDocument(doc);
  return target;
}
