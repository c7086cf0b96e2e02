/**
 * Status surfaces: a cell status bar item with tokens/s, token count, seed and model (read from the
 * output metadata the kernel writes), and a window status bar item with model + execution provider
 * that opens the model picker.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import type { KernelState } from './controller';
import type { LoadedModel } from './kernel/notebook-session';
import { findStats, formatStats } from './execution/stats';
import { readSettings } from './settings';

export class CellStatsProvider implements vscode.NotebookCellStatusBarItemProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCellStatusBarItems = this.changed.event;

  refresh(): void {
    this.changed.fire();
  }

  provideCellStatusBarItems(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[] {
    const stats = findStats(cell.outputs.map((o) => o.metadata));
    const f = stats && formatStats(stats, (s, ...args) => vscode.l10n.t(s, ...args));
    if (!f) return [];
    const item = new vscode.NotebookCellStatusBarItem(f.text, vscode.NotebookCellStatusBarAlignment.Right);
    item.tooltip = f.tooltip;
    item.command = { title: vscode.l10n.t('Show Tokens of Cell'), command: 'anygpt.showTokens', arguments: [cell] };
    return [item];
  }
}

/** What the window status shows about the active notebook's kernel. */
export interface KernelView {
  state: KernelState;
  /** Why the kernel could not start (state 'failed'). */
  failure?: string;
  /** The model the kernel has loaded; it differs from the setting after a `%model` cell. */
  loaded?: LoadedModel;
}

export class ModelStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('anygpt.model', vscode.StatusBarAlignment.Right, 100);

  constructor(
    private readonly bundledModel: string,
    private readonly kernel: () => KernelView,
  ) {
    this.item.name = vscode.l10n.t('AnyGPT Model');
    this.item.command = 'anygpt.selectModel';
    this.update();
  }

  /** Shown only while a notebook is open: the item means nothing elsewhere. */
  setVisible(v: boolean): void {
    if (v) this.item.show();
    else this.item.hide();
  }

  /** The text shown now (the E2E reads it). */
  get text(): string {
    return this.item.text;
  }

  update(): void {
    const s = readSettings();
    const k = this.kernel();
    const configured = s.modelPath || this.bundledModel;
    if (k.state === 'failed') {
      this.item.text = `$(error) ${vscode.l10n.t('AnyGPT kernel failed to start')}`;
      this.item.tooltip = k.failure ?? '';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      this.item.command = { title: vscode.l10n.t('Show Log'), command: 'anygpt.showLog' };
      return;
    }
    this.item.backgroundColor = undefined;
    this.item.command = 'anygpt.selectModel';
    // a running kernel names what it has loaded (a %model cell may have switched it); otherwise the setting
    const model = k.loaded ? k.loaded.name : basename(configured);
    const ep = k.loaded ? k.loaded.executionProvider : s.executionProvider;
    const icon =
      k.state === 'busy'
        ? '$(loading~spin)'
        : k.state === 'dead'
          ? '$(error)'
          : k.state === 'starting'
            ? '$(sync~spin)'
            : '$(hubot)';
    this.item.text = `${icon} ${model} \u00b7 ${ep.toUpperCase()}`;
    this.item.tooltip = vscode.l10n.t(
      'AnyGPT model {0}, execution provider {1}, kernel {2}. Click to pick another model.',
      k.loaded ? k.loaded.dir : configured,
      ep,
      k.state,
    );
  }

  dispose(): void {
    this.item.dispose();
  }
}
