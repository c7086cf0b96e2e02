/** Completion and hover for prompt cells, answered by the running kernel (complete_request / inspect_request). */
import * as vscode from 'vscode';
import { LANGUAGE_ID } from '../identifiers';
import type { NotebookKernelSession } from '../kernel/notebook-session';

export function registerKernelLanguage(session: () => NotebookKernelSession | undefined): vscode.Disposable[] {
  const selector: vscode.DocumentSelector = { language: LANGUAGE_ID };
  const completion = vscode.languages.registerCompletionItemProvider(
    selector,
    {
      async provideCompletionItems(doc, pos) {
        // Never start a kernel just to complete: answer only when one is already running.
        const s = session();
        if (!s?.running) return undefined;
        const r = await s.complete(doc.getText(), doc.offsetAt(pos));
        if (!r?.matches?.length) return undefined;
        const range = new vscode.Range(doc.positionAt(r.cursor_start), doc.positionAt(r.cursor_end));
        return r.matches.map((m) => {
          const item = new vscode.CompletionItem(
            m,
            m.startsWith('%') ? vscode.CompletionItemKind.Keyword : vscode.CompletionItemKind.Value,
          );
          item.range = range;
          return item;
        });
      },
    },
    '%',
    '<',
    '(',
  );
  const hover = vscode.languages.registerHoverProvider(selector, {
    async provideHover(doc, pos) {
      const s = session();
      if (!s?.running) return undefined;
      const text = await s.inspect(doc.getText(), doc.offsetAt(pos));
      return text ? new vscode.Hover(new vscode.MarkdownString(text)) : undefined;
    },
  });
  return [completion, hover];
}
