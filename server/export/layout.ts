/** Re-orderings of weight tensors between our layouts and other frameworks' (pure; shared by export and import). */

/** [rows, cols] → [cols, rows]. */
export function transpose2d(t: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(t.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t[r * cols + c];
  return out;
}

/** Conv kernel [O, C, kh, kw] (ours, ONNX, PyTorch) → [kh, kw, C, O] (Keras / TF.js channels_last). */
export function oihwToHwio(t: Float32Array, [o, c, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(t.length);
  for (let oi = 0; oi < o; oi++)
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) out[((i * kw + j) * c + ci) * o + oi] = t[((oi * c + ci) * kh + i) * kw + j];
  return out;
}

/** [kh, kw, C, O] → [O, C, kh, kw]; `shape` is the OIHW shape. */
export function hwioToOihw(t: Float32Array, [o, c, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(t.length);
  for (let oi = 0; oi < o; oi++)
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) out[((oi * c + ci) * kh + i) * kw + j] = t[((i * kw + j) * c + ci) * o + oi];
  return out;
}

/**
 * Where each element of a flattened channels_last [H, W, C] tensor sits in our flattened [C, H, W]
 * order: perm[k] is our index of the value at position k.
 */
export function hwcToChwPerm(c: number, h: number, w: number): Int32Array {
  const perm = new Int32Array(c * h * w);
  for (let hi = 0; hi < h; hi++)
    for (let wi = 0; wi < w; wi++) for (let ci = 0; ci < c; ci++) perm[(hi * w + wi) * c + ci] = ci * h * w + hi * w + wi;
  return perm;
}

/** Rows of a [rows, cols] matrix in the order `perm` (out row k = row perm[k]); undefined perm: a copy. */
export function gatherRows(t: Float32Array, cols: number, perm: Int32Array | undefined): Float32Array {
  if (!perm) return Float32Array.from(t);
  const out = new Float32Array(t.length);
  for (let k = 0; k < perm.length; k++) out.set(t.subarray(perm[k] * cols, perm[k] * cols + cols), k * cols);
  return out;
}

/** Inverse of gatherRows: row k goes back to row perm[k]. */
export function scatterRows(t: Float32Array, cols: number, perm: Int32Array | undefined): Float32Array {
  if (!perm) return Float32Array.from(t);
  const out = new Float32Array(t.length);
  for (let k = 0; k < perm.length; k++) out.set(t.subarray(k * cols, k * cols + cols), perm[k] * cols);
  return out;
}

/** Columns of a [rows, cols] matrix in the order `perm`. */
export function gatherCols(t: Float32Array, rows: number, perm: Int32Array | undefined): Float32Array {
  if (!perm) return Float32Array.from(t);
  const cols = perm.length,
    out = new Float32Array(t.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[r * cols + k] = t[r * cols + perm[k]];
  return out;
}

export function scatterCols(t: Float32Array, rows: number, perm: Int32Array | undefined): Float32Array {
  if (!perm) return Float32Array.from(t);
  const cols = perm.length,
    out = new Float32Array(t.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[r * cols + perm[k]] = t[r * cols + k];
  return out;
}
