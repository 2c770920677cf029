/**
 * A chart of some of the run's series against step (or epoch, wall time, parameters, FLOPs), with
 * the grow markers. Its points come from the extension (`viewport` → `chartData`: about 2 per
 * pixel of the visible range); until an answer for the current view arrives, step charts draw the
 * same downsampling of the panel's own copy. Wheel zooms around the pointer, dragging pans,
 * double-click or the reset button resets; on the focused canvas + − ← → and 0 do the same.
 *
 * Performance: parsing off (points are {x, y}), no animation, `update('none')`, and never more
 * points than 4 per horizontal pixel (min-max downsampling of the full series at every redraw).
 * This class holds the chart's state and hands it to chart.js; the points are computed by
 * stepChartPoints.ts, the requests by viewportRequests.ts, the input by zoomPanInput.ts.
 */
import { Chart } from 'chart.js';
import type { ChartDataMessage } from '../common/protocol';
import type { RunModel } from '../common/monitor/runModel';
import { applyThemeDefaults, baseOptions } from './chartOptions';
import { chartPngBase64, stepChartSvg } from './chartExport';
import { formatCompact, formatPercent } from './format';
import { attachMarkers, growMarkerPlugin, markerState, type MarkerHover } from './markerPlugin';
import type { GrowMarker } from './markers';
import { localPoints, pointsBadge, remotePoints, xExtent, type ChartPoints } from './stepChartPoints';
import { X_AXIS_TITLES, type ChartSettings, type StepChartSpec, type XY } from './stepChartSpec';
import { faintDataset, lineDataset, recolorDatasets, stepXScale, stepYScale } from './stepChartStyle';
import type { ThemeColors } from './theme';
import { ViewportRequests, type ViewportRequest } from './viewportRequests';
import { panBy, zoomAt, type XRange } from './zoom';
import { wireZoomPan } from './zoomPanInput';

export class StepChart {
  readonly chart: Chart<'line', XY[]>;
  /** Full number of points of each series (its raw line) at the last redraw. */
  totals: number[] = [];
  /** Raw points drawn per series at the last redraw. */
  drawn: number[] = [];
  settings: ChartSettings = { xAxis: 'step', smoothing: 0, logY: false };
  /** The zoomed x range; undefined: all of it. */
  zoom: XRange | undefined;
  /** The x range there is data (or a marker) in: what zoom and pan stay within. */
  bounds: XRange | undefined;
  /** Where the drawn points came from. */
  source: 'extension' | 'local' | 'none' = 'none';
  /** Posts a viewport request and returns its sequence number (set by the panel); without it the chart downsamples its own copy. */
  requester?: (req: ViewportRequest) => number;
  /** The view changed (zoom, pan): the panel schedules a redraw. */
  onViewChange?: () => void;
  /** "N of M points" (set by the panel's chart tools). */
  badge?: HTMLElement;
  resetButton?: HTMLElement & { disabled: boolean };
  private readonly viewport = new ViewportRequests(this);
  private remote: ChartDataMessage | undefined;
  private drawnKey = '';
  private lastModel: RunModel | undefined;
  private theme: ThemeColors;

  constructor(
    readonly spec: StepChartSpec,
    canvas: HTMLCanvasElement,
    theme: ThemeColors,
    onMarkerHover: (h: MarkerHover | undefined) => void,
  ) {
    this.theme = theme;
    applyThemeDefaults(theme);
    const k = spec.series.length;
    this.chart = new Chart<'line', XY[]>(canvas, {
      type: 'line',
      data: { datasets: [...spec.series.map((s) => lineDataset(s, theme)), ...spec.series.map((s) => faintDataset(s, theme))] },
      options: {
        ...baseOptions(theme),
        scales: { x: stepXScale(theme, this.settings), y: stepYScale(theme, spec, this.settings) },
        plugins: {
          ...baseOptions(theme).plugins,
          legend: { labels: { ...baseOptions(theme).plugins.legend.labels, filter: (item) => (item.datasetIndex ?? 0) < k } },
          // The backstop: chart.js never draws more than its own min/max decimation allows.
          decimation: { enabled: true, algorithm: 'min-max' },
          tooltip: {
            animation: false,
            filter: (item) => item.datasetIndex < k && !markerState(this.chart)?.onMarker,
            callbacks: {
              title: (items) =>
                items.length
                  ? `${X_AXIS_TITLES[this.settings.xAxis]} ${this.settings.xAxis === 'step' ? items[0].parsed.x : formatCompact(items[0].parsed.x ?? NaN)}`
                  : '',
              label: (item) =>
                `${item.dataset.label}: ${spec.percent ? formatPercent(item.parsed.y ?? NaN) : formatCompact(item.parsed.y ?? NaN)}`,
            },
          },
        },
      },
      plugins: [growMarkerPlugin],
    });
    attachMarkers(this.chart, {
      markers: [],
      pixels: [],
      onMarker: false,
      colors: { grow: theme.green, prune: theme.red },
      onHover: onMarkerHover,
      chartId: spec.id,
    });
    wireZoomPan(canvas, this);
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
    return (
      d.runId === runId &&
      d.xAxis === this.settings.xAxis &&
      d.smoothing === this.settings.smoothing &&
      d.xMin === this.zoom?.min &&
      d.xMax === this.zoom?.max
    );
  }

  /** Redraws when the data, the view, the width or the markers changed. */
  render(model: RunModel | undefined, markers: GrowMarker[], force = false): boolean {
    if (model?.runId !== this.lastModel?.runId) {
      this.zoom = undefined;
      this.remote = undefined;
    }
    this.lastModel = model;
    this.viewport.ask(model);
    const remote = this.remote && this.matchesView(this.remote, model?.runId) ? this.remote : undefined;
    const sameRun = this.remote?.runId === model?.runId && this.remote?.xAxis === this.settings.xAxis;
    const local = !remote && !!model && this.settings.xAxis === 'step';
    const src = remote ? `r${remote.seq}` : local ? `l${model!.version}` : sameRun ? 'keep' : 'none';
    const key = `${model?.runId}|${src}|${this.pixels()}|${this.zoom?.min}|${this.zoom?.max}|${JSON.stringify(this.settings)}`;
    const st = markerState(this.chart)!;
    if (!force && key === this.drawnKey && markers === st.markers) return false;
    this.drawnKey = key;
    let points: ChartPoints | undefined;
    if (remote) {
      this.source = 'extension';
      points = remotePoints(this.spec, remote);
    } else if (local) {
      this.source = 'local';
      points = localPoints(this.spec, model!, this.settings.smoothing, this.zoom, this.pixels(), markers);
    } else if (!sameRun) {
      this.source = 'none';
      for (const d of this.chart.data.datasets) d.data = [];
      this.totals = this.spec.series.map(() => 0);
      this.drawn = this.spec.series.map(() => 0);
    }
    if (points) this.draw(points);
    st.markers = markers;
    st.markerXs = this.settings.xAxis === 'step' ? undefined : (points?.markerXs ?? st.markerXs);
    const isStep = this.settings.xAxis === 'step';
    const extent = xExtent(markers, st.markerXs, points?.dataMin ?? Infinity, points?.dataMax ?? -Infinity, isStep);
    if (extent.bounds) this.bounds = extent.bounds;
    else if (!sameRun) this.bounds = undefined;
    const x = this.chart.options.scales!.x as { min?: number; max?: number; suggestedMax?: number; ticks?: { includeBounds?: boolean } };
    // Zoomed: round tick values, not ticks at the range's odd ends.
    if (x.ticks) x.ticks.includeBounds = !this.zoom;
    x.min = this.zoom ? this.zoom.min : isStep ? 0 : undefined;
    x.max = this.zoom ? this.zoom.max : undefined;
    // Keep every marker in view, also one after the last metrics point.
    x.suggestedMax = this.zoom ? undefined : extent.lastMarker;
    this.chart.update('none');
    this.updateBadge();
    return true;
  }

  /** Puts the points on the datasets: the k lines, then their k faint raw lines. */
  private draw(p: ChartPoints): void {
    const k = this.spec.series.length;
    const ds = this.chart.data.datasets;
    this.spec.series.forEach((_, i) => {
      ds[i].data = p.lines[i];
      ds[k + i].data = p.faint[i];
      this.totals[i] = p.totals[i];
      this.drawn[i] = p.drawn[i];
    });
  }

  private updateBadge(): void {
    const b = pointsBadge(this.totals, this.drawn, this.source);
    if (this.badge && this.badge.textContent !== b.text) {
      this.badge.textContent = b.text;
      this.badge.title = b.title;
    }
    if (this.resetButton && this.resetButton.disabled !== !this.zoom) this.resetButton.disabled = !this.zoom;
  }

  /** New settings from the toolbar (the zoom is reset when the x axis changes). */
  setSettings(s: ChartSettings): void {
    const axisChanged = s.xAxis !== this.settings.xAxis;
    const logChanged = s.logY !== this.settings.logY;
    this.settings = { ...s };
    if (axisChanged) {
      this.zoom = undefined;
      this.bounds = undefined;
    }
    if (axisChanged || logChanged) {
      const o = this.chart.options;
      o.scales!.x = stepXScale(this.theme, this.settings);
      o.scales!.y = stepYScale(this.theme, this.spec, this.settings);
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

  // --- export, theme --------------------------------------------------------------------------

  /** The chart as PNG (base64): title, legend and plot on the theme's background. */
  pngBase64(): string {
    return chartPngBase64(this.chart, this.spec.title, this.theme);
  }

  /** The chart as an SVG document built from the drawn points (svgExport.ts). */
  svg(): string {
    return stepChartSvg(this.chart, this.spec, this.settings, this.theme, markerState(this.chart)!);
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    applyThemeDefaults(theme);
    recolorDatasets(this.chart.data.datasets, this.spec, theme);
    const o = this.chart.options;
    const x = o.scales!.x as { min?: number; max?: number; suggestedMax?: number };
    o.scales!.x = { ...stepXScale(theme, this.settings), min: x.min, max: x.max, suggestedMax: x.suggestedMax };
    o.scales!.y = stepYScale(theme, this.spec, this.settings);
    o.plugins!.legend!.labels!.color = theme.foreground;
    markerState(this.chart)!.colors = { grow: theme.green, prune: theme.red };
    this.chart.update('none');
  }

  // --- introspection (tests, diagnosis) -------------------------------------------------------

  /** For tests and diagnosis: counts, where the markers were drawn, and the plotted x range. */
  inspect() {
    const x = this.chart.scales.x;
    const a = this.chart.chartArea;
    const k = this.spec.series.length;
    return {
      datasets: this.spec.series.map((s, i) => ({
        label: String(this.chart.data.datasets[i].label),
        total: this.totals[i] ?? 0,
        drawn: this.drawn[i] ?? 0,
      })),
      markers: markerState(this.chart)?.pixels ?? [],
      area: { left: a.left, right: a.right, top: a.top, bottom: a.bottom },
      xMin: x.min,
      xMax: x.max,
      source: this.source,
      seq: this.remote?.seq,
      /** The answer to the last request is drawn (nothing is on its way). */
      settled: this.source === 'extension' && this.remote?.seq === this.viewport.requestedSeq,
      zoom: this.zoom,
      settings: this.settings,
      badge: this.badge?.textContent ?? '',
      smoothedDrawn: this.spec.series.map((_, i) =>
        this.chart.data.datasets[k + i].data.length ? this.chart.data.datasets[i].data.length : 0,
      ),
      yType: (this.chart.options.scales!.y as { type?: string }).type,
    };
  }

  /** The raw points drawn for one series (tests: which spikes are on the chart). */
  rawPoints(i: number): XY[] {
    const k = this.spec.series.length;
    return this.chart.data.datasets[k + i].data.length ? this.chart.data.datasets[k + i].data : this.chart.data.datasets[i].data;
  }
}
