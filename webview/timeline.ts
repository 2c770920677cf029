/**
 * The architecture timeline's math (pure: unit-tested without a browser): the run's architecture at
 * every position of the scrubber (the start, then after each grow or prune event), the architecture
 * in force at any training step, and each layer's width and parameter count against step.
 */
import type { Architecture } from '../common/protocol';
import type { GrowEvent } from '../common/monitor/runModel';

export interface TimelinePoint {
  /** 0: the architecture the run started with; k ≥ 1: after the k-th grow or prune event. */
  position: number;
  /** Training step at which this architecture took effect (0 for the start). */
  step: number;
  kind: 'start' | 'grow' | 'prune';
  method?: string;
  architecture: Architecture;
  /** The grow event that produced this architecture (its before/after/diff); none for the start. */
  event?: GrowEvent;
  /** Index of `event` in the run's grow events (-1 for the start). */
  growIndex: number;
}

/**
 * One point for the start (the run's first architecture, else the first event's `before`) and one
 * per grow or prune event in step order. Empty when the run has neither.
 */
export function timelinePoints(start: Architecture | undefined, grows: readonly GrowEvent[]): TimelinePoint[] {
  const points: TimelinePoint[] = [];
  const first = start ?? grows[0]?.before;
  if (!first) return points;
  points.push({ position: 0, step: 0, kind: 'start', architecture: first, growIndex: -1 });
  grows.forEach((g, i) => {
    points.push({ position: points.length, step: g.step, kind: g.kind, method: g.method, architecture: g.after, event: g, growIndex: i });
  });
  return points;
}

/** The point in force at training step `step`: the last one whose step is ≤ `step` (the start before any). */
export function pointAtStep(points: readonly TimelinePoint[], step: number): TimelinePoint | undefined {
  let found = points[0];
  for (const p of points) {
    if (p.step <= step) found = p;
    else break;
  }
  return found;
}

/** The architecture of the run at training step `step`. */
export function architectureAtStep(start: Architecture | undefined, grows: readonly GrowEvent[], step: number): Architecture | undefined {
  return pointAtStep(timelinePoints(start, grows), step)?.architecture;
}

/** Width per layer id at a point (width-free layers are left out), in layer order. */
export function widthsAt(point: TimelinePoint): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of point.architecture.layers) if (l.width !== undefined) out[l.id] = l.width;
  return out;
}

/** Scrubber label of a point: "start" or "step 3092 · grow splitting". */
export function pointLabel(p: TimelinePoint): string {
  return p.kind === 'start' ? 'start' : `step ${p.step} · ${p.kind} ${p.method}`;
}

/** Short tick label under the scrubber: "start", or the step number. */
export function tickLabel(p: TimelinePoint): string {
  return p.kind === 'start' ? 'start' : String(p.step);
}

/** Positions whose tick labels are drawn when at most `max` fit: first, last, and evenly spaced ones between. */
export function tickPositions(count: number, max: number): number[] {
  if (count <= 0) return [];
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  const out = new Set<number>();
  const slots = Math.max(2, max);
  for (let k = 0; k < slots; k++) out.add(Math.round((k * (count - 1)) / (slots - 1)));
  return [...out].sort((a, b) => a - b);
}

export interface LayerTrack {
  id: string;
  type: string;
  /** Per point: the layer's width (null where the layer does not exist or has no width). */
  widths: (number | null)[];
  /** Per point: the layer's trainable parameters (null where the layer does not exist). */
  params: (number | null)[];
}

/**
 * One track per layer that ever existed, in network order (a layer inserted later is placed after the
 * layer that precedes it where it first appears), with its width and parameters at every point.
 */
export function layerTracks(points: readonly TimelinePoint[]): LayerTrack[] {
  const order: string[] = [];
  const types = new Map<string, string>();
  for (const p of points) {
    let prev: string | undefined;
    for (const l of p.architecture.layers) {
      if (!types.has(l.id)) {
        types.set(l.id, l.type);
        const at = prev === undefined ? 0 : order.indexOf(prev) + 1;
        order.splice(at, 0, l.id);
      }
      prev = l.id;
    }
  }
  return order.map((id) => {
    const widths: (number | null)[] = [];
    const params: (number | null)[] = [];
    for (const p of points) {
      const l = p.architecture.layers.find((x) => x.id === id);
      widths.push(l?.width ?? null);
      params.push(l ? l.params : null);
    }
    return { id, type: types.get(id)!, widths, params };
  });
}

/**
 * A track as stepped (x, y) points against training step: one point per timeline point, plus one at
 * `endStep` (the run's latest step) holding the last value, so the line reaches the present.
 */
export function trackPoints(
  points: readonly TimelinePoint[],
  values: readonly (number | null)[],
  endStep?: number,
): { x: number; y: number | null }[] {
  const out = points.map((p, i) => ({ x: p.step, y: values[i] ?? null }));
  const last = points[points.length - 1];
  if (last && endStep !== undefined && endStep > last.step) out.push({ x: endStep, y: values[values.length - 1] ?? null });
  return out;
}
