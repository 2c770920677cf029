import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, OrtExecutor, TfjsExecutor, hostTensor, interpret, softmaxCrossEntropy } from '../../server/engine';
import { GrowableModel } from '../../server/model/growable';
import { buildForward } from '../../server/model/forward';
import { specFromConfig } from '../../server/model/spec';
import { Rng } from '../../server/random';
import type { Dataset } from '../../server/datasets/types';
import type { LayerConfig, TrainingConfig } from '../../common/protocol';
import { Trainer } from '../../server/trainer/trainer';
import { loadDataset } from '../../server/datasets';
import { randomDataset, trainingConfig } from './fixtures';

const cfg = trainingConfig;

const MODELS: Record<string, { layers: LayerConfig[]; input: number[] }> = {
  mlp: {
    layers: [
      { type: 'dense', units: 12, activation: 'relu' },
      { type: 'dense', units: 8, activation: 'tanh' },
    ],
    input: [10],
  },
  'mlp+bn+residual': {
    layers: [
      { type: 'dense', units: 12, activation: 'sigmoid' },
      { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
      { type: 'residual', units: 5, activation: 'leaky_relu' },
    ],
    input: [10],
  },
  'cnn+bn': {
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
      { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', filters: 6, kernelSize: 3, stride: 1, padding: 'valid', activation: 'relu' },
      { type: 'dense', units: 8, activation: 'relu' },
    ],
    input: [1, 8, 8],
  },
  'cnn+residual+pools': {
    layers: [
      { type: 'conv2d', filters: 3, kernelSize: 3, stride: 2, padding: 'same', activation: 'tanh' },
      { type: 'residual', units: 2, activation: 'relu' },
      { type: 'avgpool', size: 2 },
      { type: 'globalavgpool' },
    ],
    input: [2, 9, 9],
  },
};

for (const [name, m] of Object.entries(MODELS)) {
  test(`executors agree on forward outputs within 1e-5: ${name}`, async () => {
    const data = randomDataset(m.input, 4, 24, 3);
    const spec = specFromConfig({ layers: m.layers, init: 'he' }, m.input, 'classification', 4);
    const model = GrowableModel.create(spec, 5, []);
    const x = hostTensor('float32', [24, ...m.input], data.test.x);
    const outs: Float32Array[] = [];
    for (const ex of [await OrtExecutor.create(), await TfjsExecutor.create('cpu')]) {
      const tr = new Trainer(model, data, cfg({ optimizer: 'sgd', momentum: 0 }), ex);
      outs.push(await tr.predict(x));
      await tr.dispose();
    }
    const d = outs[0].reduce((a, v, i) => Math.max(a, Math.abs(v - outs[1][i])), 0);
    assert.ok(d < 1e-5, `max difference ${d}`);
  });
}

/** Ten steps with our graph vs tfjs's own optimiser minimising the same loss (tfjs interpretation). */
async function compareWithTfjsOptimizer(modelName: string, opt: 'sgd' | 'adam') {
  const m = MODELS[modelName];
  const data = randomDataset(m.input, 4, 16, 9);
  const spec = specFromConfig({ layers: m.layers, init: 'glorot' }, m.input, 'classification', 4);
  const training = cfg(
    opt === 'sgd'
      ? { optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, batchSize: 16 }
      : { optimizer: 'adam', learningRate: 0.01, batchSize: 16 },
  );
  const model = GrowableModel.create(spec, 21, opt === 'sgd' ? ['momentum'] : ['m', 'v']);
  const tfex = await TfjsExecutor.create('cpu');
  const tf = tfex.tf;
  // tfjs side: variables from the same initial values, loss from the same forward graph
  const g = new Graph('oracle');
  const xv = g.input('x', 'float32', ['N', ...m.input]);
  const yv = g.input('y', 'float32', ['N', 4]);
  const inputs = new Map(model.params().map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
  const loss = softmaxCrossEntropy(buildForward(model.spec, xv, (n) => inputs.get(n)!, 'train').output, yv);
  const vars = new Map(
    model.params().map((p) => [p.name, tf.variable(tf.tensor(Float32Array.from(model.tensors.get(p.name)!), p.shape), p.trainable)]),
  );
  const order = Int32Array.from({ length: 16 }, (_, i) => i);
  const xs = tf.tensor(data.train.x, [16, ...m.input]);
  const ys = tf.oneHot(tf.tensor1d(Array.from(data.train.y), 'int32'), 4).toFloat();
  const optimizer =
    opt === 'sgd'
      ? tf.train.momentum(training.learningRate, training.momentum)
      : tf.train.adam(training.learningRate, training.beta1, training.beta2, training.epsilon);
  const trainable = model
    .params()
    .filter((p) => p.trainable)
    .map((p) => vars.get(p.name)!);
  const ort = await OrtExecutor.create();
  const trainer = new Trainer(model, data, training, ort);
  for (let s = 0; s < 10; s++) {
    await trainer.step(order, 0, 16);
    optimizer.minimize(
      () => {
        const feeds = new Map<number, any>([
          [xv.id, xs],
          [yv.id, ys],
        ]);
        for (const [n, v] of inputs) feeds.set(v.id, vars.get(n)!);
        return interpret(tf, g, [loss], feeds)[0] as any;
      },
      false,
      trainable,
    );
  }
  await trainer.dispose();
  let worst = 0;
  for (const p of model.params().filter((q) => q.trainable)) {
    const ours = model.tensors.get(p.name)!;
    const theirs = vars.get(p.name)!.dataSync();
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
  }
  assert.ok(worst < 1e-4, `${modelName}/${opt}: max weight difference after 10 steps ${worst}`);
}

for (const modelName of ['mlp', 'cnn+bn']) {
  for (const opt of ['sgd', 'adam'] as const) {
    test(`10 training steps match tfjs's ${opt === 'sgd' ? 'momentum' : 'adam'} optimiser within 1e-4: ${modelName}`, () =>
      compareWithTfjsOptimizer(modelName, opt));
  }
}

test('seeded determinism: the same config and seed give the same losses', async () => {
  const data = await loadDataset({ name: 'mnist', trainSize: 2000, testSize: 500 }, { seed: 4 });
  const run = async () => {
    const spec = specFromConfig(
      { layers: [{ type: 'dense', units: 32, activation: 'relu' }], init: 'he' },
      data.inputShape,
      'classification',
      10,
    );
    const tr = new Trainer(GrowableModel.create(spec, 42, ['momentum']), data, cfg({ batchSize: 64 }), await OrtExecutor.create());
    const order = new Rng(42).permutation(data.train.n);
    const losses: number[] = [];
    for (let s = 0; s < data.train.n; s += 64) losses.push((await tr.step(order, s, Math.min(64, data.train.n - s))).loss);
    await tr.dispose();
    return losses;
  };
  const a = await run(),
    b = await run();
  assert.deepEqual(a, b);
  assert.ok(a[a.length - 1] < a[0] * 0.6, `loss should fall: ${a[0]} -> ${a[a.length - 1]}`);
});

test('memory stays flat across epochs and sessions are released across 20 architecture changes', async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  const data = await loadDataset({ name: 'mnist', trainSize: 3000, testSize: 500 }, { seed: 4 });
  const spec = specFromConfig(
    { layers: [{ type: 'dense', units: 64, activation: 'relu' }], init: 'he' },
    data.inputShape,
    'classification',
    10,
  );
  const model = GrowableModel.create(spec, 1, ['momentum']);
  const ex = await OrtExecutor.create();
  const tr = new Trainer(model, data, cfg({ batchSize: 100 }), ex);
  const rng = new Rng(2);
  const usage: NodeJS.MemoryUsage[] = [];
  for (let epoch = 1; epoch <= 10; epoch++) {
    const order = rng.permutation(data.train.n);
    for (let s = 0; s < data.train.n; s += 100) await tr.step(order, s, 100);
    await tr.evaluate();
    gc?.();
    usage.push(process.memoryUsage());
  }
  const [e2, e10] = [usage[1], usage[9]];
  assert.ok(e10.heapUsed <= e2.heapUsed * 1.05, `heap ${e2.heapUsed} -> ${e10.heapUsed}`);
  assert.ok(e10.rss <= e2.rss * 1.05, `rss ${e2.rss} -> ${e10.rss}`);
  for (let i = 0; i < 20; i++) {
    const w = model.spec.layers[0].type === 'dense' ? (model.spec.layers[0] as { units: number }).units : 0;
    model.resizeLayer('dense_1', [...Array.from({ length: w }, (_, k) => k), -1], 100 + i);
    await tr.step(rng.permutation(data.train.n), 0, 100);
    assert.equal(ex.liveSessions(), 2, 'one train and one eval session alive');
  }
  await tr.dispose();
  assert.equal(ex.liveSessions(), 0);
});
