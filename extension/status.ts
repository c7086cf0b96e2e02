/**
 * Status surfaces: a cell status bar item with tokens/s, token count, seed and model (read from the
 * output metadata the kernel writes), and a window status bar item with model + execution provider
 * that opens the model picker.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import type { KernelState } from './controller';
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

export class ModelStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('anygpt.model', vscode.StatusBarAlignment.Right, 100);
  private kernel: KernelState = 'stopped';

  constructor(private readonly bundledModel: string) {
    this.item.name = vscode.l10n.t('AnyGPT Model');
    this.item.command = 'anygpt.selectModel';
    this.update();
  }

  setKernelState(s: KernelState): void {
    this.kernel = s;
    this.update();
  }

  /** Shown only while a notebook is open: the item means nothing elsewhere. */
  setVisible(v: boolean): void {
    if (v) this.item.show();
    else this.item.hide();
  }

  update(): void {
    const s = readSettings();
    const model = basename(s.modelPath || this.bundledModel);
    const icon =
      this.kernel === 'busy'
        ? '$(loading~spin)'
        : this.kernel === 'dead'
          ? '$(error)'
          : this.kernel === 'starting'
            ? '$(sync~spin)'
            : '$(hubot)';
    this.item.text = `${icon} ${model} \u00b7 ${s.executionProvider.toUpperCase()}`;
    this.item.tooltip = vscode.l10n.t(
      'AnyGPT model {0}, execution provider {1}, kernel {2}. Click to pick another model.',
      s.modelPath || this.bundledModel,
      s.executionProvider,
      this.kernel,
    );
  }

  dispose(): void {
    this.item.dispose();
  }
}
