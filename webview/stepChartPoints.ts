/**
 * The points a step chart draws (pure: no chart.js, no DOM). Either the extension's answer to the
 * chart's viewport request, or (step axis only, until that answer arrives) the min-max
 * downsampling of the panel's own copy of the series, smoothed when smoothing is on; and the x
 * range the chart can be zoomed and panned in.
 */
import type { ChartDataMessage } from '../common/protocol';
import { downsampleView } from '../common/monitor/downsample';
import type { RunModel } from '../common/monitor/runModel';
import { emaSmooth } from '../common/monitor/smoothing';
import type { GrowMarker } from './markers';
import type { StepChartSpec, XY } from './stepChartSpec';
import type { XRange } from './zoom';

/** Per series (in the spec's order): its line, the raw line under it when smoothed, its counts. */
export interface ChartPoints {
  /** The drawn line of each series (smoothed when smoothing is on). */
  lines: XY[][];
  /** The raw line under a smoothed one; empty without smoothing. */
  faint: XY[][];
  /** Full number of points of each series. */
  totals: number[];
  /** Raw points drawn of each series. */
  drawn: number[];
  /** x extent of the data (±Infinity: unknown). */
  dataMin: number;
  dataMax: number;
  /** x of each marker (by grow index) on the answer's axis. */
  markerXs?: number[];
}

/** Points {x, y} of columns, all of them or those at `idx`. */
export function toPoints(xs: ArrayLike<number>, ys: ArrayLike<number>, idx?: readonly number[]): XY[] {
  const n = idx ? idx.length : xs.length;
  const out = new Array<XY>(n);
  for (let j = 0; j < n; j++) {
    const i = idx ? idx[j] : j;
    out[j] = { x: xs[i], y: ys[i] };
  }
  return out;
}

/** The extension's answer as the chart's points. */
export function remotePoints(spec: StepChartSpec, remote: ChartDataMessage): ChartPoints {
  const out: ChartPoints = {
    lines: [],
    faint: [],
    totals: [],
    drawn: [],
    dataMin: remote.dataMin ?? Infinity,
    dataMax: remote.dataMax ?? -Infinity,
    markerXs: remote.markerXs,
  };
  spec.series.forEach((s, i) => {
    const r = remote.series.find((x) => x.name === s.name);
    const raw = r ? toPoints(r.xs, r.ys) : [];
    out.lines[i] = r?.smoothed ? toPoints(r.smoothed.xs, r.smoothed.ys) : raw;
    out.faint[i] = r?.smoothed ? raw : [];
    out.totals[i] = r?.total ?? 0;
    out.drawn[i] = raw.length;
  });
  return out;
}

/** The panel's own copy downsampled to the visible range (step axis), grow steps kept. */
export function localPoints(
  spec: StepChartSpec,
  model: RunModel,
  smoothing: number,
  zoom: XRange | undefined,
  pixels: number,
  markers: readonly GrowMarker[],
): ChartPoints {
  const out: ChartPoints = { lines: [], faint: [], totals: [], drawn: [], dataMin: Infinity, dataMax: -Infinity };
  const window = { xMin: zoom?.min, xMax: zoom?.max, pixels };
  const keep = markers.map((m) => m.step);
  spec.series.forEach((s, i) => {
    const series = model.series[s.name];
    if (series.length) {
      out.dataMin = Math.min(out.dataMin, series.xs[0]);
      out.dataMax = Math.max(out.dataMax, series.xs[series.length - 1]);
    }
    const raw = toPoints(series.xs, series.ys, downsampleView(series.xs, series.ys, window, keep));
    if (smoothing > 0) {
      const sm = emaSmooth(series.ys, smoothing);
      out.lines[i] = toPoints(series.xs, sm, downsampleView(series.xs, sm, window, keep));
      out.faint[i] = raw;
    } else {
      out.lines[i] = raw;
      out.faint[i] = [];
    }
    out.totals[i] = series.length;
    out.drawn[i] = raw.length;
  });
  return out;
}

/**
 * The x extent to zoom and pan in: from 0 (step axis) or the data's first x, to its last x or the
 * last marker's; `bounds` undefined where that is no range. `lastMarker`: keep it in view.
 */
export function xExtent(
  markers: readonly GrowMarker[],
  markerXs: readonly number[] | undefined,
  dataMin: number,
  dataMax: number,
  isStep: boolean,
): { bounds: XRange | undefined; lastMarker: number | undefined } {
  const mx = markers.map((m) => (markerXs ? markerXs[m.index] : m.step)).filter((v) => Number.isFinite(v));
  const lastMarker = mx.length ? Math.max(...mx) : undefined;
  const lo = isStep ? 0 : dataMin;
  const hi = Math.max(dataMax, lastMarker ?? -Infinity);
  return { bounds: Number.isFinite(lo) && hi > lo ? { min: lo, max: hi } : undefined, lastMarker };
}

/** The badge's "N of M points" and its title. */
export function pointsBadge(
  totals: readonly number[],
  drawn: readonly number[],
  source: 'extension' | 'local' | 'none',
): { text: string; title: string } {
  const total = totals.reduce((a, b) => a + b, 0);
  const n = drawn.reduce((a, b) => a + b, 0);
  const text = `${n.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} points`;
  return {
    text,
    title: `${text} drawn (${source === 'extension' ? 'downsampled by the extension' : source === 'local' ? 'downsampled in the panel' : 'no data'}: min and max per pixel, grow steps kept)`,
  };
}
