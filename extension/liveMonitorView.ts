/**
 * The side panel's live monitor: a WebviewView in the Growth Lab container showing the active run
 * with the same page and MonitorController as the Growth Monitor panel (charts, architecture,
 * controls). It follows the active run.
 */
import * as vscode from 'vscode';
import { validateWebviewMessage, type GrowEventParams, type MetricsParams, type RunEvent, type RunStatusParams } from '../server/protocol';
import type { Backend } from './backend';
import { VIEWS } from './commands';
import { MonitorController } from './monitorController';
import { monitorHost, monitorPage, monitorWebviewOptions } from './monitor';
import type { RunTracker } from './runTracker';

export const LIVE_MONITOR_VIEW_ID = VIEWS.liveMonitor;

export class LiveMonitorView implements vscode.WebviewViewProvider, vscode.Disposable {
  private controller: MonitorController | undefined;
  private viewDisposables: vscode.Disposable[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private lastActive: string | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly backend: Backend,
    private readonly tracker: RunTracker,
  ) {
    this.disposables.push(vscode.window.registerWebviewViewProvider(LIVE_MONITOR_VIEW_ID, this));
    const unsubscribe = tracker.onDidChange(() => {
      const active = tracker.active?.runId;
      if (active === this.lastActive) return;
      this.lastActive = active;
      this.controller?.onActiveRunChanged(active);
    });
    this.disposables.push({ dispose: unsubscribe });
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    for (const d of this.viewDisposables.splice(0)) d.dispose();
    this.controller?.dispose();
    view.webview.options = monitorWebviewOptions(this.context.extensionUri);
    const host = monitorHost(view.webview, this.backend, this.tracker, this.context.workspaceState);
    const controller = new MonitorController(host, this.tracker.active?.runId);
    this.controller = controller;
    this.lastActive = this.tracker.active?.runId;
    this.viewDisposables.push(
      view.webview.onDidReceiveMessage((raw: unknown) => {
        const v = validateWebviewMessage(raw);
        if (v.ok && v.message.type === 'ready') controller.reset();
        void controller.onMessage(raw);
      }),
      view.onDidChangeVisibility(() => {
        // Hidden: the controller keeps what it posts and replays it when the view is shown again.
        controller.setVisible(view.visible);
      }),
      view.onDidDispose(() => {
        if (this.controller === controller) this.controller = undefined;
        controller.dispose();
        for (const d of this.viewDisposables.splice(0)) d.dispose();
      }),
    );
    view.webview.html = monitorPage(view.webview, this.context.extensionUri);
  }

  onMetrics(p: MetricsParams): void { this.forward({ type: 'metrics', time: new Date().toISOString(), ...p }); }
  onStatus(p: RunStatusParams): void { this.forward({ type: 'status', time: new Date().toISOString(), ...p }); }
  onGrow(p: GrowEventParams): void { this.forward({ type: 'grow', time: new Date().toISOString(), ...p }); }
  onBackendReady(): void { this.controller?.onBackendReady(); }

  private forward(e: RunEvent): void {
    this.controller?.onRunEvent(e);
  }

  dispose(): void {
    this.controller?.dispose();
    this.controller = undefined;
    for (const d of this.viewDisposables.splice(0)) d.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
