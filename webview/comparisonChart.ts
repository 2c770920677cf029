/**
 * The "test accuracy against parameters (all runs)" chart: one line per run, the shown run drawn
 * thicker; each run's path kept as columns, extended as points are appended, and thinned to about
 * one point per pixel.
 */
import { Chart } from 'chart.js';
import type { RunAccuracyPath } from '../common/protocol';
import { downsampleView } from '../common/monitor/downsample';
import { applyThemeDefaults, axis, baseOptions } from './chartOptions';
import { formatCompact, formatPercent } from './format';
import type { ColorKey } from './stepChartSpec';
import type { ThemeColors } from './theme';

const PALETTE: ColorKey[] = ['blue', 'orange', 'green', 'purple', 'yellow', 'red'];

/** Test accuracy against parameter count, one line per run; the shown run is drawn thicker. */
export class ComparisonChart {
  readonly chart: Chart<'line', { x: number; y: number }[]>;
  private theme: ThemeColors;
  private key = '';

  constructor(canvas: HTMLCanvasElement, theme: ThemeColors) {
    this.theme = theme;
    applyThemeDefaults(theme);
    this.chart = new Chart<'line', { x: number; y: number }[]>(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        ...baseOptions(theme),
        interaction: { mode: 'nearest', intersect: true },
        scales: { x: axis(theme, 'parameters', formatCompact), y: axis(theme, 'test accuracy', formatPercent) },
        plugins: {
          ...baseOptions(theme).plugins,
          tooltip: {
            animation: false,
            callbacks: {
              label: (item) =>
                `${item.dataset.label}: ${formatPercent(item.parsed.y ?? NaN)} at ${(item.parsed.x ?? 0).toLocaleString('en-US')} parameters`,
            },
          },
        },
      },
    });
  }

  private maxPoints(): number {
    return Math.max(32, Math.round(this.chart.chartArea?.width ?? this.chart.width));
  }

  /**
   * Each path's columns, extended as points are appended; rebuilt when the path was replaced or
   * re-ordered (its last cached point is no longer where it was).
   */
  private readonly columns = new Map<string, { points: RunAccuracyPath['points']; last?: object; xs: number[]; ys: number[] }>();

  private thinned(p: RunAccuracyPath): { x: number; y: number }[] {
    const c = this.columnsOf(p);
    return downsampleView(c.xs, c.ys, { pixels: this.maxPoints() }).map((k) => ({ x: c.xs[k], y: c.ys[k] }));
  }

  /** A path as columns (parameters, test accuracy), kept up to date incrementally (also for the screen-reader summary). */
  columnsOf(p: RunAccuracyPath): { xs: readonly number[]; ys: readonly number[] } {
    let c = this.columns.get(p.runId);
    const n = c?.xs.length ?? 0;
    if (!c || c.points !== p.points || n > p.points.length || (n > 0 && p.points[n - 1] !== c.last)) {
      c = { points: p.points, xs: [], ys: [] };
      this.columns.set(p.runId, c);
    }
    for (let i = c.xs.length; i < p.points.length; i++) {
      c.xs.push(p.points[i].params);
      c.ys.push(p.points[i].testAccuracy);
    }
    c.last = p.points[p.points.length - 1];
    return c;
  }

  render(paths: readonly RunAccuracyPath[], shownRunId: string | undefined, force = false): boolean {
    const key = `${shownRunId}|${this.maxPoints()}|${paths.map((p) => `${p.runId}:${p.points.length}`).join(',')}`;
    if (!force && key === this.key) return false;
    this.key = key;
    this.chart.data.datasets = paths.map((p, i) => {
      const shown = p.runId === shownRunId;
      const color = this.theme[PALETTE[i % PALETTE.length]];
      return {
        label: shown ? `${p.name} (shown)` : p.name,
        // x (parameters) goes down when a run is pruned: downsampleView cuts such a path in step order.
        data: this.thinned(p),
        borderColor: color,
        backgroundColor: color,
        borderWidth: shown ? 3 : 1.5,
        pointRadius: p.points.length > 150 ? 0 : shown ? 3 : 2,
        pointHoverRadius: 5,
        tension: 0,
      };
    });
    this.chart.update('none');
    return true;
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    applyThemeDefaults(theme);
    const o = this.chart.options;
    o.scales!.x = axis(theme, 'parameters', formatCompact);
    o.scales!.y = axis(theme, 'test accuracy', formatPercent);
    o.plugins!.legend!.labels!.color = theme.foreground;
    this.key = '';
  }

  inspect(): { label: string; points: number }[] {
    return this.chart.data.datasets.map((d) => ({ label: String(d.label), points: d.data.length }));
  }
}
