/**
 * One experiment run: loads the data, builds the model and executor, trains epoch by epoch with
 * pause/resume/stop taking effect within one batch, streams throttled metrics, and keeps everything
 * in the run folder (events, checkpoints) so that history survives the process.
 */
import * as path from 'path';
import type { Architecture, ContinualConfig, ExperimentConfig, GrowEventParams, MetricsParams, RunStatus, RunStatusParams } from '../../common/protocol';
import { DEFAULT_MAX_PARAMS } from '../../common/protocol';
import { growContext } from '../growth/context';
import { growthMethod } from '../growth';
import { runGrowStep } from '../growth/step';
import { GrowthError, GrowOptions } from '../growth/types';
import { GrowSchedule } from './schedule';
import { loadDataset } from '../datasets';
import type { Dataset } from '../datasets/types';
import { Executor, optimizerSlots } from '../engine';
import { GrowableModel, ModelCheckpoint } from '../model/growable';
import { ModelSpec, architectureOf, specFromConfig } from '../model/spec';
import { ExportError } from '../export/files';
import { fitImportToData, importModel, modelFromImport } from '../export/import';
import { Rng } from '../random';
import type { Checkpoint, RunHandle, RunStore } from '../runs';
import { noSingleArchitecture, runContinualPhase } from './continualRun';
import { createExecutor } from './executors';
import { Throttle } from './throttle';
import { Trainer, optimizerSettings } from '../trainer/trainer';

export interface RunListener {
  metrics(m: MetricsParams): void;
  status(s: RunStatusParams): void;
  grow?(e: GrowEventParams): void;
}

/** A grow or prune requested from outside the loop (protocol or schedule). */
interface GrowRequest {
  kind: 'grow' | 'prune';
  method: string;
  options: GrowOptions;
  /** Apply to the live model but keep the pre-grow copy until commitProposal / rejectProposal. */
  propose?: boolean;
  resolve(e: GrowEventParams & { proposalId?: string }): void;
  reject(e: Error): void;
}

/** A grow applied to the live model but not committed (growthLab.review = ask). */
interface PendingProposal {
  id: string;
  backup: GrowableModel;
  event: GrowEventParams;
}

export interface RunOptions {
  /** The experiment (ignored when resuming: the run's own config.json is used). */
  config: ExperimentConfig;
  /** Continue an existing run from its latest intact checkpoint instead of starting a new one. */
  resume?: { runId: string };
  configPath?: string;
  store: RunStore;
  listener: RunListener;
  /** Minimum time between streamed metrics (default 100 ms: at most 10 per second). */
  metricsIntervalMs?: number;
  /** Largest model the run may build or grow to (default DEFAULT_MAX_PARAMS). */
  maxParams?: number;
}

export interface RunSummaryResult {
  runId: string;
  status: RunStatus;
  message?: string;
  finalTestAccuracy?: number;
  finalTestLoss?: number;
  finalTrainLoss?: number;
  params: number;
  architecture: Architecture;
  growEvents: number;
  engine: string;
  executionProvider: string;
  wallMs: number;
  epochs: number;
}

/** Thrown inside the loop to end it as 'failed' with a message for people. */
export class RunFailure extends Error {}

export class ExperimentRun {
  readonly runId: string;
  readonly config: ExperimentConfig;
  status: RunStatus = 'running';
  private readonly handle: RunHandle;
  private readonly listener: RunListener;
  private model: GrowableModel | undefined;
  private trainer: Trainer | undefined;
  private executor: Executor | undefined;
  private data: Dataset | undefined;
  private stopRequested = false;
  private pauseRequested = false;
  private resumeWaiter: (() => void) | undefined;
  private readonly growQueue: GrowRequest[] = [];
  private proposal: PendingProposal | undefined;
  private proposalCounter = 0;
  private growSteps = 0;
  private epoch = 0;
  private schedule: GrowSchedule | undefined;
  private readonly resumeFrom: { checkpoint: Checkpoint; file: string; warnings: string[] } | undefined;
  /** Whether the current epoch's training is finished (for checkpoints written by grows). */
  private epochComplete = false;
  private firstEpoch = 1;
  private readonly startedAt = performance.now();
  private readonly metricsThrottle: Throttle<MetricsParams>;
  private last: { trainLoss?: number; testLoss?: number; testAccuracy?: number } = {};
  private warnings: string[] = [];
  /** Continual runs: parameters of the method summarised (Firefly CL when it ran). */
  private continualParams: number | undefined;
  done: Promise<RunSummaryResult> | undefined;

  constructor(private readonly opts: RunOptions) {
    this.listener = opts.listener;
    if (opts.resume) {
      // Fails (unknown run, no intact checkpoint) before anything is written.
      this.config = opts.store.readConfig(opts.resume.runId);
      const latest = opts.store.readLatestCheckpoint(opts.resume.runId);
      if (!latest) throw new RunFailure(`run ${opts.resume.runId} has no checkpoint to resume from`);
      this.resumeFrom = latest;
      this.handle = opts.store.openRun(opts.resume.runId);
    } else {
      this.config = opts.config;
      this.handle = opts.store.createRun(opts.config, { configPath: opts.configPath });
    }
    this.runId = this.handle.runId;
    this.metricsThrottle = new Throttle(opts.metricsIntervalMs ?? 100, (m) => this.emitMetrics(m));
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
    if (this.proposal) throw new RunFailure(`run ${this.runId} waits for its proposal ${this.proposal.id} to be committed or rejected`);
    this.pauseRequested = false;
    const w = this.resumeWaiter;
    this.resumeWaiter = undefined;
    w?.();
  }

  stop(): void {
    this.assertActive('stop');
    // An uncommitted proposal is undone: the run ends with the model it had before.
    if (this.proposal) this.model?.assign(this.proposal.backup);
    this.proposal = undefined;
    this.stopRequested = true;
    this.resume();
  }

  /**
   * Grow (or prune) at the next batch boundary, or at once while paused; resolves with the event.
   * The run continues afterwards.
   */
  requestGrow(kind: 'grow' | 'prune', method: string | undefined, options: Record<string, unknown> = {}, propose = false): Promise<GrowEventParams & { proposalId?: string }> {
    this.assertActive(kind);
    if (this.proposal) throw new GrowthError(`run ${this.runId} has a pending proposal (${this.proposal.id}): commit or reject it first`);
    if (propose && this.growQueue.some((r) => r.propose)) throw new GrowthError(`run ${this.runId} already has a proposal being computed`);
    if (this.config.continual) {
      throw new GrowthError(`run ${this.runId} is a continual-learning run: its methods grow by themselves (Firefly CL, Algorithm 2); grow and prune apply to ordinary runs`);
    }
    const name = method ?? (kind === 'prune' ? 'prune-taylor' : this.config.growth?.method ?? 'firefly');
    const m = growthMethod(name); // unknown names fail here, before queueing
    if (m.kind !== kind) throw new GrowthError(`${name} is a ${m.kind} method, not a ${kind} method`);
    return new Promise((resolve, reject) => {
      this.growQueue.push({ kind, method: name, options: { ...(this.config.growth?.options ?? {}), ...options }, propose, resolve, reject });
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

  private setStatus(status: RunStatus, message?: string): void {
    this.status = status;
    const s: RunStatusParams = { runId: this.runId, status, message, warnings: this.warnings.length ? [...this.warnings] : undefined };
    this.safeAppend({ type: 'status', time: new Date().toISOString(), ...s });
    this.listener.status(s);
  }

  private appendError: Error | undefined;
  private safeAppend(e: Parameters<RunHandle['append']>[0]): void {
    try {
      this.handle.append(e);
    } catch (err) {
      this.appendError ??= err as Error;
    }
  }

  private emitMetrics(m: MetricsParams): void {
    this.safeAppend({ type: 'metrics', time: new Date().toISOString(), ...m });
    this.listener.metrics(m);
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

  private async drainGrowQueue(): Promise<void> {
    while (this.growQueue.length) {
      const r = this.growQueue.shift()!;
      if (this.proposal) {
        // Queued before the proposal was made: never grow on top of an uncommitted model.
        r.reject(new GrowthError(`run ${this.runId} has a pending proposal (${this.proposal.id}): commit or reject it first`));
        continue;
      }
      try {
        r.resolve(r.propose ? await this.proposeNow(r.method, r.options) : await this.growNow(r.method, r.options));
      } catch (e) {
        r.reject(e as Error);
      }
    }
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
      throw new GrowthError(`${method} would grow the model to ${event.after.params.toLocaleString('en-US')} parameters, more than growthLab.maxParams (${limit.toLocaleString('en-US')}); the model is unchanged`);
    }
    return { event, backup };
  }

  /**
   * Grow the live model but do not commit: no grow event, checkpoint or notification yet. The run
   * pauses until commitProposal (keep it) or rejectProposal (restore the pre-grow model exactly).
   */
  private async proposeNow(method: string, options: GrowOptions): Promise<GrowEventParams & { proposalId: string }> {
    const { event, backup } = await this.applyGrow(method, options);
    const id = `p${++this.proposalCounter}`;
    this.proposal = { id, backup, event };
    this.pauseRequested = true;
    return { ...event, proposalId: id };
  }

  /** The pending proposal's id and event, if any. */
  pendingProposal(): { proposalId: string; event: GrowEventParams } | undefined {
    return this.proposal ? { proposalId: this.proposal.id, event: this.proposal.event } : undefined;
  }

  private takeProposal(id: unknown): PendingProposal {
    const p = this.proposal;
    if (!p) throw new GrowthError(`run ${this.runId} has no pending proposal`);
    if (id !== p.id) throw new GrowthError(`run ${this.runId} has no proposal "${String(id)}" (pending: ${p.id})`);
    this.proposal = undefined;
    return p;
  }

  /** Keep the proposed grow: grow event, checkpoint and notification as for a direct grow; the run resumes. */
  commitProposal(id: unknown, resume = true): GrowEventParams {
    this.assertActive('commit a proposal of');
    const p = this.takeProposal(id);
    this.commitGrow(p.event);
    if (resume) this.resume();
    return p.event;
  }

  /** Undo the proposed grow (the pre-grow weights, optimiser state and architecture, bit for bit); the run resumes. */
  rejectProposal(id: unknown, resume = true): void {
    this.assertActive('reject a proposal of');
    const p = this.takeProposal(id);
    this.model!.assign(p.backup);
    if (resume) this.resume();
  }

  private commitGrow(event: GrowEventParams): void {
    if (this.config.growth?.optimizerState === 'reset') this.model!.resetSlots();
    this.growSteps++;
    this.safeAppend({ type: 'grow', time: new Date().toISOString(), ...event });
    this.listener.grow?.(event);
    this.writeCheckpoint(this.epoch, 'grow', this.growSteps);
  }

  private async loop(): Promise<RunSummaryResult> {
    const cfg = this.config;
    let message: string | undefined;
    try {
      const baseDir = this.opts.configPath ? path.dirname(this.opts.configPath) : process.cwd();
      if (cfg.continual) {
        message = await this.continualLoop(cfg.continual, baseDir);
        this.throwIfStorageFailed();
        this.setStatus(message === 'stopped by request' ? 'stopped' : 'completed', message);
        return this.summary(message);
      }
      this.setStatus('running', `loading ${cfg.dataset.name}`);
      this.data = await loadDataset(cfg.dataset, { seed: cfg.seed, baseDir });
      this.executor = await createExecutor(cfg.engine, cfg.executionProvider);
      this.warnings.push(...this.executor.warnings);
      const outputs = this.data.task === 'classification' ? this.data.numClasses : this.data.targetSize;
      const settings = optimizerSettings(cfg.training);
      this.model = this.resumeFrom ? this.restore(this.resumeFrom.checkpoint) : this.initialModel(baseDir, outputs, optimizerSlots(settings));
      const spec = this.model.spec;
      const limit = this.opts.maxParams ?? DEFAULT_MAX_PARAMS;
      if (this.model.paramCount() > limit) {
        throw new RunFailure(`the model has ${this.model.paramCount().toLocaleString('en-US')} parameters, more than growthLab.maxParams (${limit.toLocaleString('en-US')}); make it smaller or raise the setting`);
      }
      this.trainer = new Trainer(this.model, this.data, cfg.training, this.executor);
      if (this.resumeFrom) this.trainer.stepCount = Number(this.resumeFrom.checkpoint.meta.step) || 0;
      await this.trainer.ensureCompiled();
      if (cfg.growth && cfg.growth.method !== 'none') this.schedule = new GrowSchedule(cfg.growth);
      if (!this.resumeFrom) {
        this.safeAppend({
          type: 'start', time: new Date().toISOString(), runId: this.runId, config: cfg,
          architecture: architectureOf(spec), warnings: [...this.warnings],
        });
      }
      const from = this.resumeFrom ? `resumed from ${this.resumeFrom.file} (epoch ${this.firstEpoch}, step ${this.trainer.stepCount})${this.resumeFrom.warnings.length ? `; ${this.resumeFrom.warnings.join('; ')}` : ''}; ` : '';
      this.setStatus('running', `${from}${this.data.description}; ${this.executor.engine} (${this.executor.provider})`);
      const stopped = await this.trainEpochs();
      message = stopped ? 'stopped by request' : `completed ${cfg.training.epochs} epochs`;
      this.throwIfStorageFailed();
      this.setStatus(stopped ? 'stopped' : 'completed', message);
    } catch (e) {
      message = e instanceof RunFailure ? e.message : `${(e as Error).message || e}`;
      this.setStatus('failed', message);
    } finally {
      for (const r of this.growQueue.splice(0)) r.reject(new RunFailure(`run ${this.runId} ended (${this.status}) before the ${r.kind} step ran`));
      await this.trainer?.dispose();
      this.handle.close();
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
        if (!this.resumeFrom) this.safeAppend({ type: 'start', time: new Date().toISOString(), runId: this.runId, config: cfg, architecture, warnings: [...this.warnings] });
        const from = this.resumeFrom ? `resumed from ${this.resumeFrom.file}; ` : '';
        this.setStatus('running', `${from}${description}; ${this.executor!.engine} (${this.executor!.provider})`);
      },
      metrics: (m) => {
        this.continualParams = m.params;
        this.last = { trainLoss: m.trainLoss, testAccuracy: m.testAccuracy };
        this.emitMetrics(m);
      },
      checkpoint: (index, ckpt, step) => {
        const file = this.handle.writeCheckpoint('task', index, ckpt);
        this.safeAppend({ type: 'checkpoint', time: new Date().toISOString(), runId: this.runId, epoch: index, step, file });
      },
    });
    this.continualParams = out.params;
    this.last = { trainLoss: out.trainLoss, testAccuracy: out.averageAccuracy };
    return out.message;
  }

  private throwIfStorageFailed(): void {
    if (this.appendError) throw new RunFailure(`cannot write the run's events: ${this.appendError.message}`);
  }

  /** A seeded random model from the config, or the exported model `model.init.from` names (checked against the dataset). */
  private initialModel(baseDir: string, outputs: number, slotNames: string[]): GrowableModel {
    const cfg = this.config, data = this.data!;
    const init = cfg.model.init;
    if (typeof init !== 'object' || init === null) return GrowableModel.create(specFromConfig(cfg.model, data.inputShape, data.task, outputs), cfg.seed, slotNames);
    try {
      const imported = importModel(init.from, baseDir);
      const spec = fitImportToData(imported, { inputShape: data.inputShape, outputs, task: data.task });
      return modelFromImport(spec, imported.tensors, cfg.seed, slotNames);
    } catch (e) {
      if (e instanceof ExportError) throw new RunFailure(e.message);
      throw e;
    }
  }

  /** The model, step and epoch of a checkpoint (what resuming continues from). */
  private restore(c: Checkpoint): GrowableModel {
    const meta = c.meta as ModelCheckpoint['meta'] & { epoch?: number; growSteps?: number; epochComplete?: boolean };
    const model = GrowableModel.fromCheckpoint({ meta, tensors: c.tensors });
    this.growSteps = meta.growSteps ?? 0;
    const epoch = meta.epoch ?? 0;
    this.firstEpoch = meta.epochComplete === false ? Math.max(1, epoch) : epoch + 1;
    return model;
  }

  private async trainEpochs(): Promise<boolean> {
    const cfg = this.config.training;
    const trainer = this.trainer!, data = this.data!;
    const n = data.train.n;

    const identity = Int32Array.from({ length: n }, (_, i) => i);
    for (let epoch = this.firstEpoch; epoch <= cfg.epochs; epoch++) {
      this.epoch = epoch;
      this.epochComplete = false;
      // Each epoch's order depends on the seed and the epoch alone, so a resumed run sees the same data order.
      const order = cfg.shuffle ? new Rng(this.config.seed * 1000003 + epoch).permutation(n) : identity;
      let epochLoss = 0, epochCorrect = 0, epochSteps = 0;
      let windowLoss = 0, windowCorrect = 0, windowSeen = 0, windowSteps = 0, windowStart = performance.now();
      for (let start = 0; start < n; start += cfg.batchSize) {
        if (await this.checkpointControl()) return true;
        const m = Math.min(cfg.batchSize, n - start);
        const r = await trainer.step(order, start, m);
        if (!Number.isFinite(r.loss)) {
          throw new RunFailure(`loss became ${r.loss} at step ${trainer.stepCount} (epoch ${epoch}); try a lower learning rate than ${cfg.learningRate}`);
        }
        epochLoss += r.loss; epochCorrect += r.correct; epochSteps++;
        windowLoss += r.loss; windowCorrect += r.correct; windowSeen += m; windowSteps++;
        const now = performance.now();
        const sent = this.metricsThrottle.offer(this.metrics(epoch, {
          trainLoss: windowLoss / windowSteps,
          trainAccuracy: data.numClasses ? windowCorrect / windowSeen : undefined,
          samplesPerSecond: (windowSeen * 1000) / Math.max(1e-3, now - windowStart),
        }));
        if (sent) {
          windowLoss = windowCorrect = windowSeen = windowSteps = 0;
          windowStart = now;
        }
        if (this.executor!.engine === 'tfjs') await new Promise((r2) => setImmediate(r2)); // let requests in
      }
      this.epochComplete = true;
      const trainLoss = epochLoss / epochSteps;
      this.last.trainLoss = trainLoss;
      const evaluate = epoch % cfg.evalEvery === 0 || epoch === cfg.epochs;
      const ev = evaluate ? await trainer.evaluate() : undefined;
      if (ev) {
        this.last.testLoss = ev.loss;
        this.last.testAccuracy = ev.accuracy;
      }
      const elapsed = performance.now() - this.startedAt;
      this.metricsThrottle.offer(this.metrics(epoch, {
        trainLoss,
        trainAccuracy: data.numClasses ? epochCorrect / n : undefined,
        testLoss: ev?.loss,
        testAccuracy: ev?.accuracy,
        samplesPerSecond: (n * epoch * 1000) / elapsed,
      }), true);
      this.writeCheckpoint(epoch);
      if (epoch < cfg.epochs && this.schedule?.due(epoch, { trainLoss, testLoss: ev?.loss }, this.model!.paramCount(), this.growSteps)) {
        await this.growNow(this.config.growth!.method, { ...this.config.growth!.options });
      }
    }
    return false;
  }

  private metrics(epoch: number, m: Pick<MetricsParams, 'trainLoss' | 'trainAccuracy' | 'testLoss' | 'testAccuracy' | 'samplesPerSecond'>): MetricsParams {
    return {
      runId: this.runId, epoch, step: this.trainer!.stepCount, ...m,
      params: this.model!.paramCount(),
      engine: this.executor!.engine,
      executionProvider: this.executor!.provider as MetricsParams['executionProvider'],
      elapsedMs: Math.round(performance.now() - this.startedAt),
    };
  }

  private writeCheckpoint(epoch: number, tag: 'epoch' | 'grow' = 'epoch', index = epoch): void {
    const c = this.model!.toCheckpoint();
    const file = this.handle.writeCheckpoint(tag, index, {
      meta: { ...c.meta, epoch, step: this.trainer!.stepCount, growSteps: this.growSteps, epochComplete: this.epochComplete },
      tensors: c.tensors,
    });
    this.safeAppend({ type: 'checkpoint', time: new Date().toISOString(), runId: this.runId, epoch, step: this.trainer!.stepCount, file });
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
