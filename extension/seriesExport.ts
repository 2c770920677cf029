/**
 * The monitor's "Export data": every selected run's full series (not the downsampled points) as one
 * CSV and one JSON document (pure: the extension writes what these return).
 *
 * CSV: one row per metrics event, runs one after another in the order given; empty cells where the
 * event had no value. JSON: per run, its columns (null where no value) and its grow/prune events.
 * Numbers are written in JavaScript's shortest round-trip form, so they read back exactly.
 */
import { METRIC_SERIES, type MetricSeriesName } from '../common/protocol';
import type { RunSeries } from './seriesStore';

export const CSV_COLUMNS = [
  'run_id',
  'run_name',
  'step',
  'epoch',
  'wall_time_s',
  'params',
  'flops_estimate',
  'train_loss',
  'test_loss',
  'train_accuracy',
  'test_accuracy',
  'samples_per_second',
  'learning_rate',
] as const;

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : '';
}

/** A CSV cell: quoted when it holds a comma, quote or line break; a leading = + - @ is neutralised (spreadsheet formulas). */
export function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function seriesCsv(runs: readonly RunSeries[]): string {
  const lines: string[] = [CSV_COLUMNS.join(',')];
  for (const run of runs) {
    const flops = run.xColumn('flops');
    const id = csvCell(run.runId),
      name = csvCell(run.name);
    run.rows.forEach((r, i) => {
      lines.push(
        [
          id,
          name,
          num(r.step),
          num(r.epoch),
          num(r.elapsedMs / 1000),
          num(r.params),
          num(flops[i]),
          num(r.values.trainLoss),
          num(r.values.testLoss),
          num(r.values.trainAccuracy),
          num(r.values.testAccuracy),
          num(r.values.samplesPerSecond),
          num(r.values.learningRate),
        ].join(','),
      );
    });
  }
  return `${lines.join('\r\n')}\r\n`;
}

export interface SeriesJson {
  format: 'growth-lab-series';
  version: 1;
  runs: {
    runId: string;
    name: string;
    /** Estimated training FLOPs per row: 6 × forward mult-adds × batch size per step (see trainingFlops). */
    columns: Record<'step' | 'epoch' | 'elapsedMs' | 'params' | 'flopsEstimate' | Exclude<MetricSeriesName, 'params'>, (number | null)[]>;
    growEvents: { step: number; kind: 'grow' | 'prune'; method: string; paramsBefore: number; paramsAfter: number }[];
  }[];
}

export function seriesJsonValue(runs: readonly RunSeries[]): SeriesJson {
  const col = (run: RunSeries, f: (i: number) => number) =>
    run.rows.map((_, i) => {
      const v = f(i);
      return Number.isFinite(v) ? v : null;
    });
  return {
    format: 'growth-lab-series',
    version: 1,
    runs: runs.map((run) => {
      const flops = run.xColumn('flops');
      const columns = {
        step: col(run, (i) => run.rows[i].step),
        epoch: col(run, (i) => run.rows[i].epoch),
        elapsedMs: col(run, (i) => run.rows[i].elapsedMs),
        params: col(run, (i) => run.rows[i].params),
        flopsEstimate: col(run, (i) => flops[i]),
      } as SeriesJson['runs'][number]['columns'];
      for (const s of METRIC_SERIES) if (s !== 'params') columns[s] = col(run, (i) => run.rows[i].values[s]);
      return {
        runId: run.runId,
        name: run.name,
        columns,
        growEvents: run.grows.map((g) => ({
          step: g.step,
          kind: g.kind,
          method: g.method,
          paramsBefore: g.paramsBefore,
          paramsAfter: g.paramsAfter,
        })),
      };
    }),
  };
}

export function seriesJson(runs: readonly RunSeries[]): string {
  return `${JSON.stringify(seriesJsonValue(runs))}\n`;
}
