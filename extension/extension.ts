/**
 * Growth Lab's VS Code client: activate() wires, it implements nothing. The Ctx (ctx.ts) owns the
 * backend client, the run tracker, the output channel, the status bar item and the notification
 * bus; the commands are factories of a Ctx (commands/*.ts, one table: commands/table.ts); the views
 * subscribe to the bus. Logic that needs no VS Code lives in the pure modules next to this file.
 */
import * as vscode from 'vscode';
import { MONITOR_VIEW_TYPE } from '../common/protocol';
import { REVIEW_SCHEME } from './architectureYaml';
import { VIEWS } from './commands';
import { registerCommands } from './commands/table';
import { Ctx } from './ctx';
import { ExperimentsView } from './experimentsView';
import { LiveMonitorView } from './liveMonitorView';
import { MonitorManager } from './monitor';
import { watchBackendSettings } from './settingsWatch';

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const c = new Ctx(context);
  ctx = c;
  c.push(c);

  // Views, in the order they hear the bus: the Experiments tree, the side panel's live monitor
  // (following the active run), the Growth Monitor panel (restored after a window reload).
  const experiments = c.push(new ExperimentsView(c.backend, c.bus));
  const liveMonitor = c.push(new LiveMonitorView(c));
  const monitor = c.push(new MonitorManager(c));
  c.attachViews({ experiments, liveMonitor, monitor });

  // Providers.
  c.push(
    vscode.window.createTreeView(VIEWS.experiments, { treeDataProvider: experiments, showCollapseAll: true }),
    vscode.window.registerWebviewViewProvider(VIEWS.liveMonitor, liveMonitor),
    vscode.window.registerWebviewPanelSerializer(MONITOR_VIEW_TYPE, monitor),
    vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, c.reviews),
  );

  registerCommands(c);
  c.push(watchBackendSettings(c.backend));

  c.start();
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.backend.dispose();
}
