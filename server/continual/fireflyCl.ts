/**
 * Firefly continual learning (Wu et al. 2020, §2.4 and Appendix A, Algorithm 2) on an MLP master
 * network whose hidden neurons are shared across tasks, with a binary mask per task over them and a
 * head per task.
 *
 * For task t > 0: every old neuron is locked (its incoming weights and bias are fed to the graphs, never
 * in the optimiser's wrt list); a mask over the old neurons is learned (sigmoid gates, then binarised
 * at 0.5) with the task's head; then, while the task's training accuracy is below `targetAccuracy`
 * and fewer than `maxGrowRounds` rounds were made, the task grows: candidates are
 *   - unlocking an active old neuron i: a trainable copy with incoming weights θ_i + ε_i δ_i that
 *     replaces the original in this task's mask (the original stays, locked, for the old tasks), and
 *   - m' brand-new neurons ε_j σ(x; δ_j) per layer (outgoing δ_j^out into the task's own trainable
 *     consumers: the next layer's new neurons, or the head),
 * δ gets `stepOneIterations` gradient steps on the loss at ε = ϵ (each neuron's δ kept at unit norm; ε is
 * held at ϵ rather than optimised), each candidate is scored by the integrated gradient
 * s_i = (1/n) Σ_z ∂L/∂ε_i at ε = (2z − 1)/(2n) ϵ (n = 3, as server/growth/fireflyOptimize.ts), the top η
 * by |s_i| are committed at ε̂_i = −ϵ sign(s_i) and trained with the head (and the task's earlier
 * new neurons). Each commit is checked: the candidate network with only the chosen ε̂ must have the
 * grown network's loss (`commitGap` in the log). The task's mask is then recorded. Task 0 starts
 * from `initialWidth` neurons per layer and grows with brand-new neurons only (the paper splits there).
 *
 * Locked neurons never see neurons added later: their rows for a later brand-new neuron are zero and
 * for an unlocked copy repeat the parent's row (frozen), so an old neuron computes the same function
 * for every task. Training graphs apply the task's mask as a 0/1 multiplication of each hidden layer;
 * evaluation gathers the task's own neurons (the same sub-network, same shapes, whatever the master
 * has grown since), so an old task's outputs are bit-identical after later tasks.
 */
import { Graph, Value, add, concat, div, gather, gradients, hostTensor, matmul, mul, reduceSum, relu, sigmoid, sqrt, sub, transpose } from '../engine';
import { Builder, Tensor, Tensors, accuracy, ceLoss, denseLayer, evaluateOutputs, tensor, trainTensors } from './engineOps';
import type { TaskSplit } from './engineOps';
import type { ContinualTask } from './streams';
import { trainingOptions, type ContinualLearner, type LearnerContext } from './types';

export interface FireflyClOptions {
  /** Hidden layers of the master network (their count) and task 0's starting widths. */
  initialWidth: number[];
  /** Grow stops once the task's training accuracy reaches this. */
  targetAccuracy: number;
  maxGrowRounds: number;
  /** Neurons added per grow round (η), over all layers. */
  eta: number;
  /** Brand-new candidates per layer (m'). */
  newCandidates: number;
  /** ε̂: the candidates' scale when scoring. */
  epsilon: number;
  stepOneIterations: number;
  stepOneLearningRate: number;
  /** Epochs of mask learning (task > 0). */
  maskEpochs: number;
  /** Sparsity pressure on the gates: α · mean(sigmoid(s)). */
  maskSparsity: number;
  /** Initial gate logits s (sigmoid(s) is the soft mask while learning it). */
  maskInit: number;
  maskLearningRate: number;
  /** Examples used to score candidates. */
  scoreExamples: number;
}

export const FIREFLY_CL_DEFAULTS: FireflyClOptions = {
  initialWidth: [32, 32],
  targetAccuracy: 0.98,
  maxGrowRounds: 2,
  eta: 8,
  newCandidates: 16,
  epsilon: 0.1,
  stepOneIterations: 10,
  stepOneLearningRate: 0.1,
  maskEpochs: 1,
  maskSparsity: 0.5,
  maskInit: 1,
  maskLearningRate: 0.05,
  scoreExamples: 512,
};

interface Layer {
  /** Kernel [inputs, outputs], row-major. */
  W: Tensor;
  b: Tensor;
  /** Task that created each neuron. */
  owner: number[];
  /** For an unlocked copy, the neuron it was copied from; -1 otherwise. */
  parent: number[];
}

interface Head { V: Tensor; c: Tensor }

/** The serialisable state: tensors by name plus JSON meta. */
export interface FireflyClState {
  tensors: Record<string, Float32Array>;
  meta: {
    features: number;
    classes: number;
    layers: { inputs: number; outputs: number; owner: number[]; parent: number[] }[];
    heads: { width: number }[];
    masks: number[][][];
  };
}

function appendColumns(W: Tensor, cols: Float32Array[]): Tensor {
  const [rows, n] = W.shape;
  const m = n + cols.length;
  const out = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) {
    out.set(W.data.subarray(r * n, (r + 1) * n), r * m);
    cols.forEach((c, k) => (out[r * m + n + k] = c[r]));
  }
  return tensor([rows, m], out);
}

function appendRows(W: Tensor, rows: Float32Array[]): Tensor {
  const [n, cols] = W.shape;
  const out = new Float32Array((n + rows.length) * cols);
  out.set(W.data);
  rows.forEach((r, k) => out.set(r, (n + k) * cols));
  return tensor([n + rows.length, cols], out);
}

function column(W: Tensor, j: number): Float32Array {
  const [rows, n] = W.shape;
  return Float32Array.from({ length: rows }, (_, r) => W.data[r * n + j]);
}

function row(W: Tensor, i: number): Float32Array {
  const n = W.shape[1];
  return Float32Array.from(W.data.subarray(i * n, (i + 1) * n));
}

function sliceColumns(W: Tensor, from: number, to: number): Tensor {
  const [rows, n] = W.shape;
  const m = to - from;
  const out = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) out.set(W.data.subarray(r * n + from, r * n + to), r * m);
  return tensor([rows, m], out);
}

function joinColumns(a: Tensor, b: Tensor | undefined): Tensor {
  if (!b) return a;
  const cols: Float32Array[] = [];
  for (let j = 0; j < b.shape[1]; j++) cols.push(column(b, j));
  return appendColumns(a, cols);
}

function indicesOf(mask: ArrayLike<number>): number[] {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) idx.push(i);
  return idx;
}

function placement(rows: number[], width: number, builderLike: Value): Value {
  // [rows.length, width] 0/1 matrix putting entry k at column rows[k].
  const d = new Float32Array(rows.length * width);
  rows.forEach((c, k) => (d[k * width + c] = 1));
  return builderLike.graph.constant(hostTensor('float32', [rows.length, width], d));
}

/** Unit-norm columns (axis 0) or rows (axis 1) of a matrix, in the graph. */
function unitNorm(v: Value, axis: number): Value {
  return div(v, sqrt(add(reduceSum(mul(v, v), [axis], true), 1e-12)));
}

export class FireflyCl implements ContinualLearner {
  readonly method = 'firefly-cl';
  layers: Layer[] = [];
  heads: Head[] = [];
  /** masks[t][l][i]: neuron i of layer l belongs to task t (length: layer width when t was recorded). */
  masks: Uint8Array[][] = [];
  /** Per task: grow rounds, neurons added (copies + new), training accuracy after each stage. */
  readonly log: { task: number; maskKept: number[]; rounds: number; unlocked: number; fresh: number; trainAccuracy: number; commitGap: number }[] = [];
  private readonly o: FireflyClOptions;

  constructor(private readonly ctx: LearnerContext, opts: Partial<FireflyClOptions> = {}) {
    this.o = { ...FIREFLY_CL_DEFAULTS, ...opts };
  }

  private get L(): number {
    return this.o.initialWidth.length;
  }

  private inputs(l: number): number {
    return l === 0 ? this.ctx.features : this.layers[l - 1].owner.length;
  }

  // ---------- graphs ----------

  /**
   * Tensors for training task t: for each layer, the locked columns `Wf{l}`, `bf{l}` and the task's own
   * `Wn{l}`, `bn{l}` (absent when the task has none there), the 0/1 mask `m{l}` over all neurons, and
   * the head `V`, `c`.
   */
  private taskTensors(t: number, mask: Uint8Array[]): { params: Tensors; trainable: string[]; nOld: number[] } {
    const params: Tensors = {};
    const trainable: string[] = [];
    const nOld: number[] = [];
    this.layers.forEach((ly, l) => {
      const n = ly.owner.length;
      const old = ly.owner.filter((o) => o < t).length;
      nOld.push(old);
      if (old > 0) {
        params[`Wf${l}`] = sliceColumns(ly.W, 0, old);
        params[`bf${l}`] = tensor([old], ly.b.data.slice(0, old));
      }
      if (n > old) {
        params[`Wn${l}`] = sliceColumns(ly.W, old, n);
        params[`bn${l}`] = tensor([n - old], ly.b.data.slice(old, n));
        trainable.push(`Wn${l}`, `bn${l}`);
      }
      params[`m${l}`] = tensor([n], Float32Array.from(mask[l]));
    });
    params.V = this.heads[t].V;
    params.c = this.heads[t].c;
    trainable.push('V', 'c');
    return { params, trainable, nOld };
  }

  private writeBack(t: number, params: Tensors, nOld: number[]): void {
    this.layers.forEach((ly, l) => {
      if (!params[`Wn${l}`]) return;
      ly.W = joinColumns(sliceColumns(ly.W, 0, nOld[l]), params[`Wn${l}`]);
      ly.b = tensor([ly.owner.length], Float32Array.from([...ly.b.data.slice(0, nOld[l]), ...params[`bn${l}`].data]));
    });
    this.heads[t] = { V: params.V, c: params.c };
  }

  /** Layer l's kernel and bias as the graph sees them (locked columns, then the task's). */
  private layerValues(b: Builder, l: number, params: Tensors): { W: Value; bias: Value } {
    const parts: Value[] = [];
    const bs: Value[] = [];
    if (params[`Wf${l}`]) {
      parts.push(b.t(`Wf${l}`));
      bs.push(b.t(`bf${l}`));
    }
    if (params[`Wn${l}`]) {
      parts.push(b.t(`Wn${l}`));
      bs.push(b.t(`bn${l}`));
    }
    const W = parts.length === 1 ? parts[0] : concat(parts, 1);
    const bias = bs.length === 1 ? bs[0] : concat(bs, 0);
    return { W, bias };
  }

  /** Training forward pass: h_l = relu(h_{l-1} W_l + b_l) ⊙ gate_l; logits = h_L V + c. */
  private maskedLogits(b: Builder, params: Tensors, gate: (l: number) => Value): Value {
    let h = b.x;
    for (let l = 0; l < this.L; l++) {
      const { W, bias } = this.layerValues(b, l, params);
      h = mul(relu(add(matmul(h, W), bias)), gate(l));
    }
    return add(matmul(h, b.t('V')), b.t('c'));
  }

  // ---------- evaluation through a task's own neurons ----------

  /** The master tensors for evaluation (`W{l}`, `b{l}`, and every head `V{t}`, `c{t}`). */
  masterTensors(): Tensors {
    const p: Tensors = {};
    this.layers.forEach((ly, l) => {
      p[`W${l}`] = ly.W;
      p[`b${l}`] = ly.b;
    });
    this.heads.forEach((h, t) => {
      p[`V${t}`] = h.V;
      p[`c${t}`] = h.c;
    });
    return p;
  }

  /** Task t's logits: its neurons gathered from the master (mask as indices), then its head. */
  taskLogits(b: Builder, t: number): Value {
    const mask = this.masks[t];
    let h = b.x;
    let prev: number[] | undefined;
    for (let l = 0; l < this.L; l++) {
      const idx = indicesOf(mask[l]);
      let W = gather(b.t(`W${l}`), idx, 1);
      if (prev) W = gather(W, prev, 0);
      h = relu(add(matmul(h, W), gather(b.t(`b${l}`), idx, 0)));
      prev = idx;
    }
    return add(matmul(h, gather(b.t(`V${t}`), prev!, 0)), b.t(`c${t}`));
  }

  async evaluate(task: ContinualTask, t: number): Promise<number> {
    return this.accuracyOn(task.test, t);
  }

  private accuracyOn(split: TaskSplit, t: number): Promise<number> {
    return accuracy(this.ctx.executor, this.masterTensors(), split, this.ctx.features, this.ctx.classes, (b) => this.taskLogits(b, t));
  }

  /**
   * The latest task's logits through the training graph (the full master, the task's mask as 0/1
   * multiplications): the same function as taskLogits computes by gathering (a check).
   */
  async maskedOutputs(split: TaskSplit): Promise<Float32Array> {
    const t = this.masks.length - 1;
    const { params } = this.taskTensors(t, this.masks[t]);
    return evaluateOutputs(this.ctx.executor, params, split, this.ctx.features, this.ctx.classes, (b) => this.maskedLogits(b, params, (l) => b.t(`m${l}`)));
  }

  private async trainAccuracy(t: number, mask: Uint8Array[], split: TaskSplit): Promise<number> {
    const { params } = this.taskTensors(t, mask);
    return accuracy(this.ctx.executor, params, split, this.ctx.features, this.ctx.classes, (b) => this.maskedLogits(b, params, (l) => b.t(`m${l}`)));
  }

  // ---------- learning ----------

  private async train(t: number, mask: Uint8Array[], split: TaskSplit, epochs: number): Promise<void> {
    const { params, trainable, nOld } = this.taskTensors(t, mask);
    await trainTensors(this.ctx.executor, params, trainable, split, this.ctx.features, this.ctx.classes,
      (b) => ceLoss(b, this.maskedLogits(b, params, (l) => b.t(`m${l}`))),
      trainingOptions(this.ctx, { epochs }));
    this.writeBack(t, params, nOld);
  }

  async learnTask(task: ContinualTask, t: number): Promise<void> {
    const { rng, features, classes } = this.ctx;
    const split = task.train;
    let maskKept: number[] = [];
    if (t === 0) {
      let fanIn = features;
      for (const w of this.o.initialWidth) {
        this.layers.push({ ...denseLayer(rng, this.ctx.settings.init, fanIn, w), owner: new Array(w).fill(0), parent: new Array(w).fill(-1) });
        fanIn = w;
      }
    }
    const width = this.layers[this.L - 1].owner.length;
    const head = denseLayer(rng, this.ctx.settings.init, width, classes, 0.5);
    this.heads[t] = { V: head.W, c: head.b };
    const mask = this.layers.map((ly) => Uint8Array.from(ly.owner, () => 1));
    if (t === 0) {
      await this.train(t, mask, split, this.ctx.settings.epochs);
    } else {
      const kept = await this.learnMask(t, split);
      kept.forEach((m, l) => mask[l].set(m));
      maskKept = kept.map((m) => m.reduce((a, v) => a + v, 0));
      await this.train(t, mask, split, this.ctx.settings.epochs);
    }
    let acc = await this.trainAccuracy(t, mask, split);
    let rounds = 0;
    let unlocked = 0;
    let fresh = 0;
    let commitGap = 0;
    while (acc < this.o.targetAccuracy && rounds < this.o.maxGrowRounds) {
      const added = await this.grow(t, mask, split);
      if (added.unlocked + added.fresh === 0) break;
      unlocked += added.unlocked;
      commitGap = Math.max(commitGap, added.commitGap);
      fresh += added.fresh;
      rounds++;
      await this.train(t, mask, split, this.ctx.settings.epochs);
      acc = await this.trainAccuracy(t, mask, split);
    }
    this.masks[t] = mask.map((m) => Uint8Array.from(m));
    this.log.push({ task: t, maskKept, rounds, unlocked, fresh, trainAccuracy: acc, commitGap });
  }

  /** Learns gates sigmoid(s_l) over the locked neurons (with the head), returns the binarised mask. */
  private async learnMask(t: number, split: TaskSplit): Promise<Uint8Array[]> {
    const ones = this.layers.map((ly) => Uint8Array.from(ly.owner, () => 1));
    const { params, nOld } = this.taskTensors(t, ones);
    this.layers.forEach((_, l) => (params[`s${l}`] = tensor([nOld[l]], new Float32Array(nOld[l]).fill(this.o.maskInit))));
    const wrt = [...this.layers.map((_, l) => `s${l}`), 'V', 'c'];
    const alpha = this.o.maskSparsity;
    await trainTensors(this.ctx.executor, params, wrt, split, this.ctx.features, this.ctx.classes, (b) => {
      const gates = this.layers.map((_, l) => sigmoid(b.t(`s${l}`)));
      let loss = ceLoss(b, this.maskedLogits(b, params, (l) => gates[l]));
      for (const g of gates) loss = add(loss, mul(reduceSum(g, [0]), alpha / (g.shape[0] as number)));
      return loss;
    }, trainingOptions(this.ctx, { epochs: this.o.maskEpochs, learningRate: this.o.maskLearningRate }));
    this.heads[t] = { V: params.V, c: params.c };
    return this.layers.map((_, l) => {
      const m = Uint8Array.from(params[`s${l}`].data, (v) => (v > 0 ? 1 : 0));
      // Keep at least one neuron per layer.
      if (!m.some((v) => v)) m[0] = 1;
      return m;
    });
  }

  /**
   * One Firefly grow round for task t: candidates through the engine, step one on δ, integrated-gradient
   * scores, the top η committed into the master (and the task's mask).
   */
  private async grow(t: number, mask: Uint8Array[], split: TaskSplit): Promise<{ unlocked: number; fresh: number; commitGap: number }> {
    const { executor, features, classes, rng } = this.ctx;
    const o = this.o;
    const { params, nOld } = this.taskTensors(t, mask);
    const L = this.L;
    // Unlock candidates: active locked neurons; brand-new ones where a trainable consumer exists.
    const unlock: number[][] = this.layers.map((_, l) => indicesOf(mask[l]).filter((i) => i < nOld[l]));
    const consumerWidth = (l: number) => (l === L - 1 ? classes : this.layers[l + 1].owner.length - nOld[l + 1]);
    const mNew = this.layers.map((_, l) => (consumerWidth(l) > 0 ? o.newCandidates : 0));
    const offsets: { kind: 'unlock' | 'fresh'; l: number; k: number }[] = [];
    this.layers.forEach((_, l) => {
      unlock[l].forEach((_, k) => offsets.push({ kind: 'unlock', l, k }));
      for (let k = 0; k < mNew[l]; k++) offsets.push({ kind: 'fresh', l, k });
    });
    if (offsets.length === 0) return { unlocked: 0, fresh: 0, commitGap: 0 };
    const E = offsets.length;
    // δ starts as N(0, 1/rows) per entry (about unit norm per neuron; step one keeps it on the unit sphere).
    const unitCols = (rows: number, cols: number): Tensor =>
      tensor([rows, cols], Float32Array.from({ length: rows * cols }, () => rng.normal(0, 1 / Math.sqrt(rows))));
    const deltas: string[] = [];
    this.layers.forEach((_, l) => {
      if (unlock[l].length) {
        params[`du${l}`] = unitCols(this.inputs(l), unlock[l].length);
        deltas.push(`du${l}`);
      }
      if (mNew[l]) {
        params[`dfi${l}`] = unitCols(this.inputs(l), mNew[l]);
        params[`dfo${l}`] = unitCols(consumerWidth(l), mNew[l]); // stored transposed: [consumer, m']
        deltas.push(`dfi${l}`, `dfo${l}`);
      }
    });
    params.eps = tensor([E]);
    // The candidate network: every unlock candidate and every new candidate at once.
    // The candidate network's loss, and the chosen candidates' tensors as committed (ucol: the unlocked
    // copies' incoming columns θ_i + ε_i δ_i; fout: the new neurons' outgoing rows ε_j δ_j^out).
    const candidateLoss = (b: Builder): { loss: Value; extras: Record<string, Value> } => {
      const eps = b.t('eps');
      const extras: Record<string, Value> = {};
      let h = b.x;
      let carry: Value | undefined; // new candidates' contribution into this layer's own columns
      let base = 0;
      for (let l = 0; l < L; l++) {
        let { W, bias } = this.layerValues(b, l, params);
        const width = this.layers[l].owner.length;
        const nu = unlock[l].length;
        if (nu) {
          const e = gather(eps, Array.from({ length: nu }, (_, k) => base + k), 0);
          const scaled = mul(b.t(`du${l}`), e); // [in, nu] columns scaled by ε
          W = add(W, matmul(scaled, placement(unlock[l], width, W)));
          extras[`ucol${l}`] = gather(W, unlock[l], 1);
        }
        let pre = add(matmul(h, W), bias);
        if (carry) pre = add(pre, carry);
        const hNext = mul(relu(pre), b.t(`m${l}`));
        carry = undefined;
        if (mNew[l]) {
          const e = gather(eps, Array.from({ length: mNew[l] }, (_, k) => base + nu + k), 0);
          const f = mul(relu(matmul(h, b.t(`dfi${l}`))), e); // [N, m']
          extras[`fout${l}`] = mul(b.t(`dfo${l}`), e); // [consumer, m']
          const out = matmul(f, transpose(b.t(`dfo${l}`), [1, 0])); // [N, consumer]
          if (l === L - 1) carry = out;
          else {
            const nextW = this.layers[l + 1].owner.length;
            const cols = Array.from({ length: nextW - nOld[l + 1] }, (_, k) => nOld[l + 1] + k);
            carry = matmul(out, placement(cols, nextW, out));
          }
        }
        base += nu + mNew[l];
        h = hNext;
      }
      let logits = add(matmul(h, b.t('V')), b.t('c'));
      if (carry) logits = add(logits, carry);
      return { loss: ceLoss(b, logits), extras };
    };
    // Step one: gradient steps on δ at ε = ε̂ (unit-norm δ per neuron), then ∂L/∂ε at ε̂/2.
    const scoreSplit = subset(split, o.scoreExamples);
    const stepGraph = await compileCandidateStep(executor, params, deltas, candidateLoss, features, classes, o.stepOneLearningRate);
    try {
      for (let it = 0; it < o.stepOneIterations; it++) {
        params.eps = tensor([E], new Float32Array(E).fill(o.epsilon));
        const r = await stepGraph.run(params, scoreSplit);
        for (const d of deltas) params[d] = tensor(params[d].shape, r[`new:${d}`]);
      }
      // Step two: integrated gradients s_i ≈ (1/n) Σ_z ∂L/∂ε_i at ε = (2z − 1)/(2n) · ε̂ (n = 3).
      const n = 3;
      const sc = new Float64Array(E);
      for (let z = 1; z <= n; z++) {
        params.eps = tensor([E], new Float32Array(E).fill(((2 * z - 1) / (2 * n)) * o.epsilon));
        const g = (await stepGraph.run(params, scoreSplit)).gEps;
        for (let i = 0; i < E; i++) sc[i] += g[i] / n;
      }
      // The top η by |s_i|, each committed at ε̂_i = −ϵ sign(s_i) (a first-order decrease ϵ|s_i|).
      const order = Array.from(sc, (v, i) => [Math.abs(v), i] as const).sort((a, b) => b[0] - a[0]).slice(0, o.eta).map((q) => q[1]);
      const chosenEps = new Float32Array(E);
      for (const i of order) chosenEps[i] = -o.epsilon * Math.sign(sc[i] || 1);
      // The candidate network with only the chosen candidates (ε̂ on them, 0 elsewhere) …
      params.eps = tensor([E], chosenEps);
      const final = await stepGraph.run(params, scoreSplit);
      const expected = final.loss[0];
      const added = this.commit(t, mask, nOld, order.map((i) => offsets[i]), params, final, unlock);
      // … is the committed network: record the loss gap (a check of the commit, ~1e-6).
      const { params: after } = this.taskTensors(t, mask);
      const got = await evaluateOutputs(executor, after, scoreSplit, features, classes, (b) => ceLoss(b, this.maskedLogits(b, after, (l) => b.t(`m${l}`))), scoreSplit.n);
      return { ...added, commitGap: Math.abs(got[0] - expected) };
    } finally {
      await stepGraph.dispose();
    }
  }

  /** Writes the selected candidates into the master: new columns per layer, then rows downstream. */
  private commit(
    t: number, mask: Uint8Array[], nOld: number[], chosen: { kind: 'unlock' | 'fresh'; l: number; k: number }[],
    params: Tensors, committed: Record<string, Float32Array>, unlock: number[][],
  ): { unlocked: number; fresh: number } {
    let unlocked = 0;
    let fresh = 0;
    for (let l = 0; l < this.L; l++) {
      const ly = this.layers[l];
      const here = chosen.filter((c) => c.l === l);
      if (!here.length) continue;
      const rowsIn = ly.W.shape[0];
      const cols: Float32Array[] = [];
      const biases: number[] = [];
      const outRows: Float32Array[] = []; // rows into the consumer (next layer's W or the head V)
      const consumer = l === this.L - 1 ? this.heads[t].V : this.layers[l + 1].W;
      const consumerCols = consumer.shape[1];
      for (const c of here) {
        if (c.kind === 'unlock') {
          const i = unlock[l][c.k];
          const nu = unlock[l].length;
          const uc = committed[`ucol${l}`]; // [rows at scoring, nu]: θ_i + ε̂_i δ_i from the engine
          const col = column(ly.W, i);
          const rowsThen = uc.length / nu;
          for (let r = 0; r < rowsThen; r++) col[r] = uc[r * nu + c.k];
          // Rows added by this commit for copies of unlocked neurons below take the parent's entry
          // (in the candidate network the modified parent fed this column through that row).
          if (l > 0) {
            const below = this.layers[l - 1];
            for (let r = rowsThen; r < rowsIn; r++) {
              const p = below.parent[r];
              if (p >= 0 && below.owner[r] === t) col[r] = uc[p * nu + c.k];
            }
          }
          cols.push(col);
          biases.push(ly.b.data[i]);
          outRows.push(row(consumer, i));
          mask[l][i] = 0;
          ly.owner.push(t);
          ly.parent.push(i);
          unlocked++;
        } else {
          const di = params[`dfi${l}`];
          const col = new Float32Array(rowsIn);
          for (let r = 0; r < di.shape[0]; r++) col[r] = di.data[r * di.shape[1] + c.k];
          if (l > 0) {
            const below = this.layers[l - 1];
            for (let r = di.shape[0]; r < rowsIn; r++) {
              const p = below.parent[r];
              if (p >= 0 && below.owner[r] === t) col[r] = di.data[p * di.shape[1] + c.k];
            }
          }
          cols.push(col);
          biases.push(0);
          const fo = committed[`fout${l}`]; // [consumer's task columns, m']: ε̂_j δ_j^out from the engine
          const mN = params[`dfo${l}`].shape[1];
          const rw = new Float32Array(consumerCols);
          const first = l === this.L - 1 ? 0 : nOld[l + 1];
          for (let j = 0; j < fo.length / mN; j++) rw[first + j] = fo[j * mN + c.k];
          outRows.push(rw);
          ly.owner.push(t);
          ly.parent.push(-1);
          fresh++;
        }
      }
      ly.W = appendColumns(ly.W, cols);
      ly.b = tensor([ly.b.data.length + biases.length], Float32Array.from([...ly.b.data, ...biases]));
      mask[l] = Uint8Array.from([...mask[l], ...cols.map(() => 1)]);
      if (l === this.L - 1) this.heads[t] = { V: appendRows(this.heads[t].V, outRows), c: this.heads[t].c };
      else this.layers[l + 1].W = appendRows(this.layers[l + 1].W, outRows);
    }
    return { unlocked, fresh };
  }

  // ---------- parameters ----------

  /** Stored parameters: each neuron's incoming weights from neurons no newer than it, its bias, and every head. */
  parameterCount(): number {
    let n = 0;
    this.layers.forEach((ly, l) => {
      const prevOwner = l === 0 ? undefined : this.layers[l - 1].owner;
      for (const o of ly.owner) n += 1 + (prevOwner ? prevOwner.filter((p) => p <= o).length : this.ctx.features);
    });
    for (const h of this.heads) n += h.V.data.length + h.c.data.length;
    return n;
  }

  taskParameterCount(t: number): number {
    const mask = this.masks[t];
    let n = 0;
    let prev = this.ctx.features;
    for (let l = 0; l < this.L; l++) {
      const k = indicesOf(mask[l]).length;
      n += prev * k + k;
      prev = k;
    }
    return n + prev * this.ctx.classes + this.ctx.classes;
  }

  // ---------- checkpoints ----------

  state(): FireflyClState {
    const tensors: Record<string, Float32Array> = {};
    this.layers.forEach((ly, l) => {
      tensors[`W${l}`] = Float32Array.from(ly.W.data);
      tensors[`b${l}`] = Float32Array.from(ly.b.data);
    });
    this.heads.forEach((h, t) => {
      tensors[`V${t}`] = Float32Array.from(h.V.data);
      tensors[`c${t}`] = Float32Array.from(h.c.data);
    });
    return {
      tensors,
      meta: {
        features: this.ctx.features,
        classes: this.ctx.classes,
        layers: this.layers.map((ly) => ({ inputs: ly.W.shape[0], outputs: ly.W.shape[1], owner: [...ly.owner], parent: [...ly.parent] })),
        heads: this.heads.map((h) => ({ width: h.V.shape[0] })),
        masks: this.masks.map((m) => m.map((x) => Array.from(x))),
      },
    };
  }

  static restore(ctx: LearnerContext, state: FireflyClState, opts: Partial<FireflyClOptions> = {}): FireflyCl {
    const m = state.meta;
    if (!m || !Array.isArray(m.layers) || !Array.isArray(m.heads) || !Array.isArray(m.masks)) throw new Error('firefly-cl checkpoint: not a Firefly CL state');
    if (m.features !== ctx.features || m.classes !== ctx.classes) throw new Error('firefly-cl checkpoint: features/classes differ');
    const f = new FireflyCl(ctx, { ...opts, initialWidth: m.layers.map((l) => l.outputs) });
    f.layers = m.layers.map((l, i) => ({
      W: tensor([l.inputs, l.outputs], Float32Array.from(state.tensors[`W${i}`])),
      b: tensor([l.outputs], Float32Array.from(state.tensors[`b${i}`])),
      owner: [...l.owner],
      parent: [...l.parent],
    }));
    f.heads = m.heads.map((h, t) => ({
      V: tensor([h.width, m.classes], Float32Array.from(state.tensors[`V${t}`])),
      c: tensor([m.classes], Float32Array.from(state.tensors[`c${t}`])),
    }));
    f.masks = m.masks.map((t) => t.map((x) => Uint8Array.from(x)));
    return f;
  }
}

function subset(split: TaskSplit, n: number): TaskSplit {
  if (split.n <= n) return split;
  const f = split.x.length / split.n;
  return { x: split.x.subarray(0, n * f), y: split.y.subarray(0, n), n };
}

/** One graph for step one: the candidate loss, ∂L/∂ε, and δ ← unit(δ − lr ∂L/∂δ). */
async function compileCandidateStep(
  executor: LearnerContext['executor'], params: Tensors, deltas: string[], loss: (b: Builder) => { loss: Value; extras: Record<string, Value> },
  features: number, classes: number, lr: number,
) {
  const g = new Graph('firefly-cl-candidates');
  const x = g.input('x', 'float32', ['N', features]);
  const y = g.input('y', 'float32', ['N', classes]);
  const made = new Map<string, Value>();
  const b: Builder = {
    g, x, y,
    t(n) {
      let v = made.get(n);
      if (!v) {
        v = g.input(`t:${n}`, 'float32', params[n].shape);
        made.set(n, v);
      }
      return v;
    },
  };
  const { loss: L, extras } = loss(b);
  const wrt = [b.t('eps'), ...deltas.map((d) => b.t(d))];
  const grads = gradients(L, wrt);
  const outputs: Record<string, Value> = { gEps: grads[0], loss: L, ...extras };
  deltas.forEach((d, i) => (outputs[`new:${d}`] = unitNorm(sub(wrt[i + 1], mul(grads[i + 1], lr)), 0)));
  const c = await executor.compile(g, outputs);
  return {
    async run(p: Tensors, split: TaskSplit): Promise<Record<string, Float32Array>> {
      const feeds: Record<string, ReturnType<typeof hostTensor>> = {};
      for (const v of g.inputs) {
        if (!v.name.startsWith('t:')) continue;
        const s = p[v.name.slice(2)];
        feeds[v.name] = { dtype: 'float32', shape: s.shape, data: s.data };
      }
      const yy = new Float32Array(split.n * classes);
      for (let i = 0; i < split.n; i++) yy[i * classes + split.y[i]] = 1;
      feeds.x = hostTensor('float32', [split.n, features], split.x);
      feeds.y = hostTensor('float32', [split.n, classes], yy);
      const r = await c.run(feeds);
      const o: Record<string, Float32Array> = {};
      for (const k of Object.keys(outputs)) o[k] = Float32Array.from(r[k].data as Float32Array);
      return o;
    },
    dispose: () => c.dispose(),
  };
}
