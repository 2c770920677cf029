/**
 * The Experiments tree in the Growth Lab side bar (model: experimentsTree.ts). Refreshes on
 * experiment file changes and on the backend's runStatus / metrics / growEvent notifications (from
 * the notification bus). activate() creates its tree view.
 */
import * as vscode from 'vscode';
import { Methods, type GrowEventParams, type RunEvent, type RunSummary } from '../common/protocol';
import type { Backend } from './backend';
import { COMMANDS, VIEWS } from './commands';
import { EXPERIMENT_GLOB, backendErrorText } from './experimentFile';
import { buildExperimentTree, growNodes, treeItemText, type ExperimentNode, type TreeNode } from './experimentsTree';
import type { NotificationBus } from './notificationBus';
import { readRunHistory } from './runHistory';

export const EXPERIMENTS_VIEW_ID = VIEWS.experiments;

export class ExperimentsView implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: ExperimentNode[] | undefined;
  private runs: RunSummary[] = [];
  private readonly growCache = new Map<string, GrowEventParams[]>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly backend: Backend,
    bus: NotificationBus,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher(EXPERIMENT_GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidCreate(() => this.refresh()),
      watcher.onDidDelete(() => this.refresh()),
      bus.on('runStatus', () => this.refresh()),
      bus.on('metrics', () => this.refresh(3000)),
      bus.on('growEvent', (p) => this.onGrow(p)),
      bus.on('backendReady', () => this.refresh(0)),
    );
  }

  /** Rebuild soon (notifications come in bursts: at most one listRuns per second). */
  refresh(delayMs = 1000): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.roots = undefined;
      this.changed.fire(undefined);
    }, delayMs);
  }

  /** A grow event arrived: its run's children change. */
  private onGrow(e: GrowEventParams): void {
    const list = this.growCache.get(e.runId);
    if (list) list.push(e);
    this.refresh();
  }

  getTreeItem(n: TreeNode): vscode.TreeItem {
    if (n.kind === 'message') {
      const item = new vscode.TreeItem(treeItemText(n).label, vscode.TreeItemCollapsibleState.None);
      item.id = n.id;
      if (n.icon) item.iconPath = new vscode.ThemeIcon(n.icon);
      item.contextValue = n.contextValue;
      return item;
    }
    const collapsible =
      n.kind === 'experiment'
        ? n.runs.length
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.None
        : n.kind === 'run'
          ? this.runs.find((r) => r.runId === n.runId)?.growSteps
            ? vscode.TreeItemCollapsibleState.Collapsed
            : vscode.TreeItemCollapsibleState.None
          : vscode.TreeItemCollapsibleState.None;
    const text = treeItemText(n);
    const item = new vscode.TreeItem(text.label, collapsible);
    item.id = n.id;
    item.description = text.description;
    item.tooltip = text.tooltip;
    item.contextValue = n.contextValue;
    item.iconPath = new vscode.ThemeIcon(n.icon, n.kind === 'run' && n.color ? new vscode.ThemeColor(n.color) : undefined);
    if (n.kind === 'experiment' && n.path) {
      item.resourceUri = vscode.Uri.file(n.path);
      item.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(n.path)] };
    } else if (n.kind === 'run') {
      item.command = { command: COMMANDS.openMonitor, title: 'Open Monitor', arguments: [n.runId] };
    } else if (n.kind === 'grow') {
      item.command = { command: COMMANDS.openGrowEvent, title: 'Review Grow Step', arguments: [{ event: n.event }] };
    }
    return item;
  }

  async getChildren(n?: TreeNode): Promise<TreeNode[]> {
    if (!n) return this.loadRoots();
    if (n.kind === 'experiment') return n.runs;
    if (n.kind === 'run') return growNodes(n.runId, await this.growEvents(n.runId));
    return [];
  }

  private async loadRoots(): Promise<ExperimentNode[]> {
    if (this.roots) return this.roots;
    const files = (await vscode.workspace.findFiles(EXPERIMENT_GLOB, '**/{node_modules,.growth-lab}/**')).map((u) => u.fsPath);
    try {
      this.runs = this.backend.isRunning() ? await this.backend.request(Methods.listRuns, {}) : this.runs;
    } catch (err) {
      this.backend.log(`Experiments view: listRuns failed: ${backendErrorText(err)}`);
    }
    this.growCache.clear();
    this.roots = buildExperimentTree(files, this.runs, (f) => vscode.workspace.asRelativePath(f));
    return this.roots;
  }

  private async growEvents(runId: string): Promise<GrowEventParams[]> {
    const cached = this.growCache.get(runId);
    if (cached) return cached;
    try {
      const history = await readRunHistory((p) => this.backend.request(Methods.getRunHistory, p), runId);
      const events = history
        .filter((e): e is Extract<RunEvent, { type: 'grow' }> => e.type === 'grow')
        .map(({ type: _t, time: _time, ...e }) => e as GrowEventParams);
      this.growCache.set(runId, events);
      return events;
    } catch (err) {
      this.backend.log(`Experiments view: getRunHistory ${runId} failed: ${backendErrorText(err)}`);
      return [];
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
