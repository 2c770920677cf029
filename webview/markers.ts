/**
 * Grow and prune markers on the step charts (pure: unit-tested without a browser): what each marker
 * says, where it is drawn, and which one the pointer is over.
 */
import type { GrowEventParams, LayerDiff } from '../common/protocol';

export interface NeuronChanges {
  /** Neurons that did not exist before: brand-new ones, extra copies made by splits, whole inserted layers. */
  added: number;
  /** Neurons of the old model that are gone. */
  removed: number;
  /** Neurons that came out of a split (all copies, including the one that keeps the parent's index). */
  split: number;
  /** Distinct parents that were split. */
  splitParents: number;
  insertedLayers: number;
}

/**
 * What a diff did. For a layer, new width = kept + split + added and old width = kept + parents +
 * removed, so added here (new + split copies beyond the first per parent) minus removed is the
 * width change.
 */
export function neuronChanges(diff: readonly LayerDiff[]): NeuronChanges {
  const c: NeuronChanges = { added: 0, removed: 0, split: 0, splitParents: 0, insertedLayers: 0 };
  for (const d of diff) {
    const parents = new Set(d.split.map((s) => s.parent)).size;
    c.added += d.added.length + d.split.length - parents;
    c.removed += d.removed.length;
    c.split += d.split.length;
    c.splitParents += parents;
    if (d.inserted) c.insertedLayers++;
  }
  return c;
}

export interface GrowMarker {
  /** Index in the run's grow list (the timeline's order). */
  index: number;
  step: number;
  epoch: number;
  kind: 'grow' | 'prune';
  method: string;
  added: number;
  removed: number;
  insertedLayers: number;
  lossBefore: number;
  lossAfter: number;
  paramsBefore: number;
  paramsAfter: number;
}

export function growMarkers(grows: readonly GrowEventParams[]): GrowMarker[] {
  return grows.map((g, index) => {
    const c = neuronChanges(g.diff);
    return {
      index,
      step: g.step,
      epoch: g.epoch,
      kind: g.kind,
      method: g.method,
      added: c.added,
      removed: c.removed,
      insertedLayers: c.insertedLayers,
      lossBefore: g.lossBefore,
      lossAfter: g.lossAfter,
      paramsBefore: g.before.params,
      paramsAfter: g.after.params,
    };
  });
}

export function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

/** Tooltip lines: method, neurons added and removed, loss before and after. */
export function markerLines(m: GrowMarker): string[] {
  const lines = [`${m.kind === 'prune' ? 'Prune' : 'Grow'}: ${m.method}`, `step ${m.step} · epoch ${m.epoch}`];
  const neurons = `neurons +${m.added} / −${m.removed}`;
  lines.push(m.insertedLayers ? `${neurons} · ${m.insertedLayers} layer${m.insertedLayers === 1 ? '' : 's'} inserted` : neurons);
  lines.push(`loss ${formatLoss(m.lossBefore)} → ${formatLoss(m.lossAfter)}`);
  lines.push(`parameters ${m.paramsBefore.toLocaleString('en-US')} → ${m.paramsAfter.toLocaleString('en-US')}`);
  return lines;
}

export interface MarkerPixel {
  index: number;
  step: number;
  px: number;
}

/** Pixel x of every marker inside [left, right] (markers outside the plotted range are not drawn). */
export function markerPixels(
  markers: readonly GrowMarker[],
  toPixel: (step: number) => number,
  left: number,
  right: number,
): MarkerPixel[] {
  const out: MarkerPixel[] = [];
  for (const m of markers) {
    const px = toPixel(m.step);
    if (Number.isFinite(px) && px >= left - 0.5 && px <= right + 0.5) out.push({ index: m.index, step: m.step, px });
  }
  return out;
}

/** The marker nearest to pointer x within `tolerance` pixels, or undefined. */
export function markerAt(pixels: readonly MarkerPixel[], x: number, tolerance = 5): MarkerPixel | undefined {
  let best: MarkerPixel | undefined;
  for (const p of pixels) {
    const d = Math.abs(p.px - x);
    if (d <= tolerance && (!best || d < Math.abs(best.px - x))) best = p;
  }
  return best;
}
