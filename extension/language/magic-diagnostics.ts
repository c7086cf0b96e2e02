/** Squiggles under misspelt magics in prompt cells as the user types, with a "did you mean" quick fix. */
import * as vscode from 'vscode';
import { LANGUAGE_ID } from '../identifiers';
import { unknownMagics } from './magic-lint';

const SOURCE = 'anygpt';

export function registerMagicDiagnostics(): vscode.Disposable[] {
  const diagnostics = vscode.languages.createDiagnosticCollection('anygpt-magics');
  const check = (doc: vscode.TextDocument) => {
    if (doc.languageId !== LANGUAGE_ID) return;
    diagnostics.set(
      doc.uri,
      unknownMagics(doc.getText()).map((p) => {
        const d = new vscode.Diagnostic(
          new vscode.Range(p.line, p.col, p.line, p.col + p.length),
          p.message,
          vscode.DiagnosticSeverity.Error,
        );
        d.source = SOURCE;
        d.code = p.suggestion ? `did-you-mean:${p.suggestion}` : 'unknown-magic';
        return d;
      }),
    );
  };
  vscode.workspace.textDocuments.forEach(check);
  const fixes = vscode.languages.registerCodeActionsProvider(
    { language: LANGUAGE_ID },
    {
      provideCodeActions(doc, _range, ctx) {
        return ctx.diagnostics
          .filter((d) => d.source === SOURCE && typeof d.code === 'string' && d.code.startsWith('did-you-mean:'))
          .map((d) => {
            const name = (d.code as string).slice('did-you-mean:'.length);
            const fix = new vscode.CodeAction(vscode.l10n.t('Change to %{0}', name), vscode.CodeActionKind.QuickFix);
            fix.edit = new vscode.WorkspaceEdit();
            fix.edit.replace(doc.uri, d.range, `%${name}`);
            fix.diagnostics = [d];
            fix.isPreferred = true;
            return fix;
          });
      },
    },
    { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
  );
  return [
    diagnostics,
    fixes,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((e) => check(e.document)),
    vscode.workspace.onDidCloseTextDocument((doc) => diagnostics.delete(doc.uri)),
  ];
}
