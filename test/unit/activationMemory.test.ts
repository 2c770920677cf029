/** The activation-memory estimate (server/model/spec.ts) against numbers computed by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activationMemoryProblem, defaultMaxActivationMemoryMB, estimateActivationMemory, type ModelSpec } from '../../server/model/spec';

const conv: ModelSpec = {
  inputShape: [1, 28, 28],
  task: 'classification',
  layers: [
    { id: 'c1', type: 'conv2d', filters: 8, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
    { id: 'p1', type: 'maxpool', size: 2 },
    { id: 'f', type: 'flatten' },
    { id: 'd', type: 'dense', units: 32, activation: 'relu' },
  ],
  output: { id: 'output', units: 10 },
  init: 'he',
};

test('estimate: conv, pool, flatten, dense at batch 32 (6 copies per value), by hand', () => {
  const e = estimateActivationMemory(conv, 32);
  // copies = 32 × 6 = 192; bytes = elements × 4 × 192; the input counts once: 784 × 32 × 4.
  assert.deepEqual(e.layers, [
    { id: 'input', bytes: 100_352 },
    { id: 'c1', bytes: 6272 * 4 * 192 }, // [8, 28, 28] = 4,816,896
    { id: 'p1', bytes: 1568 * 4 * 192 }, // [8, 14, 14] = 1,204,224
    { id: 'f', bytes: 0 }, // a reshape
    { id: 'd', bytes: 32 * 4 * 192 }, // 24,576
    { id: 'output', bytes: 10 * 4 * 192 }, // 7,680
  ]);
  assert.equal(e.bytes, 6_153_728);
  assert.deepEqual(e.largest, { id: 'c1', bytes: 4_816_896 });
});

test('estimate: an evaluation batch larger than 3 training batches sets the copies (forward only, 2 per value)', () => {
  const e = estimateActivationMemory(conv, 32, 1000);
  // max(32 × 6, 1000 × 2) = 2000 copies; the input 784 × 1000 × 4.
  assert.equal(e.layers[0].bytes, 3_136_000);
  assert.equal(e.largest.bytes, 6272 * 4 * 2000); // 50,176,000
  assert.equal(e.bytes, 3_136_000 + (6272 + 1568 + 32 + 10) * 4 * 2000);
});

test('estimate: a residual block counts its output and its hidden tensor', () => {
  const spec: ModelSpec = {
    inputShape: [16],
    task: 'regression',
    layers: [{ id: 'r', type: 'residual', units: 64, activation: 'relu' }],
    output: { id: 'output', units: 1 },
    init: 'he',
  };
  const e = estimateActivationMemory(spec, 10);
  assert.deepEqual(e.layers[1], { id: 'r', bytes: (16 + 64) * 4 * 60 }); // 19,200
});

test('the refusal names the size, the largest layer and the setting; the default is half the memory', () => {
  assert.equal(activationMemoryProblem(conv, 32, 0, 6), undefined); // 5.9 MB fits in 6 MB
  assert.equal(
    activationMemoryProblem(conv, 32, 0, 5),
    'needs about 6 MB of activations at batch size 32 (layer c1 alone 5 MB), more than growthLab.maxActivationMemoryMB (5 MB); lower training.batchSize, make the layer smaller, or raise the setting',
  );
  assert.equal(defaultMaxActivationMemoryMB(16 * 1024 ** 3), 8192);
});
