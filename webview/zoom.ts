/**
 * Zoom and pan of a chart's x range (pure: unit-tested without a browser). The range never leaves
 * the data's bounds and never gets narrower than `minSpan`; a range that covers all of the bounds
 * is no zoom at all (undefined).
 */
export interface XRange {
  min: number;
  max: number;
}

/** Zooms around `center` by `factor` (< 1: in, > 1: out). */
export function zoomAt(r: XRange, center: number, factor: number, bounds: XRange, minSpan = 0): XRange | undefined {
  const c = Math.min(Math.max(center, r.min), r.max);
  const span = Math.max(minSpan, (r.max - r.min) * factor);
  const t = r.max > r.min ? (c - r.min) / (r.max - r.min) : 0.5;
  return clampRange({ min: c - t * span, max: c - t * span + span }, bounds);
}

/** Moves the range by `delta` (x units). */
export function panBy(r: XRange, delta: number, bounds: XRange): XRange | undefined {
  return clampRange({ min: r.min + delta, max: r.max + delta }, bounds);
}

/** Shifts the range back inside `bounds` (keeping its span); undefined when it covers them. */
export function clampRange(r: XRange, bounds: XRange): XRange | undefined {
  const span = r.max - r.min;
  const total = bounds.max - bounds.min;
  if (!(span > 0) || !(total > 0) || span >= total) return undefined;
  let min = r.min;
  if (min < bounds.min) min = bounds.min;
  if (min + span > bounds.max) min = bounds.max - span;
  return { min, max: min + span };
}
