/**
 * A step chart as a file: PNG (the canvas under its title, on the theme's background) and SVG (built
 * by the pure svgExport.ts from the points, ticks and markers chart.js drew).
 */
import type { Chart } from 'chart.js';
import type { MarkerState } from './markerPlugin';
import { FAINT_ALPHA, sparseRadius } from './stepChartStyle';
import { X_AXIS_TITLES, type ChartSettings, type StepChartSpec, type XY } from './stepChartSpec';
import { chartSvg, type SvgLine } from './svgExport';
import type { ThemeColors } from './theme';

/** The chart as PNG (base64): title, legend and plot on the theme's background. */
export function chartPngBase64(chart: Chart<'line', XY[]>, title: string, theme: ThemeColors): string {
  const src = chart.canvas;
  const ratio = src.width / Math.max(1, chart.width);
  const head = Math.round(24 * ratio);
  const out = document.createElement('canvas');
  out.width = src.width;
  out.height = src.height + head;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = theme.foreground;
  ctx.font = `600 ${Math.round(theme.fontSize * ratio)}px ${theme.fontFamily}`;
  ctx.textBaseline = 'middle';
  ctx.fillText(title, Math.round(8 * ratio), head / 2);
  ctx.drawImage(src, 0, head);
  return out.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}

/** The step chart as an SVG document built from the drawn points (its k lines, then their k faint raw lines). */
export function stepChartSvg(
  chart: Chart<'line', XY[]>,
  spec: StepChartSpec,
  settings: ChartSettings,
  theme: ThemeColors,
  st: MarkerState,
): string {
  const x = chart.scales.x,
    y = chart.scales.y;
  const a = chart.chartArea;
  const k = spec.series.length;
  const lines: SvgLine[] = chart.data.datasets
    .map((d, i) => ({
      label: String(d.label),
      color: i < k ? theme[spec.series[i].color] : theme[spec.series[i - k].color],
      width: Number(d.borderWidth ?? 1.5),
      opacity: i < k ? undefined : FAINT_ALPHA,
      points: d.data.map((p) => [x.getPixelForValue(p.x), y.getPixelForValue(p.y)] as const),
      dots: i < k && spec.series[i].sparse && sparseRadius(d.data.length) > 0 ? sparseRadius(d.data.length) : undefined,
      legend: i < k,
    }))
    .filter((l) => l.points.length > 0);
  const tickLabel = (t: { label?: string | string[] | number }) => (Array.isArray(t.label) ? t.label.join(' ') : String(t.label ?? ''));
  return chartSvg({
    width: chart.width,
    height: chart.height,
    title: spec.title,
    area: { left: a.left, right: a.right, top: a.top, bottom: a.bottom },
    colors: { background: theme.background, foreground: theme.foreground, muted: theme.muted, grid: theme.grid },
    font: { family: theme.fontFamily, size: Math.max(10, theme.fontSize - 1) },
    xTitle: X_AXIS_TITLES[settings.xAxis],
    yTitle: spec.yTitle,
    xTicks: x.ticks.map((t) => ({ px: x.getPixelForValue(t.value), label: tickLabel(t) })),
    yTicks: y.ticks.map((t) => ({ py: y.getPixelForValue(t.value), label: tickLabel(t) })),
    lines,
    markers: st.pixels.map((p) => {
      const m = st.markers[p.index];
      return { px: p.px, color: m.kind === 'prune' ? theme.red : theme.green, label: `${m.kind} ${m.method} at step ${m.step}` };
    }),
  });
}
