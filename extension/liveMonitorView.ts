/**
 * The side panel's live monitor: a WebviewView in the Growth Lab container showing the active run
 * with the same page and MonitorController as the Growth Monitor panel (charts, architecture,
 * controls). It follows the active run.
 */
import * as vscode from 'vscode';
import type { Backend } from './backend';
import { VIEWS } from './commands';
import { MonitorSurface, monitorWebviewOptions } from './monitor';
import type { RunTracker } from './runTracker';

export const LIVE_MONITOR_VIEW_ID = VIEWS.liveMonitor;

export class LiveMonitorView extends MonitorSurface implements vscode.WebviewViewProvider {
  constructor(context: vscode.ExtensionContext, backend: Backend, tracker: RunTracker) {
    super(context, backend, tracker);
    this.disposables.push(vscode.window.registerWebviewViewProvider(LIVE_MONITOR_VIEW_ID, this));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    view.webview.options = monitorWebviewOptions(this.context.extensionUri);
    this.connect(view.webview, this.tracker.active?.runId, { visible: () => view.visible, onVisibility: view.onDidChangeVisibility, onDispose: view.onDidDispose });
  }
}
