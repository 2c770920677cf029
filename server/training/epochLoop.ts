/**
 * The training loop of an ordinary run: epochs of batches in a seeded order, throttled metrics,
 * evaluation every evalEvery epochs, a checkpoint after each epoch and the scheduled grows. Pause,
 * stop and requested grows take effect between batches (`control`).
 */
import type { ExperimentConfig, MetricsParams } from '../../common/protocol';
import type { Dataset } from '../datasets/types';
import type { Executor } from '../engine';
import type { GrowableModel } from '../model/growable';
import { Rng } from '../random';
import { epochDraws } from '../trainer/augment';
import type { Trainer } from '../trainer/trainer';
import type { PreparedAugment } from './augmentSetup';
import type { LrScheduler } from './lrSchedule';
import { RunFailure } from './runTypes';
import type { GrowSchedule } from './schedule';
import type { Throttle } from './throttle';

/** The latest losses and accuracy (the run's summary reads them). */
export interface LastMetrics {
  trainLoss?: number;
  testLoss?: number;
  testAccuracy?: number;
}

/** What the loop trains, and the run's hooks it calls. */
export interface EpochLoop {
  runId: string;
  config: ExperimentConfig;
  trainer: Trainer;
  data: Dataset;
  model: GrowableModel;
  executor: Executor;
  firstEpoch: number;
  schedule: GrowSchedule | undefined;
  throttle: Throttle<MetricsParams>;
  /** The learning rate of each step; its `now` is kept at the next step's fractional epoch (where a grow restarts it). */
  lr: LrScheduler;
  /** Crop/flip of training batches (normalisation is in `data` already). */
  augment?: PreparedAugment;
  startedAt: number;
  /** Updated as epochs end. */
  last: LastMetrics;
  /** Between batches: run queued grows, wait while paused; true when the run should stop. */
  control(): Promise<boolean>;
  /** An epoch begins (complete = false) or its training pass ends (complete = true). */
  progress(epoch: number, complete: boolean): void;
  /** After each epoch. */
  checkpoint(epoch: number): void;
  /** Grows committed so far. */
  growSteps(): number;
  /** The grow the schedule asks for after an epoch. */
  scheduledGrow(): Promise<unknown>;
}

/** Trains from `firstEpoch` to the last epoch; true when it stopped on request. */
export async function trainEpochs(h: EpochLoop): Promise<boolean> {
  const cfg = h.config.training;
  const { trainer, data } = h;
  const n = data.train.n;

  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(n / cfg.batchSize);
  let learningRate = h.lr.rate(h.lr.now, 1 / stepsPerEpoch);
  for (let epoch = h.firstEpoch; epoch <= cfg.epochs; epoch++) {
    h.progress(epoch, false);
    // Each epoch's order depends on the seed and the epoch alone, so a resumed run sees the same data order.
    const order = cfg.shuffle ? new Rng(h.config.seed * 1000003 + epoch).permutation(n) : identity;
    // Augmented batches: built by a worker while the previous step runs (double-buffered slots 0/1).
    const pipeline = h.augment?.pipeline;
    const draws = pipeline ? epochDraws(h.config.seed, epoch, n, h.augment!.image!) : undefined;
    let next = pipeline ? guarded(pipeline.batch(order, 0, Math.min(cfg.batchSize, n), draws!, 0)) : undefined;
    let epochLoss = 0,
      epochCorrect = 0,
      epochSteps = 0;
    let windowLoss = 0,
      windowCorrect = 0,
      windowSeen = 0,
      windowSteps = 0,
      windowStart = performance.now();
    for (let start = 0, b = 0; start < n; start += cfg.batchSize, b++) {
      h.lr.now = epoch - 1 + b / stepsPerEpoch;
      if (await h.control()) return true;
      const m = Math.min(cfg.batchSize, n - start);
      learningRate = h.lr.rate(h.lr.now, 1 / stepsPerEpoch);
      const x = next ? await next : undefined;
      const after = start + cfg.batchSize;
      next =
        pipeline && after < n
          ? guarded(pipeline.batch(order, after, Math.min(cfg.batchSize, n - after), draws!, ((b + 1) % 2) as 0 | 1))
          : undefined;
      const r = await trainer.step(order, start, m, learningRate, x);
      if (!Number.isFinite(r.loss)) {
        throw new RunFailure(
          `loss became ${r.loss} at step ${trainer.stepCount} (epoch ${epoch}); try a lower learning rate than ${learningRate}`,
        );
      }
      epochLoss += r.loss;
      epochCorrect += r.correct;
      epochSteps++;
      windowLoss += r.loss;
      windowCorrect += r.correct;
      windowSeen += m;
      windowSteps++;
      const now = performance.now();
      const sent = h.throttle.offer(
        metricsAt(h, epoch, {
          trainLoss: windowLoss / windowSteps,
          trainAccuracy: data.numClasses ? windowCorrect / windowSeen : undefined,
          samplesPerSecond: (windowSeen * 1000) / Math.max(1e-3, now - windowStart),
          learningRate,
        }),
      );
      if (sent) {
        windowLoss = windowCorrect = windowSeen = windowSteps = 0;
        windowStart = now;
      }
      if (h.executor.engine === 'tfjs') await new Promise((r2) => setImmediate(r2)); // let requests in
    }
    h.progress(epoch, true);
    const trainLoss = epochLoss / epochSteps;
    h.last.trainLoss = trainLoss;
    const evaluate = epoch % cfg.evalEvery === 0 || epoch === cfg.epochs;
    const ev = evaluate ? await trainer.evaluate() : undefined;
    if (ev) {
      h.last.testLoss = ev.loss;
      h.last.testAccuracy = ev.accuracy;
    }
    const elapsed = performance.now() - h.startedAt;
    h.throttle.offer(
      metricsAt(h, epoch, {
        trainLoss,
        trainAccuracy: data.numClasses ? epochCorrect / n : undefined,
        testLoss: ev?.loss,
        testAccuracy: ev?.accuracy,
        samplesPerSecond: (n * epoch * 1000) / elapsed,
        learningRate,
      }),
      true,
    );
    h.lr.now = epoch;
    h.checkpoint(epoch);
    if (epoch < cfg.epochs && h.schedule?.due(epoch, { trainLoss, testLoss: ev?.loss }, h.model.paramCount(), h.growSteps())) {
      await h.scheduledGrow();
    }
  }
  return false;
}

/** A batch promise that may never be awaited (the run stopped): its rejection is handled when it is. */
function guarded<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

function metricsAt(
  h: EpochLoop,
  epoch: number,
  m: Pick<MetricsParams, 'trainLoss' | 'trainAccuracy' | 'testLoss' | 'testAccuracy' | 'samplesPerSecond' | 'learningRate'>,
): MetricsParams {
  return {
    runId: h.runId,
    epoch,
    step: h.trainer.stepCount,
    ...m,
    params: h.model.paramCount(),
    engine: h.executor.engine,
    executionProvider: h.executor.provider as MetricsParams['executionProvider'],
    elapsedMs: Math.round(performance.now() - h.startedAt),
  };
}
