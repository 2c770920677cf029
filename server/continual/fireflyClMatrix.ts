/**
 * Host-side edits of the Firefly CL master network's row-major matrices (kernels [inputs, outputs]):
 * columns are neurons, rows their inputs. Pure copies; no arithmetic.
 */
import type { HostTensor } from '../engine';
import { tensor, values } from './tensors';

export function appendColumns(W: HostTensor, cols: Float32Array[]): HostTensor {
  const [rows, n] = W.shape;
  const w = values(W);
  const m = n + cols.length;
  const out = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) {
    out.set(w.subarray(r * n, (r + 1) * n), r * m);
    cols.forEach((c, k) => (out[r * m + n + k] = c[r]));
  }
  return tensor([rows, m], out);
}

export function appendRows(W: HostTensor, rows: Float32Array[]): HostTensor {
  const [n, cols] = W.shape;
  const out = new Float32Array((n + rows.length) * cols);
  out.set(values(W));
  rows.forEach((r, k) => out.set(r, (n + k) * cols));
  return tensor([n + rows.length, cols], out);
}

export function column(W: HostTensor, j: number): Float32Array {
  const [rows, n] = W.shape;
  const w = values(W);
  return Float32Array.from({ length: rows }, (_, r) => w[r * n + j]);
}

export function row(W: HostTensor, i: number): Float32Array {
  const n = W.shape[1];
  return Float32Array.from(values(W).subarray(i * n, (i + 1) * n));
}

export function sliceColumns(W: HostTensor, from: number, to: number): HostTensor {
  const [rows, n] = W.shape;
  const w = values(W);
  const m = to - from;
  const out = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) out.set(w.subarray(r * n + from, r * n + to), r * m);
  return tensor([rows, m], out);
}

export function joinColumns(a: HostTensor, b: HostTensor | undefined): HostTensor {
  if (!b) return a;
  const cols: Float32Array[] = [];
  for (let j = 0; j < b.shape[1]; j++) cols.push(column(b, j));
  return appendColumns(a, cols);
}

/** Positions of the set entries of a 0/1 mask. */
export function indicesOf(mask: ArrayLike<number>): number[] {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) idx.push(i);
  return idx;
}
