/**
 * The continual-learning phase of a run (experiment field `continual`): every configured method
 * learns the stream's tasks in order; after each task a metrics event carries `task` and
 * `continual` (the accuracy-matrix row, average accuracy, forgetting, parameters), and a checkpoint
 * records which methods are finished (with Firefly CL's master network, masks and random state after
 * every task). A resumed run skips the finished methods; an interrupted Firefly CL continues from the
 * task after its last checkpoint (bit for bit what an uninterrupted run computes), any other
 * interrupted method runs again from its first task (seeded: the same numbers).
 */
import type { Executor } from '../engine';
import { ContinualStopped, FireflyCl, type ContinualMethod, type TaskReport } from '../continual';
import { runContinualExperiment } from '../continual/config';
import { averageForgetting, backwardTransfer, type AccuracyMatrix } from '../continual/metrics';
import type { ContinualLearner } from '../continual/types';
import { architectureOf, specFromConfig } from '../model/spec';
import type { Architecture, ContinualConfig, MetricsParams } from '../protocol';
import type { Checkpoint } from '../runs';
import type { Rng, RngState } from '../random';
import type { FireflyClState } from '../continual';

export interface ContinualHost {
  runId: string;
  seed: number;
  baseDir: string;
  executor: Executor;
  startedAt: number;
  /** The latest checkpoint of the run being resumed, if any. */
  resume?: Checkpoint;
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

/**
 * Firefly CL interrupted mid-stream: its state after the last task it finished, from the run's latest
 * checkpoint (written after that task), when that checkpoint is Firefly CL's and it had not finished.
 */
export function interruptedFirefly(c: Checkpoint | undefined, finished: ReadonlySet<ContinualMethod>): { state: FireflyClState; rng: RngState; matrix: AccuracyMatrix } | undefined {
  const m = c?.meta.continual as { method?: string; fireflyCl?: FireflyClState['meta']; rng?: RngState; matrix?: AccuracyMatrix } | undefined;
  if (!c || !m || m.method !== 'firefly-cl' || finished.has('firefly-cl') || !m.fireflyCl || !m.rng || !Array.isArray(m.matrix)) return undefined;
  return { state: { meta: m.fireflyCl, tensors: c.tensors }, rng: m.rng, matrix: m.matrix };
}

/** Methods a checkpoint of a continual run records as finished. */
export function finishedMethods(meta: Record<string, unknown> | undefined): ContinualMethod[] {
  const c = meta?.continual as { finished?: unknown } | undefined;
  return Array.isArray(c?.finished) ? (c!.finished as unknown[]).filter((m): m is ContinualMethod => typeof m === 'string') : [];
}

export async function runContinualPhase(cfg: ContinualConfig, host: ContinualHost): Promise<ContinualOutcome> {
  const finished = finishedMethods(host.resume?.meta);
  const skip = new Set(finished);
  const fireflyFrom = interruptedFirefly(host.resume, skip);
  const methodIndex = (m: ContinualMethod) => cfg.methods.indexOf(m);
  const rows = new Map<ContinualMethod, AccuracyMatrix>();
  let tasks = 0;
  let best: { method: ContinualMethod; report: TaskReport } | undefined;
  if (fireflyFrom) rows.set('firefly-cl', fireflyFrom.matrix.map((r) => [...r]));
  let checkpoints = Number((host.resume?.meta.continual as { checkpoints?: number } | undefined)?.checkpoints) || 0;
  let previousSeconds = 0;
  const onTask = (method: ContinualMethod, r: TaskReport, streamTasks: string[], learner: ContinualLearner, trainExamples: number, rng: Rng): void => {
    if (r.task === 0 || (fireflyFrom && method === 'firefly-cl' && r.task === fireflyFrom.matrix.length)) previousSeconds = 0;
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
      // Firefly CL's master network and masks after every task (with the random stream and the matrix
      // so far, to continue from the next task); for the others, that the method finished.
      const state = learner instanceof FireflyCl ? learner.state() : undefined;
      const more = state ? { fireflyCl: state.meta, rng: rng.snapshot(), matrix: matrix.slice(0, r.task + 1) } : {};
      host.checkpoint(++checkpoints, {
        meta: { continual: { finished: [...finished], method, task: r.task, checkpoints, ...more } },
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
      fireflyFrom,
      onStream: (stream) => {
        tasks = stream.tasks.length;
        const spec = specFromConfig({ layers: cfg.hidden.map((units) => ({ type: 'dense', units, activation: 'relu' })), init: 'he' }, [stream.features], 'classification', stream.classesPerTask);
        const names = stream.tasks.map((t) => t.name).join(', ');
        host.started(architectureOf(spec), `continual ${stream.name}: ${tasks} tasks (${names}), ${stream.tasks[0].train.n} training examples in task 1; methods ${cfg.methods.join(', ')}`);
      },
      onTask: (method, r, stream, learner, ctx) => onTask(method, r, stream.tasks.map((t) => t.name), learner, stream.tasks[r.task].train.n, ctx.rng),
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
    message: `learnt ${tasks} tasks with ${ran.join(', ')}${skip.size ? ` (already finished: ${[...skip].join(', ')})` : ''}${fireflyFrom ? ` (firefly-cl continued after task ${fireflyFrom.matrix.length})` : ''}`,
  };
}
