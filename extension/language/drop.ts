/**
 * Dropping or pasting an image or audio file into a prompt cell inserts `![image](…)`,
 * `![speech](…)` or `![music](…)`. Files outside the notebook's folder, and pasted or OS-dropped bytes, are
 * written into its media/ folder under a new name by the same workspace edit, so links stay inside the
 * workspace and one undo removes both the link and the file. Audio offers both speech and music; VS Code's
 * drop/paste widget lets the user switch.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { LANGUAGE_ID } from '../identifiers';
import { mediaLink, modalitiesForFile, placeBytes, placeMedia, type LinkModality } from './mediaLinks';

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
    const seen = new Set<string>();
    for (const [mime, item] of dt) {
      const f = item.asFile();
      if (!f) continue;
      // a clipboard image may come without a usable name: name it after its type
      const name = extname(f.name) ? f.name : `pasted.${mime.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin'}`;
      if (seen.has(name)) continue;
      seen.add(name);
      out.push({ name, uri: f.uri, data: () => f.data() });
    }
  }
  return out;
}

interface Links {
  /** One alternative per modality choice of the first file (audio: speech or music). */
  alternatives: { text: string; modality: LinkModality }[][];
  /** Creates the copied or pasted files; applied with the text edit, so one undo removes the link and the files. */
  files: vscode.WorkspaceEdit;
}

async function linksFor(
  doc: vscode.TextDocument,
  dt: vscode.DataTransfer,
  modelHas: (m: LinkModality) => boolean,
): Promise<Links | undefined> {
  const nb = notebookOf(doc);
  const files = (await sources(dt)).filter((s) => modalitiesForFile(s.name).length);
  if (!nb || !files.length || nb.uri.scheme !== 'file') return undefined;
  const dir = dirname(nb.uri.fsPath);
  const placed: { target: string; modalities: LinkModality[] }[] = [];
  const edit = new vscode.WorkspaceEdit();
  // names taken by this edit too: two pasted "image.png" become image.png and image-1.png
  const claimed = new Set<string>();
  const taken = (p: string) => claimed.has(p) || existsSync(p);
  for (const f of files) {
    const onDisk = f.uri?.scheme === 'file' ? f.uri.fsPath : undefined;
    // bytes without a file on this machine (a clipboard image, a file dropped from the OS into a browser) are written into media/
    const p = onDisk ? placeMedia(dir, onDisk, taken) : placeBytes(dir, f.name, taken);
    if (p.copyTo) {
      claimed.add(p.copyTo);
      const contents = f.data ? await f.data() : await vscode.workspace.fs.readFile(f.uri!);
      // overwrite false + ignoreIfExists false: if the name was taken meanwhile the edit fails, it never writes over a file
      edit.createFile(vscode.Uri.file(p.copyTo), { contents, overwrite: false, ignoreIfExists: false });
    }
    placed.push({ target: p.target, modalities: modalitiesForFile(f.name) });
  }
  const missing = new Set(placed.flatMap((p) => p.modalities.slice(0, 1)).filter((m) => !modelHas(m)));
  if (missing.size)
    void vscode.window.showWarningMessage(
      vscode.l10n.t('The selected model has no {0} support; the kernel will refuse this link.', [...missing].join('/')),
    );
  return {
    files: edit,
    alternatives: placed[0].modalities.map((first) =>
      placed.map((p, k) => ({
        modality: k === 0 ? first : p.modalities[0],
        text: mediaLink(k === 0 ? first : p.modalities[0], p.target),
      })),
    ),
  };
}

export function registerMediaDrop(modelHas: (m: LinkModality) => boolean): vscode.Disposable[] {
  const selector: vscode.DocumentSelector = { language: LANGUAGE_ID };
  const drop = vscode.languages.registerDocumentDropEditProvider(
    selector,
    {
      async provideDocumentDropEdits(doc, _pos, dt) {
        const found = await linksFor(doc, dt, modelHas);
        return found?.alternatives.map((links) => {
          const e = new vscode.DocumentDropEdit(
            links.map((l) => l.text).join('\n'),
            vscode.l10n.t('Insert as {0} link', links[0].modality),
            KIND.append(links[0].modality),
          );
          e.additionalEdit = found.files;
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
        const found = await linksFor(doc, dt, modelHas);
        return found?.alternatives.map((links) => {
          const e = new vscode.DocumentPasteEdit(
            links.map((l) => l.text).join('\n'),
            vscode.l10n.t('Insert as {0} link', links[0].modality),
            KIND.append(links[0].modality),
          );
          e.additionalEdit = found.files;
          return e;
        });
      },
    },
    { providedPasteEditKinds: [KIND], pasteMimeTypes: ['text/uri-list', 'files', 'image/*', 'audio/*'] },
  );
  return [drop, paste];
}
