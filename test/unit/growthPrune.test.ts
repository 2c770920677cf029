import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrtExecutor, Value, gradients, hostTensor, matmul, mul, reshape, slice } from '../../server/engine';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig } from '../../server/model/spec';
import { Rng } from '../../server/random';
import type { Dataset } from '../../server/datasets/types';
import type { LayerConfig, TrainingConfig } from '../../common/protocol';
import { Trainer } from '../../server/trainer/trainer';
import { growContext, sampleBatch } from '../../server/growth/context';
import { ModelGraph, runOnce } from '../../server/growth/modelGraph';
import { growthMethod } from '../../server/growth/registry';
import { pruneBudget, pruneGaussNewton, pruneTaylor, lowest } from '../../server/growth/prune';
import type { GrowthMethod } from '../../server/growth/types';
import { trainingConfig, teacherDataset } from './fixtures';

const training = trainingConfig({ batchSize: 32, learningRate: 0.1 });

const MLP: LayerConfig[] = [
  { type: 'dense', units: 20, activation: 'relu' },
  { type: 'dense', units: 12, activation: 'tanh' },
  { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
];
const CNN: LayerConfig[] = [
  { type: 'conv2d', filters: 6, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
  { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
  { type: 'maxpool', size: 2 },
  { type: 'flatten' },
];

async function setup(layers: LayerConfig[], input: number[], epochs = 2, n = 128) {
  const data = teacherDataset(input, 3, n, 1);
  const model = GrowableModel.create(specFromConfig({ layers, init: 'he' }, input, 'classification', 3), 3, ['momentum']);
  const ex = await OrtExecutor.create();
  const tr = new Trainer(model, data, training, ex);
  const rng = new Rng(5);
  for (let e = 0; e < epochs; e++) {
    const order = rng.permutation(n);
    for (let s = 0; s + 32 <= n; s += 32) await tr.step(order, s, 32);
  }
  return { data, model, ex, tr };
}

const METHODS: [string, GrowthMethod][] = [
  ['prune-gauss-newton', pruneGaussNewton],
  ['prune-taylor', pruneTaylor],
];

test('both pruning methods are registered under their names, kind prune', () => {
  for (const [name, m] of METHODS) {
    assert.equal(growthMethod(name), m);
    assert.equal(m.kind, 'prune');
  }
});

/**
 * Output change from removing neuron k of a layer that feeds the output layer, through the engine:
 * its activation u_k (after batch norm / pooling / flatten) times its rows of output/W.
 */
async function contribution(
  ex: OrtExecutor,
  model: GrowableModel,
  probe: number,
  width: number,
  k: number,
  batch: { x: ReturnType<typeof hostTensor>; y: ReturnType<typeof hostTensor> },
): Promise<Float32Array> {
  const mg = ModelGraph.of(model);
  const f = mg.forward();
  const u = f.layerOutputs[probe];
  const size = (u.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const group = size / width;
  const uk = reshape(slice(reshape(u, ['N', width, group]), [k], [k + 1], [1]), ['N', group]);
  const rows = slice(mg.w('output/W'), [k * group], [(k + 1) * group], [0]);
  return (await runOnce(ex, mg.graph, { c: matmul(uk, rows) }, [mg.feeds(model.tensors, batch, {})]))[0].c;
}

async function predictions(
  ex: OrtExecutor,
  model: GrowableModel,
  batch: { x: ReturnType<typeof hostTensor>; y: ReturnType<typeof hostTensor> },
): Promise<Float32Array> {
  const mg = ModelGraph.of(model);
  const f = mg.forward();
  return (await runOnce(ex, mg.graph, { out: f.output }, [mg.feeds(model.tensors, batch, {})]))[0].out;
}

for (const [name, method] of METHODS) {
  for (const [arch, layers, input, layer, probe] of [
    ['mlp+bn', MLP, [6], 'dense_2', 2],
    ['cnn+bn+pool+flatten', CNN, [1, 6, 6], 'conv2d_1', 3],
  ] as const) {
    test(`${name}: removing a neuron changes the output by exactly its contribution (${arch})`, async () => {
      const { data, model, ex, tr } = await setup([...layers], [...input]);
      const batch = sampleBatch(data, new Rng(3), 40);
      const before = await predictions(ex, model, batch);
      const widthBefore = model.architecture().layers[model.layer(layer).index].width!;
      const original = model.clone();
      const plan = await method.apply(growContext(tr, 1), { layers: [layer], neurons: 1 });
      assert.equal(plan.selected.length, 1);
      assert.equal(plan.rejected.length, widthBefore - 1);
      const k = plan.selected[0].neuron;
      assert.deepEqual(plan.diff, [{ id: layer, kept: widthBefore - 1, split: [], added: [], removed: [k], inserted: false }]);
      const c = await contribution(ex, original, probe, widthBefore, k, batch);
      const after = await predictions(ex, model, batch);
      let d = 0;
      for (let i = 0; i < after.length; i++) d = Math.max(d, Math.abs(after[i] - before[i] + c[i]));
      assert.ok(d < 1e-5, `max |Δoutput + contribution| = ${d}`);
      assert.ok(
        c.some((v) => Math.abs(v) > 1e-3),
        'the removed neuron contributed something',
      );
    });
  }

  test(`${name}: never removes a layer's last neuron; budget per layer (neurons, ratio, default 0.1)`, async () => {
    const small = await setup(
      [
        { type: 'dense', units: 1, activation: 'relu' },
        { type: 'dense', units: 2, activation: 'relu' },
      ],
      [6],
      1,
    );
    const p = await method.apply(growContext(small.tr, 1), { neurons: 5 });
    assert.deepEqual(
      small.model.architecture().layers.map((l) => l.width),
      [1, 1, 3],
    );
    assert.deepEqual(
      p.diff.map((d) => [d.id, d.removed.length]),
      [['dense_2', 1]],
    );
    for (const [options, widths] of [
      [{}, [18, 11]],
      [{ ratio: 0.25 }, [15, 9]],
      [{ neurons: 4 }, [16, 8]],
    ] as const) {
      const s = await setup(MLP, [6], 1);
      const plan = await method.apply(growContext(s.tr, 2), { ...options });
      assert.deepEqual(
        s.model.architecture().layers.map((l) => l.width),
        [widths[0], widths[1], undefined, 3],
      );
      assert.equal(plan.selected.length, 20 - widths[0] + 12 - widths[1]);
      // the pruned ones are each layer's lowest scores
      for (const [id, w] of [
        ['dense_1', 20],
        ['dense_2', 12],
      ] as const) {
        const all = [...plan.selected, ...plan.rejected].filter((c) => c.layer === id).sort((a, b) => a.neuron - b.neuron);
        assert.equal(all.length, w);
        const gone = plan.selected
          .filter((c) => c.layer === id)
          .map((c) => c.neuron)
          .sort((a, b) => a - b);
        assert.deepEqual(
          gone,
          lowest(
            all.map((c) => c.score),
            gone.length,
          ),
        );
      }
    }
  });
}

test('pruneBudget and lowest', () => {
  assert.equal(pruneBudget(20, {}), 2);
  assert.equal(pruneBudget(12, {}), 1);
  assert.equal(pruneBudget(3, {}), 1); // at least one
  assert.equal(pruneBudget(12, { ratio: 0.25 }), 3);
  assert.equal(pruneBudget(12, { neurons: 40 }), 11);
  assert.equal(pruneBudget(1, { neurons: 3 }), 0);
  assert.equal(pruneBudget(8, { neurons: 0 }), 0);
  assert.deepEqual(lowest([3, 1, 2, 1, 5], 3), [1, 2, 3]);
});

test('scores on one minibatch of every example equal the engine gradient w.r.t. a scale on each neuron’s outgoing weights', async () => {
  const { data, model, tr } = await setup(MLP, [6]);
  const n = data.train.n;
  const opts = { scoreBatch: n, batchSize: n, neurons: 0 };
  const taylor = await pruneTaylor.apply(growContext(tr, 1), opts);
  const gn = await pruneGaussNewton.apply(growContext(tr, 1), opts);
  assert.equal(model.architecture().layers[0].width, 20); // neurons: 0 removes nothing
  // dL/dα_i with the consumer's rows of neuron i scaled by α_i (α = 1): Σ ⟨∂L/∂u_i, u_i⟩
  const consumer: Record<string, string> = { dense_1: 'dense_2/W', dense_2: 'output/W' };
  const widths: Record<string, number> = { dense_1: 20, dense_2: 12 };
  const mg = ModelGraph.of(model, (name, base, g) => {
    const id = Object.keys(consumer).find((k) => consumer[k] === name);
    return id ? mul(base(), reshape(g.extra(id, [widths[id]]), [widths[id], 1])) : undefined;
  });
  const f = mg.forward();
  const alphas: Value[] = Object.keys(consumer).map((id) => mg.extra(id, [widths[id]]));
  const [ga, gb] = gradients(f.loss, alphas);
  const all = sampleBatch(data, new Rng(0), n);
  const ones = Object.fromEntries(Object.keys(consumer).map((id) => [id, new Float32Array(widths[id]).fill(1)]));
  const r = (await runOnce(tr.executor, mg.graph, { ga, gb, loss: f.loss }, [mg.feeds(model.tensors, all, ones)]))[0];
  const L = r.loss[0];
  for (const [id, g] of [
    ['dense_1', r.ga],
    ['dense_2', r.gb],
  ] as const) {
    const score = (plan: typeof taylor, i: number) => plan.rejected.find((c) => c.layer === id && c.neuron === i)!.score;
    for (let i = 0; i < widths[id]; i++) {
      const s = -g[i]; // first-order change of the loss when neuron i goes
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1e-3, Math.abs(b));
      assert.ok(close(score(taylor, i), Math.abs(g[i])), `${id}/${i}: taylor ${score(taylor, i)} vs ${Math.abs(g[i])}`);
      // §3.2: ΔL ≈ s + s² / (4 L̂)
      assert.ok(close(score(gn, i), s + (s * s) / (4 * L)), `${id}/${i}: GN ${score(gn, i)} vs ${s + (s * s) / (4 * L)}`);
    }
  }
});
