import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrtExecutor } from '../../server/engine';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig } from '../../server/model/spec';
import type { LayerConfig, TrainingConfig } from '../../common/protocol';
import { Rng } from '../../server/random';
import type { Dataset } from '../../server/datasets/types';
import { Trainer } from '../../server/trainer/trainer';
import { growContext } from '../../server/growth/context';
import { runGrowStep } from '../../server/growth/step';
import { net2netDeeper, net2netWider, proportionalShares } from '../../server/growth/net2net';
import type { GrowOptions, GrowthMethod } from '../../server/growth/types';
import { widthEdits } from '../../server/model/widthEdits';
import { trainingConfig, randomDataset } from './fixtures';

const training = trainingConfig();

const bn: LayerConfig = { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 };
const models: [string, LayerConfig[], number[]][] = [
  [
    'dense',
    [
      { type: 'dense', units: 8, activation: 'relu' },
      { type: 'dense', units: 6, activation: 'tanh' },
    ],
    [5],
  ],
  [
    'dense + batch norm + residual',
    [
      { type: 'dense', units: 8, activation: 'relu' },
      bn,
      { type: 'residual', units: 3, activation: 'relu' },
      { type: 'dense', units: 6, activation: 'sigmoid' },
      bn,
    ],
    [5],
  ],
  [
    'conv',
    [
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', filters: 5, kernelSize: 3, stride: 1, padding: 'valid', activation: 'tanh' },
      { type: 'flatten' },
      { type: 'dense', units: 7, activation: 'relu' },
    ],
    [2, 8, 8],
  ],
  [
    'conv + batch norm + residual',
    [
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
      bn,
      { type: 'residual', units: 3, activation: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', filters: 5, kernelSize: 3, stride: 2, padding: 'same', activation: 'leaky_relu' },
      bn,
      { type: 'globalavgpool' },
      { type: 'dense', units: 6, activation: 'relu' },
    ],
    [2, 8, 8],
  ],
];

/** A model trained a few steps (batch norm gets non-trivial statistics) and its context. */
async function setup(layers: LayerConfig[], input: number[], ex: OrtExecutor, seed = 1) {
  const data = randomDataset(input, 3, 64, 2);
  const model = GrowableModel.create(specFromConfig({ layers, init: 'he' }, input, 'classification', 3), 7, ['momentum']);
  const trainer = new Trainer(model, data, training, ex);
  for (let i = 0; i < 3; i++) await trainer.step(new Rng(i).permutation(64), 0, 16);
  return { model, trainer, ctx: growContext(trainer, seed) };
}

async function grow(method: GrowthMethod, layers: LayerConfig[], input: number[], options: GrowOptions) {
  const ex = await OrtExecutor.create();
  const { model, trainer, ctx } = await setup(layers, input, ex);
  const before = model.clone();
  const event = await runGrowStep(ctx, method, options, { runId: 't', step: 0, epoch: 0 });
  await trainer.dispose();
  assert.equal(ex.liveSessions(), 0);
  return { event, model, before };
}

for (const [name, layers, input] of models) {
  test(`net2net-wider keeps the function of the ${name} model within 1e-5, with and without noise`, async (t) => {
    const clean = await grow(net2netWider, layers, input, { ratio: 0.5 });
    const noisy = await grow(net2netWider, layers, input, { ratio: 0.5, noise: 0.1 });
    for (const { event } of [clean, noisy]) assert.ok(event.maxOutputChange < 1e-5, `max output change ${event.maxOutputChange}`);
    t.diagnostic(
      `max output change ${clean.event.maxOutputChange.toExponential(2)} (no noise), ${noisy.event.maxOutputChange.toExponential(2)} (noise 0.1)`,
    );
    // widths: the budget round(0.5 · total) shared in proportion to the widths
    const ids = clean.event.diff.map((d) => d.id);
    const w0 = ids.map((id) => clean.before.architecture().layers.find((l) => l.id === id)!.width!);
    const shares = proportionalShares(Math.round(0.5 * w0.reduce((a, b) => a + b, 0)), w0);
    ids.forEach((id, i) => assert.equal(clean.model.architecture().layers.find((l) => l.id === id)!.width, w0[i] + shares[i]));
    assert.deepEqual(noisy.event.diff, clean.event.diff); // the same replicas whatever the noise
    // noise: only on the replicas' outgoing weights, non-zero, and summing to zero over each neuron's copies
    let largest = 0;
    for (const [tname, t] of clean.model.tensors) {
      const u = noisy.model.tensors.get(tname)!;
      const outEdits = ids.flatMap((id) =>
        widthEdits(clean.model.spec, clean.model.layer(id).index)
          .filter((e) => e.role === 'out' && e.name === tname)
          .map((e) => ({ e, d: clean.event.diff.find((x) => x.id === id)! })),
      );
      if (outEdits.length === 0) {
        assert.deepEqual(u, t, `${tname} changed by the noise`);
        continue;
      }
      const shape = clean.model.shapeOf(tname);
      const { e } = outEdits[0];
      const outer = shape.slice(0, e.axis).reduce((a, b) => a * b, 1),
        len = shape[e.axis],
        inner = shape.slice(e.axis + 1).reduce((a, b) => a * b, 1);
      for (const { d } of outEdits) {
        for (const parent of new Set(d.split.map((x) => x.parent))) {
          const copies = d.split.filter((x) => x.parent === parent).map((x) => x.index);
          for (let o = 0; o < outer; o++)
            for (let q = 0; q < e.group; q++)
              for (let k = 0; k < inner; k++) {
                let sum = 0;
                for (const j of copies) {
                  const at = (o * len + j * e.group + q) * inner + k;
                  sum += u[at] - t[at];
                  largest = Math.max(largest, Math.abs(u[at] - t[at]));
                }
                assert.ok(Math.abs(sum) < 1e-6, `${tname}: noise over the copies of ${parent} sums to ${sum}`);
              }
        }
      }
    }
    assert.ok(largest > 1e-3, `largest noise ${largest}`);
  });
  test(`net2net-deeper keeps the function of the ${name} model within 1e-5 after each dense/conv layer`, async (t) => {
    const spec = specFromConfig({ layers, init: 'he' }, input, 'classification', 3);
    for (const after of spec.layers.filter((l) => l.type === 'dense' || l.type === 'conv2d').map((l) => l.id)) {
      const { event, model, before } = await grow(net2netDeeper, layers, input, { after });
      t.diagnostic(`after ${after}: ${event.diff[0].id} inserted, max output change ${event.maxOutputChange.toExponential(2)}`);
      assert.ok(event.maxOutputChange < 1e-5, `after ${after}: max output change ${event.maxOutputChange}`);
      assert.equal(model.spec.layers.length, before.spec.layers.length + 1);
      assert.equal(model.layer(event.diff[0].id).index, model.layer(after).index + 1);
      assert.equal(event.diff[0].inserted, true);
    }
  });
}

test('net2net-deeper: identity layer after ReLU, residual block after tanh, 3x3 identity kernel for conv', async () => {
  const ex = await OrtExecutor.create();
  const mlp: LayerConfig[] = [{ type: 'dense', units: 4, activation: 'relu' }, bn, { type: 'dense', units: 3, activation: 'tanh' }];
  let { model, trainer, ctx } = await setup(mlp, [5], ex);
  let plan = await net2netDeeper.apply(ctx, { after: 'dense_1' });
  assert.deepEqual(
    model.spec.layers.map((l) => l.id),
    ['dense_1', 'dense_3', 'batchnorm_1', 'dense_2'],
  );
  assert.deepEqual([...model.tensors.get('dense_3/W')!], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  assert.deepEqual(plan.notes, { after: 'dense_1', inserted: 'dense', exact: true });
  assert.deepEqual(plan.diff, [{ id: 'dense_3', kept: 0, split: [], added: [0, 1, 2, 3], removed: [], inserted: true }]);
  plan = await net2netDeeper.apply(ctx, {}); // default: after the last dense layer (tanh)
  assert.equal(model.spec.layers[4].type, 'residual');
  assert.deepEqual(plan.notes, { after: 'dense_2', inserted: 'residual', exact: true });
  // the paper's identity layer after tanh: tanh(I tanh(v)) ≠ tanh(v), flagged and really inexact
  const x = { dtype: 'float32' as const, shape: [16, 5], data: ctx.data.test.x.subarray(0, 80) };
  const before = Float32Array.from(await trainer.predict(x));
  plan = await net2netDeeper.apply(ctx, { after: 'dense_2', block: 'identity' });
  assert.equal((plan.notes as { exact: boolean }).exact, false);
  const after = await trainer.predict(x);
  assert.ok(after.some((v, i) => Math.abs(v - before[i]) > 1e-3));
  await trainer.dispose();

  ({ model, trainer, ctx } = await setup(
    [{ type: 'conv2d', filters: 3, kernelSize: 3, stride: 1, padding: 'valid', activation: 'relu' }],
    [2, 6, 6],
    ex,
  ));
  plan = await net2netDeeper.apply(ctx, {});
  const l = model.spec.layers[1];
  assert.deepEqual(l, { id: 'conv2d_2', type: 'conv2d', filters: 3, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' });
  const W = model.tensors.get('conv2d_2/W')!;
  assert.deepEqual(
    [...W.keys()].filter((i) => W[i] !== 0),
    [4, 4 + 9 * 4, 4 + 9 * 8],
  ); // [o, c, 1, 1] for o = c
  await trainer.dispose();
  await assert.rejects(net2netDeeper.apply(ctx, { block: 'wide' }), /block must be/);
});

test('net2net-wider: seeded replica choice, replica counts and diff entries are exact', async () => {
  const ex = await OrtExecutor.create();
  const layers: LayerConfig[] = [{ type: 'dense', units: 5, activation: 'relu' }, bn, { type: 'dense', units: 3, activation: 'relu' }];
  const seed = 42;
  const { model, trainer, ctx } = await setup(layers, [4], ex, seed);
  const old = model.clone();
  const plan = await net2netWider.apply(ctx, { neurons: 4 });
  // 4 neurons over widths 5 and 3: 2.5 and 1.5, the tie of remainders goes to the earlier layer.
  assert.deepEqual(proportionalShares(4, [5, 3]), [3, 1]);
  // The documented draws: Rng(seed); per layer in model order the parents (a permutation's first
  // entries: distinct), a seed, a fork.
  const rng = new Rng(seed);
  const parents1 = [...rng.permutation(5).subarray(0, 3)];
  rng.int(2 ** 31);
  rng.fork(0);
  const parents2 = [...rng.permutation(3).subarray(0, 1)];
  assert.equal(new Set(parents1).size, 3);
  const src1 = [0, 1, 2, 3, 4, ...parents1],
    src2 = [0, 1, 2, ...parents2];
  const count = (src: number[], p: number) => src.filter((s) => s === p).length;
  assert.deepEqual(
    plan.selected.map((c) => [c.layer, c.neuron, c.kind]),
    [...parents1.map((p) => ['dense_1', p, 'replicate']), ['dense_2', parents2[0], 'replicate']],
  );
  for (const [d, id, src, width] of [
    [plan.diff[0], 'dense_1', src1, 5],
    [plan.diff[1], 'dense_2', src2, 3],
  ] as const) {
    const split = src.map((p, j) => ({ index: j, parent: p })).filter((x) => count([...src], x.parent) > 1);
    assert.deepEqual(d, { id, kept: width - new Set(src.slice(width)).size, split, added: [], removed: [], inserted: false });
  }
  const t = (m: GrowableModel, n: string) => m.tensors.get(n)!;
  // dense_1/W [4, 8]: column j is old column src1[j], exactly; batch norm follows the copies.
  for (let a = 0; a < 4; a++) src1.forEach((p, j) => assert.equal(t(model, 'dense_1/W')[a * 8 + j], t(old, 'dense_1/W')[a * 5 + p]));
  src1.forEach((p, j) => assert.equal(t(model, 'batchnorm_1/mean')[j], t(old, 'batchnorm_1/mean')[p]));
  // dense_2/W [8, 4]: row j is old row src1[j] over the replica count, columns follow src2.
  src1.forEach((p, j) =>
    src2.forEach((q, o) => assert.equal(t(model, 'dense_2/W')[j * 4 + o], Math.fround(t(old, 'dense_2/W')[p * 3 + q] / count(src1, p)))),
  );
  // output/W [4, 3]: row k is old row src2[k] over its replica count.
  src2.forEach((q, k) =>
    [0, 1, 2].forEach((o) => assert.equal(t(model, 'output/W')[k * 3 + o], Math.fround(t(old, 'output/W')[q * 3 + o] / count(src2, q)))),
  );
  await trainer.dispose();
});

test('net2net-wider: more new neurons than the width take further rounds of distinct parents', async () => {
  const { event, model } = await grow(net2netWider, [{ type: 'dense', units: 5, activation: 'tanh' }, bn], [4], { neurons: 12 });
  assert.ok(event.maxOutputChange < 1e-5, `max output change ${event.maxOutputChange}`);
  assert.equal(model.architecture().layers[0].width, 17);
  const copies = [0, 1, 2, 3, 4].map((p) => event.diff[0].split.filter((s) => s.parent === p).length).sort();
  assert.deepEqual(copies, [3, 3, 3, 4, 4]); // two full rounds of 5, then 2 more
});
