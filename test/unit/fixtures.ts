/** Shared test fixtures: training settings and small synthetic datasets (not a test file). */
import type { Dataset } from '../../server/datasets/types';
import type { TrainingConfig } from '../../common/protocol';
import { Rng } from '../../server/random';

/** SGD with momentum 0.9, learning rate 0.05, batch 16, unless overridden. */
export function trainingConfig(overrides: Partial<TrainingConfig> = {}): TrainingConfig {
  return {
    epochs: 1,
    batchSize: 16,
    optimizer: 'sgd',
    learningRate: 0.05,
    momentum: 0.9,
    nesterov: false,
    weightDecay: 0,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
    evalEvery: 1,
    shuffle: true,
    ...overrides,
  };
}

/** Normal inputs with uniformly random labels: train and test splits of n examples each. */
export function randomDataset(inputShape: number[], classes: number, n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const f = inputShape.reduce((a, b) => a * b, 1);
  const split = () => ({
    x: Float32Array.from({ length: n * f }, () => rng.normal()),
    y: Float32Array.from({ length: n }, () => rng.int(classes)),
    n,
  });
  return {
    name: 'csv',
    task: 'classification',
    inputShape,
    numClasses: classes,
    targetSize: 1,
    train: split(),
    test: split(),
    description: 'random',
  };
}

/** Labels from a fixed random teacher (learnable, unlike random labels). */
export function teacherDataset(inputShape: number[], classes: number, n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const f = inputShape.reduce((a, b) => a * b, 1);
  const T = Array.from({ length: f * classes }, () => rng.normal());
  const split = () => {
    const x = Float32Array.from({ length: n * f }, () => rng.normal());
    const y = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      let best = 0,
        bv = -Infinity;
      for (let c = 0; c < classes; c++) {
        let v = 0;
        for (let k = 0; k < f; k++) v += Math.tanh(x[r * f + k] * T[k * classes + c]);
        if (v > bv) [bv, best] = [v, c];
      }
      y[r] = best;
    }
    return { x, y, n };
  };
  return {
    name: 'csv',
    task: 'classification',
    inputShape,
    numClasses: classes,
    targetSize: 1,
    train: split(),
    test: split(),
    description: 'teacher',
  };
}
