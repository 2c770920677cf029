/**
 * The Growth Monitor's message routing (pure: no VS Code imports, unit-tested with a fake host).
 *
 * - Every message from the webview goes through `validateWebviewMessage` first; invalid ones are
 *   logged and dropped.
 * - On `ready` the panel gets the backend's methods, the run list and then the shown run's full
 *   history (`getRunHistory`); live events that arrive while the history is read are held back and
 *   sent after it, so the panel never sees a live event before the history it belongs after.
 *   (Events that are in both are recognised by the panel's RunModel and counted once.)
 * - Controls become backend requests; each is answered with an `actionResult`.
 */
import {
  Methods,
  PRUNE_METHODS,
  validateWebviewMessage,
  type CompareRun,
  type ExtensionToWebviewMessage,
  type GrowEventParams,
  type MonitorAction,
  type RequestTypes,
  type RunAccuracyPath,
  type RunEvent,
  type RunStatus,
  type RunSummary,
  type WebviewToExtensionMessage,
} from '../common/protocol';
import { accuracyPath } from '../common/monitor/runModel';
import { CompareRunsState, compareRunFromHistory, type StateStore } from './compareRuns';
import { MonitorBuffer } from './monitorBuffer';
import { seriesCsv, seriesJson } from './seriesExport';
import { RunSeries, SeriesStore } from './seriesStore';

export const EXPORT_NOT_AVAILABLE =
  'Growth Lab: exporting a model is not available yet (it comes with the export feature). The run\'s checkpoints are kept in its folder, .growth-lab/runs/<runId>/checkpoints/.';

/** Runs drawn in the "all runs" comparison chart (the most recent ones). */
export const COMPARISON_RUNS = 20;

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

export interface SaveFileRequest {
  title: string;
  /** A file name (no folder) the save dialog proposes. */
  defaultName: string;
  filters: Record<string, string[]>;
  content: string | Uint8Array;
}

const LIVE: readonly RunStatus[] = ['running', 'paused'];

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
  private readonly pathCache = new Map<string, RunAccuracyPath>();
  private queue: RunEvent[] = [];
  private flushScheduled = false;
  private runsTimer: ReturnType<typeof setTimeout> | undefined;
  private comparisonToken = 0;
  /** Holds what is posted while the webview is hidden and replays it when shown. */
  private readonly out: MonitorBuffer;
  private readonly compare: CompareRunsState;
  private readonly compareCache = new Map<string, CompareRun>();
  private compareToken = 0;
  /** The shown runs' series, kept here: charts ask for their visible range (`viewport`). */
  readonly series = new SeriesStore();

  constructor(private readonly host: MonitorHost, runId?: string) {
    this.runId = runId;
    this.out = new MonitorBuffer((msg) => this.send(msg));
    this.compare = new CompareRunsState(host.workspaceState);
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
        return this.action('start', undefined, async () => {
          await this.host.startExperiment();
          return undefined;
        });
      case 'pause':
      case 'resume':
      case 'stop': {
        const method = { pause: Methods.pauseExperiment, resume: Methods.resumeExperiment, stop: Methods.stopExperiment }[msg.type];
        return this.action(msg.type, msg.runId, async () => {
          await this.host.request(method, { runId: msg.runId });
          return undefined;
        });
      }
      case 'grow': {
        const known = this.host.growthMethods();
        if (known && !known.includes(msg.method)) {
          const message = `Growth Lab: the backend has no growth method "${msg.method}" (it has: ${known.join(', ') || 'none'}).`;
          this.host.notify('error', message);
          this.post({ type: 'actionResult', action: 'grow', runId: msg.runId, ok: false, message });
          return;
        }
        if (await this.host.proposeGrow?.(msg.runId, msg.method)) {
          this.post({ type: 'actionResult', action: 'grow', runId: msg.runId, ok: true, message: `Proposed a grow with ${msg.method}: review the diff, then Accept or Reject.` });
          return;
        }
        return this.action('grow', msg.runId, async () => describeStep(await this.host.request(Methods.grow, { runId: msg.runId, method: msg.method })));
      }
      case 'prune':
        return this.action('prune', msg.runId, async () => describeStep(await this.host.request(Methods.prune, { runId: msg.runId, options: { method: msg.method } })));
      case 'viewport': {
        const data = this.series.view(msg);
        if (data) this.post(data);
        return;
      }
      case 'exportSeries':
        return this.exportSeries(msg.format, msg.runIds);
      case 'exportChart':
        return this.save(`the ${msg.chart} chart`, {
          title: `Save the ${msg.chart} chart as ${msg.format.toUpperCase()}`,
          defaultName: `${fileSafe(this.series.get(msg.runId)?.name ?? msg.runId)}-${msg.chart}.${msg.format}`,
          filters: msg.format === 'png' ? { 'PNG image': ['png'] } : { 'SVG image': ['svg'] },
          content: msg.format === 'png' ? new Uint8Array(Buffer.from(msg.data, 'base64')) : msg.data,
        });
      case 'compareRuns':
        await this.compare.setSelected(msg.runIds);
        return this.sendCompare();
      case 'setRunColor':
        await this.compare.setColor(msg.runId, msg.color);
        return this.sendCompare();
      case 'export': {
        let exported = false;
        try {
          exported = (await this.host.exportRun?.(msg.runId)) ?? false;
        } catch (err) {
          const message = `Growth Lab: could not export run ${msg.runId}: ${this.host.errorText(err)}`;
          this.host.notify('error', message);
          this.post({ type: 'actionResult', action: 'export', runId: msg.runId, ok: false, message });
          return;
        }
        if (exported) {
          this.post({ type: 'actionResult', action: 'export', runId: msg.runId, ok: true });
          return;
        }
        this.host.notify('info', EXPORT_NOT_AVAILABLE);
        this.post({ type: 'actionResult', action: 'export', runId: msg.runId, ok: false, message: EXPORT_NOT_AVAILABLE });
        return;
      }
    }
  }

  private async action(action: MonitorAction, runId: string | undefined, run: () => Promise<string | undefined>): Promise<void> {
    try {
      const message = await run();
      this.post({ type: 'actionResult', action, runId, ok: true, message });
    } catch (err) {
      const message = `Growth Lab: could not ${action === 'grow' ? 'grow' : action} ${runId ? `run ${runId}` : 'an experiment'}: ${this.host.errorText(err)}`;
      this.host.notify('error', message);
      this.post({ type: 'actionResult', action, runId, ok: false, message });
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
    void this.refreshComparison();
    // "Compare runs" as the user left it (nothing to send while it was never used).
    if (this.compare.selected.length || Object.keys(this.compare.colors).length) void this.sendCompare();
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
      events = await this.host.request(Methods.getRunHistory, { runId });
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
    this.post({ type: 'history', runId, events, summary: this.runs.find((r) => r.runId === runId) });
    const after = held.filter((e) => e.runId === runId);
    if (after.length) this.post({ type: 'events', runId, events: after });
  }

  /** A live event from the backend's notifications (any run). */
  onRunEvent(e: RunEvent): void {
    if (e.type === 'status') {
      const before = this.statuses.get(e.runId);
      this.statuses.set(e.runId, e.status);
      if (before !== e.status) this.scheduleRunsRefresh(!LIVE.includes(e.status));
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
    const shown = this.runId ? this.statuses.get(this.runId) ?? this.runs.find((r) => r.runId === this.runId)?.status : undefined;
    if (shown && LIVE.includes(shown)) return;
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
          void this.refreshComparison();
          void this.sendCompare();
        }
      });
    }, 300);
  }

  private async refreshRunList(): Promise<void> {
    try {
      this.runs = await this.host.request(Methods.listRuns, {});
      for (const r of this.runs) if (!this.statuses.has(r.runId) || !LIVE.includes(r.status)) this.statuses.set(r.runId, r.status);
    } catch (err) {
      this.host.log(`monitor: listRuns failed: ${this.host.errorText(err)}`);
    }
  }

  /** Test accuracy against parameters for the most recent runs (finished runs are read once). */
  async refreshComparison(): Promise<void> {
    const token = ++this.comparisonToken;
    const runs = [...this.runs].sort((a, b) => (b.startedAt > a.startedAt ? 1 : b.startedAt < a.startedAt ? -1 : 0)).slice(0, COMPARISON_RUNS);
    const paths: RunAccuracyPath[] = [];
    for (const r of runs) {
      let path = this.pathCache.get(r.runId);
      if (!path) {
        try {
          path = accuracyPath(r.runId, r.name, await this.host.request(Methods.getRunHistory, { runId: r.runId }));
        } catch (err) {
          this.host.log(`monitor: history of ${r.runId} for the comparison chart: ${this.host.errorText(err)}`);
          continue;
        }
        if (!LIVE.includes(r.status)) this.pathCache.set(r.runId, path);
      }
      if (token !== this.comparisonToken || !this.ready) return;
      if (path.points.length) paths.push(path);
    }
    this.post({ type: 'comparison', paths: paths.reverse() });
  }

  /** "Compare runs": the overlaid runs' series (finished runs are read once) and the colours fixed per run. */
  async sendCompare(): Promise<void> {
    const token = ++this.compareToken;
    const selected = this.compare.selected;
    const runs: CompareRun[] = [];
    for (const runId of selected) {
      let run = this.compareCache.get(runId);
      if (!run) {
        const summary = this.runs.find((r) => r.runId === runId);
        try {
          run = compareRunFromHistory(runId, summary?.name ?? runId, await this.host.request(Methods.getRunHistory, { runId }));
        } catch (err) {
          this.host.log(`monitor: history of ${runId} for Compare runs: ${this.host.errorText(err)}`);
          continue;
        }
        const status = this.statuses.get(runId) ?? summary?.status;
        if (status && !LIVE.includes(status)) this.compareCache.set(runId, run);
      }
      if (token !== this.compareToken || !this.ready) return;
      runs.push(run);
    }
    this.post({ type: 'compare', selected, colors: this.compare.colors, runs });
  }

  /** Every selected run's full series as one CSV or JSON file (runs not kept in the store are read). */
  private async exportSeries(format: 'csv' | 'json', runIds: string[]): Promise<void> {
    const runs: RunSeries[] = [];
    for (const runId of runIds) {
      let run = this.series.get(runId);
      if (!run) {
        try {
          run = RunSeries.fromEvents(runId, await this.host.request(Methods.getRunHistory, { runId }), this.runs.find((r) => r.runId === runId)?.name);
        } catch (err) {
          const message = `Growth Lab: could not read the history of run ${runId} for the export: ${this.host.errorText(err)}`;
          this.post({ type: 'exportResult', ok: false, message });
          return;
        }
      }
      runs.push(run);
    }
    const name = runs.length === 1 ? fileSafe(runs[0].name) : `${runs.length}-runs`;
    await this.save(`${runs.length === 1 ? 'the series' : `the series of ${runs.length} runs`}`, {
      title: `Save the series as ${format.toUpperCase()}`,
      defaultName: `${name}-series.${format}`,
      filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
      content: format === 'csv' ? seriesCsv(runs) : seriesJson(runs),
    });
  }

  private async save(what: string, file: SaveFileRequest): Promise<void> {
    if (!this.host.saveFile) {
      this.post({ type: 'exportResult', ok: false, message: 'Growth Lab: saving files is not available here.' });
      return;
    }
    try {
      const path = await this.host.saveFile(file);
      if (path) this.post({ type: 'exportResult', ok: true, message: `Saved ${what} to ${path}.`, path });
      else this.post({ type: 'exportResult', ok: false, message: `Not saved: no file was chosen for ${what}.` });
    } catch (err) {
      const message = `Growth Lab: could not save ${what}: ${this.host.errorText(err)}`;
      this.host.notify('error', message);
      this.post({ type: 'exportResult', ok: false, message });
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
        (r as PromiseLike<unknown>).then(undefined, (err: unknown) => this.host.log(`monitor: posting ${msg.type} failed: ${this.host.errorText(err)}`));
      }
    } catch (err) {
      this.host.log(`monitor: posting ${msg.type} failed: ${this.host.errorText(err)}`);
    }
  }
}

/** A run name as a file name: letters, digits, dot, dash and underscore. */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80) || 'run';
}

function newest(runs: readonly RunSummary[]): RunSummary | undefined {
  let best: RunSummary | undefined;
  for (const r of runs) if (!best || r.startedAt > best.startedAt) best = r;
  return best;
}

/** One line for a grow or prune answer, e.g. "firefly: +12 / −0 neurons, loss 0.41 → 0.40, 310 ms". */
export function describeStep(e: GrowEventParams): string {
  let added = 0, removed = 0;
  for (const d of e.diff) {
    added += d.added.length + d.split.length - new Set(d.split.map((s) => s.parent)).size;
    removed += d.removed.length;
  }
  const f = (v: number) => (Number.isFinite(v) ? v.toPrecision(4) : String(v));
  return `${e.kind === 'prune' ? 'Pruned' : 'Grew'} with ${e.method} at step ${e.step}: +${added} / −${removed} neurons, ${e.before.params.toLocaleString('en-US')} → ${e.after.params.toLocaleString('en-US')} parameters, loss ${f(e.lossBefore)} → ${f(e.lossAfter)} (${e.durationMs} ms).`;
}
