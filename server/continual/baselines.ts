/**
 * Continual-learning baselines on the engine (task-incremental, a head per task):
 * - fine-tuning: one shared MLP trunk trained on every task in turn (shows forgetting);
 * - EWC (Kirkpatrick et al. 2017): fine-tuning plus, for every earlier task k, the quadratic penalty
 *   (λ/2) Σ_i F_k,i (θ_i − θ*_k,i)² in the graph, F_k the diagonal empirical Fisher (squared per-example
 *   gradients of the loss through the engine) at the end of task k;
 * - Progressive Networks (Rusu et al. 2016): a column per task with lateral connections from every
 *   earlier column's hidden layers into the next layer (and the head); earlier columns frozen;
 * - Individual: an independent network per task.
 */
import { Value, add, matmul, mul, relu, sub } from '../engine';
import { Builder, Tensors, accuracy, ceLoss, heKernel, squaredGradients, sumAll, tensor, trainTensors } from './engineOps';
import type { ContinualTask } from './streams';
import { trainingOptions, type ContinualLearner, type LearnerContext } from './types';

function mlpTensors(ctx: LearnerContext, prefix: string, p: Tensors): string[] {
  const names: string[] = [];
  let fanIn = ctx.features;
  ctx.settings.hidden.forEach((w, l) => {
    p[`${prefix}W${l}`] = heKernel(ctx.rng, fanIn, w);
    p[`${prefix}b${l}`] = tensor([w]);
    names.push(`${prefix}W${l}`, `${prefix}b${l}`);
    fanIn = w;
  });
  return names;
}

function trunk(b: Builder, prefix: string, layers: number): Value {
  let h = b.x;
  for (let l = 0; l < layers; l++) h = relu(add(matmul(h, b.t(`${prefix}W${l}`)), b.t(`${prefix}b${l}`)));
  return h;
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

/** Fine-tuning (lambda 0) and EWC (lambda > 0) share this learner. */
export class SharedTrunk implements ContinualLearner {
  readonly method: string;
  readonly params: Tensors = {};
  private readonly shared: string[];
  private anchors = 0;
  constructor(private readonly ctx: LearnerContext, private readonly ewc?: { lambda: number; fisherExamples: number }) {
    this.method = ewc ? 'ewc' : 'finetune';
    this.shared = mlpTensors(ctx, '', this.params);
  }

  private logits(b: Builder, t: number): Value {
    return add(matmul(trunk(b, '', this.ctx.settings.hidden.length), b.t(`V${t}`)), b.t(`c${t}`));
  }

  async learnTask(task: ContinualTask, t: number): Promise<void> {
    const { ctx } = this;
    const H = ctx.settings.hidden;
    this.params[`V${t}`] = heKernel(ctx.rng, H[H.length - 1], ctx.classes, 0.5);
    this.params[`c${t}`] = tensor([ctx.classes]);
    await trainTensors(ctx.executor, this.params, [...this.shared, `V${t}`, `c${t}`], task.train, ctx.features, ctx.classes, (b) => {
      const ce = ceLoss(b, this.logits(b, t));
      const pen = this.ewc ? ewcPenalty(b, this.shared, this.anchors, this.ewc.lambda) : undefined;
      return pen ? add(ce, pen) : ce;
    }, trainingOptions(ctx));
    if (this.ewc) {
      const F = await squaredGradients(ctx.executor, this.params, this.shared, task.train, ctx.features, ctx.classes,
        (b) => ceLoss(b, this.logits(b, t)), this.ewc.fisherExamples);
      for (const n of this.shared) {
        this.params[`F${this.anchors}:${n}`] = F[n];
        this.params[`S${this.anchors}:${n}`] = tensor(this.params[n].shape, Float32Array.from(this.params[n].data));
      }
      this.anchors++;
    }
  }

  evaluate(task: ContinualTask, t: number): Promise<number> {
    return accuracy(this.ctx.executor, this.params, task.test, this.ctx.features, this.ctx.classes, (b) => this.logits(b, t));
  }

  private heads(): string[] {
    return Object.keys(this.params).filter((n) => /^[Vc]\d+$/.test(n));
  }

  parameterCount(): number {
    // The Fisher and anchor copies EWC keeps are memory, not model parameters; reported as the model's.
    return count(this.params, [...this.shared, ...this.heads()]);
  }

  taskParameterCount(t: number): number {
    return count(this.params, [...this.shared, `V${t}`, `c${t}`]);
  }
}

/** Progressive Networks: column k's layer l takes h_k^{l-1} and, laterally, h_j^{l-1} of every j < k. */
export class Progressive implements ContinualLearner {
  readonly method = 'progressive';
  readonly params: Tensors = {};
  private readonly names: string[][] = [];
  constructor(private readonly ctx: LearnerContext) {}

  private columnLogits(b: Builder, k: number): Value {
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

  async learnTask(task: ContinualTask, k: number): Promise<void> {
    const { ctx } = this;
    const H = ctx.settings.hidden;
    const own: string[] = [];
    let fanIn = ctx.features;
    H.forEach((w, l) => {
      this.params[`P${k}W${l}`] = heKernel(ctx.rng, fanIn, w);
      this.params[`P${k}b${l}`] = tensor([w]);
      own.push(`P${k}W${l}`, `P${k}b${l}`);
      if (l > 0) for (let j = 0; j < k; j++) {
        this.params[`P${k}U${j}W${l}`] = heKernel(ctx.rng, H[l - 1], w, 0.5);
        own.push(`P${k}U${j}W${l}`);
      }
      fanIn = w;
    });
    this.params[`P${k}V`] = heKernel(ctx.rng, fanIn, ctx.classes, 0.5);
    this.params[`P${k}c`] = tensor([ctx.classes]);
    own.push(`P${k}V`, `P${k}c`);
    for (let j = 0; j < k; j++) {
      this.params[`P${k}U${j}V`] = heKernel(ctx.rng, fanIn, ctx.classes, 0.25);
      own.push(`P${k}U${j}V`);
    }
    this.names[k] = own;
    await trainTensors(ctx.executor, this.params, own, task.train, ctx.features, ctx.classes,
      (b) => ceLoss(b, this.columnLogits(b, k)), trainingOptions(ctx));
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
  constructor(private readonly ctx: LearnerContext) {}

  private logits(b: Builder, t: number): Value {
    return add(matmul(trunk(b, `I${t}`, this.ctx.settings.hidden.length), b.t(`I${t}V`)), b.t(`I${t}c`));
  }

  async learnTask(task: ContinualTask, t: number): Promise<void> {
    const { ctx } = this;
    const H = ctx.settings.hidden;
    const own = mlpTensors(ctx, `I${t}`, this.params);
    this.params[`I${t}V`] = heKernel(ctx.rng, H[H.length - 1], ctx.classes, 0.5);
    this.params[`I${t}c`] = tensor([ctx.classes]);
    own.push(`I${t}V`, `I${t}c`);
    this.names[t] = own;
    await trainTensors(ctx.executor, this.params, own, task.train, ctx.features, ctx.classes,
      (b) => ceLoss(b, this.logits(b, t)), trainingOptions(ctx));
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
