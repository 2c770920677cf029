/**
 * How a step chart looks in chart.js terms: its datasets (a line per series, and the faint raw line
 * drawn under a smoothed one), the dots of sparse series, and its x and y scales for the toolbar's
 * settings, all in the theme's colours.
 */
import type { ChartDataset } from 'chart.js';
import { axis } from './chartOptions';
import { formatCompact, formatPercent } from './format';
import type { ChartSettings, SeriesSpec, StepChartSpec, XY } from './stepChartSpec';
import { X_AXIS_TITLES } from './stepChartSpec';
import { withAlpha, type ThemeColors } from './theme';

/** Opacity of the raw line under a smoothed one. */
export const FAINT_ALPHA = 0.25;

/** Dot radius of a sparse series (evaluations): dots while there are at most 150 points. */
export function sparseRadius(points: number): number {
  return points <= 150 ? 2.5 : 0;
}

/** A series' line (smoothed, when smoothing is on). */
export function lineDataset(s: SeriesSpec, theme: ThemeColors): ChartDataset<'line', XY[]> {
  return {
    label: s.label,
    data: [],
    borderColor: theme[s.color],
    backgroundColor: theme[s.color],
    borderWidth: s.sparse ? 2 : 1.5,
    // Evaluations are drawn as dots while they are few; a dense series is a line only. (Scriptable:
    // chart.js keeps a plain pointRadius it resolved once on its elements after the option changes.)
    pointRadius: s.sparse ? (ctx) => sparseRadius(ctx.dataset.data.length) : 0,
    pointHoverRadius: 4,
    pointHitRadius: 4,
    tension: 0,
  };
}

/** The raw line under a smoothed one. */
export function faintDataset(s: SeriesSpec, theme: ThemeColors): ChartDataset<'line', XY[]> {
  return {
    label: `${s.label} (raw)`,
    data: [],
    borderColor: withAlpha(theme[s.color], FAINT_ALPHA),
    backgroundColor: withAlpha(theme[s.color], FAINT_ALPHA),
    borderWidth: 1,
    pointRadius: 0,
    pointHoverRadius: 0,
    pointHitRadius: 0,
    tension: 0,
  };
}

/** Re-colours a step chart's datasets (its k lines, then their k faint raw lines) for a new theme. */
export function recolorDatasets(datasets: ChartDataset<'line', XY[]>[], spec: StepChartSpec, theme: ThemeColors): void {
  const k = spec.series.length;
  spec.series.forEach((s, i) => {
    const ds = datasets[i];
    ds.borderColor = theme[s.color];
    ds.backgroundColor = theme[s.color];
    const faint = datasets[k + i];
    faint.borderColor = withAlpha(theme[s.color], FAINT_ALPHA);
    faint.backgroundColor = withAlpha(theme[s.color], FAINT_ALPHA);
  });
}

export function stepXScale(theme: ThemeColors, settings: ChartSettings) {
  return { ...axis(theme, X_AXIS_TITLES[settings.xAxis], settings.xAxis === 'step' ? undefined : formatCompact), bounds: 'data' as const };
}

export function stepYScale(theme: ThemeColors, spec: StepChartSpec, settings: ChartSettings) {
  const a = axis(theme, spec.yTitle, spec.percent ? formatPercent : formatCompact);
  return settings.logY ? { ...a, type: 'logarithmic' as const } : a;
}
