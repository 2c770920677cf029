import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrtExecutor, hostTensor } from '../../server/engine';
import { GrowableModel } from '../../server/model/growable';
import { ModelSpec, architectureOf, specFromConfig } from '../../server/model/spec';
import { remapAxis } from '../../server/model/remap';
import { Rng } from '../../server/random';
import type { Dataset } from '../../server/datasets/types';
import type { LayerConfig, TrainingConfig } from '../../common/protocol';
import { Trainer } from '../../server/trainer/trainer';
import { trainingConfig, randomDataset } from './fixtures';

const training = trainingConfig();

const mlp: LayerConfig[] = [
  { type: 'dense', units: 8, activation: 'relu' },
  { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
  { type: 'dense', units: 6, activation: 'tanh' },
];
const cnn: LayerConfig[] = [
  { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
  { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
  { type: 'maxpool', size: 2 },
  { type: 'residual', units: 3, activation: 'relu' },
  { type: 'conv2d', filters: 5, kernelSize: 3, stride: 2, padding: 'valid', activation: 'relu' },
  { type: 'flatten' },
  { type: 'dense', units: 7, activation: 'relu' },
];

test('architecture: parameter and FLOP counts of a 784-256-10 MLP are exact', () => {
  const spec = specFromConfig(
    { layers: [{ type: 'dense', units: 256, activation: 'relu' }], init: 'he' },
    [1, 28, 28],
    'classification',
    10,
  );
  const a = architectureOf(spec);
  assert.equal(a.params, 784 * 256 + 256 + 256 * 10 + 10);
  assert.equal(a.flops, 784 * 256 + 256 * 10);
  assert.deepEqual(
    a.layers.map((l) => [l.id, l.width, l.params]),
    [
      ['dense_1', 256, 200960],
      ['output', 10, 2570],
    ],
  );
});

test('architecture: conv shapes follow padding, stride and pooling', () => {
  const spec = specFromConfig({ layers: cnn, init: 'he' }, [1, 8, 8], 'classification', 3);
  const a = architectureOf(spec);
  assert.deepEqual(
    a.layers.map((l) => l.outputShape),
    [[4, 8, 8], [4, 8, 8], [4, 4, 4], [4, 4, 4], [5, 1, 1], [5], [7], [3]],
  );
  assert.equal(a.layers[0].params, 4 * 1 * 9 + 4);
  assert.equal(a.layers[0].flops, 4 * 1 * 9 * 64);
});

test('remapAxis: copies sources, fills new entries, and expands channel groups', () => {
  const t = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2, 3]
  assert.deepEqual([...remapAxis(t, [2, 3], 1, [2, -1, 0], () => 9).data], [3, 9, 1, 6, 9, 4]);
  assert.deepEqual([...remapAxis(t, [6], 0, [2, 0], () => 0, 2).data], [5, 6, 1, 2]);
});

async function outputsOf(model: GrowableModel, data: Dataset, ex: OrtExecutor): Promise<Float32Array> {
  const tr = new Trainer(model, data, training, ex);
  const x = hostTensor('float32', [data.test.n, ...data.inputShape], data.test.x);
  const y = await tr.predict(x);
  await tr.dispose();
  return y;
}
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

for (const [name, layers, input] of [
  ['dense', mlp, [5]],
  ['conv', cnn, [1, 8, 8]],
] as const) {
  test(`resize and insert keep the ${name} model's function (new neurons have zero outgoing weights)`, async () => {
    const ex = await OrtExecutor.create();
    const data = randomDataset([...input], 3, 32, 1);
    const spec: ModelSpec = specFromConfig({ layers: [...layers], init: 'he' }, [...input], 'classification', 3);
    const model = GrowableModel.create(spec, 7, ['momentum']);
    // give batch norm non-trivial statistics first
    const tr = new Trainer(model, data, training, ex);
    for (let i = 0; i < 3; i++) await tr.step(new Rng(i).permutation(32), 0, 16);
    await tr.dispose();
    const before = await outputsOf(model, data, ex);
    const first = model.spec.layers[0].id;
    const w0 = name === 'dense' ? 8 : 4;
    model.resizeLayer(first, [...Array.from({ length: w0 }, (_, i) => i), -1, -1, -1], 11);
    assert.equal(model.architecture().layers[0].width, w0 + 3);
    const residualAt = name === 'dense' ? 1 : 3;
    model.insertLayer(residualAt, { id: 'residual_9', type: 'residual', units: 4, activation: 'relu' }, 12);
    const after = await outputsOf(model, data, ex);
    assert.ok(maxDiff(before, after) < 1e-5, `max output change ${maxDiff(before, after)}`);
    // moments of kept neurons carried over, new ones zero
    const slot = model.slots.get(`${first}/b`)![0];
    assert.ok(slot.slice(0, w0).some((v) => v !== 0));
    assert.deepEqual([...slot.slice(w0)], [0, 0, 0]);
    // a checkpoint round-trips the grown model
    const copy = GrowableModel.fromCheckpoint(model.toCheckpoint());
    assert.ok(maxDiff(after, await outputsOf(copy, data, ex)) === 0);
    assert.equal(ex.liveSessions(), 0);
  });
}

test('resizeLayer refuses a width-free layer and an unknown layer by name', () => {
  const spec = specFromConfig({ layers: cnn, init: 'he' }, [1, 8, 8], 'classification', 3);
  const model = GrowableModel.create(spec, 1, []);
  assert.throws(() => model.resizeLayer('maxpool_1', [0], 1), /maxpool_1.*no width/);
  assert.throws(() => model.resizeLayer('dense_9', [0], 1), /no layer "dense_9"/);
});
