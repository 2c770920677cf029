/**
 * The status bar item: the active run's name, epoch, accuracy, parameters and backend (text from
 * runTracker.ts's statusBarView), hidden when no run is live; a click opens the Growth Monitor.
 */
import * as vscode from 'vscode';
import { COMMANDS } from './commands';
import { statusBarView, type RunTracker } from './runTracker';

export class RunStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly unsubscribe: () => void;

  constructor(private readonly tracker: RunTracker) {
    this.item = vscode.window.createStatusBarItem('growthLab.run', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Growth Lab run';
    this.item.command = COMMANDS.openMonitor;
    this.unsubscribe = tracker.onDidChange(() => this.update());
  }

  private update(): void {
    const view = statusBarView(this.tracker.active);
    if (!view) {
      this.item.hide();
      return;
    }
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.unsubscribe();
    this.item.dispose();
  }
}
