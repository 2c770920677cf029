/**
 * Training, evaluation and Fisher information of the continual learners' graphs on the main stack:
 * minibatches from the trainer's BatchAssembler, the optimiser the trainer builds from an experiment's
 * `training` settings (Adam with the schema's β and ε) and its step-graph outputs (optimizerUpdate), and the
 * trainer's accuracy (countCorrect). A learner's loss is any graph over its named tensors (masks, EWC
 * penalties, lateral connections), so the step graph is built here, one per call, with the loss, its
 * gradients and the optimiser update; every tensor not in `wrt` is fed unchanged (frozen).
 */
import type { TrainingConfig } from '../../common/protocol';
import { resolveExperiment } from '../config';
import type { FloatSplit } from '../datasets/types';
import { Executor, HostTensor, OptimizerSettings, Value, gradients, hostTensor, mul, optimizerSlots, softmax } from '../engine';
import type { Rng } from '../random';
import { BatchAssembler, countCorrect } from '../trainer/batches';
import { newName, optimizerUpdate, slotName } from '../trainer/graphs';
import { optimizerSettings } from '../trainer/trainer';
import { Builder, Tensors, ceLoss, feedTensors, makeBuilder, tensor, values } from './tensors';

/** A classification split of one task: rows of `features` values, labels 0..classes-1 (as floats). */
export type TaskSplit = FloatSplit;

let trainingDefaults: TrainingConfig | undefined;

/**
 * The learners' optimiser: Adam as the trainer makes it from the experiment's `training` defaults
 * (β 0.9/0.999, ε 1e-7, no weight decay); `adamEpsilon` replaces ε (torch's is 1e-8).
 */
export function continualOptimizer(adamEpsilon?: number): OptimizerSettings {
  trainingDefaults ??= resolveExperiment({ continual: { stream: 'split-mnist' } }).training;
  return optimizerSettings({ ...trainingDefaults, optimizer: 'adam', weightDecay: 0, epsilon: adamEpsilon ?? trainingDefaults.epsilon });
}

/** Batches of a task split: x [n, F] and one-hot y [n, C], as the trainer assembles them. */
function assembler(split: TaskSplit, features: number, classes: number, batch: number): BatchAssembler {
  return new BatchAssembler(split, [features], classes, 1, batch);
}

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
export interface OptimizerState {
  slots: Tensors;
  steps: Record<string, number>;
}

export function newOptimizerState(): OptimizerState {
  return { slots: {}, steps: {} };
}

export interface TrainOptions extends TrainHooks {
  epochs: number;
  batchSize: number;
  learningRate: number;
  rng: Rng;
  /** Default: continualOptimizer(). */
  optimizer?: OptimizerSettings;
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
  executor: Executor,
  params: Tensors,
  wrt: string[],
  split: TaskSplit,
  features: number,
  classes: number,
  loss: (b: Builder) => Value,
  opts: TrainOptions,
): Promise<number> {
  if (wrt.length === 0 || (opts.iterations === undefined ? opts.epochs <= 0 : opts.iterations <= 0)) return NaN;
  if (opts.iterations !== undefined && split.n < opts.batchSize) {
    throw new Error(
      `trainTensors: ${split.n} examples make no full batch of ${opts.batchSize} (iterations drop the last incomplete batch)`,
    );
  }
  const o = opts.optimizer ?? continualOptimizer();
  const slotNames = optimizerSlots(o);
  for (const n of wrt)
    for (const s of slotNames) {
      const kept = opts.state?.slots[`${s}:${n}`];
      if (kept && kept.shape.join() !== params[n].shape.join()) {
        throw new Error(
          `trainTensors: the kept optimiser slot ${s} of ${n} is [${kept.shape.join(', ')}], the tensor is [${params[n].shape.join(', ')}]`,
        );
      }
    }
  const b = makeBuilder('cl-train', features, classes, params);
  const lr = b.g.input('lr', 'float32', []);
  const L = loss(b);
  const ws = wrt.map((n) => b.t(n));
  const grads = gradients(L, ws);
  // Slots as the trainer names them (slot:<slot>:<param>); kept ones continue, new ones start at zero.
  const slots: Tensors = {};
  // Steps taken so far per parameter (each is fed its own t for Adam's bias correction).
  const done: Record<string, number> = {};
  const outputs: Record<string, Value> = { loss: L };
  wrt.forEach((n, i) => {
    done[n] = opts.state?.steps[n] ?? 0;
    const sv = slotNames.map((s) => {
      slots[`${s}:${n}`] = opts.state?.slots[`${s}:${n}`] ?? tensor(params[n].shape);
      return b.g.input(slotName(s, n), 'float32', params[n].shape);
    });
    const step = b.g.input(`step:${n}`, 'float32', []);
    Object.assign(outputs, optimizerUpdate(o, slotNames, n, { param: ws[i], grad: grads[i], slots: sv }, lr, step));
  });
  const c = await executor.compile(b.g, outputs);
  const batches = assembler(split, features, classes, opts.batchSize);
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
        const batch = batches.fill(order, from, to - from);
        const feeds = feedTensors(b.g, params);
        for (const [k, v] of Object.entries(slots)) feeds[`slot:${k}`] = { dtype: 'float32', shape: v.shape, data: v.data };
        feeds.x = batch.x;
        feeds.y = batch.y;
        feeds.lr = hostTensor('float32', [], [opts.learningRate]);
        for (const n of wrt) feeds[`step:${n}`] = hostTensor('float32', [], [++done[n]]);
        const r = await c.run(feeds);
        for (const n of wrt) params[n] = tensor(params[n].shape, Float32Array.from(values(r[newName(n)])));
        for (const k of Object.keys(slots)) slots[k] = tensor(slots[k].shape, Float32Array.from(values(r[newName(`slot:${k}`)])));
        if (opts.state) {
          Object.assign(opts.state.slots, slots);
          Object.assign(opts.state.steps, done);
        }
        sum += values(r.loss)[0] * (to - from);
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
  executor: Executor,
  params: Tensors,
  split: TaskSplit,
  features: number,
  classes: number,
  out: (b: Builder) => Value,
  batchSize = 500,
): Promise<Float32Array> {
  const b = makeBuilder('cl-eval', features, classes, params);
  const o = out(b);
  const c = await executor.compile(b.g, { out: o });
  const rows: Float32Array[] = [];
  try {
    const batches = assembler(split, features, classes, batchSize);
    const idx = Int32Array.from({ length: split.n }, (_, i) => i);
    for (let from = 0; from < split.n; from += batchSize) {
      const batch = batches.fill(idx, from, Math.min(split.n, from + batchSize) - from);
      const feeds = feedTensors(b.g, params);
      feeds.x = batch.x;
      feeds.y = batch.y;
      const r = await c.run(feeds);
      rows.push(Float32Array.from(values(r.out)));
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

/** Share of the split's rows whose arg-max logit is the label (the trainer's countCorrect). */
export async function accuracy(
  executor: Executor,
  params: Tensors,
  split: TaskSplit,
  features: number,
  classes: number,
  out: (b: Builder) => Value,
): Promise<number> {
  const logits = await evaluateOutputs(executor, params, split, features, classes, out);
  return split.n ? countCorrect(logits, split.y, classes) / split.n : 0;
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
  executor: Executor,
  params: Tensors,
  wrt: string[],
  split: TaskSplit,
  features: number,
  classes: number,
  logits: (b: Builder) => Value,
  maxExamples: number,
  kind: 'exact' | 'empirical' = 'exact',
): Promise<Tensors> {
  const b = makeBuilder('cl-fisher', features, classes, params);
  const z = logits(b);
  const grads = gradients(
    ceLoss(b, z),
    wrt.map((n) => b.t(n)),
  );
  const outputs: Record<string, Value> = { p: softmax(z) };
  wrt.forEach((n, i) => (outputs[n] = mul(grads[i], grads[i])));
  const c = await executor.compile(b.g, outputs);
  const acc: Tensors = {};
  for (const n of wrt) acc[n] = tensor(params[n].shape);
  const m = Math.min(maxExamples, split.n);
  const accumulate = (r: Record<string, HostTensor>, weight: number) => {
    for (const n of wrt) {
      const d = values(r[n]);
      const a = values(acc[n]);
      for (let k = 0; k < a.length; k++) a[k] += (weight * d[k]) / m;
    }
  };
  try {
    const batches = assembler(split, features, classes, 1);
    const idx = Int32Array.from({ length: split.n }, (_, i) => i);
    for (let i = 0; i < m; i++) {
      const batch = batches.fill(idx, i, 1);
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
        accumulate(r, values(r.p)[k]);
      }
    }
  } finally {
    await c.dispose();
  }
  return acc;
}
