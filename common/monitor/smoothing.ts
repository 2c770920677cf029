/**
 * TensorBoard's scalar smoothing (pure): an exponential moving average debiased like Adam's moments,
 * so the first points are not pulled towards zero. The same algorithm as TensorBoard's
 * `classicSmoothing` (tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts):
 *
 *   last = last * w + (1 - w) * y;   n = number of finite values so far;   smoothed = last / (1 - w^n)
 *
 * Non-finite values are passed through and not counted; a constant series is returned unchanged.
 */
export function emaSmooth(ys: ArrayLike<number>, weight: number): Float64Array {
  const n = ys.length;
  const out = new Float64Array(n);
  const w = Math.min(Math.max(weight, 0), 1);
  let constant = true;
  for (let i = 1; i < n; i++)
    if (ys[i] !== ys[0]) {
      constant = false;
      break;
    }
  let last = 0;
  let counted = 0;
  for (let i = 0; i < n; i++) {
    const y = ys[i];
    if (constant || !Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    last = last * w + (1 - w) * y;
    counted++;
    const debias = w === 1 ? 1 : 1 - Math.pow(w, counted);
    out[i] = last / debias;
  }
  return out;
}
