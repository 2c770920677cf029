/**
 * Training and evaluation of a GrowableModel on one executor; recompiles when the architecture changes.
 * server/trainer/ sits below both server/growth/ (which trains while it grows) and server/training/
 * (which runs experiments): both import it, and it imports neither.
 */
import type { OptimizerName, TrainingConfig } from '../../common/protocol';
import type { Dataset, DataSplit } from '../datasets/types';
import { Executor, HostTensor, OptimizerKind, OptimizerSettings, hostTensor } from '../engine';
import { GrowableModel } from '../model/growable';
import { BatchAssembler, countCorrect } from './batches';
import { CompiledModel, compileModel, newName, slotName } from './graphs';

export const EVAL_BATCH = 1000;

const identityCache = new Map<number, Int32Array>();
/** 0..n-1, the row order of an evaluation pass. */
function identityOrder(n: number): Int32Array {
  let o = identityCache.get(n);
  if (!o) {
    o = Int32Array.from({ length: n }, (_, i) => i);
    identityCache.set(n, o);
  }
  return o;
}

/** The engine's optimiser settings from an experiment's training settings (the protocol's names map one to one). */
export function optimizerSettings(t: TrainingConfig): OptimizerSettings {
  return {
    name: t.optimizer,
    momentum: t.momentum,
    nesterov: t.nesterov,
    weightDecay: t.weightDecay,
    beta1: t.beta1,
    beta2: t.beta2,
    epsilon: t.epsilon,
  };
}

/** `true` when A and B are the same set of names; an optimiser added on one side only fails to compile. */
type SameNames<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type OptimizerNamesMatch = Holds<SameNames<OptimizerName, OptimizerKind>>;

export interface StepResult {
  loss: number;
  correct: number;
  n: number;
}
export interface EvalResult {
  loss: number;
  accuracy?: number;
  n: number;
}

export class Trainer {
  private compiled: CompiledModel | undefined;
  /** Optimiser steps taken so far (Adam's t). */
  stepCount = 0;
  /** Time spent building sessions after the last architecture change. */
  lastBuildMs = 0;
  readonly train: BatchAssembler;
  private readonly evalBatches = new Map<DataSplit, BatchAssembler>();

  constructor(
    readonly model: GrowableModel,
    readonly data: Dataset,
    readonly cfg: TrainingConfig,
    readonly executor: Executor,
  ) {
    this.train = this.assembler(data.train, cfg.batchSize);
  }

  private assembler(split: DataSplit, batch: number) {
    return new BatchAssembler(split, this.data.inputShape, this.data.numClasses, this.data.targetSize, batch);
  }

  /** Compile (or reuse) the graphs of the model's current architecture; releases replaced sessions. */
  async ensureCompiled(): Promise<CompiledModel> {
    if (this.compiled && this.compiled.version === this.model.version) return this.compiled;
    const old = this.compiled;
    this.compiled = undefined;
    if (old) await Promise.all([old.train.dispose(), old.eval.dispose()]);
    this.compiled = await compileModel(this.model, optimizerSettings(this.cfg), this.executor, this.cfg.labelSmoothing ?? 0);
    this.lastBuildMs = this.compiled.buildMs;
    return this.compiled;
  }

  private paramFeeds(withSlots: boolean): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = {};
    for (const p of this.model.params()) {
      feeds[p.name] = { dtype: 'float32', shape: p.shape, data: this.model.tensors.get(p.name)! };
      if (withSlots && p.trainable) {
        this.model.slots.get(p.name)!.forEach((s, i) => {
          feeds[slotName(this.model.slotNames[i], p.name)] = { dtype: 'float32', shape: p.shape, data: s };
        });
      }
    }
    return feeds;
  }

  /**
   * One optimiser step on rows order[start..start+n). `x`: those rows' inputs as prepared elsewhere
   * (augmented, see augmentPipeline.ts) instead of the split's own.
   */
  async step(order: ArrayLike<number>, start: number, n: number, lr = this.cfg.learningRate, x?: Float32Array): Promise<StepResult> {
    const c = await this.ensureCompiled();
    const batch = this.train.fill(order, start, n);
    this.stepCount++;
    const feeds = this.paramFeeds(true);
    feeds.x = x ? { dtype: 'float32', shape: batch.x.shape, data: x } : batch.x;
    feeds.y = batch.y;
    feeds.lr = hostTensor('float32', [], [lr]);
    feeds.t = hostTensor('float32', [], [this.stepCount]);
    const out = await c.train.run(feeds);
    // Adopt the updated tensors (the model owns them from here on).
    for (const p of this.model.params()) {
      const v = out[newName(p.name)];
      if (v) this.model.tensors.set(p.name, v.data as Float32Array);
      if (p.trainable) {
        const slots = this.model.slots.get(p.name)!;
        this.model.slotNames.forEach((s, i) => (slots[i] = out[newName(slotName(s, p.name))].data as Float32Array));
      }
    }
    const loss = (out.loss.data as Float32Array)[0];
    const correct = this.data.numClasses > 0 ? countCorrect(out.pred.data as Float32Array, batch.labels, this.data.numClasses) : 0;
    return { loss, correct, n };
  }

  /** Loss and accuracy on a split (batch-norm in inference mode). */
  async evaluate(split: DataSplit = this.data.test, limit = split.n): Promise<EvalResult> {
    const c = await this.ensureCompiled();
    let asm = this.evalBatches.get(split);
    if (!asm) this.evalBatches.set(split, (asm = this.assembler(split, EVAL_BATCH)));
    const n = Math.min(limit, split.n);
    const identity = identityOrder(n);
    let lossSum = 0,
      correct = 0;
    for (let start = 0; start < n; start += EVAL_BATCH) {
      const m = Math.min(EVAL_BATCH, n - start);
      const batch = asm.fill(identity, start, m);
      const feeds = this.paramFeeds(false);
      feeds.x = batch.x;
      feeds.y = batch.y;
      const out = await c.eval.run(feeds);
      lossSum += (out.loss.data as Float32Array)[0] * m;
      if (this.data.numClasses > 0) correct += countCorrect(out.pred.data as Float32Array, batch.labels, this.data.numClasses);
    }
    return { loss: lossSum / n, accuracy: this.data.numClasses > 0 ? correct / n : undefined, n };
  }

  /** Model outputs for given inputs (eval mode), e.g. to measure how much a grow step changed the function. */
  async predict(x: HostTensor): Promise<Float32Array> {
    const c = await this.ensureCompiled();
    const feeds = this.paramFeeds(false);
    feeds.x = x;
    feeds.y = hostTensor('float32', [x.shape[0], this.train.outputWidth]);
    return (await c.eval.run(feeds)).pred.data as Float32Array;
  }

  async dispose(): Promise<void> {
    const c = this.compiled;
    this.compiled = undefined;
    if (c) await Promise.all([c.train.dispose(), c.eval.dispose()]);
  }
}
