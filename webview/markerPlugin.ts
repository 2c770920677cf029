/**
 * The chart.js plugin that draws the grow (and prune) markers on a step chart: a dashed vertical
 * line with a small flag at every grow step, and which marker is under the pointer. Where the
 * markers go is computed by the pure markers.ts; each chart's markers live in a MarkerState.
 */
import type { Chart, Plugin } from 'chart.js';
import { markerAt, markerPixels, type GrowMarker, type MarkerPixel } from './markers';

export interface MarkerHover {
  marker: GrowMarker;
  chartId: string;
  /** Viewport coordinates of the marker's top. */
  clientX: number;
  clientY: number;
}

export interface MarkerState {
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

/** Keyed by the chart.js chart. */
const markerStates = new WeakMap<object, MarkerState>();

/** The markers of a chart drawn with growMarkerPlugin (undefined until attachMarkers). */
export function markerState(chart: Chart<'line', { x: number; y: number }[]>): MarkerState | undefined {
  return markerStates.get(chart);
}

export function attachMarkers(chart: Chart<'line', { x: number; y: number }[]>, state: MarkerState): void {
  markerStates.set(chart, state);
}

/** Draws a dashed vertical line at every grow (and prune) step and reports the one under the pointer. */
export const growMarkerPlugin: Plugin<'line'> = {
  id: 'growthLabMarkers',
  afterDatasetsDraw(chart) {
    const st = markerStates.get(chart);
    const x = chart.scales.x;
    if (!st || !x) return;
    const { left, right, top, bottom } = chart.chartArea;
    const xs = st.markerXs;
    st.pixels = markerPixels(
      xs ? st.markers.map((m) => ({ ...m, step: xs[m.index] ?? NaN })) : st.markers,
      (s) => x.getPixelForValue(s),
      left,
      right,
    );
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
    if (e.type === 'mouseout') {
      st.onMarker = false;
      st.onHover(undefined);
      return;
    }
    if (e.type !== 'mousemove' || e.x === null || e.y === null) return;
    const { top, bottom } = chart.chartArea;
    const hit = e.y >= top - 8 && e.y <= bottom ? markerAt(st.pixels, e.x, 5) : undefined;
    st.onMarker = !!hit;
    if (!hit) {
      st.onHover(undefined);
      return;
    }
    const rect = chart.canvas.getBoundingClientRect();
    st.onHover({ marker: st.markers[hit.index], chartId: st.chartId, clientX: rect.left + hit.px, clientY: rect.top + top });
  },
};
