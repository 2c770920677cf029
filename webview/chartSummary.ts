/**
 * What a screen reader gets for a chart (pure: unit-tested without a browser): a one-line summary
 * for the canvas's aria-label, and the same data as table rows for the chart's "Table" view.
 */

export interface SummarySeries {
  label: string;
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
}

export interface SummaryOptions {
  /** Formats a y value (default: 3 significant digits). */
  format?: (v: number) => string;
  /** Grow and prune events drawn on the chart. */
  grows?: number;
  prunes?: number;
  /** Name of the x unit (plural), default "steps". */
  xUnit?: string;
}

export const formatSignificant = (v: number): string => {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 6 });
};

const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * E.g. "Loss: train loss 2.30 → 0.0800 (min 0.0700) over 1,200 steps; test loss 2.10 → 0.110
 * (min 0.100) in 12 points; 2 grow events". A series with no finite point is "no data".
 */
export function summarizeChart(title: string, series: readonly SummarySeries[], opts: SummaryOptions = {}): string {
  const fmt = opts.format ?? formatSignificant;
  const unit = opts.xUnit ?? 'steps';
  const parts = series.map((s) => {
    let first = -1,
      last = -1,
      min = Infinity,
      max = -Infinity,
      points = 0;
    const n = Math.min(s.xs.length, s.ys.length);
    for (let i = 0; i < n; i++) {
      const y = s.ys[i];
      if (!Number.isFinite(y)) continue;
      if (first < 0) first = i;
      last = i;
      points++;
      if (y < min) min = y;
      if (y > max) max = y;
    }
    if (first < 0) return `${s.label}: no data`;
    const y0 = s.ys[first],
      y1 = s.ys[last];
    let text = `${s.label} ${fmt(y0)} → ${fmt(y1)}`;
    const extremes: string[] = [];
    if (min < Math.min(y0, y1)) extremes.push(`min ${fmt(min)}`);
    if (max > Math.max(y0, y1)) extremes.push(`max ${fmt(max)}`);
    if (extremes.length) text += ` (${extremes.join(', ')})`;
    const span = s.xs[last] - s.xs[first];
    return `${text} over ${count(span, unit.replace(/s$/, ''), unit)}, ${count(points, 'point')}`;
  });
  const events: string[] = [];
  if (opts.grows) events.push(count(opts.grows, 'grow event'));
  if (opts.prunes) events.push(count(opts.prunes, 'prune event'));
  const body = parts.length ? parts.join('; ') : 'no data';
  return `${title}: ${body}${events.length ? `; ${events.join(', ')}` : ''}`;
}

export interface TableData {
  columns: string[];
  /** One row per x (or category): [x, y of each series there (undefined where it has none)]. */
  rows: (number | string | undefined)[][];
  /** Distinct x values in the data; rows.length of them are shown. */
  total: number;
}

/**
 * The chart's data as rows (x, then each series' value at that x). With more than `maxRows`
 * distinct x values, rows are taken at evenly spaced positions, always with the first and the last
 * and every x in `keep` (e.g. the grow steps).
 */
export function chartTable(xLabel: string, series: readonly SummarySeries[], maxRows = 200, keep: readonly number[] = []): TableData {
  const xsSet = new Set<number>();
  for (const s of series) for (let i = 0; i < s.xs.length; i++) if (Number.isFinite(s.ys[i])) xsSet.add(s.xs[i]);
  const xs = [...xsSet].sort((a, b) => a - b);
  let chosen = xs;
  if (xs.length > maxRows) {
    const pick = new Set<number>([xs[0], xs[xs.length - 1]]);
    for (const k of keep) if (xsSet.has(k)) pick.add(k);
    const slots = Math.max(0, maxRows - pick.size);
    for (let j = 0; j < slots; j++) pick.add(xs[Math.round((j * (xs.length - 1)) / Math.max(1, slots - 1))]);
    chosen = [...pick].sort((a, b) => a - b);
  }
  const lookups = series.map((s) => {
    const m = new Map<number, number>();
    for (let i = 0; i < s.xs.length; i++) if (Number.isFinite(s.ys[i])) m.set(s.xs[i], s.ys[i]);
    return m;
  });
  return {
    columns: [xLabel, ...series.map((s) => s.label)],
    rows: chosen.map((x) => [x, ...lookups.map((m) => m.get(x))]),
    total: xs.length,
  };
}

export interface ChartA11yData {
  title: string;
  series: SummarySeries[];
  options?: SummaryOptions;
  /** x values always shown in the table (e.g. grow steps). */
  keep?: readonly number[];
  xLabel?: string;
}

/** The a11y data of one of the monitor's step charts: its series from the run, grow/prune counts, grow steps kept in the table. */
export function stepChartA11yData(
  spec: { title: string; percent?: boolean; series: { name: string; label: string }[] },
  series: Readonly<Record<string, { xs: ArrayLike<number>; ys: ArrayLike<number> } | undefined>> | undefined,
  grows: readonly { step: number; kind: string }[],
): ChartA11yData {
  return {
    title: spec.title,
    series: spec.series.map((s) => ({ label: s.label, xs: series?.[s.name]?.xs ?? [], ys: series?.[s.name]?.ys ?? [] })),
    options: {
      format: spec.percent ? (v) => `${+(v * 100).toFixed(1)}%` : undefined,
      grows: grows.filter((g) => g.kind !== 'prune').length,
      prunes: grows.filter((g) => g.kind === 'prune').length,
    },
    keep: grows.map((g) => g.step),
  };
}

export interface CategorySeries {
  label: string;
  values: (number | undefined)[];
}

/**
 * A bar chart by category, e.g. "Candidate scores: selected 3 bars, highest 0.9 (d1#2 split),
 * lowest 0.5 (d1#0 split); best rejected 2 bars, highest 0.3 (d2#1 new), lowest 0.2 (d2#0 new)".
 */
export function summarizeCategories(
  title: string,
  categories: readonly string[],
  series: readonly CategorySeries[],
  format: (v: number) => string = formatSignificant,
): string {
  const parts = series.map((s) => {
    let hi = -1,
      lo = -1,
      n = 0;
    s.values.forEach((v, i) => {
      if (v === undefined || !Number.isFinite(v)) return;
      n++;
      if (hi < 0 || v > (s.values[hi] as number)) hi = i;
      if (lo < 0 || v < (s.values[lo] as number)) lo = i;
    });
    if (!n) return `${s.label}: none`;
    const at = (i: number) => `${format(s.values[i] as number)} (${categories[i] ?? i})`;
    if (n === 1) return `${s.label} 1 bar, ${at(hi)}`;
    if (s.values[hi] === s.values[lo]) return `${s.label} ${count(n, 'bar')}, all ${format(s.values[hi] as number)}`;
    return `${s.label} ${count(n, 'bar')}, highest ${at(hi)}, lowest ${at(lo)}`;
  });
  return `${title}: ${parts.length ? parts.join('; ') : 'no data'}`;
}

/** One row per category that has a value: [category, each series' value]. */
export function categoryTable(xLabel: string, categories: readonly string[], series: readonly CategorySeries[]): TableData {
  const rows = categories
    .map((c, i): (number | string | undefined)[] => [c, ...series.map((s) => s.values[i])])
    .filter((r) => r.slice(1).some((v) => v !== undefined));
  return { columns: [xLabel, ...series.map((s) => s.label)], rows, total: rows.length };
}
