/**
 * The one protocol module shared by the backend (server/), the VS Code client (extension/) and the
 * webview (webview/). Every method name and payload shape is written here and nowhere else.
 * This module must stay free of Node and VS Code imports so that all three can bundle it.
 */

export const PROTOCOL_VERSION = '1.0.0';

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
} as const;

/** Notifications sent by the backend. */
export const Notifications = {
  metrics: 'growthLab/metrics',
  runStatus: 'growthLab/runStatus',
  /** Reserved for the growth engine: one message per committed grow or prune step. */
  growEvent: 'growthLab/growEvent',
} as const;

export type EngineName = 'onnxruntime' | 'tfjs';
export const ENGINE_NAMES: readonly EngineName[] = ['onnxruntime', 'tfjs'];
export type ExecutionProviderName = 'cpu' | 'webgpu' | 'cuda' | 'dml' | 'coreml';
export const EXECUTION_PROVIDERS: readonly ExecutionProviderName[] = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'];
export type DatasetName = 'mnist' | 'fashion-mnist' | 'rbf-toy' | 'csv';
export const DATASET_NAMES: readonly DatasetName[] = ['mnist', 'fashion-mnist', 'rbf-toy', 'csv'];
/** rbf: the Gaussian radial-basis activation exp(−x²/2) of the Firefly paper's toy network (App. B.1). */
export type Activation = 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid' | 'linear' | 'rbf';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'linear', 'rbf'];
export type OptimizerName = 'sgd' | 'adam' | 'adamw';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adam', 'adamw'];
/** Growth methods the backend knows by name (implemented by the growth engine). */
export type GrowthMethodName =
  | 'firefly'
  | 'firefly-deeper'
  | 'firefly-split'
  | 'splitting'
  | 'net2net-wider'
  | 'net2net-deeper'
  | 'gauss-newton'
  | 'random-split'
  | 'random-split-new'
  | 'none';

// ---------------------------------------------------------------------------------------------
// Experiment configuration (the resolved form, after defaults; `*.growth.json` files are the input)
// ---------------------------------------------------------------------------------------------

export interface DenseLayerConfig { type: 'dense'; units: number; activation: Activation }
export interface Conv2dLayerConfig {
  type: 'conv2d';
  filters: number;
  kernelSize: number;
  stride: number;
  padding: 'same' | 'valid';
  activation: Activation;
}
export interface MaxPoolLayerConfig { type: 'maxpool'; size: number }
export interface AvgPoolLayerConfig { type: 'avgpool'; size: number }
export interface GlobalAvgPoolLayerConfig { type: 'globalavgpool' }
export interface BatchNormLayerConfig { type: 'batchnorm'; momentum: number; epsilon: number }
export interface FlattenLayerConfig { type: 'flatten' }
/** x + h(x) where h is a dense (or 1x1-free conv) block of `units` hidden neurons back to the input width. */
export interface ResidualLayerConfig { type: 'residual'; units: number; activation: Activation }
export type LayerConfig =
  | DenseLayerConfig
  | Conv2dLayerConfig
  | MaxPoolLayerConfig
  | AvgPoolLayerConfig
  | GlobalAvgPoolLayerConfig
  | BatchNormLayerConfig
  | FlattenLayerConfig
  | ResidualLayerConfig;
export type LayerType = LayerConfig['type'];

export interface DatasetConfig {
  name: DatasetName;
  /** csv: path of the file (relative to the experiment file). */
  path?: string;
  /** csv: label column, by header name or 0-based index (default: the last column). */
  labelColumn?: string | number;
  /** csv: classification (integer labels) or regression. */
  task?: 'classification' | 'regression';
  /** csv: share of rows held out for testing when no testPath is given. */
  testFraction?: number;
  testPath?: string;
  trainSize?: number;
  testSize?: number;
  /** Scale pixel values to [0, 1] (image datasets). */
  normalize?: boolean;
}

export type InitMethod = 'he' | 'glorot';
/** Start from an exported model: a Growth Lab TF.js `model.json` or `architecture.json` (relative to the experiment file). */
export interface ModelInitFrom { from: string }

export interface ModelConfig {
  /** Hidden layers; the output layer (dense, one unit per class or target) is appended by the backend. Ignored with `init: {from}`. */
  layers: LayerConfig[];
  init: InitMethod | ModelInitFrom;
}

export interface TrainingConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Evaluate on the test set every k epochs (and always after the last). */
  evalEvery: number;
  shuffle: boolean;
}

/** When to grow, and with what (experiment field `growth`). */
export interface GrowthConfig {
  /** Method for scheduled and manual grows (default firefly). */
  method: GrowthMethodName;
  schedule: {
    /** Grow after every k-th epoch. */
    every?: number;
    /** Grow when `metric` has not improved by `minDelta` for `patience` epochs. */
    plateau?: { metric: 'testLoss' | 'trainLoss'; patience: number; minDelta: number };
  };
  /** No scheduled grow once the model has this many parameters. */
  maxParams?: number;
  /** No scheduled grow after this many grow steps. */
  maxGrowSteps?: number;
  /** Options passed to the method (ratio, neurons, layers, newNeurons, epsilon, …). */
  options: Record<string, unknown>;
  /** Optimiser moments after a grow: kept for kept weights (new ones zero), or all reset. */
  optimizerState: 'keep' | 'reset';
}

export type ContinualStreamName = 'split-mnist' | 'split-fashion-mnist' | 'permuted-mnist' | 'custom';
export type ContinualMethodName = 'firefly-cl' | 'finetune' | 'ewc' | 'progressive' | 'individual';
/** uniform: U(±1/√fan-in) weights and biases (torch.nn.Linear's default); he-normal: N(0, 2/fan-in), zero biases. */
export type ContinualLayerInit = 'uniform' | 'he-normal';
/** Split streams: classes paired in order ({0,1}, {2,3}, …) or by a permutation drawn from the seed. */
export type SplitClassOrder = 'ordered' | 'shuffled';

/** Firefly CL's settings (Firefly Appendix A); absent fields keep FIREFLY_CL_DEFAULTS. */
export interface FireflyClSettings {
  initialWidth?: number[];
  targetAccuracy?: number;
  maxGrowRounds?: number;
  eta?: number;
  newCandidates?: number;
  epsilon?: number;
  stepOneIterations?: number;
  stepOneLearningRate?: number;
  maskEpochs?: number;
  maskSparsity?: number;
  maskInit?: number;
  maskLearningRate?: number;
  scoreExamples?: number;
}

/** Experiment field `continual`: a task stream learnt by each method in turn (defaults in experiment.schema.json). */
export interface ContinualConfig {
  stream: ContinualStreamName;
  methods: ContinualMethodName[];
  /** permuted-mnist: number of tasks. */
  tasks?: number;
  /** custom: one dataset per task. */
  datasets?: DatasetConfig[];
  /** split-mnist / split-fashion-mnist: which classes make each task. */
  classOrder: SplitClassOrder;
  trainPerTask: number;
  testPerTask: number;
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** How every method initialises a fresh layer. */
  init: ContinualLayerInit;
  /** Fine-tuning and EWC: one optimiser through the stream, or a fresh one per task. */
  optimizerState: 'keep' | 'reset';
  ewcLambda: number;
  firefly: FireflyClSettings;
}

export interface ExperimentConfig {
  name: string;
  seed: number;
  dataset: DatasetConfig;
  model: ModelConfig;
  training: TrainingConfig;
  engine: EngineName;
  executionProvider: ExecutionProviderName;
  /** Growth schedule and method; absent: no scheduled growth (manual grows still work). */
  growth?: GrowthConfig;
  /** Continual learning: when set, the run learns this task stream with each method instead of training `model`. */
  continual?: ContinualConfig;
}

// ---------------------------------------------------------------------------------------------
// Architecture summaries
// ---------------------------------------------------------------------------------------------

export interface LayerSummary {
  /** Stable identity of the layer across grow steps (e.g. "dense_1"). */
  id: string;
  index: number;
  type: LayerType | 'output';
  /** Neurons (dense, residual hidden units) or channels (conv2d); undefined for width-free layers. */
  width?: number;
  activation?: Activation;
  inputShape: number[];
  outputShape: number[];
  params: number;
  /** Multiply-adds per example. */
  flops: number;
}

export interface Architecture {
  inputShape: number[];
  outputSize: number;
  layers: LayerSummary[];
  params: number;
  flops: number;
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export interface StartExperimentParams {
  /** The experiment as written in a `*.growth.json` (validated and completed with defaults by the backend). */
  config: unknown;
  /** Where the experiment file lives; relative dataset paths resolve against its folder. */
  configPath?: string;
  /** Folder that receives `runs/<runId>/`; default `<workspace>/.growth-lab`. */
  outDir?: string;
}
export interface StartExperimentResult { runId: string }

export type ExportFormat = 'tfjs' | 'onnx' | 'pytorch' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['tfjs', 'onnx', 'pytorch', 'json'];
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
export interface RunIdParams { runId: string }
export interface OkResult { ok: true }
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
export interface PruneParams { runId: string; options?: Record<string, unknown> & { method?: 'prune-gauss-newton' | 'prune-taylor' } }

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
}

// ---------------------------------------------------------------------------------------------
// Notifications and run events (events.jsonl holds one RunEvent per line)
// ---------------------------------------------------------------------------------------------

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
  | ({ type: 'checkpoint'; time: string; runId: string; epoch: number; step: number; file: string });
export type RunEventType = RunEvent['type'];

// ---------------------------------------------------------------------------------------------
// initialize: capabilities.experimental.growthLab
// ---------------------------------------------------------------------------------------------

export interface Availability<N extends string> { name: N; available: boolean; reason?: string }
export interface GrowthLabCapabilities {
  version: string;
  engine: EngineName;
  engines: Availability<EngineName>[];
  executionProviders: Availability<ExecutionProviderName>[];
  datasets: Availability<DatasetName>[];
  growthMethods: GrowthMethodName[];
  /** Every grow and prune method with its one-line description (for pickers and completions). */
  growthMethodDetails?: GrowthMethodInfo[];
}
export interface GrowthMethodInfo { name: string; kind: 'grow' | 'prune'; description: string }

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
}

export const DEFAULT_MAX_CONCURRENT_RUNS = 2;
/** Folder under `storageDir` where "Install GPU backend" puts @tensorflow/tfjs-node(-gpu). */
export const NATIVE_TFJS_DIR = 'tfjs-native';
export const DEFAULT_MAX_PARAMS = 50_000_000;

/** Typed request table: method name -> [params, result]. */
export interface RequestTypes {
  [Methods.startExperiment]: [StartExperimentParams, StartExperimentResult];
  [Methods.stopExperiment]: [RunIdParams, OkResult];
  [Methods.pauseExperiment]: [RunIdParams, OkResult];
  [Methods.resumeExperiment]: [RunIdParams, OkResult];
  [Methods.getArchitecture]: [RunIdParams, Architecture];
  [Methods.listRuns]: [Record<string, never> | undefined, RunSummary[]];
  [Methods.getRunHistory]: [RunIdParams, RunEvent[]];
  [Methods.grow]: [GrowParams, GrowResult];
  [Methods.resumeRun]: [RunIdParams, StartExperimentResult];
  [Methods.prune]: [PruneParams, GrowEventParams];
  [Methods.export]: [ExportParams, ExportResult];
  [Methods.commitProposal]: [ProposalParams, GrowEventParams];
  [Methods.rejectProposal]: [ProposalParams, OkResult];
}
export interface NotificationTypes {
  [Notifications.metrics]: MetricsParams;
  [Notifications.runStatus]: RunStatusParams;
  [Notifications.growEvent]: GrowEventParams;
}

/** Error codes in JSON-RPC error responses (the server's application range). */
export const ErrorCodes = {
  invalidExperiment: -32010,
  unknownRun: -32011,
  invalidState: -32012,
  internal: -32013,
  growthFailed: -32014,
  /** An export could not be written (bad path, unsupported model, I/O). */
  exportFailed: -32015,
  /** An export would overwrite files and `force` was not set; the message names them. */
  exportExists: -32016,
} as const;

// ---------------------------------------------------------------------------------------------
// Growth Monitor webview: messages between the extension and the panel (window.postMessage)
// ---------------------------------------------------------------------------------------------

/** View type of the Growth Monitor panel (also the id its WebviewPanelSerializer is registered under). */
export const MONITOR_VIEW_TYPE = 'growthLab.monitor';

export type PruneMethodName = 'prune-taylor' | 'prune-gauss-newton';
export const PRUNE_METHODS: readonly PruneMethodName[] = ['prune-taylor', 'prune-gauss-newton'];

/** What the panel's controls ask for (also the `action` of `actionResult`). */
export type MonitorAction = 'start' | 'pause' | 'resume' | 'stop' | 'grow' | 'prune' | 'export';
export const MONITOR_ACTIONS: readonly MonitorAction[] = ['start', 'pause', 'resume', 'stop', 'grow', 'prune', 'export'];

/** What the panel keeps across reloads (`vscode.setState`); the serializer receives it back. */
export interface MonitorWebviewState {
  runId?: string;
  /** The page's own view settings, restored when VS Code reloads a hidden page (never sent to the extension). */
  ui?: MonitorUiState;
}
/** View settings the page keeps with getState/setState: charts shown as tables, "Compare runs" metric and grouping. */
export interface MonitorUiState {
  tables?: string[];
  compareMetric?: string;
  compareGroup?: string;
  compareRegex?: string;
  /** The step charts' toolbar: x axis, smoothing weight, log-scale y. */
  chartXAxis?: string;
  smoothing?: number;
  logY?: boolean;
}

/** One run's test accuracy against its parameter count (the "all runs" comparison chart). */
export interface RunAccuracyPath {
  runId: string;
  name: string;
  points: { step: number; params: number; testAccuracy: number }[];
}

/** Theme chart colours a run can be given in "Compare runs" (VS Code's `--vscode-charts-<name>` variables). */
export type ChartColorName = 'blue' | 'orange' | 'green' | 'red' | 'purple' | 'yellow';
export const CHART_COLOR_NAMES: readonly ChartColorName[] = ['blue', 'orange', 'green', 'red', 'purple', 'yellow'];
/** Series "Compare runs" can overlay. */
export type CompareMetric = 'trainLoss' | 'testLoss' | 'trainAccuracy' | 'testAccuracy' | 'params';
export const COMPARE_METRICS: readonly CompareMetric[] = ['trainLoss', 'testLoss', 'trainAccuracy', 'testAccuracy', 'params'];
/** Most runs "Compare runs" overlays at once. */
export const COMPARE_MAX_RUNS = 24;
/** One run overlaid in "Compare runs": its config flattened ("training.learningRate": 0.01) and its series against step. */
export interface CompareRun {
  runId: string;
  name: string;
  config: Record<string, string | number | boolean>;
  series: Partial<Record<CompareMetric, { steps: number[]; values: number[]; total: number }>>;
}

/** Extension -> webview. */
export type ExtensionToWebviewMessage =
  /** The workspace's runs (the run picker) and the run the panel shows. */
  | { type: 'runs'; runs: RunSummary[]; selected?: string }
  /** The full history of a run (`getRunHistory`): replaces whatever the panel showed. Sent before any live event of that run. */
  | { type: 'history'; runId: string; events: RunEvent[]; summary?: RunSummary }
  /** Live events of the shown run, in order (notifications turned into RunEvents). */
  | { type: 'events'; runId: string; events: RunEvent[] }
  /** Methods the backend can grow and prune with. */
  | { type: 'capabilities'; growthMethods: string[]; pruneMethods: string[] }
  /** Test accuracy against parameters for every run of the workspace. */
  | { type: 'comparison'; paths: RunAccuracyPath[] }
  /** The outcome of a control the panel posted. */
  | { type: 'actionResult'; action: MonitorAction; runId?: string; ok: boolean; message?: string }
  /** There is no run to show (yet). */
  | { type: 'noRun'; message: string }
  /** Charts: a chart's downsampled points (answer to `viewport`); where an export was saved. */
  | ChartDataMessage
  | ExportResultMessage
  /** "Compare runs": the runs overlaid (in `selected` order) and the colour the user fixed per run (kept in workspaceState). */
  | { type: 'compare'; selected: string[]; colors: Record<string, ChartColorName>; runs: CompareRun[] };
export type ExtensionToWebviewType = ExtensionToWebviewMessage['type'];

/** Webview -> extension. Validate with `validateWebviewMessage` before use. */
export type WebviewToExtensionMessage =
  /** The panel's script is up; the extension answers with runs, capabilities and the run's full history. */
  | { type: 'ready'; state?: MonitorWebviewState }
  | { type: 'selectRun'; runId: string }
  | { type: 'start' }
  | { type: 'pause'; runId: string }
  | { type: 'resume'; runId: string }
  | { type: 'stop'; runId: string }
  | { type: 'grow'; runId: string; method: string }
  | { type: 'prune'; runId: string; method: PruneMethodName }
  | { type: 'export'; runId: string }
  /** Charts: the points a chart needs for its visible range; exports (see the charts section below). */
  | ChartViewportMessage
  | ExportSeriesMessage
  | ExportChartMessage
  /** "Compare runs": overlay these runs (at most COMPARE_MAX_RUNS). */
  | { type: 'compareRuns'; runIds: string[] }
  /** "Compare runs": fix a run's colour (a theme chart colour), or forget it (null). */
  | { type: 'setRunColor'; runId: string; color: ChartColorName | null };
export type WebviewToExtensionType = WebviewToExtensionMessage['type'];

export type WebviewMessageValidation = { ok: true; message: WebviewToExtensionMessage } | { ok: false; error: string };

const WEBVIEW_RUN_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;
const WEBVIEW_METHOD = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Checks a message posted by the webview and returns a fresh copy holding only the known fields
 * (run ids as the backend accepts them, method names as [a-z0-9-]); anything else is rejected with
 * a reason. The webview is untrusted input: nothing it posts is used before this check.
 */
export function validateWebviewMessage(value: unknown): WebviewMessageValidation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'message is not an object' };
  const v = value as Record<string, unknown>;
  const fail = (error: string): WebviewMessageValidation => ({ ok: false, error: `${String(v.type).slice(0, 40)}: ${error}` });
  const runId = (): string | undefined => (typeof v.runId === 'string' && WEBVIEW_RUN_ID.test(v.runId) ? v.runId : undefined);
  switch (v.type) {
    case 'ready': {
      if (v.state === undefined || v.state === null) return { ok: true, message: { type: 'ready' } };
      if (typeof v.state !== 'object' || Array.isArray(v.state)) return fail('state is not an object');
      const s = v.state as Record<string, unknown>;
      if (s.runId === undefined) return { ok: true, message: { type: 'ready', state: {} } };
      if (typeof s.runId !== 'string' || !WEBVIEW_RUN_ID.test(s.runId)) return fail('state.runId is not a valid run id');
      return { ok: true, message: { type: 'ready', state: { runId: s.runId } } };
    }
    case 'start':
      return { ok: true, message: { type: 'start' } };
    case 'selectRun':
    case 'pause':
    case 'resume':
    case 'stop':
    case 'export': {
      const id = runId();
      return id ? { ok: true, message: { type: v.type, runId: id } } : fail('runId is not a valid run id');
    }
    case 'grow': {
      const id = runId();
      if (!id) return fail('runId is not a valid run id');
      if (typeof v.method !== 'string' || !WEBVIEW_METHOD.test(v.method)) return fail('method is not a growth method name');
      return { ok: true, message: { type: 'grow', runId: id, method: v.method } };
    }
    case 'prune': {
      const id = runId();
      if (!id) return fail('runId is not a valid run id');
      if (!PRUNE_METHODS.includes(v.method as PruneMethodName)) return fail(`method must be one of ${PRUNE_METHODS.join(', ')}`);
      return { ok: true, message: { type: 'prune', runId: id, method: v.method as PruneMethodName } };
    }
    case 'viewport':
    case 'exportSeries':
    case 'exportChart':
      return validateChartMessage(v);
    case 'compareRuns': {
      if (!Array.isArray(v.runIds)) return fail('runIds is not an array');
      if (v.runIds.length > COMPARE_MAX_RUNS) return fail(`at most ${COMPARE_MAX_RUNS} runs can be compared`);
      const ids: string[] = [];
      for (const id of v.runIds) {
        if (typeof id !== 'string' || !WEBVIEW_RUN_ID.test(id)) return fail('runIds holds an invalid run id');
        if (!ids.includes(id)) ids.push(id);
      }
      return { ok: true, message: { type: 'compareRuns', runIds: ids } };
    }
    case 'setRunColor': {
      const id = runId();
      if (!id) return fail('runId is not a valid run id');
      if (v.color !== null && !CHART_COLOR_NAMES.includes(v.color as ChartColorName)) return fail(`color must be null or one of ${CHART_COLOR_NAMES.join(', ')}`);
      return { ok: true, message: { type: 'setRunColor', runId: id, color: (v.color as ChartColorName | null) } };
    }
    default:
      return { ok: false, error: `unknown message type ${typeof v.type === 'string' ? JSON.stringify(v.type.slice(0, 40)) : typeof v.type}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Growth Monitor charts: downsampled in the extension for each chart's visible range; exports
// ---------------------------------------------------------------------------------------------

/** The metrics a step chart can draw (one series each; x and y as the run's metrics events give them). */
export type MetricSeriesName = 'trainLoss' | 'testLoss' | 'trainAccuracy' | 'testAccuracy' | 'params' | 'samplesPerSecond';
export const METRIC_SERIES: readonly MetricSeriesName[] = ['trainLoss', 'testLoss', 'trainAccuracy', 'testAccuracy', 'params', 'samplesPerSecond'];

/**
 * What a chart's x axis measures: training step; epoch (fractional: step within the epoch);
 * wall time (seconds of training, `elapsedMs`); parameter count; training FLOPs (estimated by the
 * extension: 6 × forward mult-adds per example × examples seen, from the architecture of each phase).
 */
export type ChartXAxis = 'step' | 'epoch' | 'time' | 'params' | 'flops';
export const CHART_X_AXES: readonly ChartXAxis[] = ['step', 'epoch', 'time', 'params', 'flops'];
/** Largest smoothing weight (TensorBoard's slider stops there too). */
export const MAX_SMOOTHING = 0.99;
/** Most pixels a chart may ask points for. */
export const MAX_CHART_PIXELS = 8192;

/** Webview -> extension: the points chart `chart` needs for its visible x range (undefined ends: all). */
export interface ChartViewportMessage {
  type: 'viewport';
  runId: string;
  chart: string;
  series: MetricSeriesName[];
  xAxis: ChartXAxis;
  xMin?: number;
  xMax?: number;
  /** Width of the plot area in CSS pixels: about 2 points per pixel come back. */
  pixels: number;
  /** EMA weight, 0 (off) to MAX_SMOOTHING. */
  smoothing: number;
  /** Increases with every request of the panel; the answer echoes it (late answers are ignored). */
  seq: number;
}

/** One series of a `chartData` answer: the downsampled raw points, and the smoothed line when smoothing is on. */
export interface ChartSeriesPoints {
  name: MetricSeriesName;
  /** Points of the whole series, and of it inside the requested range. */
  total: number;
  visible: number;
  /** Points sent (xs.length). */
  drawn: number;
  xs: Float64Array;
  ys: Float64Array;
  /** The EMA of the full series, downsampled the same way (its own min/max per bucket). */
  smoothed?: { xs: Float64Array; ys: Float64Array };
}

/** Extension -> webview: the answer to a `viewport` request. */
export interface ChartDataMessage {
  type: 'chartData';
  runId: string;
  chart: string;
  seq: number;
  xAxis: ChartXAxis;
  xMin?: number;
  xMax?: number;
  smoothing: number;
  /** x extent of all the chart's series (for the axis when nothing is zoomed). */
  dataMin?: number;
  dataMax?: number;
  series: ChartSeriesPoints[];
  /** x of each grow/prune event on this axis, in the run's grow order (NaN: not placeable). */
  markerXs: number[];
}

/** Webview -> extension: save the full series of these runs as one file. */
export interface ExportSeriesMessage { type: 'exportSeries'; format: 'csv' | 'json'; runIds: string[] }
/** Webview -> extension: save a chart the panel rendered (png: base64 without the data: prefix; svg: the document). */
export interface ExportChartMessage { type: 'exportChart'; format: 'png' | 'svg'; runId: string; chart: string; data: string }
/** Extension -> webview: where an export went (or why it did not). */
export interface ExportResultMessage { type: 'exportResult'; ok: boolean; message: string; path?: string }

const CHART_ID = /^[a-z][a-z0-9-]{0,31}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Limits on what the panel may ask to save. */
export const MAX_EXPORT_PNG_BASE64 = 48 * 1024 * 1024;
export const MAX_EXPORT_SVG = 32 * 1024 * 1024;
export const MAX_EXPORT_RUNS = 64;

/** Validates the chart messages (viewport, exportSeries, exportChart); called by validateWebviewMessage. */
export function validateChartMessage(v: Record<string, unknown>): WebviewMessageValidation {
  const fail = (error: string): WebviewMessageValidation => ({ ok: false, error: `${String(v.type).slice(0, 40)}: ${error}` });
  const runIdOk = (id: unknown): id is string => typeof id === 'string' && WEBVIEW_RUN_ID.test(id);
  switch (v.type) {
    case 'viewport': {
      if (!runIdOk(v.runId)) return fail('runId is not a valid run id');
      if (typeof v.chart !== 'string' || !CHART_ID.test(v.chart)) return fail('chart is not a chart id');
      if (!Array.isArray(v.series) || v.series.length === 0 || v.series.length > METRIC_SERIES.length) return fail('series must list 1 to 6 metric names');
      const series: MetricSeriesName[] = [];
      for (const s of v.series) {
        if (!METRIC_SERIES.includes(s as MetricSeriesName)) return fail('series holds an unknown metric');
        if (!series.includes(s as MetricSeriesName)) series.push(s as MetricSeriesName);
      }
      if (!CHART_X_AXES.includes(v.xAxis as ChartXAxis)) return fail(`xAxis must be one of ${CHART_X_AXES.join(', ')}`);
      for (const k of ['xMin', 'xMax'] as const) if (v[k] !== undefined && v[k] !== null && !(typeof v[k] === 'number' && Number.isFinite(v[k]))) return fail(`${k} is not a finite number`);
      const xMin = typeof v.xMin === 'number' ? v.xMin : undefined, xMax = typeof v.xMax === 'number' ? v.xMax : undefined;
      if (xMin !== undefined && xMax !== undefined && !(xMin < xMax)) return fail('xMin must be below xMax');
      if (!Number.isInteger(v.pixels) || (v.pixels as number) < 1 || (v.pixels as number) > MAX_CHART_PIXELS) return fail(`pixels must be an integer from 1 to ${MAX_CHART_PIXELS}`);
      if (typeof v.smoothing !== 'number' || !(v.smoothing >= 0 && v.smoothing <= MAX_SMOOTHING)) return fail(`smoothing must be from 0 to ${MAX_SMOOTHING}`);
      if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 0) return fail('seq is not a non-negative integer');
      const message: ChartViewportMessage = { type: 'viewport', runId: v.runId, chart: v.chart, series, xAxis: v.xAxis as ChartXAxis, pixels: v.pixels as number, smoothing: v.smoothing, seq: v.seq as number };
      if (xMin !== undefined) message.xMin = xMin;
      if (xMax !== undefined) message.xMax = xMax;
      return { ok: true, message };
    }
    case 'exportSeries': {
      if (v.format !== 'csv' && v.format !== 'json') return fail('format must be csv or json');
      if (!Array.isArray(v.runIds) || v.runIds.length === 0 || v.runIds.length > MAX_EXPORT_RUNS) return fail(`runIds must list 1 to ${MAX_EXPORT_RUNS} runs`);
      const ids: string[] = [];
      for (const id of v.runIds) {
        if (!runIdOk(id)) return fail('runIds holds an invalid run id');
        if (!ids.includes(id)) ids.push(id);
      }
      return { ok: true, message: { type: 'exportSeries', format: v.format, runIds: ids } };
    }
    case 'exportChart': {
      if (v.format !== 'png' && v.format !== 'svg') return fail('format must be png or svg');
      if (!runIdOk(v.runId)) return fail('runId is not a valid run id');
      if (typeof v.chart !== 'string' || !CHART_ID.test(v.chart)) return fail('chart is not a chart id');
      if (typeof v.data !== 'string' || v.data.length === 0) return fail('data is not a string');
      if (v.format === 'png' && (v.data.length > MAX_EXPORT_PNG_BASE64 || v.data.length % 4 !== 0 || !BASE64.test(v.data))) return fail('data is not base64 PNG of an accepted size');
      if (v.format === 'png' && !v.data.startsWith('iVBORw0KGgo')) return fail('data is not a PNG');
      if (v.format === 'svg' && (v.data.length > MAX_EXPORT_SVG || !/^<svg[\s>]/.test(v.data))) return fail('data is not an SVG document of an accepted size');
      return { ok: true, message: { type: 'exportChart', format: v.format, runId: v.runId, chart: v.chart, data: v.data } };
    }
    default:
      return { ok: false, error: `unknown chart message ${String(v.type).slice(0, 40)}` };
  }
}
