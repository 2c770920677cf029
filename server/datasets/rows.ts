/**
 * Reading rows of a DataSplit as floats, whatever it holds: float rows are copied, byte rows (uint8
 * pixels) go through the split's `byteValues` table. Every place that turns rows into a batch
 * (trainer, growth scoring samples, continual tasks) reads through here.
 */
import type { DataSplit, FloatSplit } from './types';

/** v -> v / 255: pixels scaled to [0, 1]. */
export const UNIT_BYTE_VALUES: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = v / 255;
  return t;
})();

/** v -> v: pixels kept as 0..255. */
export const RAW_BYTE_VALUES: Float32Array = Float32Array.from({ length: 256 }, (_, v) => v);

/** The byte table of a split whose `x` is uint8 (identity when none is set). */
function tableOf(split: DataSplit): Float32Array {
  return split.byteValues ?? RAW_BYTE_VALUES;
}

/** Copies row `r` (f values) of `split` as floats into `dst` at `at`. */
export function copyRow(split: DataSplit, r: number, f: number, dst: Float32Array, at: number): void {
  const from = r * f;
  if (split.x instanceof Float32Array) {
    dst.set(split.x.subarray(from, from + f), at);
    return;
  }
  const src = split.x;
  const t = tableOf(split);
  for (let j = 0; j < f; j++) dst[at + j] = t[src[from + j]];
}

/** Rows `rows` of `split` as one float array [rows.length * f]. */
export function gatherRows(split: DataSplit, f: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * f);
  for (let i = 0; i < rows.length; i++) copyRow(split, rows[i], f, out, i * f);
  return out;
}

/** The first n rows of `split` as floats: a view when they are floats already, a copy otherwise. */
export function leadingRows(split: DataSplit, f: number, n: number): Float32Array {
  if (split.x instanceof Float32Array) return split.x.subarray(0, n * f);
  return gatherRows(split, f, identity(n));
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Rows `rows` of `split` (x and y, ts targets per row) as a float split. */
export function floatRows(split: DataSplit, f: number, ts: number, rows: ArrayLike<number>): FloatSplit {
  const y = new Float32Array(rows.length * ts);
  for (let i = 0; i < rows.length; i++) for (let j = 0; j < ts; j++) y[i * ts + j] = split.y[rows[i] * ts + j];
  return { x: gatherRows(split, f, rows), y, n: rows.length };
}
