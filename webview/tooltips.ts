/**
 * The panel's one floating tooltip (#tip): a grow marker's lines while the pointer is on it in a
 * step chart, and the architecture view's cell under the pointer. Hidden when the page scrolls.
 */
import { describeCell } from './archView';
import type { MarkerHover } from './markerPlugin';
import { markerLines } from './markers';

/** Places the tooltip near (x, y), inside the window. */
function placeTip(tip: HTMLElement, x: number, y: number): void {
  const w = tip.offsetWidth,
    h = tip.offsetHeight;
  const left = Math.max(4, Math.min(x, window.innerWidth - w - 4));
  const top = Math.max(4, Math.min(y, window.innerHeight - h - 4));
  tip.style.left = `${left}px`;
  tip.style.top = `${top}px`;
}

/** A step chart's marker under the pointer (undefined: the pointer left it). */
export function showMarkerTip(tip: HTMLElement, h: MarkerHover | undefined): void {
  if (!h) {
    if (tip.dataset.source === 'marker') tip.hidden = true;
    return;
  }
  tip.dataset.source = 'marker';
  tip.dataset.chart = h.chartId;
  tip.dataset.step = String(h.marker.step);
  tip.replaceChildren(
    ...markerLines(h.marker).map((line, i) => {
      const d = document.createElement('div');
      d.textContent = line;
      if (i === 0) d.className = 'tip-title';
      return d;
    }),
  );
  tip.hidden = false;
  placeTip(tip, h.clientX + 8, h.clientY);
}

/** The architecture view's cells describe themselves in the tooltip while the pointer is on them. */
export function wireArchHover(host: HTMLElement, tip: HTMLElement): void {
  host.addEventListener('mousemove', (e) => {
    const text = e.target instanceof Element ? describeCell(e.target) : undefined;
    if (!text) {
      if (tip.dataset.source === 'arch') tip.hidden = true;
      return;
    }
    tip.dataset.source = 'arch';
    tip.replaceChildren(Object.assign(document.createElement('div'), { textContent: text }));
    tip.hidden = false;
    placeTip(tip, e.clientX + 12, e.clientY + 12);
  });
  host.addEventListener('mouseleave', () => {
    if (tip.dataset.source === 'arch') tip.hidden = true;
  });
  // A tooltip placed for a pointer position means nothing once the page scrolls under it.
  window.addEventListener(
    'scroll',
    () => {
      tip.hidden = true;
    },
    { passive: true },
  );
}
