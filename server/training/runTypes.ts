/** What an experiment run is given and gives back: its options, its listener, its summary, its failure. */
import type { Architecture, ExperimentConfig, GrowEventParams, MetricsParams, RunStatus, RunStatusParams } from '../../common/protocol';
import type { RunStore } from '../runs';

export interface RunListener {
  metrics(m: MetricsParams): void;
  status(s: RunStatusParams): void;
  grow?(e: GrowEventParams): void;
}

export interface RunOptions {
  /** The experiment (ignored when resuming: the run's own config.json is used). */
  config: ExperimentConfig;
  /** Continue an existing run from its latest intact checkpoint instead of starting a new one. */
  /** `config`: the run's config.json, already validated as a new experiment's is (RunManager.resumeRun). */
  resume?: { runId: string; config?: ExperimentConfig };
  configPath?: string;
  store: RunStore;
  listener: RunListener;
  /** Minimum time between streamed metrics (default 100 ms: at most 10 per second). */
  metricsIntervalMs?: number;
  /** Largest model the run may build or grow to (default DEFAULT_MAX_PARAMS). */
  maxParams?: number;
  /** Most estimated activation memory (MB) a training step may need; unset or 0: half of the machine's memory. */
  maxActivationMemoryMB?: number;
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
