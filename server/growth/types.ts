/** The one interface every growth (and pruning) method implements, and what it reports. */
import type { Dataset } from '../datasets/types';
import type { Executor, HostTensor } from '../engine';
import type { GrowableModel } from '../model/growable';
import type { GrowthMethodName, LayerDiff } from '../../common/protocol';
import type { Rng } from '../random';
import type { Trainer } from '../trainer/trainer';

export interface Candidate {
  /** Layer id (for a new layer: the id it would get). */
  layer: string;
  /** Neuron/channel index within the candidate set of that layer. */
  neuron: number;
  score: number;
  /** split | new | layer | prune | replicate | unlock … */
  kind: string;
}

/** Options every method understands; methods add their own (documented in their files). */
export interface GrowOptions {
  /** Growth budget as a share of the current number of neurons in the grown layers (default 0.3). */
  ratio?: number;
  /** Growth budget as a neuron count (overrides ratio). */
  neurons?: number;
  /** Layer ids to grow (default: every dense and conv2d hidden layer). */
  layers?: string[];
  /** Examples used to score candidates (default 512). */
  scoreBatch?: number;
  [key: string]: unknown;
}

export interface GrowContext {
  model: GrowableModel;
  executor: Executor;
  data: Dataset;
  /** The run's trainer (its optimiser settings); methods that fine-tune use it through `trainSteps`. */
  trainer: Trainer;
  rng: Rng;
  /** A training minibatch for scoring: x [n, ...input], y one-hot or targets [n, outputs]. */
  scoringBatch(n: number): { x: HostTensor; y: HostTensor };
}

export interface GrowPlanResult {
  diff: LayerDiff[];
  selected: Candidate[];
  rejected: Candidate[];
  /** Free-form facts for the event log (e.g. ε and δ step counts). */
  notes?: Record<string, unknown>;
}

export interface GrowthMethod {
  name: GrowthMethodName | 'prune-gauss-newton' | 'prune-taylor';
  kind: 'grow' | 'prune';
  /** One line for people (the command palette shows it). */
  description: string;
  /** Why this method cannot grow this model, or undefined when it can. */
  unsupported?(model: GrowableModel): string | undefined;
  /** Change `ctx.model` in place; the caller recompiles and measures. */
  apply(ctx: GrowContext, options: GrowOptions): Promise<GrowPlanResult>;
}

export class GrowthError extends Error {}
