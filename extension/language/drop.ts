/**
 * Dropping or pasting an image or audio file into a prompt cell inserts `![image](…)`,
 * `![speech](…)` or `![music](…)`. Files outside the notebook's folder are copied into its media/
 * folder first, so links stay inside the workspace. Audio offers both speech and music; VS Code's
 * drop/paste widget lets the user switch.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LANGUAGE_ID } from '../identifiers';
import { mediaLink, modalitiesForFile, placeMedia, type LinkModality } from './mediaLinks';

const KIND = vscode.DocumentDropOrPasteEditKind.Empty.append('anygpt', 'media');

function notebookOf(doc: vscode.TextDocument): vscode.NotebookDocument | undefined {
  return vscode.workspace.notebookDocuments.find((nb) => nb.getCells().some((c) => c.document === doc));
}

interface Source {
  name: string;
  uri?: vscode.Uri;
  data?: () => Thenable<Uint8Array>;
}

async function sources(dt: vscode.DataTransfer): Promise<Source[]> {
  const out: Source[] = [];
  const list = await dt.get('text/uri-list')?.asString();
  if (list) {
    for (const line of list
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))) {
      const uri = vscode.Uri.parse(line);
      out.push({ name: uri.path.split('/').pop() ?? 'media', uri });
    }
  }
  if (!out.length) {
    for (const [, item] of dt) {
      const f = item.asFile();
      if (f) out.push({ name: f.name, uri: f.uri, data: () => f.data() });
    }
  }
  return out;
}

async function linksFor(
  doc: vscode.TextDocument,
  dt: vscode.DataTransfer,
  modelHas: (m: LinkModality) => boolean,
): Promise<{ text: string; modality: LinkModality }[][] | undefined> {
  const nb = notebookOf(doc);
  const files = (await sources(dt)).filter((s) => modalitiesForFile(s.name).length);
  if (!nb || !files.length || nb.uri.scheme !== 'file') return undefined;
  const dir = dirname(nb.uri.fsPath);
  const placed: { target: string; modalities: LinkModality[] }[] = [];
  for (const f of files) {
    const p = placeMedia(dir, f.uri?.scheme === 'file' ? f.uri.fsPath : join(dir, '__pasted__', f.name), existsSync);
    if (p.copyTo) {
      const dest = vscode.Uri.file(p.copyTo);
      await vscode.workspace.fs.createDirectory(vscode.Uri.file(dirname(p.copyTo)));
      if (f.uri && f.uri.scheme === 'file' && !f.data)
        await vscode.workspace.fs.copy(f.uri, dest, { overwrite: false });
      else if (f.data) await vscode.workspace.fs.writeFile(dest, await f.data());
      else if (f.uri) await vscode.workspace.fs.copy(f.uri, dest, { overwrite: false });
    }
    placed.push({ target: p.target, modalities: modalitiesForFile(f.name) });
  }
  const missing = new Set(placed.flatMap((p) => p.modalities.slice(0, 1)).filter((m) => !modelHas(m)));
  if (missing.size)
    void vscode.window.showWarningMessage(
      vscode.l10n.t('The selected model has no {0} support; the kernel will refuse this link.', [...missing].join('/')),
    );
  // One alternative per modality choice of the first file (audio: speech or music).
  return placed[0].modalities.map((first) =>
    placed.map((p, k) => ({
      modality: k === 0 ? first : p.modalities[0],
      text: mediaLink(k === 0 ? first : p.modalities[0], p.target),
    })),
  );
}

export function registerMediaDrop(modelHas: (m: LinkModality) => boolean): vscode.Disposable[] {
  const selector: vscode.DocumentSelector = { language: LANGUAGE_ID };
  const drop = vscode.languages.registerDocumentDropEditProvider(
    selector,
    {
      async provideDocumentDropEdits(doc, _pos, dt) {
        const alts = await linksFor(doc, dt, modelHas);
        return alts?.map((links) => {
          const e = new vscode.DocumentDropEdit(
            links.map((l) => l.text).join('\n'),
            vscode.l10n.t('Insert as {0} link', links[0].modality),
            KIND.append(links[0].modality),
          );
          return e;
        });
      },
    },
    { providedDropEditKinds: [KIND], dropMimeTypes: ['text/uri-list', 'files'] },
  );
  const paste = vscode.languages.registerDocumentPasteEditProvider(
    selector,
    {
      async provideDocumentPasteEdits(doc, _ranges, dt) {
        const alts = await linksFor(doc, dt, modelHas);
        return alts?.map(
          (links) =>
            new vscode.DocumentPasteEdit(
              links.map((l) => l.text).join('\n'),
              vscode.l10n.t('Insert as {0} link', links[0].modality),
              KIND.append(links[0].modality),
            ),
        );
      },
    },
    { providedPasteEditKinds: [KIND], pasteMimeTypes: ['text/uri-list', 'files', 'image/*', 'audio/*'] },
  );
  return [drop, paste];
}
