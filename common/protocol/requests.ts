/** JSON-RPC requests: method names, parameters, results, the typed request table and the error codes. */

import type { Architecture } from './architecture';
import type { GrowEventParams, MetricsParams, RunEvent, RunStatusParams } from './events';
import type { DatasetName, EngineName, ExecutionProviderName } from './names';
import type {
  CancelDownloadParams,
  CancelDownloadResult,
  DownloadDatasetParams,
  DownloadDatasetResult,
  DownloadProgressParams,
} from './download';

/** JSON-RPC method names (contracts: keep exactly as written). */
export const Methods = {
  startExperiment: 'growthLab/startExperiment',
  stopExperiment: 'growthLab/stopExperiment',
  pauseExperiment: 'growthLab/pauseExperiment',
  resumeExperiment: 'growthLab/resumeExperiment',
  getArchitecture: 'growthLab/getArchitecture',
  listRuns: 'growthLab/listRuns',
  getRunHistory: 'growthLab/getRunHistory',
  /** Grow the model of a training or paused run now; the run continues afterwards. */
  grow: 'growthLab/grow',
  /** Remove neurons of a training or paused run now. */
  prune: 'growthLab/prune',
  /** Continue a run that is not live (failed, stopped, or left by a crashed backend) from its latest checkpoint. */
  resumeRun: 'growthLab/resumeRun',
  /** Write a run's model (live: the current weights; finished: the latest checkpoint) in a portable format. */
  export: 'growthLab/export',
  /** Keep the grow a `grow` with `propose: true` applied (grow event, checkpoint) and resume the run. */
  commitProposal: 'growthLab/commitProposal',
  /** Undo a proposed grow (the pre-grow model exactly) and resume the run. */
  rejectProposal: 'growthLab/rejectProposal',
  /** Fetch a dataset's official files into a folder (download.ts); progress as downloadProgress notifications. */
  downloadDataset: 'growthLab/downloadDataset',
  /** Stop the running download of a dataset; its request is answered with downloadCancelled. */
  cancelDownload: 'growthLab/cancelDownload',
} as const;

/** Notifications sent by the backend. */
export const Notifications = {
  metrics: 'growthLab/metrics',
  runStatus: 'growthLab/runStatus',
  /** Reserved for the growth engine: one message per committed grow or prune step. */
  growEvent: 'growthLab/growEvent',
  /** Bytes of a running downloadDataset (a few per second per download). */
  downloadProgress: 'growthLab/downloadProgress',
} as const;

export interface StartExperimentParams {
  /** The experiment as written in a `*.growth.json` (validated and completed with defaults by the backend). */
  config: unknown;
  /** Where the experiment file lives; relative dataset paths resolve against its folder. */
  configPath?: string;
  /** Folder that receives `runs/<runId>/`; default `<workspace>/.growth-lab`. */
  outDir?: string;
}
export interface StartExperimentResult {
  runId: string;
}

export type ExportFormat = 'tfjs' | 'onnx' | 'pytorch' | 'json' | 'torchrun';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['tfjs', 'onnx', 'pytorch', 'json', 'torchrun'];
export interface ExportParams {
  runId: string;
  format: ExportFormat;
  /** Destination folder: absolute, or relative to the run's outDir (and inside it). Default `<outDir>/exports/<runId>/`. */
  path?: string;
  /** Replace files that exist (otherwise the request fails with exportExists naming them). */
  force?: boolean;
}
export interface ExportResult {
  /** Absolute paths of the files written. */
  files: string[];
  format: ExportFormat;
  /** The folder they were written to. */
  dir: string;
}
export interface RunIdParams {
  runId: string;
}
/**
 * getRunHistory: without `offset`/`limit` the whole history (as always); with them, the events
 * `[offset, offset + limit)` in file order. `limit` is at most 100,000 (HISTORY_PAGE_MAX); a request
 * without `limit` whose answer would hold more events than that is refused (invalidParams) with a
 * message telling the client to page.
 */
export interface RunHistoryParams extends RunIdParams {
  offset?: number;
  limit?: number;
}
export interface OkResult {
  ok: true;
}
export interface GrowParams {
  runId: string;
  method?: string;
  options?: Record<string, unknown>;
  /** Apply the grow but do not commit it: the run pauses until commitProposal or rejectProposal. */
  propose?: boolean;
}
/** The answer of `grow`: the event, plus `proposalId` when `propose` was set (no growEvent is sent until commit). */
export type GrowResult = GrowEventParams & { proposalId?: string };
export interface ProposalParams {
  runId: string;
  proposalId: string;
  /** Resume the run afterwards (default true); false leaves it paused. */
  resume?: boolean;
}
export interface PruneParams {
  runId: string;
  options?: Record<string, unknown> & { method?: 'prune-gauss-newton' | 'prune-taylor' };
}

export type RunStatus = 'running' | 'paused' | 'completed' | 'failed' | 'stopped';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'paused', 'completed', 'failed', 'stopped'];

export interface RunSummary {
  runId: string;
  name: string;
  status: RunStatus;
  dataset: DatasetName;
  engine: EngineName;
  executionProvider: ExecutionProviderName;
  startedAt: string;
  endedAt?: string;
  epochs: number;
  epochsDone: number;
  params: number;
  bestTestAccuracy?: number;
  lastTestAccuracy?: number;
  growSteps: number;
  configPath?: string;
  /** The status came from the files of a backend that is no longer running (e.g. it crashed). */
  stale?: boolean;
  /** Another live process (the CLI, another backend) holds the run's lock and is training it: its process id. Not resumable here. */
  runningElsewhere?: number;
  /** The run folder could not be read (a symlink, a file that is not regular, corrupt config): why. Status is then 'failed'. */
  unreadable?: string;
  /** Written by a tool outside Growth Lab (e.g. "torchrun": a torchrun export's train.py): shown and followed, never resumed or grown here. */
  external?: string;
}

/** Typed request table: method name -> [params, result]. */
export interface RequestTypes {
  [Methods.startExperiment]: [StartExperimentParams, StartExperimentResult];
  [Methods.stopExperiment]: [RunIdParams, OkResult];
  [Methods.pauseExperiment]: [RunIdParams, OkResult];
  [Methods.resumeExperiment]: [RunIdParams, OkResult];
  [Methods.getArchitecture]: [RunIdParams, Architecture];
  [Methods.listRuns]: [Record<string, never> | undefined, RunSummary[]];
  [Methods.getRunHistory]: [RunHistoryParams, RunEvent[]];
  [Methods.grow]: [GrowParams, GrowResult];
  [Methods.resumeRun]: [RunIdParams, StartExperimentResult];
  [Methods.prune]: [PruneParams, GrowEventParams];
  [Methods.export]: [ExportParams, ExportResult];
  [Methods.commitProposal]: [ProposalParams, GrowEventParams];
  [Methods.rejectProposal]: [ProposalParams, OkResult];
  [Methods.downloadDataset]: [DownloadDatasetParams, DownloadDatasetResult];
  [Methods.cancelDownload]: [CancelDownloadParams, CancelDownloadResult];
}
/** A request method of the table, and its params and result types as the table gives them. */
export type RequestMethod = keyof RequestTypes;
export type RequestParams<M extends RequestMethod> = RequestTypes[M][0];
export type RequestResult<M extends RequestMethod> = RequestTypes[M][1];

export interface NotificationTypes {
  [Notifications.metrics]: MetricsParams;
  [Notifications.runStatus]: RunStatusParams;
  [Notifications.growEvent]: GrowEventParams;
  [Notifications.downloadProgress]: DownloadProgressParams;
}

/**
 * Error codes in JSON-RPC error responses: the standard invalidParams, then the server's application range.
 * A param of the wrong type (runId: 5, format: 7, options: "x") or missing params is invalidParams; a
 * well-typed value the backend cannot use gets the method's own code (an unknown run id: unknownRun, a
 * format it does not write: exportFailed, an invalid experiment: invalidExperiment).
 */
export const ErrorCodes = {
  /** JSON-RPC 2.0 "Invalid params": the params do not have the shape RequestTypes gives the method. */
  invalidParams: -32602,
  invalidExperiment: -32010,
  unknownRun: -32011,
  invalidState: -32012,
  internal: -32013,
  growthFailed: -32014,
  /** An export could not be written (bad path, unsupported model, I/O). */
  exportFailed: -32015,
  /** An export would overwrite files and `force` was not set; the message names them. */
  exportExists: -32016,
  /** A dataset download failed: network, HTTP status, checksum, disk (full), archive; nothing partial is kept. */
  downloadFailed: -32020,
  /** A dataset download was stopped by cancelDownload. */
  downloadCancelled: -32021,
} as const;
