/**
 * Firefly continual learning (Wu et al. 2020, §2.4, App. A Algorithm 2) on a conv net, the setting of
 * the paper's Table 2 / Fig. 5 (a thin VGG-16 without fully connected layers on split CIFAR-100): the
 * neurons are conv channels (convClNetwork.ts), masked per task and locked once their task is done.
 * - Task 0: the initial net (`initialWidth` channels per conv layer of `settings.conv`) is trained; while
 *   its training accuracy is below `targetAccuracy` and rounds are left it grows by splitting existing
 *   channels and adding brand-new ones (fireflyClConvGrow.ts), "Grow f_t by splitting existing neurons
 *   and growing new neurons", then trains again.
 * - Task t > 0: every old channel is locked; a mask over them is learnt (fireflyClMask.ts: sigmoid gates
 *   with a sparsity pressure, binarised at 0.5) with the task's head; the masked net is trained (head
 *   only at first); then it grows by unlocking old channels (trainable copies) and adding new ones.
 * The task's mask is then recorded; old tasks are evaluated by gathering their own channels, so their
 * outputs are bit-identical after later tasks.
 */
import type { Value } from '../engine';
import { ConvClNetwork } from './convClNetwork';
import { checkConvSpec, convKernel, type ConvSpec } from './convTrunk';
import { FIREFLY_CL_DEFAULTS, type FireflyClOptions } from './fireflyCl';
import { convGrowRound } from './fireflyClConvGrow';
import { learnMask } from './fireflyClMask';
import { type LearnerState, packTensors, stateMeta, unpackTensors } from './learnerState';
import type { ContinualTask } from './streams';
import { Builder, Tensors, ceLoss, denseLayer } from './tensors';
import { accuracy, evaluateOutputs, trainTensors, type TaskSplit } from './training';
import { trainingOptions, type ContinualLearner, type LearnerContext } from './types';

interface ConvFireflyMeta {
  kind: 'conv-firefly-cl';
  shapes: Record<string, number[]>;
  spec: ConvSpec;
  layers: { owner: number[]; parent: number[] }[];
  masks: number[][][];
}

export class FireflyClConv implements ContinualLearner {
  readonly method = 'firefly-cl';
  readonly net: ConvClNetwork;
  readonly log: {
    task: number;
    maskKept: number[];
    rounds: number;
    split: number;
    unlocked: number;
    fresh: number;
    trainAccuracy: number;
    commitGap: number;
  }[] = [];
  private readonly o: FireflyClOptions;

  /** The conv trunk is ctx.settings.conv with `initialWidth` channels (default: the spec's own). */
  constructor(
    private readonly ctx: LearnerContext,
    opts: Partial<FireflyClOptions> = {},
    from?: LearnerState,
  ) {
    const base = ctx.settings.conv;
    if (!base) throw new Error('firefly-cl on a conv net: settings.conv is missing');
    this.o = { ...FIREFLY_CL_DEFAULTS, initialWidth: base.channels, ...opts };
    if (this.o.initialWidth.length !== base.channels.length)
      throw new Error(
        `firefly-cl: initialWidth has ${this.o.initialWidth.length} layers, the conv model has ${base.channels.length} conv layers`,
      );
    const spec: ConvSpec = { ...base, channels: [...this.o.initialWidth] };
    checkConvSpec(spec, ctx.features);
    this.net = new ConvClNetwork(spec, ctx.features, ctx.classes);
    if (from) this.restore(from);
  }

  get masks(): Uint8Array[][] {
    return this.net.masks;
  }

  masterTensors(): Tensors {
    return this.net.masterTensors();
  }

  taskLogits(b: Builder, t: number): Value {
    return this.net.taskLogits(b, t);
  }

  async evaluate(task: ContinualTask, t: number): Promise<number> {
    return accuracy(this.ctx.executor, this.net.masterTensors(), task.test, this.ctx.features, this.ctx.classes, (b) =>
      this.net.taskLogits(b, t),
    );
  }

  /** Task t's logits on a split through its mask (gathered from the master, as evaluate). */
  async taskOutputs(split: TaskSplit, t: number): Promise<Float32Array> {
    return evaluateOutputs(this.ctx.executor, this.net.masterTensors(), split, this.ctx.features, this.ctx.classes, (b) =>
      this.net.taskLogits(b, t),
    );
  }

  /** The latest task's logits through the training graph (the full master, its mask as 0/1 multiplications). */
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
    const { rng } = this.ctx;
    const net = this.net;
    const split = task.train;
    const init = this.ctx.settings.init;
    if (t === 0) {
      let cin = net.spec.input[0];
      for (const w of net.spec.channels) {
        const { K, b } = convKernel(rng, init, cin, w);
        net.layers.push({ K, b, owner: new Array(w).fill(0), parent: new Array(w).fill(-1) });
        cin = w;
      }
    }
    const width = net.layers[net.depth - 1].owner.length;
    const head = denseLayer(rng, init, width, this.ctx.classes, 0.5);
    net.heads[t] = { V: head.W, c: head.b };
    const mask = net.layers.map((ly) => Uint8Array.from(ly.owner, () => 1));
    let maskKept: number[] = [];
    if (t > 0) {
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
    }
    await this.train(t, mask, split, this.ctx.settings.epochs);
    let acc = await this.trainAccuracy(t, mask, split);
    let rounds = 0;
    let unlocked = 0;
    let fresh = 0;
    let splitCount = 0;
    let commitGap = 0;
    while (acc < this.o.targetAccuracy && rounds < this.o.maxGrowRounds) {
      const added = await convGrowRound(this.ctx.executor, rng, net, t, mask, split, this.o);
      if (added.unlocked + added.fresh + added.split === 0) break;
      unlocked += added.unlocked;
      fresh += added.fresh;
      splitCount += added.split;
      commitGap = Math.max(commitGap, added.commitGap);
      rounds++;
      await this.train(t, mask, split, this.ctx.settings.epochs);
      acc = await this.trainAccuracy(t, mask, split);
    }
    net.masks[t] = mask.map((m) => Uint8Array.from(m));
    this.log.push({ task: t, maskKept, rounds, split: splitCount, unlocked, fresh, trainAccuracy: acc, commitGap });
  }

  parameterCount(): number {
    return this.net.parameterCount();
  }

  taskParameterCount(t: number): number {
    return this.net.taskParameterCount(t);
  }

  state(): LearnerState<ConvFireflyMeta> {
    const p = packTensors(this.net.masterTensors());
    return {
      tensors: p.tensors,
      meta: {
        kind: 'conv-firefly-cl',
        shapes: p.shapes,
        spec: this.net.spec,
        layers: this.net.layers.map((ly) => ({ owner: [...ly.owner], parent: [...ly.parent] })),
        masks: this.net.masks.map((m) => m.map((x) => Array.from(x))),
      },
    };
  }

  private restore(from: LearnerState): void {
    const m = stateMeta<ConvFireflyMeta>(this.method, from, 'conv-firefly-cl');
    if (m.spec.input.join() !== this.net.spec.input.join() || m.spec.pool.join() !== this.net.spec.pool.join())
      throw new Error('firefly-cl checkpoint: its conv model differs from the experiment’s');
    const t = unpackTensors(this.method, from, m.shapes);
    this.net.layers = m.layers.map((ly, l) => {
      if (!t[`K${l}`] || !t[`b${l}`]) throw new Error(`firefly-cl checkpoint: tensor K${l} or b${l} is missing`);
      return { K: t[`K${l}`], b: t[`b${l}`], owner: [...ly.owner], parent: [...ly.parent] };
    });
    this.net.heads = m.masks.map((_, k) => {
      if (!t[`V${k}`] || !t[`c${k}`]) throw new Error(`firefly-cl checkpoint: head ${k} is missing`);
      return { V: t[`V${k}`], c: t[`c${k}`] };
    });
    this.net.masks = m.masks.map((x) => x.map((v) => Uint8Array.from(v)));
  }
}
