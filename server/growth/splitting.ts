/**
 * Splitting steepest descent (Liu et al. 2019; Firefly paper §2.2 "Splitting Existing Neurons" and
 * its Remark, §3 "Splitting" baseline): the exact, eigen-problem version.
 *
 * For neuron i of a grown layer with parameters θ_i (incoming weights and bias; a conv channel's
 * kernel and bias) the splitting matrix is
 *     S_i = E_x[ g_i(x) σ''(θ_iᵀ x̃) x̃ x̃ᵀ ],   x̃ = [x; 1],
 * g_i = ∂L/∂h_i the cotangent of the neuron's output after its activation (its contribution
 * through every outgoing weight). Splitting θ_i into two copies θ_i ± ε v with half the outgoing
 * weight each changes the loss by (ε²/2) vᵀ S_i v + O(ε⁴) (the first-order terms cancel), so the
 * best split direction is the eigenvector of the smallest eigenvalue λ_min(S_i), and only neurons
 * with λ_min < 0 lower the loss. For a conv channel the same θ acts at every output position, so
 * S_i sums the per-position terms (each position's cotangent is already ∂L of the mean loss):
 * that sum is exactly the second-order loss change of the channel's split (the tests check
 * ΔL ≈ (ε²/2) λ_min on conv and dense layers).
 *
 * ReLU, leaky ReLU and linear layers: σ'' = 0 almost everywhere, so S_i = 0 and no split changes the
 * loss at second order; such layers are skipped (named in the notes), refused when asked for
 * explicitly, and a model without a smooth (tanh, sigmoid, rbf) dense/conv2d layer is unsupported.
 *
 * Everything on tensors runs in the engine: one graph gives, per example (and position), x̃ and
 * c_i = g_i σ''(z_i); a second accumulates S_i = X̃ᵀ diag(c_i) X̃ for a group of neurons as one
 * matrix product, chunked over rows and neurons to bound memory. λ_min and v_min come from the
 * host eigen-solver (eigen.ts: Jacobi for small d, Lanczos for large d).
 *
 * Options (besides ratio / neurons / layers / scoreBatch):
 * - `epsilon` (default 0.01): the split step ‖θ_copy − θ‖ = ε (v is a unit vector). Liu et al.
 *   leave ε as a small step size; 0.01 is the firefly method's ϵ (so firefly-split and splitting move
 *   neurons the same distance) and keeps the expansion valid on image inputs, where ‖x̃‖ ≈ 9 (MNIST):
 *   ε = 0.1 already changed a 784-256-10 tanh MLP's logits by up to 1.1 (measured), 0.01 by ~0.01.
 *   The tests check ΔL ≈ (ε²/2) Σ λ_min and that halving ε quarters the function change.
 * - `scoreBatch` (default 256): examples averaged in S_i.
 */
import {
  Graph,
  HostTensor,
  Value,
  add,
  concat,
  conv,
  exp,
  expandAs,
  gradients,
  hostTensor,
  matmul,
  mul,
  reshape,
  sigmoid,
  slice,
  sub,
  tanh,
  transpose,
} from '../engine';
import type { Executor } from '../engine';
import type { LayerDiff } from '../../common/protocol';
import type { GrowableModel } from '../model/growable';
import { LayerSpec, flatSize, samePads } from '../model/spec';
import { OUTPUT_SUFFIX } from '../model/widthEdits';
import { diffFromSources, neuronBudget, topK } from './diff';
import { EigenPair, smallestEigenpair } from './eigen';
import { ModelGraph, runOnce } from './modelGraph';
import { registerMethod } from './registry';
import { Candidate, GrowContext, GrowOptions, GrowthError, GrowthMethod } from './types';

export const SPLIT_EPSILON = 0.01;
export const SPLIT_SCORE_BATCH = 256;
/** Largest engine intermediate (floats) a chunk of the S computation may produce: 32 MiB. */
const FLOAT_BUDGET = 8 * 2 ** 20;
/** Largest x̃ and c kept on the host for one layer (floats): 128 MiB; fewer examples are used above it. */
const HOST_BUDGET = 32 * 2 ** 20;

type Batch = { x: HostTensor; y: HostTensor };

/** σ''(z) as engine ops, or undefined where it vanishes almost everywhere (piecewise-linear). */
export function activationSecondDerivative(z: Value, activation: string): Value | undefined {
  switch (activation) {
    case 'tanh': {
      const t = tanh(z); // σ'' = −2 t (1 − t²) = 2 t (t² − 1)
      return mul(mul(t, 2), sub(mul(t, t), 1));
    }
    case 'sigmoid': {
      const s = sigmoid(z); // σ'' = s (1 − s)(1 − 2s) = s (s − 1)(2s − 1)
      return mul(mul(s, sub(s, 1)), sub(mul(s, 2), 1));
    }
    case 'rbf': {
      const z2 = mul(z, z); // σ = exp(−t²/2): σ'' = (t² − 1) exp(−t²/2)
      return mul(sub(z2, 1), exp(mul(z2, -0.5)));
    }
    default:
      return undefined;
  }
}

const SMOOTH = new Set(['tanh', 'sigmoid', 'rbf']);

/** Why splitting cannot use this layer, or undefined when it can. */
export function splitUnsupportedReason(layer: LayerSpec): string | undefined {
  if (layer.type !== 'dense' && layer.type !== 'conv2d')
    return `layer "${layer.id}" is ${layer.type}; splitting grows dense and conv2d layers`;
  if (layer.type === 'conv2d' && (layer.batchNorm || (layer.groups ?? 1) > 1))
    return `layer "${layer.id}" is a conv2d with ${layer.batchNorm ? 'batchNorm' : `groups ${layer.groups}`}: splitting's matrices need σ(Wx + b) of the layer's own inputs`;
  if (!SMOOTH.has(layer.activation)) {
    return `layer "${layer.id}" uses ${layer.activation}: σ'' = 0 almost everywhere, so its splitting matrices vanish and no split lowers the loss at second order (Liu et al. 2019 need a smooth activation: tanh, sigmoid or rbf)`;
  }
  return undefined;
}

/**
 * Per-example (per-position) inputs x̃ [rows, d] and coefficients c = g ⊙ σ''(z) [rows, width] of one
 * layer. Inputs that are zero in every row (MNIST's border pixels: 224 of 784 in 256 examples) give
 * zero rows and columns of every S_i, decoupled with eigenvalue 0, so they are left out: x̃ keeps
 * the `columns` (of the neuron's `fullD` parameters) that are non-zero somewhere.
 */
export interface SplitIngredients {
  layer: string;
  /** Examples used: the batch, or its first ones where x̃ and c would exceed 128 MiB (large conv layers). */
  examples: number;
  rows: number;
  d: number;
  fullD: number;
  columns: Int32Array;
  width: number;
  x: Float32Array;
  c: Float32Array;
}

/** Drop the columns of x [rows, d] that are zero in every row. */
function activeColumns(x: Float32Array, rows: number, d: number): { columns: Int32Array; x: Float32Array } {
  const used = new Uint8Array(d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) if (x[r * d + j] !== 0) used[j] = 1;
  const columns = Int32Array.from(Array.from(used.keys()).filter((j) => used[j]));
  if (columns.length === d) return { columns, x };
  const out = new Float32Array(rows * columns.length);
  for (let r = 0; r < rows; r++) columns.forEach((j, k) => (out[r * columns.length + k] = x[r * d + j]));
  return { columns, x: out };
}

function ingredientGraph(
  model: GrowableModel,
  index: number,
): { mg: ModelGraph; outputs: Record<string, Value>; rowsPerExample: number; d: number; width: number } {
  const layer = model.spec.layers[index];
  if (layer.type !== 'dense' && layer.type !== 'conv2d') throw new GrowthError(splitUnsupportedReason(layer)!);
  const mg = ModelGraph.of(model);
  const g = mg.graph;
  const fwd = mg.forward();
  const inp = index === 0 ? mg.x : fwd.layerOutputs[index - 1];
  const h = fwd.layerOutputs[index];
  const [gh] = gradients(fwd.loss, [h]);
  const scale = mg.extra('scale', []);
  const W = mg.w(`${layer.id}/W`),
    b = mg.w(`${layer.id}/b`);
  const one = (rank: number) => g.constant(hostTensor('float32', new Array(rank).fill(1), [1]));
  if (layer.type === 'dense') {
    const flat = inp.rank === 2 ? inp : reshape(inp, ['N', flatSize(inp.shape.slice(1) as number[])]);
    const z = add(matmul(flat, W), b);
    const s2 = activationSecondDerivative(z, layer.activation);
    if (!s2) throw new GrowthError(splitUnsupportedReason(layer)!);
    const ones = expandAs(one(2), slice(flat, [0], [1], [1]));
    const xt = concat([flat, ones], 1);
    return { mg, outputs: { xtilde: xt, coef: mul(mul(gh, s2), scale) }, rowsPerExample: 1, d: xt.shape[1] as number, width: layer.units };
  }
  // conv2d: the patches under the kernel by a convolution with a one-hot kernel (exact, any stride
  // and padding), in the kernel's (c, i, j) order; one row per example and output position.
  const [C] = inp.shape.slice(1) as number[];
  const k = layer.kernelSize;
  const [pb, pe] = layer.padding === 'same' ? samePads(k) : [0, 0];
  const attrs = { strides: [layer.stride, layer.stride], pads: [pb, pb, pe, pe] };
  const ck = C * k * k;
  const eye = new Float32Array(ck * ck);
  for (let m = 0; m < ck; m++) eye[m * ck + m] = 1; // eye[m, c, i, j] = 1 where m = (c·k + i)·k + j
  const patches = conv(inp, g.constant(hostTensor('float32', [ck, C, k, k], eye)), attrs); // [N, C·k·k, OH, OW]
  const [oh, ow] = patches.shape.slice(2) as number[];
  const z = add(conv(inp, W, attrs), reshape(b, [1, layer.filters, 1, 1]));
  const s2 = activationSecondDerivative(z, layer.activation);
  if (!s2) throw new GrowthError(splitUnsupportedReason(layer)!);
  const cols = transpose(patches, [0, 2, 3, 1]); // [N, OH, OW, C·k·k]
  const ones = expandAs(one(4), slice(cols, [0], [1], [3]));
  const xt = reshape(concat([cols, ones], 3), ['N', oh * ow, ck + 1]);
  const c = reshape(transpose(mul(mul(gh, s2), scale), [0, 2, 3, 1]), ['N', oh * ow, layer.filters]);
  return { mg, outputs: { xtilde: xt, coef: c }, rowsPerExample: oh * ow, d: ck + 1, width: layer.filters };
}

function sliceBatch(batch: Batch, start: number, end: number): Batch {
  const part = (t: HostTensor): HostTensor => {
    const per = flatSize(t.shape.slice(1));
    return { dtype: t.dtype, shape: [end - start, ...t.shape.slice(1)], data: (t.data as Float32Array).subarray(start * per, end * per) };
  };
  return { x: part(batch.x), y: part(batch.y) };
}

/** x̃ and c = g ⊙ σ''(z) of every example (and position) of the batch, through the engine, chunked over the batch. */
export async function splitIngredients(executor: Executor, model: GrowableModel, layerId: string, batch: Batch): Promise<SplitIngredients> {
  const { index } = model.layer(layerId);
  const { mg, outputs, rowsPerExample, d, width } = ingredientGraph(model, index);
  const n = Math.max(1, Math.min(batch.x.shape[0], Math.floor(HOST_BUDGET / (rowsPerExample * (d + width)))));
  const perExample = rowsPerExample * (d + width) * 4; // x̃, c and a few same-size intermediates
  const chunk = Math.max(1, Math.min(n, Math.floor(FLOAT_BUDGET / perExample)));
  const feedSets: Record<string, HostTensor>[] = [];
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    // The graph's loss is the mean over the chunk: scale its cotangents to the mean over the batch.
    feedSets.push(mg.feeds(model.tensors, sliceBatch(batch, s, e), { scale: Float32Array.of((e - s) / n) }));
  }
  const results = await runOnce(executor, mg.graph, outputs, feedSets);
  const rows = n * rowsPerExample;
  const x = new Float32Array(rows * d),
    c = new Float32Array(rows * width);
  let r = 0;
  for (const res of results) {
    x.set(res.xtilde, r * d);
    c.set(res.coef, r * width);
    r += res.xtilde.length / d;
  }
  const active = activeColumns(x, rows, d);
  return { layer: layerId, examples: n, rows, d: active.columns.length, fullD: d, columns: active.columns, width, x: active.x, c };
}

/** S = S0 + X̃ᵀ diag(c_m) X̃ for a group of G neurons at once: one [G·d, rows] x [rows, d] product. */
function matrixGraph(d: number, group: number): { graph: Graph; outputs: Record<string, Value> } {
  const graph = new Graph('splitting_matrices');
  const x = graph.input('x', 'float32', ['N', d]);
  const c = graph.input('c', 'float32', ['N', group]);
  const s0 = graph.input('s0', 'float32', [group * d, d]);
  const scaled = reshape(mul(reshape(c, ['N', group, 1]), reshape(x, ['N', 1, d])), ['N', group * d]);
  return { graph, outputs: { s: add(s0, matmul(transpose(scaled, [1, 0]), x)) } };
}

/**
 * Splitting matrices of the given neurons, `perGroup` at a time: calls `each(neuron, S)` with S a
 * d x d row-major view valid during the call (the group's buffer is reused).
 */
export async function forEachSplittingMatrix(
  executor: Executor,
  ing: SplitIngredients,
  neurons: readonly number[],
  each: (neuron: number, s: Float32Array) => void,
): Promise<void> {
  const { d, rows, width } = ing;
  const group = Math.max(1, Math.min(neurons.length, Math.floor(FLOAT_BUDGET / (d * d))));
  const rowChunk = Math.max(1, Math.min(rows, Math.floor(FLOAT_BUDGET / (group * d))));
  const { graph, outputs } = matrixGraph(d, group);
  const compiled = await executor.compile(graph, outputs);
  try {
    for (let g0 = 0; g0 < neurons.length; g0 += group) {
      const members = neurons.slice(g0, g0 + group);
      let s: Float32Array = new Float32Array(group * d * d);
      for (let r0 = 0; r0 < rows; r0 += rowChunk) {
        const r1 = Math.min(rows, r0 + rowChunk);
        const cc = new Float32Array((r1 - r0) * group); // columns of the group (zero-padded)
        for (let r = r0; r < r1; r++) members.forEach((m, j) => (cc[(r - r0) * group + j] = ing.c[r * width + m]));
        const out = await compiled.run({
          x: { dtype: 'float32', shape: [r1 - r0, d], data: ing.x.subarray(r0 * d, r1 * d) },
          c: { dtype: 'float32', shape: [r1 - r0, group], data: cc },
          s0: { dtype: 'float32', shape: [group * d, d], data: s },
        });
        s = out.s.data as Float32Array;
      }
      members.forEach((m, j) => each(m, s.subarray(j * d * d, (j + 1) * d * d)));
    }
  } finally {
    await compiled.dispose();
  }
}

export interface NeuronSplitScore {
  layer: string;
  neuron: number;
  /** λ_min(S_i). */
  lambda: number;
  /** Its unit eigenvector over [incoming weights..., bias] (conv: kernel in (c, i, j) order, then bias). */
  vector: Float64Array;
  eigen: Pick<EigenPair, 'method' | 'iterations' | 'residual'>;
}

export interface LayerSplitScores {
  scores: NeuronSplitScore[];
  /** Examples in S (see SplitIngredients.examples) and the parameters left after dropping all-zero inputs. */
  examples: number;
  d: number;
  ingredientsMs: number;
  matricesMs: number;
  eigenMs: number;
}

/** λ_min and v_min of every neuron's splitting matrix in one layer. */
export async function splitScores(executor: Executor, model: GrowableModel, layerId: string, batch: Batch): Promise<LayerSplitScores> {
  const t0 = performance.now();
  const ing = await splitIngredients(executor, model, layerId, batch);
  const t1 = performance.now();
  const scores: NeuronSplitScore[] = [];
  let eigenMs = 0;
  const dropped = ing.fullD - ing.d;
  await forEachSplittingMatrix(
    executor,
    ing,
    Array.from({ length: ing.width }, (_, i) => i),
    (neuron, s) => {
      const e0 = performance.now();
      const e = smallestEigenpair(s, ing.d);
      eigenMs += performance.now() - e0;
      const vector = new Float64Array(ing.fullD);
      let lambda = e.value;
      if (dropped > 0 && lambda > 0) {
        // the dropped coordinates carry eigenvalue 0 < λ: λ_min = 0 along the first of them
        lambda = 0;
        const kept = new Set(ing.columns);
        let first = 0;
        while (kept.has(first)) first++;
        vector[first] = 1;
      } else {
        ing.columns.forEach((c, k) => (vector[c] = e.vector[k]));
      }
      scores.push({ layer: layerId, neuron, lambda, vector, eigen: { method: e.method, iterations: e.iterations, residual: e.residual } });
    },
  );
  const t2 = performance.now();
  return { scores, examples: ing.examples, d: ing.d, ingredientsMs: t1 - t0, matricesMs: t2 - t1 - eigenMs, eigenMs };
}

/**
 * Commit splits in one layer: every listed neuron p gets a replica q (splitNeurons halves both
 * copies' outgoing weights, so the function is kept), then θ_p += ε v and θ_q −= ε v. Returns the
 * layer's diff (each split neuron and its replica listed with parent p).
 */
export function commitSplits(
  model: GrowableModel,
  layerId: string,
  splits: { neuron: number; vector: ArrayLike<number> }[],
  epsilon: number,
  seed: number,
): LayerDiff {
  const { layer } = model.layer(layerId);
  if (layer.type !== 'dense' && layer.type !== 'conv2d') throw new GrowthError(splitUnsupportedReason(layer)!);
  const width = layer.type === 'dense' ? layer.units : layer.filters;
  const sources = [...Array.from({ length: width }, (_, i) => i), ...splits.map((s) => s.neuron)];
  model.splitNeurons(layerId, sources, seed);
  const W = model.tensors.get(`${layerId}/W`)!,
    b = model.tensors.get(`${layerId}/b`)!;
  const total = sources.length;
  const fanIn = W.length / total;
  splits.forEach((sp, k) => {
    if (sp.vector.length !== fanIn + 1)
      throw new GrowthError(
        `split direction of ${layerId}:${sp.neuron} has ${sp.vector.length} entries, the neuron has ${fanIn + 1} parameters`,
      );
    const copy = width + k;
    for (const [j, sign] of [
      [sp.neuron, 1],
      [copy, -1],
    ] as const) {
      for (let a = 0; a < fanIn; a++) {
        // dense W [in, out]: column j; conv W [O, C, k, k]: block j
        const at = layer.type === 'dense' ? a * total + j : j * fanIn + a;
        W[at] += sign * epsilon * sp.vector[a];
      }
      b[j] += sign * epsilon * sp.vector[fanIn];
    }
  });
  return diffFromSources(layerId, width, sources);
}

function numberOption(options: GrowOptions, key: string, fallback: number, check: (v: number) => boolean, what: string): number {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v))
    throw new GrowthError(`splitting: option ${key} must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

/** The layers to score: named ones (each must be splittable) or every smooth dense/conv2d layer. */
function chooseLayers(model: GrowableModel, options: GrowOptions): { layers: string[]; skipped: { layer: string; reason: string }[] } {
  if (options.layers) {
    for (const id of options.layers) {
      if (id.endsWith(OUTPUT_SUFFIX) && model.spec.layers.some((x) => x.type === 'resblock' && `${x.id}${OUTPUT_SUFFIX}` === id))
        throw new GrowthError(
          `splitting: "${id}" is a resblock's output channels; a resblock's convs are relu (σ'' = 0, so every splitting matrix vanishes): widen it with net2net-wider or firefly`,
        );
      const reason = splitUnsupportedReason(model.layer(id).layer);
      if (reason) throw new GrowthError(`splitting: ${reason}`);
    }
    return { layers: [...options.layers], skipped: [] };
  }
  const layers: string[] = [],
    skipped: { layer: string; reason: string }[] = [];
  for (const l of model.spec.layers) {
    if (l.type !== 'dense' && l.type !== 'conv2d') continue;
    const reason = splitUnsupportedReason(l);
    if (reason) skipped.push({ layer: l.id, reason });
    else layers.push(l.id);
  }
  return { layers, skipped };
}

export const splitting: GrowthMethod = registerMethod({
  name: 'splitting',
  kind: 'grow',
  description:
    'Splitting steepest descent (Liu et al. 2019): split the neurons whose splitting matrix has the most negative eigenvalue, along its eigenvector',
  unsupported(model) {
    const hidden = model.spec.layers.filter((l) => l.type === 'dense' || l.type === 'conv2d');
    if (hidden.length === 0) return 'the model has no hidden dense or conv2d layer to split';
    if (hidden.every((l) => splitUnsupportedReason(l))) {
      return "every hidden dense/conv2d layer uses a piecewise-linear activation (relu, leaky_relu, linear): σ'' = 0, so all splitting matrices vanish (Liu et al. 2019 need tanh, sigmoid or rbf)";
    }
    return undefined;
  },
  async apply(ctx: GrowContext, options: GrowOptions) {
    const epsilon = numberOption(options, 'epsilon', SPLIT_EPSILON, (v) => v > 0, 'a positive number');
    const scoreBatch = Math.floor(numberOption(options, 'scoreBatch', SPLIT_SCORE_BATCH, (v) => v >= 1, 'at least 1'));
    const { model } = ctx;
    const { layers, skipped } = chooseLayers(model, options);
    if (layers.length === 0) throw new GrowthError(`splitting: no layer to split (${skipped.map((s) => s.reason).join('; ')})`);
    const batch = ctx.scoringBatch(scoreBatch);
    const all: NeuronSplitScore[] = [];
    let ingredientsMs = 0,
      matricesMs = 0,
      eigenMs = 0,
      maxIterations = 0,
      maxResidual = 0;
    const sizes: Record<string, { examples: number; d: number }> = {};
    for (const id of layers) {
      const r = await splitScores(ctx.executor, model, id, batch);
      sizes[id] = { examples: r.examples, d: r.d };
      all.push(...r.scores);
      ingredientsMs += r.ingredientsMs;
      matricesMs += r.matricesMs;
      eigenMs += r.eigenMs;
      for (const s of r.scores) {
        maxIterations = Math.max(maxIterations, s.eigen.iterations);
        maxResidual = Math.max(maxResidual, s.eigen.residual);
      }
    }
    const total = layers.reduce((a, id) => a + widthOf(model, id), 0);
    const budget = neuronBudget(total, options);
    // Only λ_min < 0 lowers the loss; the most negative first (Liu et al. 2019).
    const negative = all.filter((s) => s.lambda < 0);
    const { selected, rejected } = topK(negative, budget, (s) => -s.lambda);
    const chosen = new Set(selected);
    const toCandidate = (s: NeuronSplitScore): Candidate => ({ layer: s.layer, neuron: s.neuron, score: s.lambda, kind: 'split' });
    // Commit the deepest layer first: a shallower split then copies (and halves) the deeper
    // layer's already perturbed fan-in rows, which keeps every direction in its own coordinates.
    const seed = ctx.rng.int(2 ** 31);
    const diffs = new Map<string, LayerDiff>();
    for (const id of [...layers].sort((a, b) => model.layer(b).index - model.layer(a).index)) {
      const here = selected.filter((s) => s.layer === id).sort((a, b) => a.neuron - b.neuron);
      if (here.length === 0) {
        const w = widthOf(model, id);
        diffs.set(
          id,
          diffFromSources(
            id,
            w,
            Array.from({ length: w }, (_, i) => i),
          ),
        );
        continue;
      }
      diffs.set(
        id,
        commitSplits(
          model,
          id,
          here.map((s) => ({ neuron: s.neuron, vector: s.vector })),
          epsilon,
          seed + model.layer(id).index,
        ),
      );
    }
    return {
      diff: layers.map((id) => diffs.get(id)!),
      selected: selected.map(toCandidate),
      rejected: [...rejected, ...all.filter((s) => s.lambda >= 0 && !chosen.has(s))].map(toCandidate),
      notes: {
        epsilon,
        scoreBatch: batch.x.shape[0],
        budget,
        negative: negative.length,
        // Liu et al. 2019: each split changes the loss by (ε²/2) λ_min + O(ε⁴).
        predictedLossChange: selected.reduce((a, s) => a + 0.5 * epsilon * epsilon * s.lambda, 0),
        eigen: { maxIterations, maxResidual },
        matrices: sizes,
        timingsMs: { ingredients: Math.round(ingredientsMs), matrices: Math.round(matricesMs), eigen: Math.round(eigenMs) },
        ...(skipped.length ? { skipped } : {}),
      },
    };
  },
});

function widthOf(model: GrowableModel, id: string): number {
  const { layer } = model.layer(id);
  return layer.type === 'conv2d' ? layer.filters : (layer as { units: number }).units;
}
