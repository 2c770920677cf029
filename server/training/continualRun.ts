/**
 * The continual-learning phase of a run (experiment field `continual`): every configured method
 * learns the stream's tasks in order; after each task a metrics event carries `task` and
 * `continual` (the accuracy-matrix row, average accuracy, forgetting, parameters), and a checkpoint
 * records which methods are finished and the running method's state after every task (Firefly CL's
 * master network and masks; a baseline's tensors and optimiser moments) with the random stream. A
 * resumed run skips the finished methods and continues the interrupted one from the task after its
 * last checkpoint (bit for bit what an uninterrupted run computes).
 */
import type { Executor } from '../engine';
import { CONTINUAL_METHODS, ContinualStopped, type ContinualMethod, type TaskReport } from '../continual';
import { continualConvSpec, runContinualExperiment, type InterruptedMethod } from '../continual/config';
import { convTrunkLayers } from '../continual/convTrunk';
import { averageForgetting, backwardTransfer, type AccuracyMatrix } from '../continual/metrics';
import type { ContinualLearner } from '../continual/types';
import { architectureOf, specFromConfig } from '../model/spec';
import type { Architecture, ContinualConfig, LayerConfig, MetricsParams } from '../../common/protocol';
import type { Checkpoint } from '../runs';
import type { Rng, RngState } from '../random';

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
 * The method the run was learning when it stopped, from the run's latest checkpoint (written after
 * that method's last finished task): its state, random stream and accuracy-matrix rows, unless the
 * checkpoint records it finished. Checkpoints written before every method had per-task state (Firefly
 * CL's under `fireflyCl`) are read too.
 */
export function interruptedMethod(c: Checkpoint | undefined, finished: ReadonlySet<ContinualMethod>): InterruptedMethod | undefined {
  const m = c?.meta.continual as
    { method?: string; learner?: unknown; fireflyCl?: unknown; rng?: RngState; matrix?: AccuracyMatrix } | undefined;
  if (!c || !m || typeof m.method !== 'string' || !(CONTINUAL_METHODS as readonly string[]).includes(m.method)) return undefined;
  const method = m.method as ContinualMethod;
  const meta = m.learner ?? (method === 'firefly-cl' ? m.fireflyCl : undefined);
  if (finished.has(method) || meta === undefined || !m.rng || !Array.isArray(m.matrix)) return undefined;
  return { method, state: { meta, tensors: c.tensors }, rng: m.rng, matrix: m.matrix };
}

/** Methods a checkpoint of a continual run records as finished. */
export function finishedMethods(meta: Record<string, unknown> | undefined): ContinualMethod[] {
  const c = meta?.continual as { finished?: unknown } | undefined;
  return Array.isArray(c?.finished) ? (c!.finished as unknown[]).filter((m): m is ContinualMethod => typeof m === 'string') : [];
}

export async function runContinualPhase(cfg: ContinualConfig, host: ContinualHost): Promise<ContinualOutcome> {
  const finished = finishedMethods(host.resume?.meta);
  const skip = new Set(finished);
  const from = interruptedMethod(host.resume, skip);
  const methodIndex = (m: ContinualMethod) => cfg.methods.indexOf(m);
  const rows = new Map<ContinualMethod, AccuracyMatrix>();
  let tasks = 0;
  let best: { method: ContinualMethod; report: TaskReport } | undefined;
  if (from)
    rows.set(
      from.method,
      from.matrix.map((r) => [...r]),
    );
  let checkpoints = Number((host.resume?.meta.continual as { checkpoints?: number } | undefined)?.checkpoints) || 0;
  let previousSeconds = 0;
  const onTask = (
    method: ContinualMethod,
    r: TaskReport,
    streamTasks: string[],
    learner: ContinualLearner,
    trainExamples: number,
    rng: Rng,
  ): void => {
    if (r.task === 0 || (from && method === from.method && r.task === from.matrix.length)) previousSeconds = 0;
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
    // After every task: the learner's state (Firefly CL's master network and masks; a baseline's tensors
    // and optimiser) with the random stream and the matrix so far, to continue from the next task. A
    // baseline's last task only records that it finished; Firefly CL's keeps its state (the masks).
    const state = !last || method === 'firefly-cl' ? learner.state() : undefined;
    const more = state ? { learner: state.meta, rng: rng.snapshot(), matrix: matrix.slice(0, r.task + 1) } : {};
    host.checkpoint(
      ++checkpoints,
      {
        meta: { continual: { finished: [...finished], method, task: r.task, checkpoints, ...more } },
        tensors: state?.tensors ?? {},
      },
      step,
    );
    if (last && (method === 'firefly-cl' || best?.method !== 'firefly-cl')) best = { method, report: r };
  };
  try {
    await runContinualExperiment(cfg, host.executor, {
      seed: host.seed,
      baseDir: host.baseDir,
      hooks: { control: () => host.control() },
      skip,
      from,
      onStream: (stream) => {
        tasks = stream.tasks.length;
        // The baselines' network for one task: the conv trunk or the MLP.
        const conv = continualConvSpec(cfg, stream);
        const layers: LayerConfig[] = conv
          ? convTrunkLayers(conv)
          : cfg.hidden.map((units) => ({ type: 'dense', units, activation: 'relu' }));
        const spec = specFromConfig(
          { layers, init: 'he' },
          conv ? [...conv.input] : [stream.features],
          'classification',
          stream.classesPerTask,
        );
        const names = stream.tasks.map((t) => t.name).join(', ');
        host.started(
          architectureOf(spec),
          `continual ${stream.name}: ${tasks} tasks (${names}), ${stream.tasks[0].train.n} training examples in task 1; methods ${cfg.methods.join(', ')}`,
        );
      },
      onTask: (method, r, stream, learner, ctx) =>
        onTask(
          method,
          r,
          stream.tasks.map((t) => t.name),
          learner,
          stream.tasks[r.task].train.n,
          ctx.rng,
        ),
    });
  } catch (e) {
    if (e instanceof ContinualStopped)
      return {
        stopped: true,
        params: best?.report.parameters ?? 0,
        averageAccuracy: best?.report.averageAccuracy,
        message: 'stopped by request',
      };
    throw e;
  }
  const ran = cfg.methods.filter((m) => !skip.has(m));
  return {
    stopped: false,
    averageAccuracy: best?.report.averageAccuracy,
    params: best?.report.parameters ?? 0,
    trainLoss: best?.report.trainLoss,
    message: `learnt ${tasks} tasks with ${ran.join(', ')}${skip.size ? ` (already finished: ${[...skip].join(', ')})` : ''}${from ? ` (${from.method} continued after task ${from.matrix.length})` : ''}`,
  };
}
