/**
 * Image augmentation of training batches (experiment field `training.augment`), pure.
 *
 * Images are rows of a split in [C, H, W] order. Per example, as torchvision's
 * `RandomCrop(size, padding=pad)` then `RandomHorizontalFlip()` (the CIFAR recipe of He et al. 2016,
 * §4.2: 4 pixels padded on each side, a random 32×32 crop, a horizontal flip with probability 1/2):
 *
 *   out(c, y, x) = src(c, y + dy − pad, x' + dx − pad),   x' = flip ? W − 1 − x : x,
 *
 * with dx, dy uniform in {0, …, 2·pad} and `fill[c]` where the source pixel is outside the image (the
 * padding). The draws depend only on the run's seed, the epoch and the example's position in the
 * epoch, so a run is bit-reproducible for a seed whatever computes them (this thread or a worker).
 * Per-channel normalisation (x − mean) / std is applied to the dataset once (normalizeSplit).
 */
import { Rng } from '../random';

export interface ImageShape {
  c: number;
  h: number;
  w: number;
}

/** Crop padding (0: no crop) and whether to flip. */
export interface ImageAugment {
  pad: number;
  flip: boolean;
}

/** One epoch's draws, by position in the epoch: crop offsets in [0, 2·pad] and flips (0/1). */
export interface EpochDraws {
  dx: Uint8Array;
  dy: Uint8Array;
  flip: Uint8Array;
}

/** The image shape of an input shape, or undefined when it is not [C, H, W]. */
export function imageShape(inputShape: readonly number[]): ImageShape | undefined {
  return inputShape.length === 3 ? { c: inputShape[0], h: inputShape[1], w: inputShape[2] } : undefined;
}

/** The draws of epoch `epoch` for `n` positions (a stream of its own: shuffling draws from another). */
export function epochDraws(seed: number, epoch: number, n: number, a: ImageAugment): EpochDraws {
  const rng = new Rng(seed * 1000033 + epoch * 7919 + 17);
  const dx = new Uint8Array(n).fill(a.pad),
    dy = new Uint8Array(n).fill(a.pad),
    flip = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (a.pad > 0) {
      dy[i] = rng.int(2 * a.pad + 1);
      dx[i] = rng.int(2 * a.pad + 1);
    }
    if (a.flip) flip[i] = rng.next() < 0.5 ? 1 : 0;
  }
  return { dx, dy, flip };
}

/**
 * Writes examples `rows[0..count)` of `src` (f = C·H·W values a row; uint8 pixels through `table`
 * when given, else the values as they are), cropped and flipped by draws[from + i], into `out` row i.
 * One self-contained function (no closures, no imports): the worker runs this very function's source.
 */
export function augmentRows(
  src: Float32Array | Uint8Array,
  table: Float32Array | null,
  rows: Int32Array,
  count: number,
  c: number,
  h: number,
  w: number,
  pad: number,
  fill: Float32Array,
  dx: Uint8Array,
  dy: Uint8Array,
  flip: Uint8Array,
  from: number,
  out: Float32Array,
): void {
  const plane = h * w,
    f = c * plane;
  for (let i = 0; i < count; i++) {
    const base = rows[i] * f,
      o = i * f,
      ox = dx[from + i] - pad,
      oy = dy[from + i] - pad,
      fl = flip[from + i];
    for (let ch = 0; ch < c; ch++) {
      const cs = base + ch * plane,
        co = o + ch * plane,
        pv = fill[ch];
      for (let y = 0; y < h; y++) {
        const sy = y + oy,
          ro = co + y * w;
        if (sy < 0 || sy >= h) {
          for (let x = 0; x < w; x++) out[ro + x] = pv;
          continue;
        }
        const rs = cs + sy * w;
        for (let x = 0; x < w; x++) {
          const sx = (fl === 1 ? w - 1 - x : x) + ox;
          if (sx < 0 || sx >= w) out[ro + x] = pv;
          else out[ro + x] = table === null ? src[rs + sx] : table[src[rs + sx]];
        }
      }
    }
  }
}

/**
 * Per-channel mean and (population) standard deviation of n images, accumulated in float64 (uint8
 * pixels through `table` when given).
 */
export function channelStats(
  x: Float32Array | Uint8Array,
  n: number,
  shape: ImageShape,
  table: Float32Array | null = null,
): { mean: number[]; std: number[] } {
  const plane = shape.h * shape.w,
    f = shape.c * plane;
  const mean: number[] = [],
    std: number[] = [];
  for (let ch = 0; ch < shape.c; ch++) {
    let s = 0,
      s2 = 0;
    for (let r = 0; r < n; r++) {
      const at = r * f + ch * plane;
      for (let j = 0; j < plane; j++) {
        const v = table === null ? x[at + j] : table[x[at + j]];
        s += v;
        s2 += v * v;
      }
    }
    const count = n * plane;
    const m = s / count;
    mean.push(m);
    std.push(Math.sqrt(Math.max(0, s2 / count - m * m)));
  }
  return { mean, std };
}

/**
 * (x − mean[c]) / std[c] of every image (uint8 pixels through `table` when given) into a new float
 * array, in a SharedArrayBuffer when `shared` (the augmentation worker then reads it without a copy).
 * The source is left as it is (datasets may be shared by runs).
 */
export function normalizeImages(
  x: Float32Array | Uint8Array,
  table: Float32Array | null,
  n: number,
  shape: ImageShape,
  mean: readonly number[],
  std: readonly number[],
  shared = false,
): Float32Array {
  const plane = shape.h * shape.w,
    f = shape.c * plane;
  const out = shared ? new Float32Array(new SharedArrayBuffer(n * f * 4)) : new Float32Array(n * f);
  for (let r = 0; r < n; r++)
    for (let ch = 0; ch < shape.c; ch++) {
      const at = r * f + ch * plane,
        m = mean[ch],
        sd = std[ch];
      for (let j = 0; j < plane; j++) out[at + j] = ((table === null ? x[at + j] : table[x[at + j]]) - m) / sd;
    }
  return out;
}
