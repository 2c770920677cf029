/** Notifications and run events (`events.jsonl` holds one RunEvent per line). */

import type { Architecture } from './architecture';
import type { ContinualMethodName, ExperimentConfig } from './experiment';
import type { EngineName, ExecutionProviderName } from './names';
import type { RunIdParams, RunStatus } from './requests';

export interface MetricsParams {
  runId: string;
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
  params: number;
  samplesPerSecond: number;
  /** The learning rate of the latest step (training.lrSchedule, growth.afterGrow); absent in older runs. */
  learningRate?: number;
  engine: EngineName;
  executionProvider: ExecutionProviderName;
  elapsedMs: number;
  /** Continual learning: the task (0-based) this event belongs to (absent for ordinary runs). */
  task?: number;
  /** Continual learning: what the method reached after learning `task` (present with `task`). */
  continual?: ContinualMetrics;
}

/**
 * After a method learnt task t: accuracy on every task seen so far (row t of the accuracy matrix,
 * fractions), their mean, forgetting and backward transfer so far, and parameters. In a continual
 * run's metrics event, `params` is the method's parameters, `testAccuracy` the average accuracy,
 * `trainLoss` the mean training loss of the task's last epoch, `step` counts (method, task) pairs.
 */
export interface ContinualMetrics {
  method: ContinualMethodName;
  /** Number of tasks in the stream, and the task's name ("0/1", "perm 2", a file name). */
  tasks: number;
  taskName: string;
  accuracies: number[];
  averageAccuracy: number;
  /** Mean over tasks 0..t-1 of (best earlier accuracy − accuracy now); 0 after task 0. */
  forgetting: number;
  backwardTransfer: number;
  /** Parameters each task uses (through its mask / column, plus its head). */
  taskParameters: number[];
}

export interface RunStatusParams {
  runId: string;
  status: RunStatus;
  message?: string;
  /** Non-fatal problems (e.g. an execution provider fell back to cpu). */
  warnings?: string[];
}

export interface LayerDiff {
  id: string;
  kept: number;
  split: { index: number; parent: number }[];
  added: number[];
  removed: number[];
  inserted: boolean;
}

export interface GrowEventParams {
  runId: string;
  step: number;
  epoch: number;
  kind: 'grow' | 'prune';
  method: string;
  before: Architecture;
  after: Architecture;
  diff: LayerDiff[];
  selected: { layer: string; neuron: number; score: number; kind: string }[];
  rejected: { layer: string; neuron: number; score: number; kind: string }[];
  lossBefore: number;
  lossAfter: number;
  maxOutputChange: number;
  durationMs: number;
}

export type RunEvent =
  | ({ type: 'start'; time: string; config: ExperimentConfig; architecture: Architecture; warnings: string[] } & RunIdParams)
  | ({ type: 'metrics'; time: string } & MetricsParams)
  | ({ type: 'status'; time: string } & RunStatusParams)
  | ({ type: 'grow'; time: string } & GrowEventParams)
  | { type: 'checkpoint'; time: string; runId: string; epoch: number; step: number; file: string };
export type RunEventType = RunEvent['type'];
