/**
 * The Growth Monitor's message routing (pure: no VS Code imports, unit-tested with a fake host).
 *
 * - Every message from the webview goes through `validateWebviewMessage` first; invalid ones are
 *   logged and dropped.
 * - On `ready` the panel gets the backend's methods, the run list and then the shown run's full
 *   history (`getRunHistory`); live events that arrive while the history is read are held back and
 *   sent after it, so the panel never sees a live event before the history it belongs after.
 *   (Events that are in both are recognised by the panel's RunModel and counted once.)
 * - Controls become backend requests; each is answered with an `actionResult` (monitorActions.ts).
 * - Run comparisons (monitorComparison.ts) and file exports (monitorExports.ts) have their own modules.
 */
import {
  Methods,
  PRUNE_METHODS,
  validateWebviewMessage,
  type ExtensionToWebviewMessage,
  type RequestTypes,
  type RunEvent,
  type RunStatus,
  type RunSummary,
  type WebviewToExtensionMessage,
} from '../common/protocol';
import type { StateStore } from './compareRuns';
import { MonitorActions } from './monitorActions';
import { MonitorBuffer } from './monitorBuffer';
import { MonitorComparison } from './monitorComparison';
import { MonitorExports, type SaveFileRequest } from './monitorExports';
import { isLive } from './runTracker';
import { SeriesStore } from './seriesStore';
import { readRunHistory } from './runHistory';
import { ExternalRunFollower } from './externalFollow';

export type { SaveFileRequest } from './monitorExports';

export interface MonitorHost {
  post(msg: ExtensionToWebviewMessage): void | PromiseLike<unknown>;
  request<M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]>;
  /** Runs the Start Experiment command (it picks the file and reports its own errors). */
  startExperiment(): PromiseLike<unknown>;
  /**
   * Runs the Export Model command for a run, when the extension has one; resolves false when it has
   * none (the panel then says export is not available yet).
   */
  exportRun?(runId: string): PromiseLike<boolean>;
  /**
   * With growthLab.review set to "ask": hands the grow to the Grow Network command (which proposes it
   * and opens the diff for Accept / Reject) and resolves true; resolves false in "auto" mode.
   */
  proposeGrow?(runId: string, method: string): PromiseLike<boolean>;
  /** Growth methods of the running backend; undefined while it is not started. */
  growthMethods(): readonly string[] | undefined;
  /** The run the status bar follows (running or paused), if any. */
  activeRunId(): string | undefined;
  notify(level: 'info' | 'warning' | 'error', message: string): void;
  log(line: string): void;
  errorText(err: unknown): string;
  /**
   * Asks the user where to save an export (the chart and data exports of the panel) and writes it;
   * resolves the path written, or undefined when the user cancelled.
   */
  saveFile?(file: SaveFileRequest): PromiseLike<string | undefined>;
  /** Where "Compare runs" keeps the overlaid runs and their colours (VS Code's workspaceState). */
  workspaceState?: StateStore;
}

export class MonitorController {
  /** The run the panel shows. */
  runId: string | undefined;
  private ready = false;
  private disposed = false;
  /** Set while a history is being read: live events wait here. */
  private loading: { buffer: RunEvent[] } | undefined;
  private generation = 0;
  private runs: RunSummary[] = [];
  private readonly statuses = new Map<string, RunStatus>();
  private queue: RunEvent[] = [];
  private flushScheduled = false;
  private runsTimer: ReturnType<typeof setTimeout> | undefined;
  /** Holds what is posted while the webview is hidden and replays it when shown. */
  private readonly out: MonitorBuffer;
  /** The shown runs' series, kept here: charts ask for their visible range (`viewport`). */
  readonly series = new SeriesStore();
  private readonly actions: MonitorActions;
  private readonly comparison: MonitorComparison;
  private readonly exports: MonitorExports;
  /** Polls the shown run's new events when it is an external job (no notifications come for it). */
  private readonly follower: ExternalRunFollower;

  constructor(
    private readonly host: MonitorHost,
    runId?: string,
  ) {
    this.runId = runId;
    this.out = new MonitorBuffer((msg) => this.send(msg));
    const post = (msg: ExtensionToWebviewMessage): void => this.post(msg);
    this.actions = new MonitorActions(host, post);
    this.comparison = new MonitorComparison(host, {
      runs: () => this.runs,
      status: (id) => this.statuses.get(id),
      isReady: () => this.ready,
      post,
    });
    this.exports = new MonitorExports(host, this.series, () => this.runs, post);
    this.follower = new ExternalRunFollower({
      readPage: (p) => this.host.request(Methods.getRunHistory, p),
      onEvents: (_runId, events) => events.forEach((e) => this.onRunEvent(e)),
      log: (m) => this.host.log(m),
    });
  }

  /**
   * The webview was hidden (false) or shown again (true). While hidden, everything posted is kept
   * (coalesced) and replayed in order on show; when too many live events piled up, the shown run's
   * history is sent instead. Without retainContextWhenHidden VS Code reloads the page on show: it
   * then posts `ready` (with its getState state) and gets the full history again.
   */
  setVisible(visible: boolean): void {
    if (!visible) {
      this.out.hide();
      return;
    }
    if (this.out.isVisible) return;
    const overflowed = this.out.show();
    if (overflowed && this.ready && this.runId) void this.loadHistory(this.runId);
  }

  get isVisible(): boolean {
    return this.out.isVisible;
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** A message posted by the webview (untrusted). */
  async onMessage(raw: unknown): Promise<void> {
    const v = validateWebviewMessage(raw);
    if (!v.ok) {
      this.host.log(`monitor: ignored an invalid message from the webview: ${v.error}`);
      return;
    }
    const msg = v.message;
    try {
      await this.route(msg);
    } catch (err) {
      this.host.log(`monitor: ${msg.type} failed: ${this.host.errorText(err)}`);
    }
  }

  private async route(msg: WebviewToExtensionMessage): Promise<void> {
    switch (msg.type) {
      case 'ready':
        return this.onReady(msg.state?.runId);
      case 'selectRun':
        return this.showRun(msg.runId);
      case 'start':
      case 'pause':
      case 'resume':
      case 'stop':
      case 'grow':
      case 'prune':
      case 'export':
        return this.actions.handle(msg);
      case 'viewport': {
        const data = this.series.view(msg);
        if (data) this.post(data);
        return;
      }
      case 'exportSeries':
        return this.exports.exportSeries(msg.format, msg.runIds);
      case 'exportChart':
        return this.exports.exportChart(msg);
      case 'compareRuns':
        return this.comparison.select(msg.runIds);
      case 'setRunColor':
        return this.comparison.setColor(msg.runId, msg.color);
    }
  }

  private async onReady(stateRunId: string | undefined): Promise<void> {
    this.ready = true;
    // Hold live events from now on: they go out after the history they follow.
    this.loading ??= { buffer: [] };
    this.post({ type: 'capabilities', growthMethods: [...(this.host.growthMethods() ?? [])], pruneMethods: [...PRUNE_METHODS] });
    await this.refreshRunList();
    const target = stateRunId ?? this.runId ?? this.host.activeRunId() ?? newest(this.runs)?.runId;
    this.post({ type: 'runs', runs: this.runs, selected: target });
    if (target) await this.loadHistory(target);
    else {
      this.loading = undefined;
      this.post({ type: 'noRun', message: 'No runs yet: start an experiment (a *.growth.json file) to follow it here.' });
    }
    void this.comparison.refreshComparison();
    // "Compare runs" as the user left it (nothing to send while it was never used).
    if (this.comparison.inUse) void this.comparison.sendCompare();
  }

  /** Shows another run (the run picker, a command, or following a newly started run). */
  async showRun(runId: string): Promise<void> {
    this.runId = runId;
    if (!this.ready) return; // sent on ready
    this.loading ??= { buffer: [] };
    this.post({ type: 'runs', runs: this.runs, selected: runId });
    await this.loadHistory(runId);
  }

  private async loadHistory(runId: string): Promise<void> {
    const generation = ++this.generation;
    this.runId = runId;
    this.loading ??= { buffer: [] };
    let events: RunEvent[];
    try {
      events = await readRunHistory((p) => this.host.request(Methods.getRunHistory, p), runId);
    } catch (err) {
      if (generation !== this.generation) return;
      this.loading = undefined;
      const message = `Growth Lab: could not read the history of run ${runId}: ${this.host.errorText(err)}`;
      this.host.log(`monitor: ${message}`);
      this.post({ type: 'noRun', message });
      return;
    }
    if (generation !== this.generation || this.disposed) return; // a newer switch owns the panel now
    const held = this.loading?.buffer ?? [];
    this.loading = undefined;
    for (const e of events) if (e.type === 'status') this.statuses.set(runId, e.status);
    const summary = this.runs.find((r) => r.runId === runId);
    this.post({ type: 'history', runId, events, summary });
    if (summary?.external !== undefined && this.statuses.get(runId) === 'running') this.follower.follow(runId, events.length);
    else this.follower.stop();
    const after = held.filter((e) => e.runId === runId);
    if (after.length) this.post({ type: 'events', runId, events: after });
  }

  /** A live event from the backend's notifications (any run). */
  onRunEvent(e: RunEvent): void {
    if (e.type === 'status') {
      const before = this.statuses.get(e.runId);
      this.statuses.set(e.runId, e.status);
      if (before !== e.status) this.scheduleRunsRefresh(!isLive(e.status));
    }
    if (!this.ready || this.disposed) return;
    if (this.loading) {
      this.loading.buffer.push(e);
      return;
    }
    if (e.runId !== this.runId) return;
    this.queue.push(e);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const events = this.queue.filter((e) => e.runId === this.runId);
    this.queue = [];
    if (events.length && this.runId && !this.loading) this.post({ type: 'events', runId: this.runId, events });
    else if (events.length && this.loading) this.loading.buffer.push(...events);
  }

  /** The active run changed: follow it when the panel shows nothing live. */
  onActiveRunChanged(runId: string | undefined): void {
    if (!runId || runId === this.runId) return;
    const shown = this.runId ? (this.statuses.get(this.runId) ?? this.runs.find((r) => r.runId === this.runId)?.status) : undefined;
    if (shown && isLive(shown)) return;
    this.statuses.set(runId, this.statuses.get(runId) ?? 'running');
    void this.showRun(runId).then(() => this.scheduleRunsRefresh(false));
  }

  /** The backend (re)started: its methods may have changed. */
  onBackendReady(): void {
    if (!this.ready) return;
    this.post({ type: 'capabilities', growthMethods: [...(this.host.growthMethods() ?? [])], pruneMethods: [...PRUNE_METHODS] });
    this.scheduleRunsRefresh(false);
  }

  /** The webview was disposed or reloaded: wait for its next `ready`. */
  reset(): void {
    this.follower.stop();
    this.out.clear();
    this.ready = false;
    this.loading = undefined;
    this.queue = [];
    this.generation++;
  }

  dispose(): void {
    this.disposed = true;
    this.reset();
    if (this.runsTimer) clearTimeout(this.runsTimer);
  }

  private scheduleRunsRefresh(comparison: boolean): void {
    if (!this.ready || this.disposed) return;
    if (this.runsTimer) clearTimeout(this.runsTimer);
    this.runsTimer = setTimeout(() => {
      this.runsTimer = undefined;
      void this.refreshRunList().then(() => {
        if (!this.ready) return;
        this.post({ type: 'runs', runs: this.runs, selected: this.runId });
        if (comparison) {
          void this.comparison.refreshComparison();
          void this.comparison.sendCompare();
        }
      });
    }, 300);
  }

  private async refreshRunList(): Promise<void> {
    try {
      this.runs = await this.host.request(Methods.listRuns, {});
      for (const r of this.runs) if (!this.statuses.has(r.runId) || !isLive(r.status)) this.statuses.set(r.runId, r.status);
    } catch (err) {
      this.host.log(`monitor: listRuns failed: ${this.host.errorText(err)}`);
    }
  }

  private post(msg: ExtensionToWebviewMessage): void {
    if (this.disposed) return;
    // The series store sees what the panel sees: the shown run's history, then its live events.
    if (msg.type === 'history') this.series.setHistory(msg.runId, msg.events, msg.summary?.name);
    else if (msg.type === 'events') this.series.add(msg.events);
    this.out.post(msg);
  }

  private send(msg: ExtensionToWebviewMessage): void {
    if (this.disposed) return;
    try {
      const r = this.host.post(msg);
      if (r && typeof (r as PromiseLike<unknown>).then === 'function') {
        (r as PromiseLike<unknown>).then(undefined, (err: unknown) =>
          this.host.log(`monitor: posting ${msg.type} failed: ${this.host.errorText(err)}`),
        );
      }
    } catch (err) {
      this.host.log(`monitor: posting ${msg.type} failed: ${this.host.errorText(err)}`);
    }
  }
}

function newest(runs: readonly RunSummary[]): RunSummary | undefined {
  let best: RunSummary | undefined;
  for (const r of runs) if (!best || r.startedAt > best.startedAt) best = r;
  return best;
}
