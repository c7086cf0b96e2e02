/**
 * Select Model: pick the bundled model, a recent one or a folder; validate it with the engine's own
 * package validation (`node dist/cli.js inspect --json DIR`, a child process) and show its precise
 * error when the package is broken.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { forEditor } from '../execution/editor-wording';
import { parseInspect, runCli, type ModelInfo } from '../kernel/engine-cli';
import { resolveNode } from '../kernel/launcher';
import { readSettings } from '../settings';

const RECENT = 'anygpt.recentModels';
const INFO = 'anygpt.modelInfo';

export async function validateModel(extensionUri: vscode.Uri, dir: string): Promise<ModelInfo> {
  const node = resolveNode(readSettings().nodePath);
  if (!node)
    throw new Error(
      vscode.l10n.t('No "node" on PATH. Install Node.js 20 or newer, or set anygpt.nodePath to its full path.'),
    );
  const cli = vscode.Uri.joinPath(extensionUri, 'dist', 'cli.js').fsPath;
  if (!existsSync(join(dir, 'anygpt.json')))
    throw new Error(
      vscode.l10n.t(
        '{0} is not an AnyGPT model package (it has no anygpt.json). Pick the folder that contains anygpt.json with "AnyGPT: Select Model".',
        dir,
      ),
    );
  const r = await runCli(node, cli, ['inspect', '--json', dir], { timeoutMs: 120000 });
  try {
    return parseInspect(r);
  } catch (e) {
    throw new Error(forEditor((e as Error).message), { cause: e });
  }
}

export function cachedModelInfo(context: vscode.ExtensionContext, dir: string): ModelInfo | undefined {
  return context.globalState.get<Record<string, ModelInfo>>(INFO, {})[dir];
}

export async function selectModel(
  context: vscode.ExtensionContext,
  bundled: string,
  onChanged: () => Promise<void>,
  /** A folder given by the caller (a command argument): no picker, and the result is returned. */
  given?: string,
): Promise<{ selected?: string; error?: string }> {
  type Item = vscode.QuickPickItem & { dir?: string; browse?: boolean };
  const current = readSettings().modelPath || bundled;
  const recent = context.globalState.get<string[]>(RECENT, []).filter((d) => d !== bundled);
  const items: Item[] = [
    { label: '$(package) anygpt-nano', description: vscode.l10n.t('bundled'), detail: bundled, dir: bundled },
    ...recent.map((d) => ({ label: `$(folder) ${d.split(/[\\/]/).pop()}`, detail: d, dir: d })),
    { label: '$(folder-opened) ' + vscode.l10n.t('Browse for a model package folder…'), browse: true },
  ];
  for (const i of items)
    if (i.dir === current) i.description = `${i.description ?? ''} ${vscode.l10n.t('(current)')}`.trim();
  const pick: Item | undefined =
    typeof given === 'string'
      ? { label: given, dir: given }
      : await vscode.window.showQuickPick(items, {
          placeHolder: vscode.l10n.t('Select the AnyGPT model package (a folder with anygpt.json)'),
        });
  if (!pick) return {};
  let dir = pick.dir;
  if (pick.browse) {
    const uris = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: vscode.l10n.t('Use this model'),
    });
    dir = uris?.[0]?.fsPath;
  }
  if (!dir) return {};
  let info: ModelInfo;
  try {
    info = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Validating model package…') },
      () => validateModel(context.extensionUri, dir!),
    );
  } catch (e) {
    const error = vscode.l10n.t('This model package cannot be used: {0}', (e as Error).message);
    // modal when the user picked the folder; a programmatic call gets the message back and a plain notification
    void vscode.window.showErrorMessage(error, { modal: given === undefined });
    return { error };
  }
  await context.globalState.update(RECENT, [dir, ...recent.filter((d) => d !== dir)].slice(0, 8));
  await context.globalState.update(INFO, {
    ...context.globalState.get<Record<string, ModelInfo>>(INFO, {}),
    [dir]: info,
  });
  await vscode.workspace
    .getConfiguration('anygpt')
    .update('modelPath', dir === bundled ? '' : dir, vscode.ConfigurationTarget.Global);
  void vscode.window.showInformationMessage(
    vscode.l10n.t(
      'Model {0} selected ({1}). It is used from the next kernel start.',
      info.name,
      info.modalities.join(', ') || vscode.l10n.t('text only'),
    ),
  );
  await onChanged();
  return { selected: dir };
}
