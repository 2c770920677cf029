/**
 * Client-side view of the backend's runs (pure: no VS Code imports, unit-tested).
 *
 * Fed by the `growthLab/runStatus` and `growthLab/metrics` notifications, the
 * `growthLab/startExperiment` results and `growthLab/listRuns` answers. It knows each run's latest
 * status and metrics and which run is "active": the most recently started (or, failing that, most
 * recently updated) run that is still running or paused.
 */
import type { MetricsParams, RunStatus, RunStatusParams, RunSummary } from '../common/protocol';
import { plainText } from './plainText';

export interface TrackedRun {
  runId: string;
  /** Experiment name (falls back to the run id until it is known). */
  name: string;
  status: RunStatus;
  /** Message of the latest status notification. */
  message?: string;
  /** Non-fatal problems reported for the run (e.g. an execution provider fell back to cpu), deduplicated. */
  warnings: string[];
  /** Total epochs, when known. */
  epochs?: number;
  /** Latest metrics notification. */
  metrics?: MetricsParams;
  /** Latest test accuracy seen (metrics without an evaluation keep the previous one). */
  testAccuracy?: number;
  /** Parameter count, from the latest metrics or run summary. */
  params?: number;
  configPath?: string;
  /** The run's status came from the files of a backend that no longer runs. */
  stale?: boolean;
}

export const LIVE_STATUSES: readonly RunStatus[] = ['running', 'paused'];

export function isLive(status: RunStatus): boolean {
  return status === 'running' || status === 'paused';
}

/** Which run statuses each run command acts on. */
export const ACTION_STATUSES = {
  stop: ['running', 'paused'],
  pause: ['running'],
  resume: ['paused'],
} as const satisfies Record<string, readonly RunStatus[]>;
export type RunAction = keyof typeof ACTION_STATUSES;

export interface StartInfo {
  name?: string;
  epochs?: number;
  configPath?: string;
}

export class RunTracker {
  private readonly runs = new Map<string, TrackedRun>();
  /** Order of the last update (or start) of each run; higher is more recent. */
  private readonly touched = new Map<string, number>();
  private clock = 0;
  private activeId: string | undefined;
  private readonly listeners = new Set<() => void>();

  /** Subscribes to changes; returns the unsubscribe function. */
  onDidChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(runId: string): TrackedRun | undefined {
    return this.runs.get(runId);
  }

  /** All known runs, most recently updated first. */
  all(): TrackedRun[] {
    return [...this.runs.values()].sort((a, b) => (this.touched.get(b.runId) ?? 0) - (this.touched.get(a.runId) ?? 0));
  }

  /** The active run: running or paused, or undefined. */
  get active(): TrackedRun | undefined {
    return this.activeId === undefined ? undefined : this.runs.get(this.activeId);
  }

  /** A run the user just started (the `startExperiment` result). It becomes the active run. */
  started(runId: string, info: StartInfo = {}): TrackedRun {
    // Notifications for this run may have arrived before the request's result: keep their status.
    const run = this.upsert(runId, 'running');
    if (info.name) run.name = info.name;
    if (info.epochs !== undefined) run.epochs = info.epochs;
    if (info.configPath !== undefined) run.configPath = info.configPath;
    if (isLive(run.status)) this.activeId = runId;
    this.touch(runId);
    this.pickActive();
    this.emit();
    return run;
  }

  onStatus(p: RunStatusParams): TrackedRun {
    const run = this.upsert(p.runId, p.status);
    run.status = p.status;
    run.message = p.message;
    run.stale = undefined;
    for (const w of p.warnings ?? []) if (!run.warnings.includes(w)) run.warnings.push(w);
    this.touch(p.runId);
    this.pickActive();
    this.emit();
    return run;
  }

  onMetrics(p: MetricsParams): TrackedRun {
    const run = this.upsert(p.runId, 'running');
    run.metrics = p;
    run.params = p.params;
    if (p.testAccuracy !== undefined) run.testAccuracy = p.testAccuracy;
    this.touch(p.runId);
    this.pickActive();
    this.emit();
    return run;
  }

  /** Merges a `listRuns` answer (names, totals, statuses as the backend sees them now). */
  mergeSummaries(summaries: readonly RunSummary[]): void {
    for (const s of summaries) {
      const known = this.runs.has(s.runId);
      const run = this.upsert(s.runId, s.status);
      run.name = s.name || run.name;
      run.status = s.status;
      run.epochs = s.epochs;
      run.stale = s.stale || undefined;
      if (s.configPath !== undefined) run.configPath = s.configPath;
      if (!run.metrics && s.params > 0) run.params = s.params; // 0: the model is not built yet
      if (run.testAccuracy === undefined && s.lastTestAccuracy !== undefined) run.testAccuracy = s.lastTestAccuracy;
      if (!known) this.touched.set(s.runId, 0); // never seen live here: least recent
    }
    this.pickActive();
    this.emit();
  }

  /** Forgets everything (the backend was restarted: its runs are gone or stale). */
  clear(): void {
    this.runs.clear();
    this.touched.clear();
    this.activeId = undefined;
    this.emit();
  }

  private upsert(runId: string, status: RunStatus): TrackedRun {
    let run = this.runs.get(runId);
    if (!run) {
      run = { runId, name: runId, status, warnings: [] };
      this.runs.set(runId, run);
      this.touched.set(runId, 0);
    }
    return run;
  }

  private touch(runId: string): void {
    this.touched.set(runId, ++this.clock);
  }

  /** Keeps the active run if it is still live, else picks the most recently updated live run. */
  private pickActive(): void {
    const current = this.activeId === undefined ? undefined : this.runs.get(this.activeId);
    if (current && isLive(current.status) && !current.stale) return;
    this.activeId = this.all().find((r) => isLive(r.status) && !r.stale)?.runId;
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing the run a command acts on
// ---------------------------------------------------------------------------------------------

export type RunTarget = { kind: 'run'; runId: string } | { kind: 'pick'; runs: RunSummary[] } | { kind: 'none' };

/**
 * The run a stop/pause/resume command acts on: the active run when its status fits; otherwise the
 * only fitting run of `summaries` (the `listRuns` answer), or a choice among them (active first,
 * then newest start first).
 */
export function chooseRunTarget(action: RunAction, active: TrackedRun | undefined, summaries: readonly RunSummary[]): RunTarget {
  const allowed: readonly RunStatus[] = ACTION_STATUSES[action];
  if (active && allowed.includes(active.status) && !active.stale) return { kind: 'run', runId: active.runId };
  const fitting = summaries
    .filter((s) => allowed.includes(s.status) && !s.stale)
    .sort((a, b) => (b.startedAt > a.startedAt ? 1 : b.startedAt < a.startedAt ? -1 : 0));
  if (fitting.length === 0) return { kind: 'none' };
  if (fitting.length === 1) return { kind: 'run', runId: fitting[0].runId };
  return { kind: 'pick', runs: fitting };
}

/** Text for "nothing to act on", e.g. "No running experiment to pause." */
export function noRunMessage(action: RunAction): string {
  switch (action) {
    case 'stop':
      return 'Growth Lab: no running or paused experiment to stop.';
    case 'pause':
      return 'Growth Lab: no running experiment to pause.';
    case 'resume':
      return 'Growth Lab: no paused experiment to resume.';
  }
}

// Message builders (exported for the unit tests): the run's name, id, warnings and messages come from the
// backend and from files, so they are shown as plain text (no command links).
export const runWarningMessage = (run: Pick<TrackedRun, 'name'>, warning: string): string =>
  plainText(`Growth Lab: ${run.name}: ${warning}`);
export const runFailedMessage = (run: Pick<TrackedRun, 'name' | 'runId'>, message: string | undefined): string =>
  plainText(`Growth Lab: run ${run.name} (${run.runId}) failed${message ? `: ${message}` : '.'}`);
export const runCompletedMessage = (run: Pick<TrackedRun, 'name' | 'runId' | 'testAccuracy'>): string =>
  plainText(
    `Growth Lab: run ${run.name} (${run.runId}) completed${run.testAccuracy !== undefined ? ` (test accuracy ${formatPercent(run.testAccuracy)})` : ''}.`,
  );

// ---------------------------------------------------------------------------------------------
// Status bar text
// ---------------------------------------------------------------------------------------------

export interface StatusBarView {
  text: string;
  tooltip: string;
  /** Show the warning background (the run reported warnings, e.g. a provider fallback). */
  warning: boolean;
}

/** Short backend name for the status bar: "ort/cpu", "ort/cuda", "tfjs/cpu". */
export function backendLabel(engine: string, provider: string): string {
  return `${engine === 'onnxruntime' ? 'ort' : engine}/${provider}`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/**
 * "$(pulse) Growth Lab: <name> epoch e/E · acc xx.x% · params n" for a live run; undefined when
 * there is nothing to show (no run, or the run has finished). `epoch` is shown as the backend sends it.
 */
export function statusBarView(run: TrackedRun | undefined): StatusBarView | undefined {
  if (!run || !isLive(run.status)) return undefined;
  const m = run.metrics;
  const parts: string[] = [];
  if (run.status === 'paused') parts.push('paused');
  const cl = m?.continual;
  // Continual runs: the method and task instead of the epoch; the accuracy is the average over the tasks seen.
  if (m && cl && m.task !== undefined) parts.push(`${cl.method} task ${m.task + 1}/${cl.tasks}`);
  else if (m) parts.push(`epoch ${m.epoch}${run.epochs !== undefined ? `/${run.epochs}` : ''}`);
  const testAcc = m?.testAccuracy ?? run.testAccuracy;
  const acc = testAcc ?? m?.trainAccuracy;
  if (acc !== undefined && Number.isFinite(acc)) parts.push(`acc ${formatPercent(acc)}`);
  const params = m?.params ?? run.params;
  if (params !== undefined && params > 0) parts.push(`params ${formatCount(params)}`);
  // The backend (engine/provider) the run trains on; a warning (e.g. a provider fallback) marks it.
  // Everything but our own icons comes from the backend: plain text (no `$(icon)`, no links).
  const shown = parts.map((p) => plainText(p, { max: 80 }));
  if (m) shown.push(`${run.warnings.length ? '$(warning) ' : ''}${plainText(backendLabel(m.engine, m.executionProvider), { max: 40 })}`);
  const icon = run.status === 'paused' ? '$(debug-pause)' : '$(pulse)';
  const text = `${icon} Growth Lab: ${plainText(run.name, { max: 60 })}${shown.length ? ` ${shown.join(' · ')}` : ''}`;

  const tip: string[] = [`Growth Lab run ${run.runId} (${run.name}): ${run.status}`];
  if (m) {
    if (cl && m.task !== undefined)
      tip.push(
        `${cl.method}: task ${m.task + 1} of ${cl.tasks} (${cl.taskName}) learnt; average accuracy over the tasks seen ${formatPercent(cl.averageAccuracy)}, forgetting ${(cl.forgetting * 100).toFixed(2)} points`,
      );
    else tip.push(`epoch ${m.epoch}${run.epochs !== undefined ? ` of ${run.epochs}` : ''}, step ${m.step}`);
    tip.push(
      `train loss ${m.trainLoss.toPrecision(4)}${m.trainAccuracy !== undefined ? `, train accuracy ${formatPercent(m.trainAccuracy)}` : ''}`,
    );
    if (testAcc !== undefined) tip.push(`test accuracy ${formatPercent(testAcc)}`);
    tip.push(`${formatCount(m.params)} parameters · ${formatCount(m.samplesPerSecond)} samples/s · ${m.engine}/${m.executionProvider}`);
  }
  if (run.message) tip.push(run.message);
  for (const w of run.warnings) tip.push(`⚠ ${w}`);
  return { text, tooltip: plainText(tip.join('\n'), { newlines: true, max: 2000 }), warning: run.warnings.length > 0 };
}
