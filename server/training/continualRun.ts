/**
 * The continual-learning phase of a run (experiment field `continual`): every configured method
 * learns the stream's tasks in order; after each task a metrics event carries `task` and
 * `continual` (the accuracy-matrix row, average accuracy, forgetting, parameters), and a checkpoint
 * records which methods are finished (with Firefly CL's master network and masks). A resumed run
 * skips the finished methods and runs the interrupted one again from its first task (every method
 * is seeded, so it reproduces the same numbers).
 */
import type { Executor } from '../engine';
import { ContinualStopped, FireflyCl, type ContinualMethod, type TaskReport } from '../continual';
import { runContinualExperiment } from '../continual/config';
import { averageForgetting, backwardTransfer, type AccuracyMatrix } from '../continual/metrics';
import type { ContinualLearner } from '../continual/types';
import { architectureOf, specFromConfig } from '../model/spec';
import type { Architecture, ContinualConfig, MetricsParams } from '../protocol';
import type { Checkpoint } from '../runs';

export interface ContinualHost {
  runId: string;
  seed: number;
  baseDir: string;
  executor: Executor;
  startedAt: number;
  /** Checkpoint meta of the run being resumed, if any. */
  resumeMeta?: Record<string, unknown>;
  /** Pause/stop between batches: true stops. */
  control(): Promise<boolean>;
  /** The stream is loaded: the run's start event (fresh runs) with the baselines' architecture. */
  started(architecture: Architecture, description: string): void;
  metrics(m: MetricsParams): void;
  checkpoint(index: number, c: Checkpoint, step: number): void;
}

export interface ContinualOutcome {
  stopped: boolean;
  /** Average accuracy and parameters of Firefly CL when it ran, else of the last method that finished. */
  averageAccuracy?: number;
  params: number;
  trainLoss?: number;
  message: string;
}

/** Why a continual run has no architecture to show (getArchitecture, export). */
export function noSingleArchitecture(runId: string): string {
  return `run ${runId} is a continual-learning run: each method has its own networks, there is no single architecture to show`;
}

/** Methods a checkpoint of a continual run records as finished. */
export function finishedMethods(meta: Record<string, unknown> | undefined): ContinualMethod[] {
  const c = meta?.continual as { finished?: unknown } | undefined;
  return Array.isArray(c?.finished) ? (c!.finished as unknown[]).filter((m): m is ContinualMethod => typeof m === 'string') : [];
}

export async function runContinualPhase(cfg: ContinualConfig, host: ContinualHost): Promise<ContinualOutcome> {
  const finished = finishedMethods(host.resumeMeta);
  const skip = new Set(finished);
  const methodIndex = (m: ContinualMethod) => cfg.methods.indexOf(m);
  const rows = new Map<ContinualMethod, AccuracyMatrix>();
  let tasks = 0;
  let best: { method: ContinualMethod; report: TaskReport } | undefined;
  let checkpoints = Number((host.resumeMeta?.continual as { checkpoints?: number } | undefined)?.checkpoints) || 0;
  let previousSeconds = 0;
  const onTask = (method: ContinualMethod, r: TaskReport, streamTasks: string[], learner: ContinualLearner, trainExamples: number): void => {
    if (r.task === 0) previousSeconds = 0;
    // Training examples seen per second of the task's wall time (evaluation included).
    const samplesPerSecond = (trainExamples * cfg.epochs) / Math.max(1e-3, r.seconds - previousSeconds);
    previousSeconds = r.seconds;
    const matrix = rows.get(method) ?? [];
    matrix[r.task] = r.accuracies;
    rows.set(method, matrix);
    const step = methodIndex(method) * tasks + r.task + 1;
    host.metrics({
      runId: host.runId,
      epoch: r.task + 1,
      step,
      trainLoss: r.trainLoss,
      testAccuracy: r.averageAccuracy,
      params: r.parameters,
      samplesPerSecond,
      engine: host.executor.engine,
      executionProvider: host.executor.provider as MetricsParams['executionProvider'],
      elapsedMs: Math.round(performance.now() - host.startedAt),
      task: r.task,
      continual: {
        method,
        tasks,
        taskName: streamTasks[r.task],
        accuracies: r.accuracies,
        averageAccuracy: r.averageAccuracy,
        forgetting: r.task === 0 ? 0 : averageForgetting(matrix.slice(0, r.task + 1)),
        backwardTransfer: r.task === 0 ? 0 : backwardTransfer(matrix.slice(0, r.task + 1)),
        taskParameters: r.taskParameters,
      },
    });
    const last = r.task === tasks - 1;
    if (last) finished.push(method);
    if (method === 'firefly-cl' || last) {
      // Firefly CL's master network and masks after every task; for the others, that the method finished.
      const state = learner instanceof FireflyCl ? learner.state() : undefined;
      host.checkpoint(++checkpoints, {
        meta: { continual: { finished: [...finished], method, task: r.task, checkpoints, ...(state ? { fireflyCl: state.meta } : {}) } },
        tensors: state?.tensors ?? {},
      }, step);
    }
    if (last && (method === 'firefly-cl' || best?.method !== 'firefly-cl')) best = { method, report: r };
  };
  try {
    await runContinualExperiment(cfg, host.executor, {
      seed: host.seed,
      baseDir: host.baseDir,
      hooks: { control: () => host.control() },
      skip,
      onStream: (stream) => {
        tasks = stream.tasks.length;
        const spec = specFromConfig({ layers: cfg.hidden.map((units) => ({ type: 'dense', units, activation: 'relu' })), init: 'he' }, [stream.features], 'classification', stream.classesPerTask);
        const names = stream.tasks.map((t) => t.name).join(', ');
        host.started(architectureOf(spec), `continual ${stream.name}: ${tasks} tasks (${names}), ${stream.tasks[0].train.n} training examples in task 1; methods ${cfg.methods.join(', ')}`);
      },
      onTask: (method, r, stream, learner) => onTask(method, r, stream.tasks.map((t) => t.name), learner, stream.tasks[r.task].train.n),
    });
  } catch (e) {
    if (e instanceof ContinualStopped) return { stopped: true, params: best?.report.parameters ?? 0, averageAccuracy: best?.report.averageAccuracy, message: 'stopped by request' };
    throw e;
  }
  const ran = cfg.methods.filter((m) => !skip.has(m));
  return {
    stopped: false,
    averageAccuracy: best?.report.averageAccuracy,
    params: best?.report.parameters ?? 0,
    trainLoss: best?.report.trainLoss,
    message: `learnt ${tasks} tasks with ${ran.join(', ')}${skip.size ? ` (already finished: ${[...skip].join(', ')})` : ''}`,
  };
}
