/**
 * The monitor's series, kept on the extension side (pure: no VS Code imports, unit-tested).
 *
 * Every run the panel shows has its metrics kept here as columns (step order), fed with the same
 * events the panel gets (its history, then live events; an event that is in both is counted once).
 * A chart asks for its visible x range and width (`viewport`) and gets about 2 points per pixel
 * back (min/max per pixel bucket, webview/downsample.ts), as Float64Arrays, recomputed on every
 * zoom, pan and data change; the full series never crosses to the webview for drawing.
 */
import {
  METRIC_SERIES,
  type ChartDataMessage,
  type ChartSeriesPoints,
  type ChartViewportMessage,
  type ChartXAxis,
  type MetricSeriesName,
  type RunEvent,
} from '../common/protocol';
import { downsampleView } from '../common/monitor/downsample';
import { metricsKey } from '../common/monitor/runModel';
import { emaSmooth } from '../common/monitor/smoothing';

/** The columns of a run's metrics table besides the series themselves. */
export type RunColumn = 'step' | 'epoch' | 'elapsedMs' | 'params';

/** One metrics row (NaN where the event had no value). */
export interface MetricsRow {
  step: number;
  epoch: number;
  elapsedMs: number;
  params: number;
  values: Record<MetricSeriesName, number>;
}

export interface ArchitecturePhase {
  /** First step trained with this architecture (0: from the start). */
  step: number;
  /** Forward multiply-adds per example. */
  multAdds: number;
}

/** A grow or prune event as the charts and exports need it. */
export interface RunGrow {
  step: number;
  kind: 'grow' | 'prune';
  method: string;
  paramsBefore: number;
  paramsAfter: number;
  multAddsAfter: number;
}

/**
 * Training FLOPs at each row, estimated from the architecture: a training step costs about 3 forward
 * passes (forward, and a backward pass of twice its cost) and a multiply-add is 2 FLOPs, so each
 * example costs 6 × the forward mult-adds of the architecture in use (the "6·N per token" rule).
 * Examples per step: the batch size. The architecture changes at each grow/prune step (phases).
 * Returns NaN for every row when the batch size or the architecture is unknown.
 */
export function trainingFlops(steps: ArrayLike<number>, phases: readonly ArchitecturePhase[], batchSize: number | undefined): Float64Array {
  const out = new Float64Array(steps.length);
  if (!batchSize || !(batchSize > 0) || phases.length === 0) return out.fill(NaN);
  const sorted = [...phases].sort((a, b) => a.step - b.step);
  // Cumulative FLOPs at the start of each phase.
  const startFlops: number[] = [0];
  for (let p = 1; p < sorted.length; p++)
    startFlops.push(startFlops[p - 1] + (sorted[p].step - sorted[p - 1].step) * 6 * sorted[p - 1].multAdds * batchSize);
  let p = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    while (p + 1 < sorted.length && sorted[p + 1].step <= s) p++;
    while (p > 0 && sorted[p].step > s) p--;
    out[i] = startFlops[p] + (s - sorted[p].step) * 6 * sorted[p].multAdds * batchSize;
  }
  return out;
}

/**
 * Fractional epochs: a row of epoch e (1-based, as metrics report it) at step s is
 * e − 1 + (s − last step of epoch e − 1) / steps per epoch, clamped to e. Steps per epoch: from the
 * config (ceil(trainSize / batchSize)) when known, else the longest completed epoch seen; with
 * neither (still in epoch 1), the reported epoch number.
 */
export function fractionalEpochs(steps: ArrayLike<number>, epochs: ArrayLike<number>, stepsPerEpoch?: number): Float64Array {
  const n = steps.length;
  const out = new Float64Array(n);
  const lastStep = new Map<number, number>();
  for (let i = 0; i < n; i++) if (!(steps[i] <= (lastStep.get(epochs[i]) ?? -Infinity))) lastStep.set(epochs[i], steps[i]);
  let per = stepsPerEpoch && stepsPerEpoch > 0 ? stepsPerEpoch : 0;
  if (!per) for (const [e, s] of lastStep) if (lastStep.has(e + 1)) per = Math.max(per, s - (lastStep.get(e - 1) ?? 0));
  for (let i = 0; i < n; i++) {
    const e = epochs[i];
    if (!per) {
      out[i] = e;
      continue;
    }
    const before = lastStep.get(e - 1) ?? (e - 1) * per;
    out[i] = Math.min(e, e - 1 + (steps[i] - before) / per);
  }
  return out;
}

/** One run's metrics, columns in step order. */
export class RunSeries {
  readonly rows: MetricsRow[] = [];
  readonly grows: RunGrow[] = [];
  name: string;
  batchSize?: number;
  stepsPerEpoch?: number;
  startMultAdds?: number;
  /** Bumped on every accepted event. */
  version = 0;
  private readonly seen = new Set<string>();
  private cache = new Map<string, { version: number; xs: Float64Array; ys: Float64Array }>();
  private columnsCache: { version: number; axis: ChartXAxis; xs: Float64Array } | undefined;

  constructor(
    readonly runId: string,
    name?: string,
  ) {
    this.name = name ?? runId;
  }

  static fromEvents(runId: string, events: readonly RunEvent[], name?: string): RunSeries {
    const run = new RunSeries(runId, name);
    for (const e of events) run.add(e);
    return run;
  }

  add(e: RunEvent): boolean {
    if (e.runId !== this.runId) return false;
    if (e.type === 'start') {
      this.name = e.config?.name ?? this.name;
      this.batchSize = e.config?.training?.batchSize;
      const trainSize = e.config?.dataset?.trainSize;
      this.stepsPerEpoch = trainSize && this.batchSize ? Math.ceil(trainSize / this.batchSize) : undefined;
      this.startMultAdds = e.architecture?.flops;
      this.version++;
      return true;
    }
    if (e.type === 'grow') {
      const key = `g${e.step}|${e.kind}|${e.method}|${e.after.params}|${e.durationMs}|${e.lossAfter}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      const g: RunGrow = {
        step: e.step,
        kind: e.kind,
        method: e.method,
        paramsBefore: e.before.params,
        paramsAfter: e.after.params,
        multAddsAfter: e.after.flops,
      };
      let at = this.grows.length;
      while (at > 0 && this.grows[at - 1].step > g.step) at--;
      this.grows.splice(at, 0, g);
      if (this.startMultAdds === undefined) this.startMultAdds = e.before.flops;
      this.version++;
      return true;
    }
    if (e.type !== 'metrics') return false;
    const key = `m${metricsKey(e)}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    const values = {} as Record<MetricSeriesName, number>;
    for (const s of METRIC_SERIES) {
      const v = (e as unknown as Record<string, unknown>)[s];
      values[s] = typeof v === 'number' && Number.isFinite(v) ? v : NaN;
    }
    const row: MetricsRow = { step: e.step, epoch: e.epoch, elapsedMs: e.elapsedMs, params: e.params, values };
    let at = this.rows.length;
    while (at > 0 && this.rows[at - 1].step > row.step) at--;
    if (at === this.rows.length) this.rows.push(row);
    else this.rows.splice(at, 0, row);
    this.version++;
    return true;
  }

  /** Architecture phases for the FLOPs axis (start, then after each grow/prune). */
  phases(): ArchitecturePhase[] {
    const out: ArchitecturePhase[] = [];
    if (this.startMultAdds !== undefined) out.push({ step: 0, multAdds: this.startMultAdds });
    for (const g of this.grows) out.push({ step: g.step, multAdds: g.multAddsAfter });
    return out;
  }

  /** x of every row on `axis`. */
  xColumn(axis: ChartXAxis): Float64Array {
    if (this.columnsCache && this.columnsCache.version === this.version && this.columnsCache.axis === axis) return this.columnsCache.xs;
    const n = this.rows.length;
    let xs: Float64Array;
    if (axis === 'flops')
      xs = trainingFlops(
        Float64Array.from(this.rows, (r) => r.step),
        this.phases(),
        this.batchSize,
      );
    else if (axis === 'epoch')
      xs = fractionalEpochs(
        Float64Array.from(this.rows, (r) => r.step),
        Float64Array.from(this.rows, (r) => r.epoch),
        this.stepsPerEpoch,
      );
    else {
      xs = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const r = this.rows[i];
        xs[i] = axis === 'step' ? r.step : axis === 'time' ? r.elapsedMs / 1000 : r.params;
      }
    }
    this.columnsCache = { version: this.version, axis, xs };
    return xs;
  }

  /** One series on `axis`: the rows where both x and the value are finite, in step order. */
  series(name: MetricSeriesName, axis: ChartXAxis): { xs: Float64Array; ys: Float64Array } {
    const key = `${name}|${axis}`;
    const hit = this.cache.get(key);
    if (hit && hit.version === this.version) return hit;
    const col = this.xColumn(axis);
    let m = 0;
    for (let i = 0; i < this.rows.length; i++) if (Number.isFinite(this.rows[i].values[name]) && Number.isFinite(col[i])) m++;
    const xs = new Float64Array(m),
      ys = new Float64Array(m);
    let k = 0;
    for (let i = 0; i < this.rows.length; i++) {
      const y = this.rows[i].values[name];
      if (Number.isFinite(y) && Number.isFinite(col[i])) {
        xs[k] = col[i];
        ys[k] = y;
        k++;
      }
    }
    const entry = { version: this.version, xs, ys };
    this.cache.set(key, entry);
    return entry;
  }

  /** x of a step on `axis` (the row at or after it; NaN when there is none). */
  xAtStep(step: number, axis: ChartXAxis): number {
    if (axis === 'step') return step;
    if (axis === 'flops') return trainingFlops([step], this.phases(), this.batchSize)[0];
    const col = this.xColumn(axis);
    let a = 0,
      b = this.rows.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (this.rows[mid].step < step) a = mid + 1;
      else b = mid;
    }
    return a < this.rows.length ? col[a] : a > 0 ? col[a - 1] : NaN;
  }
}

/** How many runs the store keeps (the shown one and recently shown or exported ones). */
export const STORE_RUNS = 8;

export class SeriesStore {
  private readonly runs = new Map<string, RunSeries>();
  private readonly smoothCache = new Map<string, { version: number; ys: Float64Array }>();

  get(runId: string): RunSeries | undefined {
    return this.runs.get(runId);
  }

  /** A run's full history: replaces what was kept for it. */
  setHistory(runId: string, events: readonly RunEvent[], name?: string): RunSeries {
    const run = RunSeries.fromEvents(runId, events, name);
    this.runs.delete(runId);
    this.runs.set(runId, run);
    while (this.runs.size > STORE_RUNS) this.runs.delete(this.runs.keys().next().value as string);
    return run;
  }

  /** Live events (of runs the store keeps; others are ignored). */
  add(events: readonly RunEvent[]): void {
    for (const e of events) this.runs.get(e.runId)?.add(e);
  }

  /** The answer to a viewport request; undefined when the run is not kept here. */
  view(req: ChartViewportMessage): ChartDataMessage | undefined {
    const run = this.runs.get(req.runId);
    if (!run) return undefined;
    const markerXs = run.grows.map((g) => run.xAtStep(g.step, req.xAxis));
    const keep = markerXs.filter((x) => Number.isFinite(x));
    let dataMin = Infinity,
      dataMax = -Infinity;
    const window = { xMin: req.xMin, xMax: req.xMax, pixels: req.pixels };
    const series: ChartSeriesPoints[] = req.series.map((name) => {
      const { xs, ys } = run.series(name, req.xAxis);
      for (let i = 0; i < xs.length; i++) {
        if (xs[i] < dataMin) dataMin = xs[i];
        if (xs[i] > dataMax) dataMax = xs[i];
      }
      const idx = downsampleView(xs, ys, window, keep);
      const out: ChartSeriesPoints = {
        name,
        total: xs.length,
        visible: countInside(xs, req.xMin, req.xMax),
        drawn: idx.length,
        xs: pick(xs, idx),
        ys: pick(ys, idx),
      };
      if (req.smoothing > 0) {
        const sm = this.smoothed(run, name, req.xAxis, ys, req.smoothing);
        const sIdx = downsampleView(xs, sm, window, keep);
        out.smoothed = { xs: pick(xs, sIdx), ys: pick(sm, sIdx) };
      }
      return out;
    });
    const msg: ChartDataMessage = {
      type: 'chartData',
      runId: req.runId,
      chart: req.chart,
      seq: req.seq,
      xAxis: req.xAxis,
      smoothing: req.smoothing,
      series,
      markerXs,
    };
    if (req.xMin !== undefined) msg.xMin = req.xMin;
    if (req.xMax !== undefined) msg.xMax = req.xMax;
    if (dataMin <= dataMax) {
      msg.dataMin = dataMin;
      msg.dataMax = dataMax;
    }
    return msg;
  }

  private smoothed(run: RunSeries, name: MetricSeriesName, axis: ChartXAxis, ys: Float64Array, weight: number): Float64Array {
    const key = `${run.runId}|${name}|${axis}|${weight}`;
    const hit = this.smoothCache.get(key);
    if (hit && hit.version === run.version) return hit.ys;
    const sm = emaSmooth(ys, weight);
    if (this.smoothCache.size > 64) this.smoothCache.clear();
    this.smoothCache.set(key, { version: run.version, ys: sm });
    return sm;
  }
}

function pick(a: Float64Array, idx: readonly number[]): Float64Array {
  const out = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = a[idx[k]];
  return out;
}

function countInside(xs: Float64Array, lo: number | undefined, hi: number | undefined): number {
  if (lo === undefined && hi === undefined) return xs.length;
  let n = 0;
  for (let i = 0; i < xs.length; i++) if ((lo === undefined || xs[i] >= lo) && (hi === undefined || xs[i] <= hi)) n++;
  return n;
}
