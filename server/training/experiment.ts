/**
 * One experiment run: loads the data, builds the model and executor, trains epoch by epoch with
 * pause/resume/stop taking effect within one batch, streams throttled metrics, and keeps everything
 * in the run folder (events, checkpoints) so that history survives the process.
 *
 * This module holds the run's lifecycle and its controls; the parts live beside it: runTypes.ts
 * (options, listener, summary), runLog.ts (events and checkpoints), modelSetup.ts (the starting
 * model), epochLoop.ts (the training loop), growRequests.ts (grow queue and proposals),
 * continualRun.ts (continual-learning runs).
 */
import * as os from 'os';
import * as path from 'path';
import type { Architecture, ContinualConfig, ExperimentConfig, GrowEventParams, MetricsParams, RunStatus } from '../../common/protocol';
import { DEFAULT_MAX_PARAMS } from '../../common/protocol';
import { growContext } from '../growth/context';
import { growthMethod } from '../growth';
import { runGrowStep } from '../growth/step';
import { GrowthError, GrowOptions } from '../growth/types';
import { GrowSchedule } from './schedule';
import { loadDataset } from '../datasets';
import type { Dataset } from '../datasets/types';
import { Executor, optimizerSlots } from '../engine';
import { GrowableModel } from '../model/growable';
import { ModelSpec, activationMemoryProblem, architectureOf, defaultMaxActivationMemoryMB } from '../model/spec';
import type { Checkpoint, RunHandle } from '../runs';
import { noSingleArchitecture, runContinualPhase } from './continualRun';
import { trainEpochs, type LastMetrics } from './epochLoop';
import { createExecutor, describeExecutor } from './executors';
import { GrowRequests, type GrowOutcome } from './growRequests';
import { prepareAugment, type PreparedAugment } from './augmentSetup';
import { CONSTANT_SCHEDULE, LrScheduler, parseLrState } from './lrSchedule';
import { initialModel, restoreCheckpoint, validateCheckpoint } from './modelSetup';
import { RunLog } from './runLog';
import { RunFailure, type RunOptions, type RunSummaryResult } from './runTypes';
import { Throttle } from './throttle';
import { boundMessage } from '../messages';
import { EVAL_BATCH, Trainer, optimizerSettings } from '../trainer/trainer';

export { RunFailure } from './runTypes';
export type { RunListener, RunOptions, RunSummaryResult } from './runTypes';

export class ExperimentRun {
  readonly runId: string;
  readonly config: ExperimentConfig;
  status: RunStatus = 'running';
  private readonly log: RunLog;
  private model: GrowableModel | undefined;
  private trainer: Trainer | undefined;
  private executor: Executor | undefined;
  private data: Dataset | undefined;
  private stopRequested = false;
  private pauseRequested = false;
  private resumeWaiter: (() => void) | undefined;
  private readonly grows: GrowRequests;
  private growSteps = 0;
  private epoch = 0;
  private schedule: GrowSchedule | undefined;
  private lr: LrScheduler | undefined;
  private augment: PreparedAugment | undefined;
  private readonly resumeFrom: { checkpoint: Checkpoint; file: string; warnings: string[] } | undefined;
  /** Whether the current epoch's training is finished (for checkpoints written by grows). */
  private epochComplete = false;
  private firstEpoch = 1;
  private readonly startedAt = performance.now();
  private readonly metricsThrottle: Throttle<MetricsParams>;
  private last: LastMetrics = {};
  private warnings: string[] = [];
  /** Continual runs: parameters of the method summarised (Firefly CL when it ran). */
  private continualParams: number | undefined;
  done: Promise<RunSummaryResult> | undefined;

  constructor(private readonly opts: RunOptions) {
    let handle: RunHandle;
    if (opts.resume) {
      // Fails (unknown run, no intact checkpoint) before anything is written.
      this.config = opts.resume.config ?? opts.store.readConfig(opts.resume.runId);
      const latest = opts.store.readLatestCheckpoint(opts.resume.runId);
      if (!latest) throw new RunFailure(`run ${opts.resume.runId} has no checkpoint to resume from`);
      if (!this.config.continual) validateCheckpoint(latest.checkpoint, latest.file);
      this.resumeFrom = latest;
      handle = opts.store.openRun(opts.resume.runId);
    } else {
      this.config = opts.config;
      handle = opts.store.createRun(opts.config, { configPath: opts.configPath });
    }
    this.runId = handle.runId;
    this.log = new RunLog(handle, opts.listener);
    this.grows = new GrowRequests(this.runId);
    this.metricsThrottle = new Throttle(opts.metricsIntervalMs ?? 100, (m) => this.log.metrics(m));
  }

  /** Begin training in the background; `done` settles when the run ends (it never rejects). */
  start(): Promise<RunSummaryResult> {
    if (!this.done) this.done = this.loop();
    return this.done;
  }

  architecture(): Architecture {
    if (this.model) return this.model.architecture();
    if (this.config.continual) throw new RunFailure(noSingleArchitecture(this.runId));
    throw new RunFailure(`run ${this.runId} has not built its model yet`);
  }

  /** A copy of the live model's spec and weights (no optimiser state) for export; undefined before it is built. */
  modelSnapshot(): { spec: ModelSpec; tensors: Map<string, Float32Array>; epoch: number; step: number; growSteps: number } | undefined {
    const m = this.model;
    if (!m) return undefined;
    const tensors = new Map<string, Float32Array>();
    for (const [k, v] of m.tensors) tensors.set(k, Float32Array.from(v));
    return { spec: structuredClone(m.spec), tensors, epoch: this.epoch, step: this.trainer?.stepCount ?? 0, growSteps: this.growSteps };
  }

  pause(): void {
    this.assertActive('pause');
    if (this.status === 'paused' || this.pauseRequested) return;
    this.pauseRequested = true;
  }

  resume(): void {
    this.assertActive('resume');
    const p = this.grows.pending;
    if (p) throw new RunFailure(`run ${this.runId} waits for its proposal ${p.id} to be committed or rejected`);
    this.pauseRequested = false;
    const w = this.resumeWaiter;
    this.resumeWaiter = undefined;
    w?.();
  }

  stop(): void {
    this.assertActive('stop');
    // An uncommitted proposal is undone: the run ends with the model it had before.
    const p = this.grows.discard();
    if (p) this.model?.assign(p.backup);
    this.stopRequested = true;
    this.resume();
  }

  /**
   * Grow (or prune) at the next batch boundary, or at once while paused; resolves with the event.
   * The run continues afterwards.
   */
  requestGrow(
    kind: 'grow' | 'prune',
    method: string | undefined,
    options: Record<string, unknown> = {},
    propose = false,
  ): Promise<GrowOutcome> {
    this.assertActive(kind);
    this.grows.assertAccepts(propose);
    if (this.config.continual) {
      throw new GrowthError(
        `run ${this.runId} is a continual-learning run: its methods grow by themselves (Firefly CL, Algorithm 2); grow and prune apply to ordinary runs`,
      );
    }
    const name = method ?? (kind === 'prune' ? 'prune-taylor' : (this.config.growth?.method ?? 'firefly'));
    const m = growthMethod(name); // unknown names fail here, before queueing
    if (m.kind !== kind) throw new GrowthError(`${name} is a ${m.kind} method, not a ${kind} method`);
    return new Promise((resolve, reject) => {
      this.grows.push({ kind, method: name, options: { ...(this.config.growth?.options ?? {}), ...options }, propose, resolve, reject });
      const w = this.resumeWaiter;
      if (w && this.status === 'paused') {
        this.resumeWaiter = undefined;
        w();
      }
    });
  }

  get active(): boolean {
    return this.status === 'running' || this.status === 'paused';
  }

  private assertActive(what: string): void {
    if (!this.active) throw new RunFailure(`cannot ${what} run ${this.runId}: it is ${this.status}`);
  }

  /** Why `spec` would not fit growthLab.maxActivationMemoryMB at this run's batch size (undefined: it fits). */
  private activationProblem(spec: ModelSpec): string | undefined {
    const limitMB = this.opts.maxActivationMemoryMB || defaultMaxActivationMemoryMB(os.totalmem());
    return activationMemoryProblem(spec, this.config.training.batchSize, EVAL_BATCH, limitMB);
  }

  private setStatus(status: RunStatus, message?: string): void {
    this.status = status;
    this.log.status({ runId: this.runId, status, message, warnings: this.warnings.length ? [...this.warnings] : undefined });
  }

  /** Between batches: run queued grows, wait while paused; true when the run should stop. */
  private async checkpointControl(): Promise<boolean> {
    await this.drainGrowQueue();
    while (this.pauseRequested && !this.stopRequested) {
      if (this.status !== 'paused') this.setStatus('paused');
      await new Promise<void>((resolve) => (this.resumeWaiter = resolve));
      await this.drainGrowQueue();
    }
    if (this.status === 'paused' && !this.stopRequested) this.setStatus('running');
    return this.stopRequested;
  }

  private drainGrowQueue(): Promise<void> {
    return this.grows.drain((r) => (r.propose ? this.proposeNow(r.method, r.options) : this.growNow(r.method, r.options)));
  }

  /** One grow step on the live model: event, checkpoint, notification. */
  private async growNow(method: string, options: GrowOptions): Promise<GrowEventParams> {
    const { event } = await this.applyGrow(method, options);
    this.commitGrow(event);
    return event;
  }

  /** The grow step on the live model, undone when it passes maxParams; returns the pre-grow copy. */
  private async applyGrow(method: string, options: GrowOptions): Promise<{ event: GrowEventParams; backup: GrowableModel }> {
    const trainer = this.trainer!;
    const ctx = growContext(trainer, this.config.seed * 7919 + this.growSteps + 1);
    const backup = this.model!.clone();
    const event = await runGrowStep(ctx, growthMethod(method), options, { runId: this.runId, step: trainer.stepCount, epoch: this.epoch });
    const limit = this.opts.maxParams ?? DEFAULT_MAX_PARAMS;
    if (event.after.params > limit) {
      this.model!.assign(backup);
      throw new GrowthError(
        `${method} would grow the model to ${event.after.params.toLocaleString('en-US')} parameters, more than growthLab.maxParams (${limit.toLocaleString('en-US')}); the model is unchanged`,
      );
    }
    // Before the grown model trains a step: its activations must fit (growthLab.maxActivationMemoryMB).
    const tooBig = this.activationProblem(this.model!.spec);
    if (tooBig) {
      this.model!.assign(backup);
      throw new GrowthError(`${method} would grow the model so that it ${tooBig}; the model is unchanged`);
    }
    return { event, backup };
  }

  /**
   * Grow the live model but do not commit: no grow event, checkpoint or notification yet. The run
   * pauses until commitProposal (keep it) or rejectProposal (restore the pre-grow model exactly).
   */
  private async proposeNow(method: string, options: GrowOptions): Promise<GrowEventParams & { proposalId: string }> {
    const { event, backup } = await this.applyGrow(method, options);
    const id = this.grows.propose(backup, event);
    this.pauseRequested = true;
    return { ...event, proposalId: id };
  }

  /** The pending proposal's id and event, if any. */
  pendingProposal(): { proposalId: string; event: GrowEventParams } | undefined {
    const p = this.grows.pending;
    return p ? { proposalId: p.id, event: p.event } : undefined;
  }

  /** Keep the proposed grow: grow event, checkpoint and notification as for a direct grow; the run resumes. */
  commitProposal(id: unknown, resume = true): GrowEventParams {
    this.assertActive('commit a proposal of');
    const p = this.grows.take(id);
    this.commitGrow(p.event);
    if (resume) this.resume();
    return p.event;
  }

  /** Undo the proposed grow (the pre-grow weights, optimiser state and architecture, bit for bit); the run resumes. */
  rejectProposal(id: unknown, resume = true): void {
    this.assertActive('reject a proposal of');
    const p = this.grows.take(id);
    this.model!.assign(p.backup);
    if (resume) this.resume();
  }

  private commitGrow(event: GrowEventParams): void {
    if (this.config.growth?.optimizerState === 'reset') this.model!.resetSlots();
    this.lr?.grew();
    this.growSteps++;
    this.log.grow(event);
    this.writeCheckpoint(this.epoch, 'grow', this.growSteps);
  }

  private async loop(): Promise<RunSummaryResult> {
    const cfg = this.config;
    let message: string | undefined;
    try {
      const baseDir = this.opts.configPath ? path.dirname(this.opts.configPath) : process.cwd();
      if (cfg.continual) {
        message = await this.continualLoop(cfg.continual, baseDir);
        this.log.throwIfFailed();
        this.setStatus(message === 'stopped by request' ? 'stopped' : 'completed', message);
        return this.summary(message);
      }
      this.setStatus('running', `loading ${cfg.dataset.name}`);
      this.augment = prepareAugment(
        await loadDataset(cfg.dataset, { seed: cfg.seed, baseDir }),
        cfg.training.augment,
        cfg.training.batchSize,
      );
      this.data = this.augment.data;
      if ((cfg.training.labelSmoothing ?? 0) > 0 && this.data.task !== 'classification')
        this.warnings.push(`training.labelSmoothing applies to classification; this ${this.data.task} run ignores it`);
      this.executor = await createExecutor(cfg.engine, cfg.executionProvider);
      this.warnings.push(...this.executor.warnings);
      const outputs = this.data.task === 'classification' ? this.data.numClasses : this.data.targetSize;
      const settings = optimizerSettings(cfg.training);
      this.model = this.resumeFrom
        ? this.restore(this.resumeFrom.checkpoint)
        : initialModel(cfg, this.data, baseDir, outputs, optimizerSlots(settings));
      const spec = this.model.spec;
      const limit = this.opts.maxParams ?? DEFAULT_MAX_PARAMS;
      if (this.model.paramCount() > limit) {
        throw new RunFailure(
          `the model has ${this.model.paramCount().toLocaleString('en-US')} parameters, more than growthLab.maxParams (${limit.toLocaleString('en-US')}); make it smaller or raise the setting`,
        );
      }
      const tooBig = this.activationProblem(spec);
      if (tooBig) throw new RunFailure(`the model ${tooBig}`);
      this.trainer = new Trainer(this.model, this.data, cfg.training, this.executor);
      if (this.resumeFrom) this.trainer.stepCount = Number(this.resumeFrom.checkpoint.meta.step) || 0;
      this.lr = this.lrScheduler();
      await this.trainer.ensureCompiled();
      if (cfg.growth && cfg.growth.method !== 'none') this.schedule = new GrowSchedule(cfg.growth);
      if (!this.resumeFrom) {
        this.log.append({
          type: 'start',
          time: new Date().toISOString(),
          runId: this.runId,
          config: cfg,
          architecture: architectureOf(spec),
          warnings: [...this.warnings],
        });
      }
      const from = this.resumeFrom
        ? `resumed from ${this.resumeFrom.file} (epoch ${this.firstEpoch}, step ${this.trainer.stepCount})${this.resumeFrom.warnings.length ? `; ${this.resumeFrom.warnings.join('; ')}` : ''}; `
        : '';
      const aug = this.augment.description ? `; ${this.augment.description}` : '';
      this.setStatus('running', `${from}${this.data.description}${aug}; ${describeExecutor(this.executor)}`);
      const stopped = await this.trainEpochs();
      message = stopped ? 'stopped by request' : `completed ${cfg.training.epochs} epochs`;
      this.log.throwIfFailed();
      this.setStatus(stopped ? 'stopped' : 'completed', message);
    } catch (e) {
      // Bounded: a dataset or import error can quote untrusted input (server/messages.ts).
      message = boundMessage(e instanceof RunFailure ? e.message : `${(e as Error).message || e}`);
      this.setStatus('failed', message);
    } finally {
      this.grows.rejectAll((r) => new RunFailure(`run ${this.runId} ended (${this.status}) before the ${r.kind} step ran`));
      await this.trainer?.dispose();
      await this.augment?.pipeline?.dispose();
      this.log.close();
    }
    return this.summary(message);
  }

  /** A continual-learning run (experiment field `continual`): every method through the task stream. */
  private async continualLoop(c: ContinualConfig, baseDir: string): Promise<string> {
    const cfg = this.config;
    this.setStatus('running', `loading continual stream ${c.stream}`);
    this.executor = await createExecutor(cfg.engine, cfg.executionProvider);
    this.warnings.push(...this.executor.warnings);
    const out = await runContinualPhase(c, {
      runId: this.runId,
      seed: cfg.seed,
      baseDir,
      executor: this.executor,
      startedAt: this.startedAt,
      resume: this.resumeFrom?.checkpoint,
      control: () => this.checkpointControl(),
      started: (architecture, description) => {
        if (!this.resumeFrom)
          this.log.append({
            type: 'start',
            time: new Date().toISOString(),
            runId: this.runId,
            config: cfg,
            architecture,
            warnings: [...this.warnings],
          });
        const from = this.resumeFrom ? `resumed from ${this.resumeFrom.file}; ` : '';
        this.setStatus('running', `${from}${description}; ${describeExecutor(this.executor!)}`);
      },
      metrics: (m) => {
        this.continualParams = m.params;
        this.last = { trainLoss: m.trainLoss, testAccuracy: m.testAccuracy };
        this.log.metrics(m);
      },
      checkpoint: (index, ckpt, step) => this.log.checkpoint(this.runId, 'task', index, ckpt, index, step),
    });
    this.continualParams = out.params;
    this.last = { trainLoss: out.trainLoss, testAccuracy: out.averageAccuracy };
    return out.message;
  }

  /** The model, step and epoch of a checkpoint (what resuming continues from). */
  private restore(c: Checkpoint): GrowableModel {
    const r = restoreCheckpoint(c);
    this.growSteps = r.growSteps;
    this.firstEpoch = r.firstEpoch;
    return r.model;
  }

  /** The run's learning-rate schedule; a resumed run continues from the state its checkpoint saved. */
  private lrScheduler(): LrScheduler {
    const t = this.config.training;
    const lr = new LrScheduler(t.lrSchedule ?? CONSTANT_SCHEDULE, t.learningRate, t.epochs, this.config.growth?.afterGrow);
    const saved = this.resumeFrom?.checkpoint.meta.lrSchedule;
    if (saved !== undefined) {
      const state = parseLrState(saved);
      if (typeof state === 'string') throw new RunFailure(`checkpoint ${this.resumeFrom!.file} is unusable: ${state}`);
      // The run's first segment (no afterGrow restart yet) takes its base rate from the config as it is
      // now, so a rate edited before resuming (e.g. after a divergence) applies; restarts keep theirs.
      lr.state = state.start === 0 ? { ...state, base: t.learningRate } : state;
    }
    return lr;
  }

  private trainEpochs(): Promise<boolean> {
    return trainEpochs({
      runId: this.runId,
      config: this.config,
      trainer: this.trainer!,
      data: this.data!,
      model: this.model!,
      executor: this.executor!,
      firstEpoch: this.firstEpoch,
      schedule: this.schedule,
      throttle: this.metricsThrottle,
      lr: this.lr!,
      augment: this.augment,
      startedAt: this.startedAt,
      last: this.last,
      control: () => this.checkpointControl(),
      progress: (epoch, complete) => {
        this.epoch = epoch;
        this.epochComplete = complete;
      },
      checkpoint: (epoch) => this.writeCheckpoint(epoch),
      growSteps: () => this.growSteps,
      scheduledGrow: () => this.growNow(this.config.growth!.method, { ...this.config.growth!.options }),
    });
  }

  private writeCheckpoint(epoch: number, tag: 'epoch' | 'grow' = 'epoch', index = epoch): void {
    const c = this.model!.toCheckpoint();
    const step = this.trainer!.stepCount;
    this.log.checkpoint(
      this.runId,
      tag,
      index,
      {
        meta: { ...c.meta, epoch, step, growSteps: this.growSteps, epochComplete: this.epochComplete, lrSchedule: this.lr?.state },
        tensors: c.tensors,
      },
      epoch,
      step,
    );
  }

  private summary(message?: string): RunSummaryResult {
    const arch = this.model?.architecture();
    return {
      runId: this.runId,
      status: this.status,
      message,
      finalTestAccuracy: this.last.testAccuracy,
      finalTestLoss: this.last.testLoss,
      finalTrainLoss: this.last.trainLoss,
      params: this.model?.paramCount() ?? this.continualParams ?? 0,
      architecture: arch ?? { inputShape: [], outputSize: 0, layers: [], params: 0, flops: 0 },
      growEvents: this.growSteps,
      engine: this.executor?.engine ?? this.config.engine,
      executionProvider: this.executor?.provider ?? this.config.executionProvider,
      wallMs: Math.round(performance.now() - this.startedAt),
      epochs: this.config.training.epochs,
    };
  }
}
