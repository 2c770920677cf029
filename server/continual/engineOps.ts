/**
 * Small engine helpers for continual learning: named host tensors, training loops and evaluation,
 * all computed as engine graphs run through an executor (OrtExecutor). Plain JS only shuffles
 * indices, copies rows into batches and counts correct predictions.
 */
import type { ContinualLayerInit } from '../../common/protocol';
import {
  Executor, Graph, HostTensor, Value, gradients, hostTensor, mul, optimizerSlots, optimizerStep, reduceSum,
  softmax, softmaxCrossEntropy,
} from '../engine';
import type { OptimizerSettings } from '../engine';
import { Rng } from '../random';

/** A float32 tensor in host memory. */
export interface Tensor { shape: number[]; data: Float32Array }
export type Tensors = Record<string, Tensor>;

export function tensor(shape: number[], data?: Float32Array): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data && data.length !== n) throw new Error(`tensor: ${data.length} values for [${shape.join(', ')}]`);
  return { shape: [...shape], data: data ?? new Float32Array(n) };
}

/** He-normal kernel [fanIn, fanOut] (std √(2/fanIn)); zero bias. */
export function heKernel(rng: Rng, fanIn: number, fanOut: number, scale = 1): Tensor {
  const std = scale * Math.sqrt(2 / Math.max(1, fanIn));
  return tensor([fanIn, fanOut], Float32Array.from({ length: fanIn * fanOut }, () => rng.normal(0, std)));
}

/**
 * How a learner initialises a fresh dense layer:
 * - `uniform`: weights and biases U(−1/√fanIn, 1/√fanIn), torch.nn.Linear's default, which the
 *   reference continual-learning code (van de Ven & Tolias) trains its baselines from;
 * - `he-normal`: weights N(0, (scale·√(2/fanIn))²), zero biases (`scale` < 1 for heads and laterals).
 */
export type LayerInit = ContinualLayerInit;

/** A fresh dense layer: kernel [fanIn, fanOut] and bias [fanOut], drawn from `rng` (kernel first). */
export function denseLayer(rng: Rng, init: LayerInit, fanIn: number, fanOut: number, scale = 1): { W: Tensor; b: Tensor } {
  if (init === 'he-normal') return { W: heKernel(rng, fanIn, fanOut, scale), b: tensor([fanOut]) };
  const a = 1 / Math.sqrt(Math.max(1, fanIn));
  const draw = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-a, a));
  const W = tensor([fanIn, fanOut], draw(fanIn * fanOut));
  return { W, b: tensor([fanOut], draw(fanOut)) };
}

/** A classification split of one task: rows of `features` values, labels 0..classes-1. */
export interface TaskSplit { x: Float32Array; y: Int32Array; n: number }

/** A graph builder: named tensor inputs by name, the batch inputs x [N, F] and y [N, C] (one-hot). */
export interface Builder {
  g: Graph;
  x: Value;
  y: Value;
  /** The named tensor (fixed or trainable) as a graph input. */
  t(name: string): Value;
}

export function makeBuilder(name: string, features: number, classes: number, all: Tensors): Builder {
  const g = new Graph(name);
  const x = g.input('x', 'float32', ['N', features]);
  const y = g.input('y', 'float32', ['N', classes]);
  const made = new Map<string, Value>();
  return {
    g, x, y,
    t(n: string) {
      let v = made.get(n);
      if (!v) {
        const s = all[n];
        if (!s) throw new Error(`internal: no tensor "${n}"`);
        v = g.input(`t:${n}`, 'float32', s.shape);
        made.set(n, v);
      }
      return v;
    },
  };
}

export function feedTensors(g: Graph, all: Tensors): Record<string, HostTensor> {
  const f: Record<string, HostTensor> = {};
  for (const v of g.inputs) {
    if (!v.name.startsWith('t:')) continue;
    const s = all[v.name.slice(2)];
    f[v.name] = { dtype: 'float32', shape: s.shape, data: s.data };
  }
  return f;
}

function batchOf(split: TaskSplit, idx: ArrayLike<number>, from: number, to: number, features: number, classes: number): { x: HostTensor; y: HostTensor } {
  const n = to - from;
  const x = new Float32Array(n * features);
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    const r = idx[from + i];
    x.set(split.x.subarray(r * features, (r + 1) * features), i * features);
    y[i * classes + split.y[r]] = 1;
  }
  return { x: hostTensor('float32', [n, features], x), y: hostTensor('float32', [n, classes], y) };
}

export const ADAM: OptimizerSettings = { name: 'adam', momentum: 0, nesterov: false, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/** What a run hooks into training: pause/stop between batches, and each epoch's mean loss. */
export interface TrainHooks {
  /** Awaited before every batch; true stops training (trainTensors throws ContinualStopped). */
  control?: () => Promise<boolean>;
  onEpochLoss?: (loss: number) => void;
}

/** Thrown out of a learner when its run's control asked to stop. */
export class ContinualStopped extends Error {
  constructor() {
    super('stopped by request');
  }
}

/**
 * An optimiser kept from one trainTensors call to the next (one torch.optim.Adam created once and
 * stepped through every task): each parameter's slots (`slot:param`) and its own step count, which
 * Adam's bias correction uses; a parameter seen for the first time starts with zero slots at step 1.
 */
export interface OptimizerState { slots: Tensors; steps: Record<string, number> }

export function newOptimizerState(): OptimizerState {
  return { slots: {}, steps: {} };
}

export interface TrainOptions extends TrainHooks {
  epochs: number; batchSize: number; learningRate: number; rng: Rng; optimizer?: OptimizerSettings;
  /** The optimiser to continue (read at the start, updated after every step); absent: a fresh one. */
  state?: OptimizerState;
  /**
   * Train for exactly this many minibatches instead of `epochs` passes: full batches only, reshuffled
   * after every pass (a torch DataLoader with drop_last, as the reference code's 2,000 iterations).
   */
  iterations?: number;
}

/**
 * Trains the tensors named in `wrt` (updated in place in `params`) on `loss(builder)`: one graph per
 * step holds the loss, its gradients and the optimiser update; every other tensor is fed unchanged
 * (frozen). Returns the mean loss of the last epoch.
 */
export async function trainTensors(
  executor: Executor, params: Tensors, wrt: string[], split: TaskSplit, features: number, classes: number,
  loss: (b: Builder) => Value, opts: TrainOptions,
): Promise<number> {
  if (wrt.length === 0 || (opts.iterations === undefined ? opts.epochs <= 0 : opts.iterations <= 0)) return NaN;
  if (opts.iterations !== undefined && split.n < opts.batchSize) {
    throw new Error(`trainTensors: ${split.n} examples make no full batch of ${opts.batchSize} (iterations drop the last incomplete batch)`);
  }
  const o = opts.optimizer ?? ADAM;
  for (const n of wrt) for (const s of optimizerSlots(o)) {
    const kept = opts.state?.slots[`${s}:${n}`];
    if (kept && kept.shape.join() !== params[n].shape.join()) {
      throw new Error(`trainTensors: the kept optimiser slot ${s} of ${n} is [${kept.shape.join(', ')}], the tensor is [${params[n].shape.join(', ')}]`);
    }
  }
  const b = makeBuilder('cl-train', features, classes, params);
  const lr = b.g.input('lr', 'float32', []);
  const L = loss(b);
  const ws = wrt.map((n) => b.t(n));
  const grads = gradients(L, ws);
  const slotNames = optimizerSlots(o);
  const slots: Tensors = {};
  // Steps taken so far per parameter (each is fed its own t for Adam's bias correction).
  const done: Record<string, number> = {};
  const outputs: Record<string, Value> = { loss: L };
  wrt.forEach((n, i) => {
    done[n] = opts.state?.steps[n] ?? 0;
    const sv = slotNames.map((s) => {
      slots[`${s}:${n}`] = opts.state?.slots[`${s}:${n}`] ?? tensor(params[n].shape);
      return b.g.input(`slot:${s}:${n}`, 'float32', params[n].shape);
    });
    const step = b.g.input(`step:${n}`, 'float32', []);
    const r = optimizerStep(o, { param: ws[i], grad: grads[i], slots: sv }, lr, step);
    outputs[`p:${n}`] = r.param;
    r.slots.forEach((v, k) => (outputs[`newslot:${slotNames[k]}:${n}`] = v));
  });
  const c = await executor.compile(b.g, outputs);
  let last = NaN;
  try {
    const byIterations = opts.iterations !== undefined;
    // Examples a pass covers: all (epochs), or the full batches only (iterations, drop_last).
    const passEnd = byIterations ? split.n - (split.n % opts.batchSize) : split.n;
    let taken = 0;
    for (let e = 0; byIterations ? taken < opts.iterations! : e < opts.epochs; e++) {
      const order = opts.rng.permutation(split.n);
      let sum = 0;
      let count = 0;
      for (let from = 0; from < passEnd && !(byIterations && taken >= opts.iterations!); from += opts.batchSize) {
        if (opts.control && (await opts.control())) throw new ContinualStopped();
        taken++;
        const to = Math.min(split.n, from + opts.batchSize);
        const batch = batchOf(split, order, from, to, features, classes);
        const feeds = feedTensors(b.g, params);
        for (const [k, v] of Object.entries(slots)) feeds[`slot:${k}`] = { dtype: 'float32', shape: v.shape, data: v.data };
        feeds.x = batch.x;
        feeds.y = batch.y;
        feeds.lr = hostTensor('float32', [], [opts.learningRate]);
        for (const n of wrt) feeds[`step:${n}`] = hostTensor('float32', [], [++done[n]]);
        const r = await c.run(feeds);
        for (const n of wrt) params[n] = { shape: params[n].shape, data: Float32Array.from(r[`p:${n}`].data as Float32Array) };
        for (const k of Object.keys(slots)) slots[k] = { shape: slots[k].shape, data: Float32Array.from(r[`newslot:${k}`].data as Float32Array) };
        if (opts.state) {
          Object.assign(opts.state.slots, slots);
          Object.assign(opts.state.steps, done);
        }
        sum += (r.loss.data as Float32Array)[0] * (to - from);
        count += to - from;
      }
      last = sum / count;
      opts.onEpochLoss?.(last);
    }
  } finally {
    await c.dispose();
  }
  return last;
}

/** Runs `out(builder)` (e.g. logits [N, C]) over a split in batches; returns the rows concatenated. */
export async function evaluateOutputs(
  executor: Executor, params: Tensors, split: TaskSplit, features: number, classes: number,
  out: (b: Builder) => Value, batchSize = 500,
): Promise<Float32Array> {
  const b = makeBuilder('cl-eval', features, classes, params);
  const o = out(b);
  const c = await executor.compile(b.g, { out: o });
  const rows: Float32Array[] = [];
  try {
    const idx = Int32Array.from({ length: split.n }, (_, i) => i);
    for (let from = 0; from < split.n; from += batchSize) {
      const to = Math.min(split.n, from + batchSize);
      const batch = batchOf(split, idx, from, to, features, classes);
      const feeds = feedTensors(b.g, params);
      feeds.x = batch.x;
      feeds.y = batch.y;
      const r = await c.run(feeds);
      rows.push(Float32Array.from(r.out.data as Float32Array));
    }
  } finally {
    await c.dispose();
  }
  const all = new Float32Array(rows.reduce((a, r) => a + r.length, 0));
  let k = 0;
  for (const r of rows) {
    all.set(r, k);
    k += r.length;
  }
  return all;
}

/** Share of rows whose arg-max logit is the label (bookkeeping on the engine's outputs). */
export function accuracyOf(logits: Float32Array, y: Int32Array, classes: number): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    if (best === y[i]) ok++;
  }
  return y.length ? ok / y.length : 0;
}

export async function accuracy(
  executor: Executor, params: Tensors, split: TaskSplit, features: number, classes: number, out: (b: Builder) => Value,
): Promise<number> {
  return accuracyOf(await evaluateOutputs(executor, params, split, features, classes, out), split.y, classes);
}

/** Cross-entropy of logits against the one-hot batch targets. */
export function ceLoss(b: Builder, logits: Value): Value {
  return softmaxCrossEntropy(logits, b.y);
}

/**
 * The diagonal Fisher information of a classifier with respect to `wrt`, from examples run one at a
 * time (batch size 1), averaged over the first `maxExamples`:
 * - `exact`: Σ_c p(c|x) (∂ log p(c|x)/∂θ)², the expectation over the model's own predictive
 *   distribution (the Fisher of Kirkpatrick et al. 2017; "EXACT" in van de Ven's ICLR 2025 blog post);
 * - `empirical`: (∂ log p(y|x)/∂θ)² at the true label y only; with two classes it is (1 − p_y)/p_y
 *   times the exact one per example, so on a well-fit task the same λ regularises far less.
 */
export async function fisherDiagonal(
  executor: Executor, params: Tensors, wrt: string[], split: TaskSplit, features: number, classes: number,
  logits: (b: Builder) => Value, maxExamples: number, kind: 'exact' | 'empirical' = 'exact',
): Promise<Tensors> {
  const b = makeBuilder('cl-fisher', features, classes, params);
  const z = logits(b);
  const grads = gradients(ceLoss(b, z), wrt.map((n) => b.t(n)));
  const outputs: Record<string, Value> = { p: softmax(z) };
  wrt.forEach((n, i) => (outputs[n] = mul(grads[i], grads[i])));
  const c = await executor.compile(b.g, outputs);
  const acc: Tensors = {};
  for (const n of wrt) acc[n] = tensor(params[n].shape);
  const m = Math.min(maxExamples, split.n);
  const accumulate = (r: Record<string, HostTensor>, weight: number) => {
    for (const n of wrt) {
      const d = r[n].data as Float32Array;
      const a = acc[n].data;
      for (let k = 0; k < a.length; k++) a[k] += (weight * d[k]) / m;
    }
  };
  try {
    const idx = Int32Array.from({ length: split.n }, (_, i) => i);
    for (let i = 0; i < m; i++) {
      const batch = batchOf(split, idx, i, i + 1, features, classes);
      const feeds = feedTensors(b.g, params);
      feeds.x = batch.x;
      if (kind === 'empirical') {
        feeds.y = batch.y;
        accumulate(await c.run(feeds), 1);
        continue;
      }
      for (let k = 0; k < classes; k++) {
        const y = new Float32Array(classes);
        y[k] = 1;
        feeds.y = hostTensor('float32', [1, classes], y);
        const r = await c.run(feeds);
        accumulate(r, (r.p.data as Float32Array)[k]);
      }
    }
  } finally {
    await c.dispose();
  }
  return acc;
}

/** Σ over a tensor's elements (graph). */
export function sumAll(v: Value): Value {
  return reduceSum(v, v.shape.map((_, i) => i));
}
