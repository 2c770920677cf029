/** Growth Monitor webview: the messages between the extension and the panel (window.postMessage), and chart data. */

import type { RunEvent } from './events';
import type { RunSummary } from './requests';

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

/** The metrics a step chart can draw (one series each; x and y as the run's metrics events give them). */
export type MetricSeriesName = 'trainLoss' | 'testLoss' | 'trainAccuracy' | 'testAccuracy' | 'params' | 'samplesPerSecond' | 'learningRate';
export const METRIC_SERIES: readonly MetricSeriesName[] = [
  'trainLoss',
  'testLoss',
  'trainAccuracy',
  'testAccuracy',
  'params',
  'samplesPerSecond',
  'learningRate',
];

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
export interface ExportSeriesMessage {
  type: 'exportSeries';
  format: 'csv' | 'json';
  runIds: string[];
}
/** Webview -> extension: save a chart the panel rendered (png: base64 without the data: prefix; svg: the document). */
export interface ExportChartMessage {
  type: 'exportChart';
  format: 'png' | 'svg';
  runId: string;
  chart: string;
  data: string;
}
/** Extension -> webview: where an export went (or why it did not). */
export interface ExportResultMessage {
  type: 'exportResult';
  ok: boolean;
  message: string;
  path?: string;
}

/** Limits on what the panel may ask to save. */
export const MAX_EXPORT_PNG_BASE64 = 48 * 1024 * 1024;
export const MAX_EXPORT_SVG = 32 * 1024 * 1024;
export const MAX_EXPORT_RUNS = 64;
