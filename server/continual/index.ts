/**
 * Continual learning: run a learner through a task stream, evaluating every task seen so far after
 * each task (the accuracy matrix) and summarising average accuracy, forgetting, backward transfer and
 * parameters.
 */
import { Individual, Progressive, SharedTrunk } from './baselines';
import { FireflyCl, type FireflyClOptions, type FireflyClState } from './fireflyCl';
import { FireflyClConv } from './fireflyClConv';
import type { LearnerState } from './learnerState';
import { averageAccuracy, averageForgetting, backwardTransfer, forgettingPerTask, type AccuracyMatrix } from './metrics';
import type { ContinualMethodName } from '../../common/protocol';
import type { TaskStream } from './streams';
import type { ContinualLearner, LearnerContext } from './types';

export * from './metrics';
export * from './streams';
export * from './types';
export { ContinualStopped, type TrainHooks } from './training';
export { FireflyCl, FIREFLY_CL_DEFAULTS } from './fireflyCl';
export { FireflyClConv } from './fireflyClConv';
export { thinVgg16, type ConvSpec } from './convTrunk';
export type { FireflyClOptions, FireflyClState } from './fireflyCl';
export type { LearnerState } from './learnerState';
export { Individual, Progressive, SharedTrunk, ewcPenalty } from './baselines';

export const CONTINUAL_METHODS: readonly ContinualMethodName[] = ['firefly-cl', 'finetune', 'ewc', 'progressive', 'individual'];
export type ContinualMethod = ContinualMethodName;

export interface MethodOptions {
  firefly?: Partial<FireflyClOptions>;
  ewcLambda?: number;
  fisherExamples?: number;
}

/** A fresh learner, or (with `from`) one continuing from a checkpointed state. */
export function makeLearner(method: ContinualMethod, ctx: LearnerContext, o: MethodOptions = {}, from?: LearnerState): ContinualLearner {
  switch (method) {
    case 'firefly-cl':
      if (ctx.settings.conv) return new FireflyClConv(ctx, o.firefly, from);
      return from ? FireflyCl.restore(ctx, from as FireflyClState, o.firefly) : new FireflyCl(ctx, o.firefly);
    case 'finetune':
      return new SharedTrunk(ctx, undefined, from);
    case 'ewc':
      return new SharedTrunk(ctx, { lambda: o.ewcLambda ?? 1e5, fisherExamples: o.fisherExamples ?? 500 }, from);
    case 'progressive':
      return new Progressive(ctx, from);
    case 'individual':
      return new Individual(ctx, from);
  }
}

/** What a metrics event would carry after task `task` (0-based). */
export interface TaskReport {
  task: number;
  /** Accuracy on tasks 0..task after learning `task`. */
  accuracies: number[];
  averageAccuracy: number;
  parameters: number;
  taskParameters: number[];
  /** Mean training loss of the task's last epoch. */
  trainLoss: number;
  seconds: number;
}

export interface ContinualResult {
  method: string;
  accuracyMatrix: AccuracyMatrix;
  averageAccuracy: number;
  /** Mean forgetting over the old tasks, and per task (best earlier − final). */
  forgetting: number;
  forgettingPerTask: number[];
  backwardTransfer: number;
  parameters: number;
  taskParameters: number[];
  seconds: number;
  reports: TaskReport[];
}

/**
 * `lastLoss`: the learner's latest epoch loss (from its TrainHooks), reported with each task.
 * `from`: continue a stream whose first tasks the (restored) learner has already learnt: their rows
 * of the accuracy matrix; reports are made for the remaining tasks only.
 */
export async function runContinual(
  learner: ContinualLearner,
  stream: TaskStream,
  onTask?: (r: TaskReport) => void,
  lastLoss?: () => number,
  from?: { matrix: AccuracyMatrix },
): Promise<ContinualResult> {
  const start = Date.now();
  const matrix: AccuracyMatrix = (from?.matrix ?? []).map((row) => [...row]);
  const reports: TaskReport[] = [];
  for (let t = matrix.length; t < stream.tasks.length; t++) {
    await learner.learnTask(stream.tasks[t], t);
    const row: number[] = [];
    for (let j = 0; j <= t; j++) row.push(await learner.evaluate(stream.tasks[j], j));
    matrix.push(row);
    const r: TaskReport = {
      task: t,
      accuracies: row,
      averageAccuracy: averageAccuracy(matrix, t),
      parameters: learner.parameterCount(),
      taskParameters: row.map((_, j) => learner.taskParameterCount(j)),
      trainLoss: lastLoss?.() ?? NaN,
      seconds: (Date.now() - start) / 1000,
    };
    reports.push(r);
    onTask?.(r);
  }
  const T = matrix.length - 1;
  const last = reports[reports.length - 1] ?? {
    parameters: learner.parameterCount(),
    taskParameters: matrix[T].map((_, j) => learner.taskParameterCount(j)),
  };
  return {
    method: learner.method,
    accuracyMatrix: matrix,
    averageAccuracy: averageAccuracy(matrix),
    forgetting: averageForgetting(matrix),
    forgettingPerTask: forgettingPerTask(matrix),
    backwardTransfer: backwardTransfer(matrix),
    parameters: last.parameters,
    taskParameters: last.taskParameters,
    seconds: (Date.now() - start) / 1000,
    reports,
  };
}
