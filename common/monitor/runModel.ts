/**
 * One run as the monitor sees it, built from its RunEvents (pure: unit-tested without a browser).
 *
 * The extension sends the run's full history first and its live events after; events that are in
 * both (a notification that raced the `getRunHistory` read) are recognised and counted once.
 * Series are parallel x/y arrays (x = training step) that only grow, so charts can keep appending.
 */
import { ContinualRecord } from './continualModel';
import type {
  Architecture,
  EngineName,
  ExecutionProviderName,
  ExperimentConfig,
  GrowEventParams,
  MetricsParams,
  RunAccuracyPath,
  RunEvent,
  RunStatus,
  RunSummary,
} from '../protocol';

export type SeriesName = 'trainLoss' | 'testLoss' | 'trainAccuracy' | 'testAccuracy' | 'params' | 'samplesPerSecond' | 'learningRate';

export class Series {
  readonly xs: number[] = [];
  readonly ys: number[] = [];
  get length(): number {
    return this.xs.length;
  }

  /** Appends (x, y); a point older than the last one is inserted in step order. */
  push(x: number, y: number): void {
    const n = this.xs.length;
    if (n === 0 || x >= this.xs[n - 1]) {
      this.xs.push(x);
      this.ys.push(y);
      return;
    }
    let lo = 0,
      hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.xs[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    this.xs.splice(lo, 0, x);
    this.ys.splice(lo, 0, y);
  }
}

export type GrowEvent = GrowEventParams & { time?: string };

/** Identity of a metrics event: the same emission read from events.jsonl and received as a notification. */
export function metricsKey(m: MetricsParams): string {
  return `${m.step}|${m.elapsedMs}|${m.testLoss ?? ''}|${m.trainLoss}`;
}

export function growKey(g: GrowEventParams): string {
  return `${g.step}|${g.kind}|${g.method}|${g.after.params}|${g.durationMs}|${g.lossAfter}`;
}

export class RunModel {
  readonly series: Record<SeriesName, Series> = {
    trainLoss: new Series(),
    testLoss: new Series(),
    trainAccuracy: new Series(),
    testAccuracy: new Series(),
    params: new Series(),
    samplesPerSecond: new Series(),
    learningRate: new Series(),
  };
  readonly grows: GrowEvent[] = [];
  /** Continual-learning runs: the accuracy matrices and per-task lines of each method. */
  readonly continual = new ContinualRecord();
  /** Accuracy against parameters, in step order (the comparison chart's line for this run). */
  readonly path: RunAccuracyPath['points'] = [];
  config?: ExperimentConfig;
  startArchitecture?: Architecture;
  status?: RunStatus;
  statusMessage?: string;
  readonly warnings: string[] = [];
  lastMetrics?: MetricsParams;
  bestTestAccuracy?: number;
  firstTime?: string;
  lastTime?: string;
  checkpoints = 0;
  /** Events accepted (duplicates are not counted). */
  accepted = 0;
  duplicates = 0;
  /** Bumped on every accepted event: renderers compare it to know whether to redraw. */
  version = 0;
  private readonly seen = new Set<string>();

  constructor(readonly runId: string) {}

  /** Adds one event; false when it was a duplicate or belongs to another run. */
  add(e: RunEvent): boolean {
    if (e.runId !== this.runId) return false;
    if (e.type === 'metrics' || e.type === 'grow') {
      const key = e.type === 'metrics' ? `m${metricsKey(e)}` : `g${growKey(e)}`;
      if (this.seen.has(key)) {
        this.duplicates++;
        return false;
      }
      this.seen.add(key);
    }
    if (e.time) {
      if (!this.firstTime || e.time < this.firstTime) this.firstTime = e.time;
      if (!this.lastTime || e.time > this.lastTime) this.lastTime = e.time;
    }
    switch (e.type) {
      case 'start':
        this.config = e.config;
        this.startArchitecture = e.architecture;
        for (const w of e.warnings ?? []) if (!this.warnings.includes(w)) this.warnings.push(w);
        break;
      case 'status':
        this.status = e.status;
        this.statusMessage = e.message;
        for (const w of e.warnings ?? []) if (!this.warnings.includes(w)) this.warnings.push(w);
        break;
      case 'metrics':
        this.addMetrics(e);
        if (e.continual) this.continual.add(e);
        break;
      case 'grow': {
        const { type: _t, ...g } = e;
        let at = this.grows.length;
        while (at > 0 && this.grows[at - 1].step > g.step) at--;
        this.grows.splice(at, 0, g);
        break;
      }
      case 'checkpoint':
        this.checkpoints++;
        break;
      default:
        return false; // an event type this panel does not know: ignored
    }
    this.accepted++;
    this.version++;
    return true;
  }

  addAll(events: readonly RunEvent[]): number {
    let n = 0;
    for (const e of events) if (this.add(e)) n++;
    return n;
  }

  private addMetrics(m: MetricsParams): void {
    const s = this.series;
    const x = m.step;
    if (finite(m.trainLoss)) s.trainLoss.push(x, m.trainLoss);
    if (finite(m.testLoss)) s.testLoss.push(x, m.testLoss!);
    if (finite(m.trainAccuracy)) s.trainAccuracy.push(x, m.trainAccuracy!);
    if (finite(m.testAccuracy)) {
      s.testAccuracy.push(x, m.testAccuracy!);
      if (this.bestTestAccuracy === undefined || m.testAccuracy! > this.bestTestAccuracy) this.bestTestAccuracy = m.testAccuracy;
      this.path.push({ step: x, params: m.params, testAccuracy: m.testAccuracy! });
      if (this.path.length > 1 && this.path[this.path.length - 2].step > x) this.path.sort((a, b) => a.step - b.step);
    }
    if (finite(m.params)) s.params.push(x, m.params);
    if (finite(m.samplesPerSecond)) s.samplesPerSecond.push(x, m.samplesPerSecond);
    if (finite(m.learningRate)) s.learningRate.push(x, m.learningRate!);
    if (!this.lastMetrics || m.step >= this.lastMetrics.step) this.lastMetrics = m;
  }

  /** The architecture now: after the latest grow, else the one the run started with. */
  get architecture(): Architecture | undefined {
    return this.grows.length ? this.grows[this.grows.length - 1].after : this.startArchitecture;
  }

  get hasCheckpoint(): boolean {
    return this.checkpoints > 0;
  }
}

function count(grows: readonly GrowEvent[], kind: GrowEvent['kind']): number {
  let n = 0;
  for (const g of grows) if (g.kind === kind) n++;
  return n;
}

function finite(v: number | undefined): boolean {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Test accuracy against parameters from a run's events (what the comparison chart draws per run). */
export function accuracyPath(runId: string, name: string, events: readonly RunEvent[]): RunAccuracyPath {
  const points: RunAccuracyPath['points'] = [];
  for (const e of events) {
    if (e.type === 'metrics' && e.runId === runId && finite(e.testAccuracy) && finite(e.params)) {
      points.push({ step: e.step, params: e.params, testAccuracy: e.testAccuracy! });
    }
  }
  points.sort((a, b) => a.step - b.step);
  return { runId, name, points };
}

// ---------------------------------------------------------------------------------------------
// The run summary
// ---------------------------------------------------------------------------------------------

export interface SummaryView {
  runId: string;
  name: string;
  status?: RunStatus;
  dataset?: string;
  engine?: EngineName;
  executionProvider?: ExecutionProviderName;
  bestTestAccuracy?: number;
  params?: number;
  epochsDone?: number;
  epochs?: number;
  growSteps: number;
  pruneSteps: number;
  /** Training time: elapsed milliseconds of the latest metrics, else end minus start of the run. */
  wallMs?: number;
  stale?: boolean;
  /** Written by a tool outside Growth Lab (RunSummary.external): read-only here. */
  external?: string;
}

export function summaryView(model: RunModel, summary?: RunSummary): SummaryView {
  const m = model.lastMetrics;
  let best = summary?.bestTestAccuracy;
  if (model.bestTestAccuracy !== undefined && (best === undefined || model.bestTestAccuracy > best)) best = model.bestTestAccuracy;
  let wallMs = m?.elapsedMs;
  if (wallMs === undefined && summary?.startedAt && summary.endedAt) {
    const d = Date.parse(summary.endedAt) - Date.parse(summary.startedAt);
    if (Number.isFinite(d) && d >= 0) wallMs = d;
  }
  return {
    runId: model.runId,
    name: model.config?.name ?? summary?.name ?? model.runId,
    status: model.status ?? summary?.status,
    dataset: model.config?.dataset.name ?? summary?.dataset,
    engine: m?.engine ?? model.config?.engine ?? summary?.engine,
    executionProvider: m?.executionProvider ?? model.config?.executionProvider ?? summary?.executionProvider,
    bestTestAccuracy: best,
    params: m?.params ?? model.architecture?.params ?? (summary && summary.params > 0 ? summary.params : undefined),
    epochsDone: m?.epoch ?? summary?.epochsDone,
    epochs: model.config?.training.epochs ?? summary?.epochs,
    growSteps: count(model.grows, 'grow'),
    pruneSteps: count(model.grows, 'prune'),
    wallMs,
    stale: summary?.stale,
    external: summary?.external,
  };
}
