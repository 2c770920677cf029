/** Building a GrowContext: the model, its trainer and data, and seeded scoring batches. */
import { copyRow } from '../datasets/rows';
import type { Dataset } from '../datasets/types';
import { HostTensor } from '../engine';
import { Rng } from '../random';
import type { Trainer } from '../trainer/trainer';
import type { GrowContext } from './types';

/** n training examples drawn without replacement: x [n, ...input], y one-hot (or targets) [n, outputs]. */
export function sampleBatch(data: Dataset, rng: Rng, n: number): { x: HostTensor; y: HostTensor } {
  const m = Math.min(n, data.train.n);
  const rows = rng.permutation(data.train.n).subarray(0, m);
  const f = data.inputShape.reduce((a, b) => a * b, 1);
  const w = data.numClasses > 0 ? data.numClasses : data.targetSize;
  const x = new Float32Array(m * f),
    y = new Float32Array(m * w);
  rows.forEach((r, i) => {
    copyRow(data.train, r, f, x, i * f);
    if (data.numClasses > 0) y[i * w + data.train.y[r]] = 1;
    else y.set(data.train.y.subarray(r * w, (r + 1) * w), i * w);
  });
  return { x: { dtype: 'float32', shape: [m, ...data.inputShape], data: x }, y: { dtype: 'float32', shape: [m, w], data: y } };
}

export function growContext(trainer: Trainer, seed: number): GrowContext {
  const rng = new Rng(seed);
  return {
    model: trainer.model,
    executor: trainer.executor,
    data: trainer.data,
    trainer,
    rng,
    scoringBatch: (n) => sampleBatch(trainer.data, rng, n),
  };
}
