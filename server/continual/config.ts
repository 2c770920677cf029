/**
 * The experiment field `continual`: which stream, which methods, and the per-task budget. Its shape,
 * defaults and messages come from experiment.schema.json (one validator for every field);
 * runContinualExperiment runs each method through the stream and reports after every task.
 */
import { resolveExperiment } from '../config';
import type { Executor } from '../engine';
import type { ContinualConfig } from '../../common/protocol';
import { Rng, type RngState } from '../random';
import type { LearnerState } from './learnerState';
import type { AccuracyMatrix } from './metrics';
import type { TrainHooks } from './training';
import { type ContinualMethod, type ContinualResult, type TaskReport, makeLearner, runContinual } from './index';
import { DEFAULT_CONTINUAL_CONV } from '../config/defaults';
import { DatasetError } from '../datasets/errors';
import { checkConvSpec, type ConvSpec } from './convTrunk';
import { loadStream, type TaskStream } from './streams';
import type { ContinualLearner } from './types';

export type { ContinualConfig };

export interface InterruptedMethod {
  method: ContinualMethod;
  state: LearnerState;
  rng: RngState;
  matrix: AccuracyMatrix;
}

/** Validates a `continual` object against the schema, with its defaults; throws naming every bad field. */
export function parseContinualConfig(raw: unknown): ContinualConfig {
  return resolveExperiment({ continual: raw }).continual!;
}

export interface ContinualRunOptions {
  seed: number;
  /** Where custom streams' relative csv paths start. */
  baseDir?: string;
  hooks?: TrainHooks;
  /** Methods already finished (a resumed run): skipped. */
  skip?: ReadonlySet<ContinualMethod>;
  /**
   * A method interrupted after some tasks (a resumed run): its state after the last task it finished
   * (Firefly CL's master network and masks; a baseline's tensors and optimiser), the random stream
   * where it was, and the accuracy-matrix rows so far; it continues with the next task.
   */
  from?: InterruptedMethod;
  onStream?: (stream: TaskStream) => void;
  onTask?: (method: ContinualMethod, r: TaskReport, stream: TaskStream, learner: ContinualLearner, ctx: { rng: Rng }) => void;
}

/**
 * The conv net of a `model: conv` experiment on the stream's images (undefined for MLPs); throws a
 * DatasetError naming continual.conv when it does not fit them (pool flags, too many pools, a stream
 * without an image shape).
 */
export function continualConvSpec(cfg: ContinualConfig, stream: TaskStream): ConvSpec | undefined {
  if (cfg.model !== 'conv') return undefined;
  const c = cfg.conv ?? DEFAULT_CONTINUAL_CONV;
  const shape = stream.inputShape;
  if (!shape || shape.length !== 3)
    throw new DatasetError(
      `continual.model conv: the ${stream.name} stream's rows are not images [C, H, W] (input shape ${JSON.stringify(shape ?? [stream.features])}); use model mlp`,
    );
  const spec: ConvSpec = { input: [shape[0], shape[1], shape[2]], channels: [...c.channels], pool: [...c.pool] };
  if (spec.pool.length !== spec.channels.length)
    throw new DatasetError(`continual.conv: ${spec.pool.length} pool flags for ${spec.channels.length} conv layers (one flag per layer)`);
  try {
    checkConvSpec(spec, stream.features);
  } catch (e) {
    throw new DatasetError(`continual.conv: ${(e as Error).message}`);
  }
  const widths = cfg.firefly.initialWidth;
  if (cfg.methods.includes('firefly-cl') && widths && widths.length !== spec.channels.length)
    throw new DatasetError(
      `continual.firefly.initialWidth has ${widths.length} layers, continual.conv.channels has ${spec.channels.length}: one starting width per conv layer`,
    );
  return spec;
}

/** Runs every configured method through the stream; `onTask` after each task of each method. */
export async function runContinualExperiment(cfg: ContinualConfig, executor: Executor, o: ContinualRunOptions): Promise<ContinualResult[]> {
  const stream = await loadStream(cfg.stream, {
    seed: o.seed,
    trainPerTask: cfg.trainPerTask,
    testPerTask: cfg.testPerTask,
    tasks: cfg.tasks,
    datasets: cfg.datasets,
    classOrder: cfg.classOrder,
    baseDir: o.baseDir,
    path: cfg.path,
  });
  o.onStream?.(stream);
  const conv = continualConvSpec(cfg, stream);
  const settings = {
    hidden: cfg.hidden,
    epochs: cfg.epochs,
    batchSize: cfg.batchSize,
    learningRate: cfg.learningRate,
    init: cfg.init,
    optimizerState: cfg.optimizerState,
    conv,
  };
  const results: ContinualResult[] = [];
  for (const m of cfg.methods) {
    if (o.skip?.has(m)) continue;
    // Each method starts from the same seed, so a method's numbers do not depend on which others ran.
    let lastLoss = NaN;
    const hooks: TrainHooks = {
      control: o.hooks?.control,
      onEpochLoss: (l) => {
        lastLoss = l;
        o.hooks?.onEpochLoss?.(l);
      },
    };
    const from = m === o.from?.method ? o.from : undefined;
    const ctx = {
      executor,
      features: stream.features,
      classes: stream.classesPerTask,
      tasks: stream.tasks.length,
      rng: from ? Rng.restore(from.rng) : new Rng(o.seed),
      settings,
      hooks,
    };
    const learner = makeLearner(m, ctx, { ewcLambda: cfg.ewcLambda, firefly: cfg.firefly }, from?.state);
    results.push(
      await runContinual(
        learner,
        stream,
        (r) => o.onTask?.(m, r, stream, learner, ctx),
        () => lastLoss,
        from,
      ),
    );
  }
  return results;
}
