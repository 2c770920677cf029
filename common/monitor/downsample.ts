/**
 * Downsampling for line charts (pure: unit-tested without a browser), the one implementation the
 * extension (seriesStore, compareRuns) and the panel use: about 2 points per pixel, each pixel's
 * lowest and highest, so spikes (e.g. the loss jump of a grow step) are never averaged away.
 */

function argExtreme(ys: ArrayLike<number>, from: number, to: number, sign: 1 | -1): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (sign * ys[i] > sign * ys[best]) best = i;
  return best;
}

/** The part of a series a chart shows: its x range (undefined: all of it) and its plot width in pixels. */
export interface ViewWindow {
  xMin?: number;
  xMax?: number;
  pixels: number;
}

/**
 * Indices of the points to draw for one chart's visible x range, about 2 per pixel: the range is cut
 * into one bucket per pixel and each bucket keeps its lowest and highest point (in index order), so
 * every spike survives at every zoom. Always kept as well: the first and last point of the range
 * (plus one neighbour outside it on each side, so that the line reaches the plot's edges) and, for
 * every x in `keepXs` (grow and prune steps), the last point before it and the first at or after it.
 *
 * xs non-decreasing: buckets are x intervals of equal width. Otherwise (e.g. x = parameter count,
 * which pruning lowers) the points inside the range are taken in index order and cut into `pixels`
 * runs of equal length. All points are returned when there are no more than 2 per pixel.
 * O(n) in the range's length (plus a binary search), no allocation besides the result.
 */
export function downsampleView(xs: ArrayLike<number>, ys: ArrayLike<number>, view: ViewWindow, keepXs: readonly number[] = []): number[] {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return [];
  const pixels = Math.max(1, Math.floor(view.pixels));
  const monotonic = isNonDecreasing(xs, n);
  const lo = view.xMin ?? -Infinity,
    hi = view.xMax ?? Infinity;
  if (!monotonic) return downsampleByOrder(xs, ys, n, lo, hi, pixels);
  // [from, to]: the range with one point beyond each edge.
  let from = lowerBound(xs, n, lo),
    to = upperBound(xs, n, hi) - 1;
  if (from > 0) from--;
  if (to < n - 1) to++;
  if (to < from) return [];
  if (to - from + 1 <= 2 * pixels) return range(from, to);
  const picks: number[] = [from, to];
  for (const k of keepXs) {
    const at = lowerBound(xs, n, k);
    if (at >= from && at <= to) picks.push(at);
    if (at - 1 >= from && at - 1 <= to) picks.push(at - 1);
  }
  const x0 = Math.max(lo, xs[from]),
    x1 = Math.min(hi, xs[to]);
  const span = x1 - x0;
  if (!(span > 0)) {
    picks.push(argExtreme(ys, from, to + 1, -1), argExtreme(ys, from, to + 1, 1));
    return sortedUnique(picks);
  }
  // Buckets in x order: a point past the current bucket's upper edge starts the next one.
  const scale = pixels / span;
  let bucket = -1,
    edge = -Infinity,
    bLo = -1,
    bHi = -1,
    yLo = NaN,
    yHi = NaN;
  for (let i = from; i <= to; i++) {
    const x = xs[i],
      y = ys[i];
    if (x >= edge) {
      const b = Math.max(0, Math.min(pixels - 1, Math.floor((x - x0) * scale)));
      if (b !== bucket) {
        if (bucket >= 0) picks.push(bLo, bHi);
        bucket = b;
        edge = b === pixels - 1 ? Infinity : x0 + (b + 1) / scale;
        bLo = bHi = i;
        yLo = yHi = y;
        continue;
      }
    }
    if (y < yLo || Number.isNaN(yLo)) {
      bLo = i;
      yLo = y;
    }
    if (y > yHi || Number.isNaN(yHi)) {
      bHi = i;
      yHi = y;
    }
  }
  if (bucket >= 0) picks.push(bLo, bHi);
  return sortedUnique(picks);
}

function downsampleByOrder(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, lo: number, hi: number, pixels: number): number[] {
  const inside: number[] = [];
  for (let i = 0; i < n; i++) if (xs[i] >= lo && xs[i] <= hi) inside.push(i);
  const m = inside.length;
  if (m <= 2 * pixels) return inside;
  const picks: number[] = [inside[0], inside[m - 1]];
  for (let b = 0; b < pixels; b++) {
    const first = Math.floor((b * m) / pixels),
      last = Math.floor(((b + 1) * m) / pixels) - 1;
    if (last < first) continue;
    let bLo = inside[first],
      bHi = inside[first];
    for (let k = first + 1; k <= last; k++) {
      const i = inside[k];
      if (ys[i] < ys[bLo]) bLo = i;
      if (ys[i] > ys[bHi]) bHi = i;
    }
    picks.push(bLo, bHi);
  }
  return sortedUnique(picks);
}

function isNonDecreasing(xs: ArrayLike<number>, n: number): boolean {
  for (let i = 1; i < n; i++) if (xs[i] < xs[i - 1]) return false;
  return true;
}

/** First index with xs[i] >= v (xs non-decreasing). */
function lowerBound(xs: ArrayLike<number>, n: number, v: number): number {
  let a = 0,
    b = n;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (xs[mid] < v) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** First index with xs[i] > v (xs non-decreasing). */
function upperBound(xs: ArrayLike<number>, n: number, v: number): number {
  let a = 0,
    b = n;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (xs[mid] <= v) a = mid + 1;
    else b = mid;
  }
  return a;
}

function range(from: number, to: number): number[] {
  const out = new Array<number>(to - from + 1);
  for (let i = from; i <= to; i++) out[i - from] = i;
  return out;
}

function sortedUnique(a: number[]): number[] {
  a.sort((p, q) => p - q);
  let w = 0;
  for (let r = 0; r < a.length; r++) if (r === 0 || a[r] !== a[w - 1]) a[w++] = a[r];
  a.length = w;
  return a;
}
