/**
 * The extension's context (after rust-analyzer's editors/code `Ctx`): one object that owns the
 * backend client, the run tracker, the output channel, the status bar item, the notification bus,
 * the grow reviews and proposals, and every disposable. Commands (commands/*.ts) are factories of
 * a Ctx; views subscribe to its bus. `activate()` in extension.ts creates it and wires the rest.
 */
import * as vscode from 'vscode';
import { Methods, type RunSummary } from '../common/protocol';
import { Backend } from './backend';
import { COMMANDS } from './commands';
import { backendErrorText } from './experimentFile';
import type { ExperimentsView } from './experimentsView';
import type { LiveMonitorView } from './liveMonitorView';
import type { MonitorManager } from './monitor';
import { NotificationBus } from './notificationBus';
import { ProposalManager } from './proposals';
import { ReviewDocuments } from './review';
import { SHOW_LOGS, trackRuns } from './runNotices';
import { RunTracker, isLive } from './runTracker';
import { RunStatusBar } from './statusBar';
import { plainText } from './plainText';

export const RESTART_BACKEND = 'Restart Backend';

/** The views activate() creates; commands reach them through `ctx.views`. */
export interface Views {
  experiments: ExperimentsView;
  liveMonitor: LiveMonitorView;
  monitor: MonitorManager;
}

export class Ctx implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  readonly bus = new NotificationBus();
  readonly tracker = new RunTracker();
  readonly backend: Backend;
  readonly statusBar: RunStatusBar;
  /** Before/after architecture documents of grow events (growth-lab: scheme, opened with vscode.diff). */
  readonly reviews = new ReviewDocuments();
  /** growthLab.review = ask: proposed grows wait for Accept / Reject. */
  readonly proposals: ProposalManager;
  private attached: Views | undefined;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.output = this.push(vscode.window.createOutputChannel('Growth Lab'));
    this.statusBar = this.push(new RunStatusBar(this.tracker));
    this.backend = new Backend(extension, this.output, this.bus, (message) => this.onBackendGaveUp(message));
    this.push({ dispose: () => void this.backend.dispose() });
    this.bus.onError = (event, err) => this.backend.log(`${event} listener failed: ${backendErrorText(err)}`);
    this.push(this.reviews);
    this.proposals = new ProposalManager(
      this.backend,
      this.reviews,
      (m) => this.errorWithLogs(m),
      (runId) => this.tracker.get(runId)?.name ?? runId,
    );

    // The bus calls its listeners in the order they subscribe: these first, then the views.
    this.push(
      this.bus.on('runStatus', (p) => {
        if (!isLive(p.status)) this.proposals.forget(p.runId);
      }),
      this.bus.on('backendCrashed', () => this.proposals.forget()),
      ...trackRuns(this.bus, this.tracker, () => this.showLogs()),
      this.bus.on('growEvent', (p) => {
        this.reviews.add(p);
      }),
      this.bus.on('backendReady', () => void this.refreshRuns()),
    );
  }

  /** The Experiments tree and the monitors (set once by activate()). */
  get views(): Views {
    if (!this.attached) throw new Error('Growth Lab: the views are not created yet');
    return this.attached;
  }

  attachViews(views: Views): void {
    this.attached = views;
  }

  /** Disposed with the extension (ExtensionContext.subscriptions). Returns the first argument. */
  push<T extends vscode.Disposable>(first: T, ...rest: vscode.Disposable[]): T {
    this.extension.subscriptions.push(first, ...rest);
    return first;
  }

  showLogs(): void {
    this.output.show(true);
  }

  /** An error notification with a "Show logs" button. */
  errorWithLogs(message: string): void {
    void vscode.window.showErrorMessage(plainText(message), SHOW_LOGS).then((c) => {
      if (c === SHOW_LOGS) this.showLogs();
    });
  }

  /** The backend's runs (listRuns), merged into the tracker; undefined (and logged) when the request failed. */
  async refreshRuns(): Promise<RunSummary[] | undefined> {
    try {
      const runs = await this.backend.request(Methods.listRuns, {});
      this.tracker.mergeSummaries(runs);
      return runs;
    } catch (err) {
      this.backend.log(`listRuns failed: ${backendErrorText(err)}`);
      return undefined;
    }
  }

  /** The extension's own schema file (dist/experiment.schema.json), for "$schema" of new experiment files. */
  get schemaUri(): vscode.Uri {
    return vscode.Uri.file(this.extension.asAbsolutePath('dist/experiment.schema.json'));
  }

  /** Starts the backend now: it also serves the *.growth.json documents. */
  start(): void {
    this.backend.ensureStarted().catch((err) => this.backend.log(`${(err as Error).message ?? err}`));
  }

  private onBackendGaveUp(message: string): void {
    void vscode.window.showErrorMessage(plainText(message), SHOW_LOGS, RESTART_BACKEND).then((choice) => {
      if (choice === SHOW_LOGS) this.showLogs();
      else if (choice === RESTART_BACKEND) void vscode.commands.executeCommand(COMMANDS.restartBackend);
    });
  }

  /** Drops every bus listener; the disposables go with ExtensionContext.subscriptions. */
  dispose(): void {
    this.bus.clear();
  }
}
