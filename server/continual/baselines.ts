/**
 * Continual-learning baselines on the engine (task-incremental, a head per task):
 * - fine-tuning: one shared MLP trunk trained on every task in turn (shows forgetting);
 * - EWC (Kirkpatrick et al. 2017): fine-tuning plus, for every earlier task k, the quadratic penalty
 *   (λ/2) Σ_i F_k,i (θ_i − θ*_k,i)² in the graph, F_k the diagonal Fisher information at the end of
 *   task k (exact: per-example squared gradients of log p(c|x) weighted by the model's p(c|x), through
 *   the engine, over the first 500 training examples as van de Ven's "EXACT (n = 500)");
 * - Progressive Networks (Rusu et al. 2016): a column per task with lateral connections from every
 *   earlier column's hidden layers into the next layer (and the head); earlier columns frozen;
 * - Individual: an independent network per task.
 * With `settings.conv` every trunk (and column) is that conv net instead (convTrunk.ts: 3×3 convs, pools,
 * a global average pool into the heads); Progressive's lateral connections are then 1×1 convolutions
 * between the columns' conv layers (Rusu et al. §2: dimensionality reduction by 1×1 convolutions for
 * conv layers) and dense ones from the pooled features into the head.
 */
import { Value, add, conv, matmul, maxPool, mul, relu, reshape, slice, sub } from '../engine';
import { conv3, convKernel, convLayer, images, pooledFeatures } from './convTrunk';
import { Builder, Tensors, ceLoss, denseLayer, sumAll, tensor, values } from './tensors';
import { accuracy, fisherDiagonal, newOptimizerState, type OptimizerState, trainTensors } from './training';
import type { ContinualTask } from './streams';
import { type LearnerState, packOptimizer, packTensors, stateMeta, unpackOptimizer, unpackTensors } from './learnerState';
import { trainingOptions, type ContinualLearner, type LearnerContext } from './types';

/** The trunk's layer widths: the conv channels, or the MLP's hidden widths. */
function widths(ctx: LearnerContext): number[] {
  return ctx.settings.conv?.channels ?? ctx.settings.hidden;
}

/** A fresh trunk stored as p[`${prefix}W${l}`], p[`${prefix}b${l}`] (conv kernels [out, in, 3, 3] with settings.conv); its names. */
function mlpTensors(ctx: LearnerContext, prefix: string, p: Tensors): string[] {
  const names: string[] = [];
  const spec = ctx.settings.conv;
  let fanIn = spec ? spec.input[0] : ctx.features;
  widths(ctx).forEach((w, l) => {
    if (spec) {
      const { K, b } = convKernel(ctx.rng, ctx.settings.init, fanIn, w);
      p[`${prefix}W${l}`] = K;
      p[`${prefix}b${l}`] = b;
    } else addDense(ctx, p, `${prefix}W${l}`, `${prefix}b${l}`, fanIn, w);
    names.push(`${prefix}W${l}`, `${prefix}b${l}`);
    fanIn = w;
  });
  return names;
}

/** A fresh dense layer stored as p[kernel], p[bias] (the settings' init; `scale` for he-normal only). */
function addDense(ctx: LearnerContext, p: Tensors, kernel: string, bias: string, fanIn: number, fanOut: number, scale = 1): void {
  const { W, b } = denseLayer(ctx.rng, ctx.settings.init, fanIn, fanOut, scale);
  p[kernel] = W;
  p[bias] = b;
}

/** The trunk's output features [N, width]: the MLP's last hidden layer, or the conv net's pooled channels. */
function trunk(ctx: LearnerContext, b: Builder, prefix: string): Value {
  const spec = ctx.settings.conv;
  if (spec) {
    let h = images(b.x, spec);
    spec.channels.forEach((_, l) => (h = convLayer(h, b.t(`${prefix}W${l}`), b.t(`${prefix}b${l}`), spec.pool[l])));
    return pooledFeatures(h);
  }
  let h = b.x;
  for (let l = 0; l < ctx.settings.hidden.length; l++) h = relu(add(matmul(h, b.t(`${prefix}W${l}`)), b.t(`${prefix}b${l}`)));
  return h;
}

/** A per-channel bias [C] as [1, C, 1, 1]. */
function convBias(bias: Value): Value {
  return reshape(bias, [1, bias.shape[0], 1, 1]);
}

function convLayerPool(y: Value): Value {
  return maxPool(y, 2);
}

function count(p: Tensors, names: string[]): number {
  return names.reduce((a, n) => a + p[n].data.length, 0);
}

/** (λ/2) Σ_k Σ_i F_k,i (θ_i − θ*_k,i)² over the named parameters, for anchors named `F{k}:{n}`, `S{k}:{n}`. */
export function ewcPenalty(b: Builder, params: string[], anchors: number, lambda: number): Value | undefined {
  let total: Value | undefined;
  for (let k = 0; k < anchors; k++) {
    for (const n of params) {
      const d = sub(b.t(n), b.t(`S${k}:${n}`));
      const term = sumAll(mul(b.t(`F${k}:${n}`), mul(d, d)));
      total = total ? add(total, term) : term;
    }
  }
  return total ? mul(total, lambda / 2) : undefined;
}

interface SharedTrunkMeta {
  kind: 'shared-trunk';
  shapes: Record<string, number[]>;
  /** Tasks whose Fisher and anchor EWC holds (F{k}:…, S{k}:…). */
  anchors: number;
  learned: number;
  optimizerShapes: Record<string, number[]>;
  optimizerSteps?: Record<string, number>;
}

/**
 * Fine-tuning (no EWC) and EWC share this learner: one MLP trunk and a multi-headed output layer, the
 * reference code's Task-IL head (van de Ven & Tolias): one dense layer of tasks × classes units
 * created with the network, task t's logits being its units [t·C, (t+1)·C) (the others inactive).
 * The layer is one tensor, so with optimizerState `keep` later tasks' units share its Adam step count
 * and moments, as in torch; EWC's penalty covers the trunk and this layer (every parameter).
 */
export class SharedTrunk implements ContinualLearner {
  readonly method: string;
  readonly params: Tensors = {};
  /** The trunk's tensors (W0, b0, …); with the output layer V, c they are what trains and what EWC anchors. */
  private readonly trunk: string[];
  private readonly shared: string[];
  private anchors = 0;
  private learned = 0;
  /** One optimiser through the stream when settings.optimizerState is `keep`. */
  private readonly optimizer?: OptimizerState;
  /** `from`: a checkpointed state to continue from (no random draws then). */
  constructor(
    private readonly ctx: LearnerContext,
    private readonly ewc?: { lambda: number; fisherExamples: number },
    from?: LearnerState,
  ) {
    this.method = ewc ? 'ewc' : 'finetune';
    const H = widths(ctx);
    const units = ctx.tasks * ctx.classes;
    let kept: OptimizerState | undefined;
    if (from) {
      const m = stateMeta<SharedTrunkMeta>(this.method, from, 'shared-trunk');
      Object.assign(this.params, unpackTensors(this.method, from, m.shapes));
      this.trunk = H.flatMap((_, l) => [`W${l}`, `b${l}`]);
      for (const n of [...this.trunk, 'V', 'c']) if (!this.params[n]) throw new Error(`${this.method} checkpoint: tensor ${n} is missing`);
      if (this.params.V.shape[1] !== units)
        throw new Error(`${this.method} checkpoint: its output layer has ${this.params.V.shape[1]} units, the stream needs ${units}`);
      this.anchors = m.anchors;
      this.learned = m.learned;
      kept = unpackOptimizer(this.method, from, m.optimizerShapes, m.optimizerSteps);
    } else {
      this.trunk = mlpTensors(ctx, '', this.params);
      addDense(ctx, this.params, 'V', 'c', H[H.length - 1], units, 0.5);
    }
    this.shared = [...this.trunk, 'V', 'c'];
    if (ctx.settings.optimizerState === 'keep') this.optimizer = kept ?? newOptimizerState();
  }

  state(): LearnerState<SharedTrunkMeta> {
    const p = packTensors(this.params);
    const o = packOptimizer(this.optimizer);
    return {
      tensors: { ...p.tensors, ...o.tensors },
      meta: {
        kind: 'shared-trunk',
        shapes: p.shapes,
        anchors: this.anchors,
        learned: this.learned,
        optimizerShapes: o.shapes,
        optimizerSteps: o.steps,
      },
    };
  }

  private logits(b: Builder, t: number): Value {
    if (t >= this.ctx.tasks)
      throw new Error(`${this.method}: task ${t + 1} is beyond the ${this.ctx.tasks} tasks its output layer was made for`);
    const all = add(matmul(trunk(this.ctx, b, ''), b.t('V')), b.t('c'));
    const C = this.ctx.classes;
    return slice(all, [t * C], [(t + 1) * C], [1]);
  }

  async learnTask(task: ContinualTask, t: number): Promise<void> {
    const { ctx } = this;
    await trainTensors(
      ctx.executor,
      this.params,
      this.shared,
      task.train,
      ctx.features,
      ctx.classes,
      (b) => {
        const ce = ceLoss(b, this.logits(b, t));
        const pen = this.ewc ? ewcPenalty(b, this.shared, this.anchors, this.ewc.lambda) : undefined;
        return pen ? add(ce, pen) : ce;
      },
      { ...trainingOptions(ctx), state: this.optimizer },
    );
    this.learned = Math.max(this.learned, t + 1);
    if (this.ewc) {
      const F = await fisherDiagonal(
        ctx.executor,
        this.params,
        this.shared,
        task.train,
        ctx.features,
        ctx.classes,
        (b) => this.logits(b, t),
        this.ewc.fisherExamples,
      );
      for (const n of this.shared) {
        this.params[`F${this.anchors}:${n}`] = F[n];
        this.params[`S${this.anchors}:${n}`] = tensor(this.params[n].shape, Float32Array.from(values(this.params[n])));
      }
      this.anchors++;
    }
  }

  evaluate(task: ContinualTask, t: number): Promise<number> {
    return accuracy(this.ctx.executor, this.params, task.test, this.ctx.features, this.ctx.classes, (b) => this.logits(b, t));
  }

  /** The output units of one task (its head): last hidden width × classes weights plus classes biases. */
  private headParameters(): number {
    const H = widths(this.ctx);
    return (H[H.length - 1] + 1) * this.ctx.classes;
  }

  parameterCount(): number {
    // The trunk and the heads of the tasks learned so far (later tasks' units are not used yet). The
    // Fisher and anchor copies EWC keeps are memory, not model parameters.
    return count(this.params, this.trunk) + this.learned * this.headParameters();
  }

  taskParameterCount(t: number): number {
    return count(this.params, this.trunk) + this.headParameters();
  }
}

/** Progressive and Individual: every task's own tensors (by name) and which names each task owns. */
interface ColumnsMeta {
  kind: 'columns';
  shapes: Record<string, number[]>;
  names: string[][];
}

function columnsState(params: Tensors, names: string[][]): LearnerState<ColumnsMeta> {
  const p = packTensors(params);
  return { tensors: p.tensors, meta: { kind: 'columns', shapes: p.shapes, names: names.map((n) => [...n]) } };
}

function restoreColumns(method: string, from: LearnerState, params: Tensors, names: string[][]): void {
  const m = stateMeta<ColumnsMeta>(method, from, 'columns');
  Object.assign(params, unpackTensors(method, from, m.shapes));
  for (const own of m.names) {
    for (const n of own) if (!params[n]) throw new Error(`${method} checkpoint: tensor ${n} is missing`);
    names.push([...own]);
  }
}

/** A lateral connection's kernel (no bias of its own: the receiving layer has one). */
function lateral(ctx: LearnerContext, fanIn: number, fanOut: number, scale: number) {
  return denseLayer(ctx.rng, ctx.settings.init, fanIn, fanOut, scale).W;
}

/** Progressive Networks: column k's layer l takes h_k^{l-1} and, laterally, h_j^{l-1} of every j < k. */
export class Progressive implements ContinualLearner {
  readonly method = 'progressive';
  readonly params: Tensors = {};
  private readonly names: string[][] = [];
  /** `from`: a checkpointed state to continue from. */
  constructor(
    private readonly ctx: LearnerContext,
    from?: LearnerState,
  ) {
    if (from) restoreColumns(this.method, from, this.params, this.names);
  }

  state(): LearnerState<ColumnsMeta> {
    return columnsState(this.params, this.names);
  }

  private columnLogits(b: Builder, k: number): Value {
    if (this.ctx.settings.conv) return this.convColumnLogits(b, k);
    const H = this.ctx.settings.hidden;
    let hs: Value[] = []; // previous layer's activations of columns 0..k
    for (let l = 0; l <= H.length; l++) {
      const next: Value[] = [];
      for (let c = 0; c <= k; c++) {
        const input = l === 0 ? b.x : hs[c];
        let pre = matmul(input, b.t(l === H.length ? `P${c}V` : `P${c}W${l}`));
        if (l > 0) for (let j = 0; j < c; j++) pre = add(pre, matmul(hs[j], b.t(l === H.length ? `P${c}U${j}V` : `P${c}U${j}W${l}`)));
        pre = add(pre, b.t(l === H.length ? `P${c}c` : `P${c}b${l}`));
        next.push(l === H.length ? pre : relu(pre));
        if (l === H.length && c === k) return pre;
      }
      hs = next;
    }
    throw new Error('internal: no column output');
  }

  /** The conv columns: column c's layer l is relu(conv3(h_c) + Σ_{j<c} conv1×1(h_j) + b), then its pool; heads on the pooled features. */
  private convColumnLogits(b: Builder, k: number): Value {
    const spec = this.ctx.settings.conv!;
    const x = images(b.x, spec);
    let hs: Value[] = [];
    spec.channels.forEach((_, l) => {
      hs = Array.from({ length: k + 1 }, (_, c) => {
        let pre = conv3(l === 0 ? x : hs[c], b.t(`P${c}W${l}`));
        if (l > 0) for (let j = 0; j < c; j++) pre = add(pre, conv(hs[j], b.t(`P${c}U${j}W${l}`)));
        const bias = b.t(`P${c}b${l}`);
        const y = relu(add(pre, convBias(bias)));
        return spec.pool[l] ? convLayerPool(y) : y;
      });
    });
    let out = matmul(pooledFeatures(hs[k]), b.t(`P${k}V`));
    for (let j = 0; j < k; j++) out = add(out, matmul(pooledFeatures(hs[j]), b.t(`P${k}U${j}V`)));
    return add(out, b.t(`P${k}c`));
  }

  async learnTask(task: ContinualTask, k: number): Promise<void> {
    const { ctx } = this;
    const H = widths(ctx);
    const spec = ctx.settings.conv;
    const own: string[] = [];
    let fanIn = spec ? spec.input[0] : ctx.features;
    H.forEach((w, l) => {
      if (spec) {
        const { K, b } = convKernel(ctx.rng, ctx.settings.init, fanIn, w);
        this.params[`P${k}W${l}`] = K;
        this.params[`P${k}b${l}`] = b;
      } else addDense(ctx, this.params, `P${k}W${l}`, `P${k}b${l}`, fanIn, w);
      own.push(`P${k}W${l}`, `P${k}b${l}`);
      if (l > 0)
        for (let j = 0; j < k; j++) {
          const U = lateral(ctx, H[l - 1], w, 0.5);
          // A conv lateral is a 1×1 convolution [out, in, 1, 1] (the same draws, read as a kernel).
          this.params[`P${k}U${j}W${l}`] = spec ? tensor([w, H[l - 1], 1, 1], values(U)) : U;
          own.push(`P${k}U${j}W${l}`);
        }
      fanIn = w;
    });
    addDense(ctx, this.params, `P${k}V`, `P${k}c`, fanIn, ctx.classes, 0.5);
    own.push(`P${k}V`, `P${k}c`);
    for (let j = 0; j < k; j++) {
      this.params[`P${k}U${j}V`] = lateral(ctx, fanIn, ctx.classes, 0.25);
      own.push(`P${k}U${j}V`);
    }
    this.names[k] = own;
    await trainTensors(
      ctx.executor,
      this.params,
      own,
      task.train,
      ctx.features,
      ctx.classes,
      (b) => ceLoss(b, this.columnLogits(b, k)),
      trainingOptions(ctx),
    );
  }

  evaluate(task: ContinualTask, k: number): Promise<number> {
    return accuracy(this.ctx.executor, this.params, task.test, this.ctx.features, this.ctx.classes, (b) => this.columnLogits(b, k));
  }

  parameterCount(): number {
    return this.names.reduce((a, n) => a + count(this.params, n), 0);
  }

  taskParameterCount(k: number): number {
    let n = 0;
    for (let j = 0; j <= k; j++) n += count(this.params, this.names[j]);
    return n;
  }
}

/** One independent network per task. */
export class Individual implements ContinualLearner {
  readonly method = 'individual';
  readonly params: Tensors = {};
  private readonly names: string[][] = [];
  /** `from`: a checkpointed state to continue from. */
  constructor(
    private readonly ctx: LearnerContext,
    from?: LearnerState,
  ) {
    if (from) restoreColumns(this.method, from, this.params, this.names);
  }

  state(): LearnerState<ColumnsMeta> {
    return columnsState(this.params, this.names);
  }

  private logits(b: Builder, t: number): Value {
    return add(matmul(trunk(this.ctx, b, `I${t}`), b.t(`I${t}V`)), b.t(`I${t}c`));
  }

  async learnTask(task: ContinualTask, t: number): Promise<void> {
    const { ctx } = this;
    const H = widths(ctx);
    const own = mlpTensors(ctx, `I${t}`, this.params);
    addDense(ctx, this.params, `I${t}V`, `I${t}c`, H[H.length - 1], ctx.classes, 0.5);
    own.push(`I${t}V`, `I${t}c`);
    this.names[t] = own;
    await trainTensors(
      ctx.executor,
      this.params,
      own,
      task.train,
      ctx.features,
      ctx.classes,
      (b) => ceLoss(b, this.logits(b, t)),
      trainingOptions(ctx),
    );
  }

  evaluate(task: ContinualTask, t: number): Promise<number> {
    return accuracy(this.ctx.executor, this.params, task.test, this.ctx.features, this.ctx.classes, (b) => this.logits(b, t));
  }

  parameterCount(): number {
    return this.names.reduce((a, n) => a + count(this.params, n), 0);
  }

  taskParameterCount(t: number): number {
    return count(this.params, this.names[t]);
  }
}
