/** Minibatches assembled into reused buffers from a dataset split. */
import { copyRow } from '../datasets/rows';
import type { DataSplit } from '../datasets/types';
import { HostTensor } from '../engine';

export class BatchAssembler {
  private readonly x: Float32Array;
  private readonly y: Float32Array;

  constructor(
    private readonly split: DataSplit,
    readonly inputShape: number[],
    /** Classes for one-hot targets, or 0 for regression targets. */
    private readonly numClasses: number,
    private readonly targetSize: number,
    readonly maxBatch: number,
  ) {
    this.x = new Float32Array(maxBatch * this.featureSize);
    this.y = new Float32Array(maxBatch * this.outputWidth);
  }

  get featureSize(): number {
    return this.inputShape.reduce((a, b) => a * b, 1);
  }
  get outputWidth(): number {
    return this.numClasses > 0 ? this.numClasses : this.targetSize;
  }

  /** Copy rows `order[start..start+n)` into the buffers; returns feeds viewing them (valid until the next call). */
  fill(order: ArrayLike<number>, start: number, n: number): { x: HostTensor; y: HostTensor; labels: Float32Array } {
    const f = this.featureSize,
      w = this.outputWidth;
    const ys = this.split.y;
    if (this.numClasses > 0) this.y.fill(0, 0, n * w);
    for (let i = 0; i < n; i++) {
      const r = order[start + i];
      copyRow(this.split, r, f, this.x, i * f); // uint8 pixels become floats here, per batch
      if (this.numClasses > 0) this.y[i * w + ys[r]] = 1;
      else this.y.set(ys.subarray(r * w, (r + 1) * w), i * w);
    }
    const labels = new Float32Array(n);
    if (this.numClasses > 0) for (let i = 0; i < n; i++) labels[i] = ys[order[start + i]];
    return {
      x: { dtype: 'float32', shape: [n, ...this.inputShape], data: this.x.subarray(0, n * f) },
      y: { dtype: 'float32', shape: [n, w], data: this.y.subarray(0, n * w) },
      labels,
    };
  }
}

/** Correct predictions: argmax of each row of `pred` [n, c] against labels. */
export function countCorrect(pred: Float32Array, labels: ArrayLike<number>, c: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0,
      bv = pred[i * c];
    for (let j = 1; j < c; j++)
      if (pred[i * c + j] > bv) {
        bv = pred[i * c + j];
        best = j;
      }
    if (best === labels[i]) correct++;
  }
  return correct;
}
