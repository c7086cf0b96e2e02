/** Show Tokens of Cell and Save Output Media As… (also reached from the renderers through messaging). */
import * as vscode from 'vscode';
import { MIME, type Generation } from '../../common/generation';
import type { AudioOutput } from '../../common/output-payloads';
import { tokenTable } from '../execution/tokenTable';

function activeCell(arg?: vscode.NotebookCell): vscode.NotebookCell | undefined {
  if (arg && 'outputs' in arg) return arg;
  const ed = vscode.window.activeNotebookEditor;
  if (!ed) return undefined;
  return ed.notebook.cellAt(ed.selection.start);
}

const dec = new TextDecoder();

export async function showTokens(arg?: vscode.NotebookCell): Promise<void> {
  const cell = activeCell(arg);
  const item = cell?.outputs
    .flatMap((o) => o.items)
    .filter((i) => i.mime === MIME.tokens)
    .pop();
  if (!item) {
    void vscode.window.showInformationMessage(
      vscode.l10n.t('This cell has no AnyGPT token output. Run it first (or use %tokens).'),
    );
    return;
  }
  const gen = JSON.parse(dec.decode(item.data)) as Generation;
  const doc = await vscode.workspace.openTextDocument({ content: tokenTable(gen), language: 'plaintext' });
  await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}

interface MediaChoice extends vscode.QuickPickItem {
  bytes: Uint8Array;
  ext: string;
}

export function mediaInCell(cell: vscode.NotebookCell): MediaChoice[] {
  const out: MediaChoice[] = [];
  cell.outputs.forEach((o, k) => {
    for (const i of o.items) {
      if (i.mime === 'image/png' || i.mime === 'image/jpeg')
        out.push({
          label: `$(file-media) ${vscode.l10n.t('Image')} #${k + 1}`,
          description: i.mime,
          bytes: i.data,
          ext: i.mime === 'image/png' ? 'png' : 'jpg',
        });
      if (i.mime === MIME.audio) {
        const a = JSON.parse(dec.decode(i.data)) as AudioOutput;
        out.push({
          label: `$(unmute) ${a.modality} #${k + 1}`,
          description: `${a.durationSec.toFixed(2)} s, ${a.sampleRate} Hz`,
          bytes: Buffer.from(a.wav, 'base64'),
          ext: 'wav',
        });
      }
    }
  });
  return out;
}

export async function saveBytes(bytes: Uint8Array, suggested: string): Promise<void> {
  const base = vscode.window.activeNotebookEditor?.notebook.uri;
  const defaultUri = base ? vscode.Uri.joinPath(base, '..', suggested) : undefined;
  const target = await vscode.window.showSaveDialog({ defaultUri, saveLabel: vscode.l10n.t('Save media') });
  if (!target) return;
  await vscode.workspace.fs.writeFile(target, bytes);
  void vscode.window.showInformationMessage(vscode.l10n.t('Saved {0}', vscode.workspace.asRelativePath(target)));
}

export async function saveMediaAs(arg?: vscode.NotebookCell): Promise<void> {
  const cell = activeCell(arg);
  const choices = cell ? mediaInCell(cell) : [];
  if (!choices.length) {
    void vscode.window.showInformationMessage(vscode.l10n.t('This cell has no image or audio output.'));
    return;
  }
  const pick =
    choices.length === 1
      ? choices[0]
      : await vscode.window.showQuickPick(choices, { placeHolder: vscode.l10n.t('Which output?') });
  if (!pick) return;
  await saveBytes(pick.bytes, `anygpt-cell${(cell?.index ?? 0) + 1}.${pick.ext}`);
}
