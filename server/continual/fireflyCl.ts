/**
 * Firefly continual learning (Wu et al. 2020, §2.4 and Appendix A, Algorithm 2) on an MLP master
 * network whose hidden neurons are shared across tasks, with a binary mask per task over them and a
 * head per task. This file is the algorithm's outer loop; its parts:
 * - fireflyClNetwork.ts: the master network and its training / evaluation graphs;
 * - fireflyClMask.ts: learning a new task's mask over the locked neurons;
 * - fireflyClGrow.ts (with fireflyClCandidates.ts, fireflyClCommit.ts): one grow round, scored by
 *   server/growth/fireflyOptimize.ts;
 * - fireflyClState.ts: checkpoints.
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
 * s_i = (1/n) Σ_z ∂L/∂ε_i at ε = (2z − 1)/(2n) ϵ (n = 3), the top η by |s_i| are committed at
 * ε̂_i = −ϵ sign(s_i) and trained with the head (and the task's earlier new neurons). Each commit is
 * checked: the candidate network with only the chosen ε̂ must have the grown network's loss
 * (`commitGap` in the log). The task's mask is then recorded. Task 0 starts from `initialWidth` neurons
 * per layer and grows with brand-new neurons only (the paper splits there).
 *
 * Locked neurons never see neurons added later: their rows for a later brand-new neuron are zero and
 * for an unlocked copy repeat the parent's row (frozen), so an old neuron computes the same function
 * for every task. Training graphs apply the task's mask as a 0/1 multiplication of each hidden layer;
 * evaluation gathers the task's own neurons (the same sub-network, same shapes, whatever the master
 * has grown since), so an old task's outputs are bit-identical after later tasks.
 */
import type { Value } from '../engine';
import { growRound } from './fireflyClGrow';
import { learnMask } from './fireflyClMask';
import { ClNetwork, type Head, type Layer } from './fireflyClNetwork';
import { checkState, networkState, restoreNetwork, type FireflyClState } from './fireflyClState';
import type { ContinualTask } from './streams';
import { Builder, Tensors, ceLoss, denseLayer } from './tensors';
import { accuracy, evaluateOutputs, trainTensors, type TaskSplit } from './training';
import { trainingOptions, type ContinualLearner, type LearnerContext } from './types';

export type { FireflyClState };

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

export class FireflyCl implements ContinualLearner {
  readonly method = 'firefly-cl';
  readonly net: ClNetwork;
  /** Per task: grow rounds, neurons added (copies + new), training accuracy after each stage. */
  readonly log: {
    task: number;
    maskKept: number[];
    rounds: number;
    unlocked: number;
    fresh: number;
    trainAccuracy: number;
    commitGap: number;
  }[] = [];
  private readonly o: FireflyClOptions;

  constructor(
    private readonly ctx: LearnerContext,
    opts: Partial<FireflyClOptions> = {},
  ) {
    this.o = { ...FIREFLY_CL_DEFAULTS, ...opts };
    this.net = new ClNetwork(ctx.features, ctx.classes, this.o.initialWidth.length);
  }

  get layers(): Layer[] {
    return this.net.layers;
  }

  get heads(): Head[] {
    return this.net.heads;
  }

  /** masks[t][l][i]: neuron i of layer l belongs to task t (length: layer width when t was recorded). */
  get masks(): Uint8Array[][] {
    return this.net.masks;
  }

  // ---------- evaluation through a task's own neurons ----------

  /** The master tensors for evaluation (`W{l}`, `b{l}`, and every head `V{t}`, `c{t}`). */
  masterTensors(): Tensors {
    return this.net.masterTensors();
  }

  /** Task t's logits: its neurons gathered from the master (mask as indices), then its head. */
  taskLogits(b: Builder, t: number): Value {
    return this.net.taskLogits(b, t);
  }

  async evaluate(task: ContinualTask, t: number): Promise<number> {
    return accuracy(this.ctx.executor, this.net.masterTensors(), task.test, this.ctx.features, this.ctx.classes, (b) =>
      this.net.taskLogits(b, t),
    );
  }

  /**
   * The latest task's logits through the training graph (the full master, the task's mask as 0/1
   * multiplications): the same function as taskLogits computes by gathering (a check).
   */
  async maskedOutputs(split: TaskSplit): Promise<Float32Array> {
    const t = this.net.masks.length - 1;
    const { params } = this.net.taskTensors(t, this.net.masks[t]);
    return evaluateOutputs(this.ctx.executor, params, split, this.ctx.features, this.ctx.classes, (b) =>
      this.net.maskedLogits(b, params, (l) => b.t(`m${l}`)),
    );
  }

  private async trainAccuracy(t: number, mask: Uint8Array[], split: TaskSplit): Promise<number> {
    const { params } = this.net.taskTensors(t, mask);
    return accuracy(this.ctx.executor, params, split, this.ctx.features, this.ctx.classes, (b) =>
      this.net.maskedLogits(b, params, (l) => b.t(`m${l}`)),
    );
  }

  // ---------- learning ----------

  private async train(t: number, mask: Uint8Array[], split: TaskSplit, epochs: number): Promise<void> {
    const { params, trainable, nOld } = this.net.taskTensors(t, mask);
    await trainTensors(
      this.ctx.executor,
      params,
      trainable,
      split,
      this.ctx.features,
      this.ctx.classes,
      (b) =>
        ceLoss(
          b,
          this.net.maskedLogits(b, params, (l) => b.t(`m${l}`)),
        ),
      trainingOptions(this.ctx, { epochs }),
    );
    this.net.writeBack(t, params, nOld);
  }

  async learnTask(task: ContinualTask, t: number): Promise<void> {
    const { rng, features, classes } = this.ctx;
    const net = this.net;
    const split = task.train;
    let maskKept: number[] = [];
    if (t === 0) {
      let fanIn = features;
      for (const w of this.o.initialWidth) {
        net.layers.push({
          ...denseLayer(rng, this.ctx.settings.init, fanIn, w),
          owner: new Array(w).fill(0),
          parent: new Array(w).fill(-1),
        });
        fanIn = w;
      }
    }
    const width = net.layers[net.depth - 1].owner.length;
    const head = denseLayer(rng, this.ctx.settings.init, width, classes, 0.5);
    net.heads[t] = { V: head.W, c: head.b };
    const mask = net.layers.map((ly) => Uint8Array.from(ly.owner, () => 1));
    if (t === 0) {
      await this.train(t, mask, split, this.ctx.settings.epochs);
    } else {
      const kept = await learnMask(
        this.ctx.executor,
        net,
        t,
        split,
        this.o,
        trainingOptions(this.ctx, { epochs: this.o.maskEpochs, learningRate: this.o.maskLearningRate }),
      );
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
      const added = await growRound(this.ctx.executor, rng, net, t, mask, split, this.o);
      if (added.unlocked + added.fresh === 0) break;
      unlocked += added.unlocked;
      commitGap = Math.max(commitGap, added.commitGap);
      fresh += added.fresh;
      rounds++;
      await this.train(t, mask, split, this.ctx.settings.epochs);
      acc = await this.trainAccuracy(t, mask, split);
    }
    net.masks[t] = mask.map((m) => Uint8Array.from(m));
    this.log.push({ task: t, maskKept, rounds, unlocked, fresh, trainAccuracy: acc, commitGap });
  }

  // ---------- parameters ----------

  /** Stored parameters: each neuron's incoming weights from neurons no newer than it, its bias, and every head. */
  parameterCount(): number {
    return this.net.parameterCount();
  }

  taskParameterCount(t: number): number {
    return this.net.taskParameterCount(t);
  }

  // ---------- checkpoints ----------

  state(): FireflyClState {
    return networkState(this.net);
  }

  static restore(ctx: LearnerContext, state: FireflyClState, opts: Partial<FireflyClOptions> = {}): FireflyCl {
    const m = checkState(state, ctx.features, ctx.classes);
    const f = new FireflyCl(ctx, { ...opts, initialWidth: m.layers.map((l) => l.outputs) });
    restoreNetwork(f.net, state);
    return f;
  }
}
