/**
 * The side panel's live monitor: a WebviewView in the Growth Lab container showing the active run
 * with the same page and MonitorController as the Growth Monitor panel (charts, architecture,
 * controls). It follows the active run.
 */
import * as vscode from 'vscode';
import { VIEWS } from './commands';
import { MonitorSurface, monitorWebviewOptions } from './monitor';

export const LIVE_MONITOR_VIEW_ID = VIEWS.liveMonitor;

/** Registered by activate() as the provider of the growthLab.liveMonitor view. */
export class LiveMonitorView extends MonitorSurface implements vscode.WebviewViewProvider {
  resolveWebviewView(view: vscode.WebviewView): void {
    view.webview.options = monitorWebviewOptions(this.ctx.extension.extensionUri);
    this.connect(view.webview, this.ctx.tracker.active?.runId, {
      visible: () => view.visible,
      onVisibility: view.onDidChangeVisibility,
      onDispose: view.onDidDispose,
    });
  }
}
