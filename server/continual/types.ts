import type { Executor } from '../engine';
import type { Rng } from '../random';
import type { ConvSpec } from './convTrunk';
import type { LayerInit } from './tensors';
import { continualOptimizer, type TrainHooks, type TrainOptions } from './training';
import type { LearnerState } from './learnerState';
import type { ContinualTask } from './streams';

export interface ContinualSettings {
  /** Hidden widths of the baselines' MLPs (and of each Progressive column, each Individual network). */
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** How every method initialises a fresh layer (Firefly CL's initial network and heads too). */
  init: LayerInit;
  /** Fine-tuning and EWC: one optimiser through the whole stream (`keep`) or a fresh one per task. */
  optimizerState: 'keep' | 'reset';
  /** The baselines train this many minibatches per task instead of `epochs` (Firefly CL's phases keep epochs). */
  iterations?: number;
  /** Adam's ε for every method (default the experiment schema's training.epsilon, 1e-7; torch's is 1e-8). */
  adamEpsilon?: number;
  /**
   * A conv model instead of MLPs (convTrunk.ts): the baselines' trunks (each Progressive column and
   * Individual network too) have these channels, and Firefly CL grows its channels from `initialWidth`.
   */
  conv?: ConvSpec;
}

/** A continual learner: learns tasks in order; evaluates any task learned so far through its own head. */
export interface ContinualLearner {
  readonly method: string;
  learnTask(task: ContinualTask, t: number): Promise<void>;
  /** Test accuracy of task t (0-based, already learned). */
  evaluate(task: ContinualTask, t: number): Promise<number>;
  /** Parameters stored in total now. */
  parameterCount(): number;
  /** Parameters task t uses (reachable through its mask / column, plus its head). */
  taskParameterCount(t: number): number;
  /** Everything needed to continue after the tasks learnt so far (a checkpoint; makeLearner continues from it). */
  state(): LearnerState;
}

export interface LearnerContext {
  executor: Executor;
  features: number;
  /** Output units of each task's head. */
  classes: number;
  /** Tasks in the stream (the shared-trunk baselines make their multi-headed output layer for all of them). */
  tasks: number;
  rng: Rng;
  settings: ContinualSettings;
  /** The run's pause/stop control and loss reports, passed to every training loop. */
  hooks?: TrainHooks;
}

/** A learner's training options: the experiment's settings, its random stream and the run's hooks; `o` overrides. */
export function trainingOptions(ctx: LearnerContext, o: Partial<Pick<TrainOptions, 'epochs' | 'learningRate'>> = {}): TrainOptions {
  const s = ctx.settings;
  return {
    epochs: o.epochs ?? s.epochs,
    // A learner that names its epochs (Firefly CL's phases) trains that many passes, never `iterations`.
    iterations: o.epochs === undefined ? s.iterations : undefined,
    batchSize: s.batchSize,
    learningRate: o.learningRate ?? s.learningRate,
    optimizer: continualOptimizer(s.adamEpsilon),
    rng: ctx.rng,
    ...ctx.hooks,
  };
}
