import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostTensor, OrtExecutor, hostTensor } from '../../server/engine';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig } from '../../server/model/spec';
import { ACTIVATIONS, type LayerConfig, type TrainingConfig } from '../../common/protocol';
import { Rng } from '../../server/random';
import type { Dataset } from '../../server/datasets/types';
import { Trainer } from '../../server/trainer/trainer';
import { growContext } from '../../server/growth/context';
import { ModelGraph, runOnce } from '../../server/growth/modelGraph';
import { jacobiEigen, lanczosSmallest, smallestEigenpair, tridiagonalEigen } from '../../server/growth/eigen';
import { forEachSplittingMatrix, splitIngredients, splitScores, splitting } from '../../server/growth/splitting';
import type { GrowContext } from '../../server/growth/types';
import { trainingConfig, randomDataset } from './fixtures';

// ---- eigen-solver ------------------------------------------------------------------------------

function randomSymmetric(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

/** max |V Λ Vᵀ − A| and max |V Vᵀ − I| (eigenvectors stored one per row). */
function decompositionErrors(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): { recon: number; ortho: number } {
  let recon = 0,
    ortho = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0,
        o = 0;
      for (let k = 0; k < n; k++) {
        s += vectors[k * n + i] * values[k] * vectors[k * n + j];
        o += vectors[i * n + k] * vectors[j * n + k];
      }
      recon = Math.max(recon, Math.abs(s - a[i * n + j]));
      ortho = Math.max(ortho, Math.abs(o - (i === j ? 1 : 0)));
    }
  }
  return { recon, ortho };
}

test('eigen: Jacobi on a diagonal matrix returns its entries sorted, with unit vectors', () => {
  const e = jacobiEigen([3, 0, 0, 0, -1, 0, 0, 0, 2], 3);
  assert.deepEqual([...e.values], [-1, 2, 3]);
  assert.deepEqual([...e.vectors], [0, 1, 0, 0, 0, 1, 1, 0, 0]);
  assert.equal(e.sweeps, 0);
});

test('eigen: 2x2 against the closed form λ = (a+d)/2 ∓ √(((a−d)/2)² + b²)', () => {
  const [a, b, d] = [2, -1.5, -0.5];
  const r = Math.sqrt(((a - d) / 2) ** 2 + b * b);
  const lo = (a + d) / 2 - r,
    hi = (a + d) / 2 + r;
  const e = jacobiEigen([a, b, b, d], 2);
  assert.ok(Math.abs(e.values[0] - lo) < 1e-14 && Math.abs(e.values[1] - hi) < 1e-14, `${[...e.values]} vs ${lo}, ${hi}`);
  // eigenvector of lo ∝ (b, lo − a)
  const v = [b, lo - a],
    nv = Math.hypot(v[0], v[1]);
  const dotp = (e.vectors[0] * v[0] + e.vectors[1] * v[1]) / nv;
  assert.ok(Math.abs(Math.abs(dotp) - 1) < 1e-14, `cos = ${dotp}`);
});

test('eigen: random symmetric 40x40, Jacobi reconstructs A within 1e-9 with orthonormal vectors', () => {
  const n = 40;
  const a = randomSymmetric(n, new Rng(3));
  const e = jacobiEigen(a, n);
  const { recon, ortho } = decompositionErrors(a, n, e.values, e.vectors);
  assert.ok(recon < 1e-9, `reconstruction error ${recon}`);
  assert.ok(ortho < 1e-9, `orthogonality error ${ortho}`);
  for (let i = 1; i < n; i++) assert.ok(e.values[i] >= e.values[i - 1]);
});

test('eigen: implicit QL on a tridiagonal matrix matches Jacobi and reconstructs it', () => {
  const rng = new Rng(4);
  const n = 25;
  const d = Array.from({ length: n }, () => rng.normal()),
    s = Array.from({ length: n - 1 }, () => rng.normal());
  const a = new Float64Array(n * n);
  d.forEach((v, i) => (a[i * n + i] = v));
  s.forEach((v, i) => (a[i * n + i + 1] = a[(i + 1) * n + i] = v));
  const t = tridiagonalEigen(d, s),
    j = jacobiEigen(a, n);
  assert.ok(decompositionErrors(a, n, t.values, t.vectors).recon < 1e-12);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(t.values[i] - j.values[i]) < 1e-12);
});

test('eigen: Lanczos finds the smallest eigenpair of a dense and of a low-rank indefinite matrix', () => {
  const rng = new Rng(5);
  const dense = randomSymmetric(120, rng);
  // A splitting-matrix-like X̃ᵀ diag(c) X̃: rank 40 < d = 150, eigenvalues of both signs and many zeros.
  const d = 150,
    m = 40;
  const x = Array.from({ length: m * d }, () => rng.normal()),
    c = Array.from({ length: m }, () => rng.normal());
  const low = new Float64Array(d * d);
  for (let r = 0; r < m; r++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) low[i * d + j] += c[r] * x[r * d + i] * x[r * d + j];
  for (const [a, n] of [
    [dense, 120],
    [low, d],
  ] as const) {
    const ref = jacobiEigen(a, n).values[0];
    const l = lanczosSmallest(a, n);
    assert.ok(Math.abs(l.value - ref) < 1e-9 * Math.abs(ref), `λ ${l.value} vs ${ref}`);
    // ‖A v − λ v‖ small relative to ‖A‖
    let res = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * l.vector[j];
      res += (s - l.value * l.vector[i]) ** 2;
    }
    assert.ok(Math.sqrt(res) < 1e-6 * Math.abs(ref), `residual ${Math.sqrt(res)}`);
    assert.ok(l.iterations < n, `${l.iterations} Lanczos steps for n = ${n}`);
  }
  assert.equal(smallestEigenpair(dense, 120).method, 'lanczos');
  assert.equal(smallestEigenpair([1, 0, 0, 2], 2).method, 'jacobi');
});

// ---- splitting matrices --------------------------------------------------------------------------

const training = trainingConfig({ learningRate: 0.1 });

function regressionData(x: number[], y: number[]): Dataset {
  const split = () => ({ x: Float32Array.from(x), y: Float32Array.from(y), n: x.length });
  return {
    name: 'csv',
    task: 'regression',
    inputShape: [1],
    numClasses: 0,
    targetSize: 1,
    train: split(),
    test: split(),
    description: 'hand',
  };
}

function contextWith(model: GrowableModel, data: Dataset, ex: OrtExecutor, batch?: { x: HostTensor; y: HostTensor }): GrowContext {
  const ctx = growContext(new Trainer(model, data, training, ex), 1);
  if (batch) ctx.scoringBatch = () => batch;
  return ctx;
}

async function lossOn(model: GrowableModel, ex: OrtExecutor, batch: { x: HostTensor; y: HostTensor }): Promise<number> {
  const mg = ModelGraph.of(model);
  const { loss } = mg.forward();
  const [r] = await runOnce(ex, mg.graph, { loss }, [mg.feeds(model.tensors, batch, {})]);
  return r.loss[0];
}

/**
 * The hand-computed example: 1 input, 2 tanh neurons, 1 linear output, MSE over 2 points.
 *   z_i = w_i x + b_i, h_i = tanh z_i, f = a_1 h_1 + a_2 h_2 + c,  L = ½ Σ_n (f_n − y_n)²
 *   w = (1, −0.5), b = (0.5, 0.2), a = (1, 0.8), c = 0.1; (x, y) = (1, 0) and (−2, 1).
 *   ∂L/∂h_i(n) = (f_n − y_n) a_i  (the mean over 2 points times the square's 2),
 *   σ''(z) = −2 tanh z (1 − tanh² z),  x̃ = (x, 1),  S_i = Σ_n ∂L/∂h_i(n) σ''(z_in) x̃_n x̃_nᵀ.
 * Point 1 (x = 1): z = (1.5, −0.3), tanh z = (0.9051482536, −0.2913126125),
 *   f = 0.9051482536 − 0.8·0.2913126125 + 0.1 = 0.7720981637 = residual r_1;
 *   σ'' = (−0.3271325973, 0.5331818782); coefficients r_1 a_i σ'' = (−0.2525784776, 0.3293349993).
 * Point 2 (x = −2): z = (−1.5, 1.2), tanh z = (−0.9051482536, 0.8336546070),
 *   f = −0.1382245680, r_2 = −1.1382245680; σ'' = (0.3271325973, −0.5085626501);
 *   coefficients = (−0.3723503592, 0.4630868022).
 * S_1 = −0.2525784776 [1 1; 1 1] − 0.3723503592 [4 −2; −2 1] = [−1.7419799146 0.4921222408; 0.4921222408 −0.6249288369]
 * S_2 =  0.3293349993 [1 1; 1 1] + 0.4630868022 [4 −2; −2 1] = [ 2.1816822081 −0.5968386052; −0.5968386052 0.7924218015]
 * λ_min(S_1) = (a+d)/2 − √(((a−d)/2)² + b²) = −1.9278568727, v ∝ (b, λ − a) = (0.9354946456, −0.3533408666);
 * λ_min(S_2) = 0.5712313673 > 0: only neuron 1 (index 0) lowers the loss by splitting.
 */
const HAND = {
  S: [
    [-1.7419799146, 0.4921222408, 0.4921222408, -0.6249288369],
    [2.1816822081, -0.5968386052, -0.5968386052, 0.7924218015],
  ],
  lambda: [-1.9278568727, 0.5712313673],
  v0: [0.9354946456, -0.3533408666],
};

function handModel(): GrowableModel {
  const spec = specFromConfig({ layers: [{ type: 'dense', units: 2, activation: 'tanh' }], init: 'he' }, [1], 'regression', 1);
  const m = GrowableModel.create(spec, 1, ['momentum']);
  m.tensors.set('dense_1/W', Float32Array.of(1, -0.5));
  m.tensors.set('dense_1/b', Float32Array.of(0.5, 0.2));
  m.tensors.set('output/W', Float32Array.of(1, 0.8));
  m.tensors.set('output/b', Float32Array.of(0.1));
  return m;
}
const handBatch = () => ({ x: hostTensor('float32', [2, 1], [1, -2]), y: hostTensor('float32', [2, 1], [0, 1]) });

test('splitting: the matrices, eigenvalues and directions of the hand-computed 2-neuron example', async () => {
  const ex = await OrtExecutor.create();
  const model = handModel();
  const ing = await splitIngredients(ex, model, 'dense_1', handBatch());
  assert.deepEqual([ing.rows, ing.d, ing.width], [2, 2, 2]);
  assert.deepEqual([...ing.x], [1, 1, -2, 1]);
  const seen: number[] = [];
  await forEachSplittingMatrix(ex, ing, [0, 1], (i, s) => {
    seen.push(i);
    s.forEach((v, k) => assert.ok(Math.abs(v - HAND.S[i][k]) < 1e-5, `S_${i + 1}[${k}] = ${v}, expected ${HAND.S[i][k]}`));
  });
  assert.deepEqual(seen, [0, 1]);
  const { scores } = await splitScores(ex, model, 'dense_1', handBatch());
  scores.forEach((s, i) => assert.ok(Math.abs(s.lambda - HAND.lambda[i]) < 1e-5, `λ_${i + 1} = ${s.lambda}`));
  const sign = Math.sign(scores[0].vector[0]);
  scores[0].vector.forEach((v, k) => assert.ok(Math.abs(sign * v - HAND.v0[k]) < 1e-5, `v[${k}] = ${v}`));
  assert.equal(ex.liveSessions(), 0);
});

test('splitting: the method splits only the neuron with λ < 0, along ±ε v, halving its outgoing weight', async () => {
  const ex = await OrtExecutor.create();
  const model = handModel();
  const ctx = contextWith(model, regressionData([1, -2], [0, 1]), ex, handBatch());
  const eps = 0.1;
  const plan = await splitting.apply(ctx, { neurons: 2, epsilon: eps });
  assert.deepEqual(
    plan.selected.map((c) => [c.layer, c.neuron, c.kind]),
    [['dense_1', 0, 'split']],
  );
  assert.ok(Math.abs(plan.selected[0].score - HAND.lambda[0]) < 1e-5);
  assert.deepEqual(
    plan.rejected.map((c) => c.neuron),
    [1],
  );
  assert.deepEqual(plan.diff, [
    {
      id: 'dense_1',
      kept: 1,
      split: [
        { index: 0, parent: 0 },
        { index: 2, parent: 0 },
      ],
      added: [],
      removed: [],
      inserted: false,
    },
  ]);
  const W = model.tensors.get('dense_1/W')!,
    b = model.tensors.get('dense_1/b')!;
  const sign = Math.sign(W[0] - 1); // which copy got +ε v
  const expect = (base: number, k: number, s: number) => base + s * sign * eps * HAND.v0[k];
  assert.ok(Math.abs(W[0] - expect(1, 0, 1)) < 1e-6 && Math.abs(b[0] - expect(0.5, 1, 1)) < 1e-6, `copy 1 (${W[0]}, ${b[0]})`);
  assert.ok(Math.abs(W[2] - expect(1, 0, -1)) < 1e-6 && Math.abs(b[2] - expect(0.5, 1, -1)) < 1e-6, `copy 2 (${W[2]}, ${b[2]})`);
  assert.deepEqual([W[1], b[1]], [Math.fround(-0.5), Math.fround(0.2)]);
  assert.deepEqual([...model.tensors.get('output/W')!], [0.5, Math.fround(0.8), 0.5]);
  // (ε²/2) λ predicts the loss change
  assert.ok(Math.abs((plan.notes!.predictedLossChange as number) - 0.5 * eps * eps * HAND.lambda[0]) < 1e-6);
  await ctx.trainer.dispose();
});

test('splitting: inputs that are zero in every example drop out of S exactly (λ and v unchanged, λ ≥ 0 becomes 0)', async () => {
  const ex = await OrtExecutor.create();
  // The hand example with a second input that is always 0 (its weights must not matter).
  const spec = specFromConfig({ layers: [{ type: 'dense', units: 2, activation: 'tanh' }], init: 'he' }, [2], 'regression', 1);
  const m = GrowableModel.create(spec, 1, []);
  m.tensors.set('dense_1/W', Float32Array.of(1, -0.5, 0.7, 0.3));
  m.tensors.set('dense_1/b', Float32Array.of(0.5, 0.2));
  m.tensors.set('output/W', Float32Array.of(1, 0.8));
  m.tensors.set('output/b', Float32Array.of(0.1));
  const batch = { x: hostTensor('float32', [2, 2], [1, 0, -2, 0]), y: hostTensor('float32', [2, 1], [0, 1]) };
  const ing = await splitIngredients(ex, m, 'dense_1', batch);
  assert.deepEqual([ing.examples, ing.d, ing.fullD, [...ing.columns]], [2, 2, 3, [0, 2]]);
  const { scores } = await splitScores(ex, m, 'dense_1', batch);
  assert.ok(Math.abs(scores[0].lambda - HAND.lambda[0]) < 1e-5);
  const sign = Math.sign(scores[0].vector[0]);
  [HAND.v0[0], 0, HAND.v0[1]].forEach((v, k) =>
    assert.ok(Math.abs(sign * scores[0].vector[k] - v) < 1e-5, `v[${k}] = ${scores[0].vector[k]}`),
  );
  assert.equal(scores[1].lambda, 0); // reduced λ_min = 0.571 > 0, the dropped input gives 0
  assert.deepEqual([...scores[1].vector], [0, 1, 0]);
});

const denseLayers: LayerConfig[] = [
  { type: 'dense', units: 8, activation: 'tanh' },
  { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
  { type: 'dense', units: 6, activation: 'sigmoid' },
  { type: 'dense', units: 5, activation: 'relu' },
];
const convLayers: LayerConfig[] = [
  { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: 'tanh' },
  { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
  // Average pooling: max pooling makes the loss only piecewise smooth in the first layer's θ (the
  // window's argmax switches under an O(ε²) change), and (ε²/2) λ then holds only for tiny ε.
  { type: 'avgpool', size: 2 },
  { type: 'conv2d', filters: 5, kernelSize: 3, stride: 2, padding: 'valid', activation: 'sigmoid' }, // 5x5 → 2x2
  { type: 'flatten' },
  { type: 'dense', units: 6, activation: 'tanh' },
];

async function trainedModel(layers: LayerConfig[], input: number[], ex: OrtExecutor, data: Dataset): Promise<GrowableModel> {
  const spec = specFromConfig({ layers, init: 'he' }, input, 'classification', 3);
  const model = GrowableModel.create(spec, 7, ['momentum']);
  const tr = new Trainer(model, data, training, ex);
  for (let i = 0; i < 4; i++) await tr.step(new Rng(i).permutation(data.train.n), 0, 16);
  await tr.dispose();
  return model;
}

async function outputs(model: GrowableModel, data: Dataset, ex: OrtExecutor): Promise<Float32Array> {
  const tr = new Trainer(model, data, training, ex);
  const y = await tr.predict(hostTensor('float32', [data.test.n, ...data.inputShape], data.test.x));
  await tr.dispose();
  return y;
}
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

for (const [name, layers, input] of [
  ['dense', denseLayers, [5]],
  ['conv', convLayers, [2, 10, 10]],
] as const) {
  test(`splitting (${name}): the loss changes by (ε²/2) Σ λ_min and halving ε quarters the output change`, async (t) => {
    const ex = await OrtExecutor.create();
    const data = randomDataset([...input], 3, 48, 2);
    const base = await trainedModel([...layers], [...input], ex, data);
    const batch = growContext(new Trainer(base, data, training, ex), 9).scoringBatch(48);
    const before = await outputs(base, data, ex);
    const lossBefore = await lossOn(base, ex, batch);
    const change: number[] = [];
    for (const eps of [0.05, 0.025]) {
      const model = base.clone();
      const ctx = contextWith(model, data, ex, batch);
      const plan = await splitting.apply(ctx, { ratio: 0.5, epsilon: eps });
      await ctx.trainer.dispose();
      assert.ok(plan.selected.length > 0 && plan.selected.every((c) => c.score < 0 && c.kind === 'split'));
      assert.deepEqual(
        (plan.notes!.skipped as { layer: string }[] | undefined)?.map((s) => s.layer),
        name === 'dense' ? ['dense_3'] : undefined,
      );
      // the split neurons appear in the diff with their replicas
      for (const d of plan.diff) assert.equal(d.split.length, 2 * plan.selected.filter((c) => c.layer === d.id).length);
      const predicted = plan.notes!.predictedLossChange as number;
      const actual = (await lossOn(model, ex, batch)) - lossBefore;
      assert.ok(
        predicted < 0 && Math.abs(actual - predicted) < 0.05 * Math.abs(predicted),
        `ε = ${eps}: loss change ${actual}, predicted ${predicted}`,
      );
      change.push(maxDiff(before, await outputs(model, data, ex)));
      t.diagnostic(
        `ε = ${eps}: ${plan.selected.length} splits, loss change ${actual.toExponential(4)}, predicted ${predicted.toExponential(4)}, max output change ${change[change.length - 1].toExponential(4)}`,
      );
    }
    const ratio = change[0] / change[1];
    assert.ok(Math.abs(ratio - 4) < 0.5, `output changes ${change}: ratio ${ratio}`);
    // each layer on its own (a conv layer's S sums its output positions: 100 and 4 here)
    for (const id of base.spec.layers
      .filter((l) => (l.type === 'dense' || l.type === 'conv2d') && l.activation !== 'relu')
      .map((l) => l.id)) {
      const model = base.clone();
      const ctx = contextWith(model, data, ex, batch);
      const plan = await splitting.apply(ctx, { layers: [id], ratio: 0.5, epsilon: 0.025 });
      await ctx.trainer.dispose();
      const predicted = plan.notes!.predictedLossChange as number;
      const actual = (await lossOn(model, ex, batch)) - lossBefore;
      t.diagnostic(
        `${id} alone: ${plan.selected.length} splits, loss change ${actual.toExponential(4)}, predicted ${predicted.toExponential(4)}`,
      );
      assert.ok(
        plan.selected.length > 0 && Math.abs(actual - predicted) < 0.05 * Math.abs(predicted),
        `${id}: loss change ${actual}, predicted ${predicted}`,
      );
    }
    assert.equal(ex.liveSessions(), 0);
  });
}

test('splitting: ReLU-only models are unsupported, and ReLU layers are refused by name', async () => {
  const spec = specFromConfig(
    {
      layers: [
        { type: 'dense', units: 4, activation: 'relu' },
        { type: 'dense', units: 4, activation: 'leaky_relu' },
      ] as LayerConfig[],
      init: 'he',
    },
    [3],
    'classification',
    2,
  );
  const model = GrowableModel.create(spec, 1, []);
  assert.match(splitting.unsupported!(model)!, /piecewise-linear.*vanish/);
  const ex = await OrtExecutor.create();
  const smooth = GrowableModel.create(
    specFromConfig(
      {
        layers: [
          { type: 'dense', units: 4, activation: 'tanh' },
          { type: 'dense', units: 4, activation: 'relu' },
        ],
        init: 'he',
      },
      [3],
      'classification',
      2,
    ),
    1,
    [],
  );
  assert.equal(splitting.unsupported!(smooth), undefined);
  const ctx = contextWith(smooth, randomDataset([3], 2, 8, 1), ex);
  await assert.rejects(splitting.apply(ctx, { layers: ['dense_2'] }), /dense_2.*relu.*vanish/);
  await ctx.trainer.dispose();
});

test(
  "splitting: an rbf layer (when the activation exists) splits with σ'' = (t² − 1) exp(−t²/2)",
  { skip: !(ACTIVATIONS as readonly string[]).includes('rbf') && 'no rbf activation in this build' },
  async () => {
    const ex = await OrtExecutor.create();
    const data = randomDataset([4], 3, 32, 3);
    const base = await trainedModel([{ type: 'dense', units: 6, activation: 'rbf' }], [4], ex, data);
    const batch = growContext(new Trainer(base, data, training, ex), 9).scoringBatch(32);
    const lossBefore = await lossOn(base, ex, batch);
    const ctx = contextWith(base, data, ex, batch);
    const plan = await splitting.apply(ctx, { ratio: 0.5, epsilon: 0.05 });
    await ctx.trainer.dispose();
    const predicted = plan.notes!.predictedLossChange as number;
    const actual = (await lossOn(base, ex, batch)) - lossBefore;
    assert.ok(predicted < 0 && Math.abs(actual - predicted) < 0.05 * Math.abs(predicted), `loss change ${actual}, predicted ${predicted}`);
  },
);
