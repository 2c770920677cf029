/**
 * The pointer and keyboard input that zooms and pans a step chart (the range math is zoom.ts):
 * Alt/Ctrl + wheel zooms around the pointer, dragging a zoomed chart pans, double-click resets;
 * on the focused canvas + − ← → and 0 (or Home) do the same.
 */
import type { Chart } from 'chart.js';
import type { XY } from './stepChartSpec';
import { panBy, type XRange } from './zoom';

/** The chart being zoomed (StepChart). */
export interface ZoomTarget {
  readonly chart: Chart<'line', XY[]>;
  readonly zoom: XRange | undefined;
  /** The x range there is data in (undefined: nothing to zoom). */
  readonly bounds: XRange | undefined;
  range(): XRange | undefined;
  setZoom(z: XRange | undefined): void;
  zoomBy(factor: number, center?: number): void;
  panBy(fraction: number): void;
  resetZoom(): void;
}

export function wireZoomPan(canvas: HTMLCanvasElement, t: ZoomTarget): void {
  let drag: { px: number; range: XRange; pointer: number } | undefined;
  canvas.tabIndex = 0;
  const inArea = (e: { offsetX: number; offsetY: number }) => {
    const a = t.chart.chartArea;
    return !!a && e.offsetX >= a.left && e.offsetX <= a.right && e.offsetY >= a.top && e.offsetY <= a.bottom;
  };
  // As in TensorBoard: Alt (or Ctrl, which trackpad pinches send) + wheel zooms; a plain wheel scrolls the page.
  canvas.addEventListener(
    'wheel',
    (e) => {
      if (!(e.altKey || e.ctrlKey || e.metaKey) || !inArea(e) || e.deltaY === 0) return;
      e.preventDefault();
      t.zoomBy(e.deltaY < 0 ? 0.8 : 1.25, t.chart.scales.x.getValueForPixel(e.offsetX));
    },
    { passive: false },
  );
  canvas.addEventListener('pointerdown', (e) => {
    const r = t.range();
    if (e.button !== 0 || !inArea(e) || !r || !t.zoom) return;
    drag = { px: e.offsetX, range: r, pointer: e.pointerId };
    canvas.setPointerCapture(e.pointerId);
    canvas.classList.add('panning');
  });
  canvas.addEventListener('pointermove', (e) => {
    const d = drag;
    if (!d || e.pointerId !== d.pointer || !t.bounds) return;
    const a = t.chart.chartArea;
    const perPx = (d.range.max - d.range.min) / Math.max(1, a.right - a.left);
    t.setZoom(panBy(d.range, (d.px - e.offsetX) * perPx, t.bounds) ?? t.zoom);
  });
  const end = (e: PointerEvent) => {
    if (!drag || e.pointerId !== drag.pointer) return;
    drag = undefined;
    canvas.classList.remove('panning');
    if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener('dblclick', () => t.resetZoom());
  canvas.addEventListener('keydown', (e) => {
    const act: Record<string, () => void> = {
      '+': () => t.zoomBy(0.5),
      '=': () => t.zoomBy(0.5),
      '-': () => t.zoomBy(2),
      ArrowLeft: () => t.panBy(-0.1),
      ArrowRight: () => t.panBy(0.1),
      '0': () => t.resetZoom(),
      Home: () => t.resetZoom(),
    };
    const f = act[e.key];
    if (!f) return;
    e.preventDefault();
    f();
  });
}
