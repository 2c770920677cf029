/** LSP `initialize`: `capabilities.experimental.growthLab` and the client's initialization options. */

import type { DatasetName, EngineName, ExecutionProviderName, GrowthMethodName } from './names';

export interface Availability<N extends string> {
  name: N;
  available: boolean;
  reason?: string;
}
/** A dataset's availability; path-based datasets also say what they read and where it was found. */
export interface DatasetAvailability extends Availability<DatasetName> {
  /** What the dataset reads from disk, e.g. "a folder (dataset.path) with train.bin, test.bin". */
  files?: string;
  /** cifar-10, cifar-100, svhn: a folder under the workspace (or its data/) holding the official files. */
  found?: string;
}
export interface GrowthLabCapabilities {
  version: string;
  engine: EngineName;
  engines: Availability<EngineName>[];
  executionProviders: Availability<ExecutionProviderName>[];
  datasets: DatasetAvailability[];
  growthMethods: GrowthMethodName[];
  /** Every grow and prune method with its one-line description (for pickers and completions). */
  growthMethodDetails?: GrowthMethodInfo[];
}
export interface GrowthMethodInfo {
  name: string;
  kind: 'grow' | 'prune';
  description: string;
}

/** `initializationOptions` the client sends with LSP initialize (from its settings). */
export interface InitializationOptions {
  /** Default engine for experiments that do not set `engine` (setting growthLab.engine). */
  engine?: EngineName;
  /** Default provider for experiments that do not set `executionProvider` (growthLab.executionProvider). */
  executionProvider?: ExecutionProviderName;
  /** The extension's global storage folder (e.g. for an installed GPU backend). */
  storageDir?: string;
  /** The workspace folder: runs go to `<workspaceDir>/.growth-lab` unless a request says otherwise. */
  workspaceDir?: string;
  /** Runs training at once in this backend (setting growthLab.maxConcurrentRuns, default 2). */
  maxConcurrentRuns?: number;
  /** Largest model a run may build or grow to (setting growthLab.maxParams, default 50,000,000). */
  maxParams?: number;
  /**
   * Most activation memory a run's estimated training step may need, in MB (setting
   * growthLab.maxActivationMemoryMB; unset or 0: half of the machine's memory).
   */
  maxActivationMemoryMB?: number;
}

export const DEFAULT_MAX_CONCURRENT_RUNS = 2;
/** Folder under `storageDir` where "Install GPU backend" puts @tensorflow/tfjs-node(-gpu). */
export const NATIVE_TFJS_DIR = 'tfjs-native';
export const DEFAULT_MAX_PARAMS = 50_000_000;
