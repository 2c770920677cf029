/**
 * chart.js charts of the monitor. Everything that is math (downsampling, marker positions) lives in
 * pure modules; this file only hands their results to chart.js and draws the grow markers.
 *
 * Performance: parsing off (points are {x, y}), no animation, `update('none')`, and never more
 * points than 4 per horizontal pixel (min-max downsampling of the full series at every redraw).
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Decimation,
  Legend,
  LinearScale,
  LogarithmicScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
  type Plugin,
} from 'chart.js';
import { downsampleView } from '../common/monitor/downsample';
import { markerAt, markerLines, markerPixels, type GrowMarker, type MarkerPixel } from './markers';
import type { RunModel, SeriesName } from '../common/monitor/runModel';
import { withAlpha, type ThemeColors } from './theme';
import type { ChartDataMessage, ChartViewportMessage, ChartXAxis, RunAccuracyPath } from '../common/protocol';
import { emaSmooth } from '../common/monitor/smoothing';
import { chartSvg, type SvgLine } from './svgExport';
import { panBy, zoomAt, type XRange } from './zoom';
import type { GrowEvent } from '../common/monitor/runModel';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, BarController, BarElement, CategoryScale, Tooltip, Legend, Decimation);

export type ColorKey = 'blue' | 'orange' | 'green' | 'red' | 'purple' | 'yellow';

export interface SeriesSpec {
  name: SeriesName;
  label: string;
  color: ColorKey;
  /** Few points (evaluations): draw the points, not only the line. */
  sparse?: boolean;
}

export interface StepChartSpec {
  id: string;
  title: string;
  yTitle: string;
  series: SeriesSpec[];
  percent?: boolean;
  integer?: boolean;
}

export interface MarkerHover {
  marker: GrowMarker;
  chartId: string;
  /** Viewport coordinates of the marker's top. */
  clientX: number;
  clientY: number;
}

interface MarkerState {
  markers: GrowMarker[];
  pixels: MarkerPixel[];
  /** The pointer is on a marker: the point tooltip stays hidden (the marker has its own). */
  onMarker: boolean;
  colors: { grow: string; prune: string };
  onHover?: (hover: MarkerHover | undefined) => void;
  chartId: string;
  /** x of each marker (by grow index) when the x axis is not the step. */
  markerXs?: number[];
}

const markerStates = new WeakMap<Chart, MarkerState>();

/** Draws a dashed vertical line at every grow (and prune) step and reports the one under the pointer. */
const growMarkerPlugin: Plugin<'line'> = {
  id: 'growthLabMarkers',
  afterDatasetsDraw(chart) {
    const st = markerStates.get(chart);
    const x = chart.scales.x;
    if (!st || !x) return;
    const { left, right, top, bottom } = chart.chartArea;
    const xs = st.markerXs;
    st.pixels = markerPixels(xs ? st.markers.map((m) => ({ ...m, step: xs[m.index] ?? NaN })) : st.markers, (s) => x.getPixelForValue(s), left, right);
    const ctx = chart.ctx;
    ctx.save();
    ctx.lineWidth = 1.5;
    for (const p of st.pixels) {
      const m = st.markers[p.index];
      const color = m.kind === 'prune' ? st.colors.prune : st.colors.grow;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.setLineDash([5, 3]);
      ctx.beginPath();
      ctx.moveTo(Math.round(p.px) + 0.5, top);
      ctx.lineTo(Math.round(p.px) + 0.5, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.beginPath(); // a small flag on top
      ctx.moveTo(p.px - 4, top - 1);
      ctx.lineTo(p.px + 4, top - 1);
      ctx.lineTo(p.px, top + 5);
      ctx.closePath();
      ctx.fill();
    }
    ctx.restore();
  },
  // Before the tooltip plugin handles the event, so that its filter sees whether a marker is hovered.
  beforeEvent(chart, args) {
    const st = markerStates.get(chart);
    if (!st?.onHover) return;
    const e = args.event;
    if (e.type === 'mouseout') { st.onMarker = false; st.onHover(undefined); return; }
    if (e.type !== 'mousemove' || e.x === null || e.y === null) return;
    const { top, bottom } = chart.chartArea;
    const hit = e.y >= top - 8 && e.y <= bottom ? markerAt(st.pixels, e.x, 5) : undefined;
    st.onMarker = !!hit;
    if (!hit) { st.onHover(undefined); return; }
    const rect = chart.canvas.getBoundingClientRect();
    st.onHover({ marker: st.markers[hit.index], chartId: st.chartId, clientX: rect.left + hit.px, clientY: rect.top + top });
  },
};

/** Options every chart of the panel shares: no parsing or animation, sized by its box, themed legend. */
export function baseOptions(theme: ThemeColors) {
  return {
    animation: false as const,
    parsing: false as const,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    spanGaps: true,
    interaction: { mode: 'nearest' as const, axis: 'x' as const, intersect: false },
    layout: { padding: { top: 8 } },
    plugins: {
      legend: { labels: { color: theme.foreground, boxWidth: 12, boxHeight: 2, font: { family: theme.fontFamily, size: theme.fontSize - 1 } } },
      tooltip: { animation: false as const },
    },
  };
}

function applyThemeDefaults(theme: ThemeColors): void {
  Chart.defaults.color = theme.foreground;
  Chart.defaults.borderColor = theme.grid;
  Chart.defaults.font.family = theme.fontFamily;
  Chart.defaults.font.size = Math.max(10, theme.fontSize - 1);
}

/** A linear axis in the theme's colours (every chart of the panel uses it). */
export function axis(theme: ThemeColors, title: string, format?: (v: number) => string) {
  return {
    type: 'linear' as const,
    title: { display: true, text: title, color: theme.muted },
    grid: { color: theme.grid },
    border: { color: theme.grid },
    ticks: { color: theme.foreground, maxTicksLimit: 7, ...(format ? { callback: (v: number | string) => format(Number(v)) } : {}) },
  };
}

export function formatCompact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(4)}`;
}

const percent = (v: number): string => `${+(v * 100).toFixed(1)}%`;

/** Dot radius of a sparse series (evaluations): dots while there are at most 150 points. */
function sparseRadius(points: number): number {
  return points <= 150 ? 2.5 : 0;
}

/** What the chart toolbar sets for every step chart: x axis, smoothing, log-scale y. */
export interface ChartSettings {
  xAxis: ChartXAxis;
  smoothing: number;
  logY: boolean;
}

export const X_AXIS_TITLES: Record<ChartXAxis, string> = {
  step: 'step',
  epoch: 'epoch',
  time: 'wall time (s)',
  params: 'parameters',
  flops: 'training FLOPs (estimate)',
};

/** A viewport request, without the sequence number the panel adds. */
export type ViewportRequest = Omit<ChartViewportMessage, 'type' | 'seq'>;

/** Live data re-asks the extension at most this often per chart (zoom and pan ask at once). */
export const LIVE_REQUEST_MS = 250;

const FAINT_ALPHA = 0.25;

/**
 * A chart of some of the run's series against step (or epoch, wall time, parameters, FLOPs), with
 * the grow markers. Its points come from the extension (`viewport` → `chartData`: about 2 per
 * pixel of the visible range); until an answer for the current view arrives, step charts draw the
 * same downsampling of the panel's own copy. Wheel zooms around the pointer, dragging pans,
 * double-click or the reset button resets; on the focused canvas + − ← → and 0 do the same.
 */
export class StepChart {
  readonly chart: Chart<'line', { x: number; y: number }[]>;
  /** Full number of points of each series (its raw line) at the last redraw. */
  totals: number[] = [];
  /** Raw points drawn per series at the last redraw. */
  drawn: number[] = [];
  settings: ChartSettings = { xAxis: 'step', smoothing: 0, logY: false };
  /** The zoomed x range; undefined: all of it. */
  zoom: XRange | undefined;
  /** Where the drawn points came from. */
  source: 'extension' | 'local' | 'none' = 'none';
  /** Posts a viewport request and returns its sequence number (set by the panel); without it the chart downsamples its own copy. */
  requester?: (req: ViewportRequest) => number;
  /** Sequence number of the last request. */
  private requestedSeq = -1;
  /** The view changed (zoom, pan): the panel schedules a redraw. */
  onViewChange?: () => void;
  /** "N of M points" (set by the panel's chart tools). */
  badge?: HTMLElement;
  resetButton?: HTMLElement & { disabled: boolean };
  private remote: ChartDataMessage | undefined;
  private drawnKey = '';
  private requestKey = '';
  private requestedVersion = -1;
  private lastRequestAt = 0;
  private throttle: ReturnType<typeof setTimeout> | undefined;
  private lastModel: RunModel | undefined;
  private bounds: XRange | undefined;
  private theme: ThemeColors;
  private drag: { px: number; range: XRange; pointer: number } | undefined;

  constructor(readonly spec: StepChartSpec, canvas: HTMLCanvasElement, theme: ThemeColors, onMarkerHover: (h: MarkerHover | undefined) => void) {
    this.theme = theme;
    applyThemeDefaults(theme);
    const k = spec.series.length;
    this.chart = new Chart<'line', { x: number; y: number }[]>(canvas, {
      type: 'line',
      data: { datasets: [...spec.series.map((s) => this.dataset(s, theme)), ...spec.series.map((s) => this.faintDataset(s, theme))] },
      options: {
        ...baseOptions(theme),
        scales: { x: this.xScale(theme), y: this.yScale(theme) },
        plugins: {
          ...baseOptions(theme).plugins,
          legend: { labels: { ...baseOptions(theme).plugins.legend.labels, filter: (item) => (item.datasetIndex ?? 0) < k } },
          // The backstop: chart.js never draws more than its own min/max decimation allows.
          decimation: { enabled: true, algorithm: 'min-max' },
          tooltip: {
            animation: false,
            filter: (item) => item.datasetIndex < k && !markerStates.get(this.chart)?.onMarker,
            callbacks: {
              title: (items) => (items.length ? `${X_AXIS_TITLES[this.settings.xAxis]} ${this.settings.xAxis === 'step' ? items[0].parsed.x : formatCompact(items[0].parsed.x ?? NaN)}` : ''),
              label: (item) => `${item.dataset.label}: ${spec.percent ? percent(item.parsed.y ?? NaN) : formatCompact(item.parsed.y ?? NaN)}`,
            },
          },
        },
      },
      plugins: [growMarkerPlugin],
    });
    markerStates.set(this.chart, { markers: [], pixels: [], onMarker: false, colors: { grow: theme.green, prune: theme.red }, onHover: onMarkerHover, chartId: spec.id });
    this.wireZoom(canvas);
  }

  private dataset(s: SeriesSpec, theme: ThemeColors): ChartDataset<'line', { x: number; y: number }[]> {
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
  private faintDataset(s: SeriesSpec, theme: ThemeColors): ChartDataset<'line', { x: number; y: number }[]> {
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

  private xScale(theme: ThemeColors) {
    return { ...axis(theme, X_AXIS_TITLES[this.settings.xAxis], this.settings.xAxis === 'step' ? undefined : formatCompact), bounds: 'data' as const };
  }

  private yScale(theme: ThemeColors) {
    const a = axis(theme, this.spec.yTitle, this.spec.percent ? percent : formatCompact);
    return this.settings.logY ? { ...a, type: 'logarithmic' as const } : a;
  }

  /** Plot width in pixels (what the extension downsamples to). */
  pixels(): number {
    return Math.max(1, Math.round(this.chart.chartArea?.width ?? this.chart.width));
  }

  /** An answer of the extension (ignored when a newer one was applied or it is for another run). */
  applyData(msg: ChartDataMessage): boolean {
    if (msg.chart !== this.spec.id) return false;
    if (this.remote && this.remote.runId === msg.runId && msg.seq < this.remote.seq) return false;
    this.remote = msg;
    return true;
  }

  private matchesView(d: ChartDataMessage, runId: string | undefined): boolean {
    return d.runId === runId && d.xAxis === this.settings.xAxis && d.smoothing === this.settings.smoothing && d.xMin === this.zoom?.min && d.xMax === this.zoom?.max;
  }

  private request(model: RunModel, key: string): void {
    this.requestKey = key;
    this.requestedVersion = model.version;
    this.lastRequestAt = performance.now();
    const req: ViewportRequest = { runId: model.runId, chart: this.spec.id, series: this.spec.series.map((s) => s.name), xAxis: this.settings.xAxis, pixels: this.pixels(), smoothing: this.settings.smoothing };
    if (this.zoom) { req.xMin = this.zoom.min; req.xMax = this.zoom.max; }
    if (this.requester) this.requestedSeq = this.requester(req);
  }

  /** Asks the extension for the current view: at once when the view changed, throttled when only data came. */
  private ask(model: RunModel | undefined): void {
    if (!model || !this.requester) return;
    const key = `${model.runId}|${this.settings.xAxis}|${this.settings.smoothing}|${this.zoom?.min}|${this.zoom?.max}|${this.pixels()}`;
    if (key !== this.requestKey) {
      clearTimeout(this.throttle);
      this.throttle = undefined;
      this.request(model, key);
      return;
    }
    if (model.version === this.requestedVersion || this.throttle) return;
    const wait = LIVE_REQUEST_MS - (performance.now() - this.lastRequestAt);
    if (wait <= 0) { this.request(model, key); return; }
    this.throttle = setTimeout(() => {
      this.throttle = undefined;
      const m = this.lastModel;
      if (m && m.version !== this.requestedVersion) this.request(m, this.requestKey);
    }, wait);
  }

  /** Redraws when the data, the view, the width or the markers changed. */
  render(model: RunModel | undefined, markers: GrowMarker[], force = false): boolean {
    if (model?.runId !== this.lastModel?.runId) { this.zoom = undefined; this.remote = undefined; }
    this.lastModel = model;
    this.ask(model);
    const remote = this.remote && this.matchesView(this.remote, model?.runId) ? this.remote : undefined;
    const sameRun = this.remote?.runId === model?.runId && this.remote?.xAxis === this.settings.xAxis;
    const local = !remote && !!model && this.settings.xAxis === 'step';
    const src = remote ? `r${remote.seq}` : local ? `l${model!.version}` : sameRun ? 'keep' : 'none';
    const key = `${model?.runId}|${src}|${this.pixels()}|${this.zoom?.min}|${this.zoom?.max}|${JSON.stringify(this.settings)}`;
    if (!force && key === this.drawnKey && markers === markerStates.get(this.chart)?.markers) return false;
    this.drawnKey = key;
    const k = this.spec.series.length;
    const ds = this.chart.data.datasets;
    const toPoints = (xs: ArrayLike<number>, ys: ArrayLike<number>, idx?: readonly number[]) => {
      const n = idx ? idx.length : xs.length;
      const out = new Array<{ x: number; y: number }>(n);
      for (let j = 0; j < n; j++) { const i = idx ? idx[j] : j; out[j] = { x: xs[i], y: ys[i] }; }
      return out;
    };
    let markerXs: number[] | undefined;
    let dataMin = Infinity, dataMax = -Infinity;
    if (remote) {
      this.source = 'extension';
      markerXs = remote.markerXs;
      dataMin = remote.dataMin ?? Infinity;
      dataMax = remote.dataMax ?? -Infinity;
      this.spec.series.forEach((s, i) => {
        const r = remote.series.find((x) => x.name === s.name);
        const raw = r ? toPoints(r.xs, r.ys) : [];
        ds[i].data = r?.smoothed ? toPoints(r.smoothed.xs, r.smoothed.ys) : raw;
        ds[k + i].data = r?.smoothed ? raw : [];
        this.totals[i] = r?.total ?? 0;
        this.drawn[i] = raw.length;
      });
    } else if (local) {
      this.source = 'local';
      const window = { xMin: this.zoom?.min, xMax: this.zoom?.max, pixels: this.pixels() };
      const keep = markers.map((m) => m.step);
      this.spec.series.forEach((s, i) => {
        const series = model!.series[s.name];
        if (series.length) { dataMin = Math.min(dataMin, series.xs[0]); dataMax = Math.max(dataMax, series.xs[series.length - 1]); }
        const raw = toPoints(series.xs, series.ys, downsampleView(series.xs, series.ys, window, keep));
        if (this.settings.smoothing > 0) {
          const sm = emaSmooth(series.ys, this.settings.smoothing);
          ds[i].data = toPoints(series.xs, sm, downsampleView(series.xs, sm, window, keep));
          ds[k + i].data = raw;
        } else {
          ds[i].data = raw;
          ds[k + i].data = [];
        }
        this.totals[i] = series.length;
        this.drawn[i] = raw.length;
      });
    } else if (!sameRun) {
      this.source = 'none';
      for (const d of ds) d.data = [];
      this.totals = this.spec.series.map(() => 0);
      this.drawn = this.spec.series.map(() => 0);
    }
    const st = markerStates.get(this.chart)!;
    st.markers = markers;
    st.markerXs = this.settings.xAxis === 'step' ? undefined : markerXs ?? st.markerXs;
    const mx = markers.map((m) => (st.markerXs ? st.markerXs[m.index] : m.step)).filter((v) => Number.isFinite(v));
    const lastMarker = mx.length ? Math.max(...mx) : undefined;
    const isStep = this.settings.xAxis === 'step';
    const lo = isStep ? 0 : dataMin;
    const hi = Math.max(dataMax, lastMarker ?? -Infinity);
    if (Number.isFinite(lo) && hi > lo) this.bounds = { min: lo, max: hi };
    else if (!sameRun) this.bounds = undefined;
    const x = this.chart.options.scales!.x as { min?: number; max?: number; suggestedMax?: number; ticks?: { includeBounds?: boolean } };
    // Zoomed: round tick values, not ticks at the range's odd ends.
    if (x.ticks) x.ticks.includeBounds = !this.zoom;
    x.min = this.zoom ? this.zoom.min : isStep ? 0 : undefined;
    x.max = this.zoom ? this.zoom.max : undefined;
    // Keep every marker in view, also one after the last metrics point.
    x.suggestedMax = this.zoom ? undefined : lastMarker;
    this.chart.update('none');
    this.updateBadge();
    return true;
  }

  private updateBadge(): void {
    const total = this.totals.reduce((a, b) => a + b, 0);
    const drawn = this.drawn.reduce((a, b) => a + b, 0);
    const text = `${drawn.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} points`;
    if (this.badge && this.badge.textContent !== text) {
      this.badge.textContent = text;
      this.badge.title = `${text} drawn (${this.source === 'extension' ? 'downsampled by the extension' : this.source === 'local' ? 'downsampled in the panel' : 'no data'}: min and max per pixel, grow steps kept)`;
    }
    if (this.resetButton && this.resetButton.disabled !== !this.zoom) this.resetButton.disabled = !this.zoom;
  }

  /** New settings from the toolbar (the zoom is reset when the x axis changes). */
  setSettings(s: ChartSettings): void {
    const axisChanged = s.xAxis !== this.settings.xAxis;
    const logChanged = s.logY !== this.settings.logY;
    this.settings = { ...s };
    if (axisChanged) { this.zoom = undefined; this.bounds = undefined; }
    if (axisChanged || logChanged) {
      const o = this.chart.options;
      o.scales!.x = this.xScale(this.theme);
      o.scales!.y = this.yScale(this.theme);
    }
    this.drawnKey = '';
  }

  // --- zoom and pan ---------------------------------------------------------------------------

  /** The visible range now (the zoom, else the axis' range). */
  range(): XRange | undefined {
    if (this.zoom) return this.zoom;
    const x = this.chart.scales.x;
    return x && x.max > x.min ? { min: x.min, max: x.max } : undefined;
  }

  setZoom(z: XRange | undefined): void {
    if (z?.min === this.zoom?.min && z?.max === this.zoom?.max) return;
    this.zoom = z;
    this.onViewChange?.();
  }

  zoomBy(factor: number, center?: number): void {
    const r = this.range();
    if (!r || !this.bounds) return;
    this.setZoom(zoomAt(r, center ?? (r.min + r.max) / 2, factor, this.bounds, this.minSpan()));
  }

  panBy(fraction: number): void {
    const r = this.range();
    if (!r || !this.bounds || !this.zoom) return;
    this.setZoom(panBy(r, (r.max - r.min) * fraction, this.bounds));
  }

  resetZoom(): void {
    this.setZoom(undefined);
  }

  /** Narrowest range: a few steps (or the same share of another axis). */
  private minSpan(): number {
    if (!this.bounds) return 0;
    return this.settings.xAxis === 'step' ? 4 : (this.bounds.max - this.bounds.min) * 1e-5;
  }

  private wireZoom(canvas: HTMLCanvasElement): void {
    canvas.tabIndex = 0;
    const inArea = (e: { offsetX: number; offsetY: number }) => {
      const a = this.chart.chartArea;
      return !!a && e.offsetX >= a.left && e.offsetX <= a.right && e.offsetY >= a.top && e.offsetY <= a.bottom;
    };
    // As in TensorBoard: Alt (or Ctrl, which trackpad pinches send) + wheel zooms; a plain wheel scrolls the page.
    canvas.addEventListener('wheel', (e) => {
      if (!(e.altKey || e.ctrlKey || e.metaKey) || !inArea(e) || e.deltaY === 0) return;
      e.preventDefault();
      this.zoomBy(e.deltaY < 0 ? 0.8 : 1.25, this.chart.scales.x.getValueForPixel(e.offsetX));
    }, { passive: false });
    canvas.addEventListener('pointerdown', (e) => {
      const r = this.range();
      if (e.button !== 0 || !inArea(e) || !r || !this.zoom) return;
      this.drag = { px: e.offsetX, range: r, pointer: e.pointerId };
      canvas.setPointerCapture(e.pointerId);
      canvas.classList.add('panning');
    });
    canvas.addEventListener('pointermove', (e) => {
      const d = this.drag;
      if (!d || e.pointerId !== d.pointer || !this.bounds) return;
      const a = this.chart.chartArea;
      const perPx = (d.range.max - d.range.min) / Math.max(1, a.right - a.left);
      this.setZoom(panBy(d.range, (d.px - e.offsetX) * perPx, this.bounds) ?? this.zoom);
    });
    const end = (e: PointerEvent) => {
      if (!this.drag || e.pointerId !== this.drag.pointer) return;
      this.drag = undefined;
      canvas.classList.remove('panning');
      if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    canvas.addEventListener('dblclick', () => this.resetZoom());
    canvas.addEventListener('keydown', (e) => {
      const act: Record<string, () => void> = {
        '+': () => this.zoomBy(0.5), '=': () => this.zoomBy(0.5), '-': () => this.zoomBy(2),
        ArrowLeft: () => this.panBy(-0.1), ArrowRight: () => this.panBy(0.1), '0': () => this.resetZoom(), Home: () => this.resetZoom(),
      };
      const f = act[e.key];
      if (!f) return;
      e.preventDefault();
      f();
    });
  }

  // --- export -------------------------------------------------------------------------------

  /** The chart as PNG (base64): title, legend and plot on the theme's background. */
  pngBase64(): string {
    const src = this.chart.canvas;
    const ratio = src.width / Math.max(1, this.chart.width);
    const head = Math.round(24 * ratio);
    const out = document.createElement('canvas');
    out.width = src.width;
    out.height = src.height + head;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = this.theme.background;
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = this.theme.foreground;
    ctx.font = `600 ${Math.round(this.theme.fontSize * ratio)}px ${this.theme.fontFamily}`;
    ctx.textBaseline = 'middle';
    ctx.fillText(this.spec.title, Math.round(8 * ratio), head / 2);
    ctx.drawImage(src, 0, head);
    return out.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
  }

  /** The chart as an SVG document built from the drawn points (svgExport.ts). */
  svg(): string {
    const x = this.chart.scales.x, y = this.chart.scales.y;
    const a = this.chart.chartArea;
    const k = this.spec.series.length;
    const st = markerStates.get(this.chart)!;
    const lines: SvgLine[] = this.chart.data.datasets.map((d, i) => ({
      label: String(d.label),
      color: i < k ? this.theme[this.spec.series[i].color] : this.theme[this.spec.series[i - k].color],
      width: Number(d.borderWidth ?? 1.5),
      opacity: i < k ? undefined : FAINT_ALPHA,
      points: d.data.map((p) => [x.getPixelForValue(p.x), y.getPixelForValue(p.y)] as const),
      dots: i < k && this.spec.series[i].sparse && sparseRadius(d.data.length) > 0 ? sparseRadius(d.data.length) : undefined,
      legend: i < k,
    })).filter((l) => l.points.length > 0);
    const tickLabel = (t: { label?: string | string[] | number }) => (Array.isArray(t.label) ? t.label.join(' ') : String(t.label ?? ''));
    return chartSvg({
      width: this.chart.width,
      height: this.chart.height,
      title: this.spec.title,
      area: { left: a.left, right: a.right, top: a.top, bottom: a.bottom },
      colors: { background: this.theme.background, foreground: this.theme.foreground, muted: this.theme.muted, grid: this.theme.grid },
      font: { family: this.theme.fontFamily, size: Math.max(10, this.theme.fontSize - 1) },
      xTitle: X_AXIS_TITLES[this.settings.xAxis],
      yTitle: this.spec.yTitle,
      xTicks: x.ticks.map((t) => ({ px: x.getPixelForValue(t.value), label: tickLabel(t) })),
      yTicks: y.ticks.map((t) => ({ py: y.getPixelForValue(t.value), label: tickLabel(t) })),
      lines,
      markers: st.pixels.map((p) => {
        const m = st.markers[p.index];
        return { px: p.px, color: m.kind === 'prune' ? this.theme.red : this.theme.green, label: `${m.kind} ${m.method} at step ${m.step}` };
      }),
    });
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    applyThemeDefaults(theme);
    const k = this.spec.series.length;
    this.spec.series.forEach((s, i) => {
      const ds = this.chart.data.datasets[i];
      ds.borderColor = theme[s.color];
      ds.backgroundColor = theme[s.color];
      const faint = this.chart.data.datasets[k + i];
      faint.borderColor = withAlpha(theme[s.color], FAINT_ALPHA);
      faint.backgroundColor = withAlpha(theme[s.color], FAINT_ALPHA);
    });
    const o = this.chart.options;
    const x = o.scales!.x as { min?: number; max?: number; suggestedMax?: number };
    o.scales!.x = { ...this.xScale(theme), min: x.min, max: x.max, suggestedMax: x.suggestedMax };
    o.scales!.y = this.yScale(theme);
    o.plugins!.legend!.labels!.color = theme.foreground;
    markerStates.get(this.chart)!.colors = { grow: theme.green, prune: theme.red };
    this.chart.update('none');
  }

  /** For tests and diagnosis: counts, where the markers were drawn, and the plotted x range. */
  inspect() {
    const x = this.chart.scales.x;
    const a = this.chart.chartArea;
    const k = this.spec.series.length;
    return {
      datasets: this.spec.series.map((s, i) => ({ label: String(this.chart.data.datasets[i].label), total: this.totals[i] ?? 0, drawn: this.drawn[i] ?? 0 })),
      markers: markerStates.get(this.chart)?.pixels ?? [],
      area: { left: a.left, right: a.right, top: a.top, bottom: a.bottom },
      xMin: x.min,
      xMax: x.max,
      source: this.source,
      seq: this.remote?.seq,
      /** The answer to the last request is drawn (nothing is on its way). */
      settled: this.source === 'extension' && this.remote?.seq === this.requestedSeq,
      zoom: this.zoom,
      settings: this.settings,
      badge: this.badge?.textContent ?? '',
      smoothedDrawn: this.spec.series.map((_, i) => (this.chart.data.datasets[k + i].data.length ? this.chart.data.datasets[i].data.length : 0)),
      yType: (this.chart.options.scales!.y as { type?: string }).type,
    };
  }

  /** The raw points drawn for one series (tests: which spikes are on the chart). */
  rawPoints(i: number): { x: number; y: number }[] {
    const k = this.spec.series.length;
    return this.chart.data.datasets[k + i].data.length ? this.chart.data.datasets[k + i].data : this.chart.data.datasets[i].data;
  }
}

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
        scales: { x: axis(theme, 'parameters', formatCompact), y: axis(theme, 'test accuracy', percent) },
        plugins: {
          ...baseOptions(theme).plugins,
          tooltip: {
            animation: false,
            callbacks: {
              label: (item) => `${item.dataset.label}: ${percent(item.parsed.y ?? NaN)} at ${(item.parsed.x ?? 0).toLocaleString('en-US')} parameters`,
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
    o.scales!.y = axis(theme, 'test accuracy', percent);
    o.plugins!.legend!.labels!.color = theme.foreground;
    this.key = '';
  }

  inspect(): { label: string; points: number }[] {
    return this.chart.data.datasets.map((d) => ({ label: String(d.label), points: d.data.length }));
  }
}

/** The selected grow event's candidates: chosen ones next to the best rejected ones. */
export class ScoresChart {
  readonly chart: Chart<'bar', (number | null)[], string>;
  private theme: ThemeColors;

  constructor(canvas: HTMLCanvasElement, theme: ThemeColors) {
    this.theme = theme;
    applyThemeDefaults(theme);
    this.chart = new Chart<'bar', (number | null)[], string>(canvas, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { grid: { display: false }, ticks: { color: theme.foreground, autoSkip: false, maxRotation: 60, minRotation: 45, font: { size: 10 } } },
          y: { grid: { color: theme.grid }, ticks: { color: theme.foreground, maxTicksLimit: 5 }, title: { display: true, text: 'score', color: theme.muted } },
        },
        plugins: { legend: { labels: { color: theme.foreground, boxWidth: 12, font: { family: theme.fontFamily } } }, tooltip: { animation: false } },
      },
    });
  }

  render(event: GrowEvent | undefined, limit = 10): { selected: number; rejected: number } {
    const byScore = (a: { score: number }, b: { score: number }) => Math.abs(b.score) - Math.abs(a.score);
    const sel = event ? [...event.selected].sort(byScore).slice(0, limit) : [];
    const rej = event ? [...event.rejected].sort(byScore).slice(0, limit) : [];
    const label = (c: { layer: string; neuron: number; kind: string }) => `${c.layer}#${c.neuron} ${c.kind}`;
    this.chart.data.labels = [...sel.map(label), ...rej.map(label)];
    this.chart.data.datasets = [
      { label: 'selected', data: [...sel.map((c) => c.score), ...rej.map(() => null)], backgroundColor: this.theme.green, grouped: false },
      { label: 'best rejected', data: [...sel.map(() => null), ...rej.map((c) => c.score)], backgroundColor: withAlpha(this.theme.muted, 0.7), grouped: false },
    ];
    this.chart.update('none');
    return { selected: sel.length, rejected: rej.length };
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    applyThemeDefaults(theme);
    const s = this.chart.options.scales!;
    (s.x as { ticks: { color: string } }).ticks.color = theme.foreground;
    (s.y as { ticks: { color: string }; grid: { color: string } }).ticks.color = theme.foreground;
    (s.y as { grid: { color: string } }).grid.color = theme.grid;
    this.chart.options.plugins!.legend!.labels!.color = theme.foreground;
  }
}

export { markerLines };
