/**
 * The Growth Monitor panel: run picker and controls, run summary, charts, architecture view and the
 * timeline of grow events. Messages come in through `handle` (typed by the protocol module) and are
 * applied to a RunModel at once; the DOM and the charts are redrawn at most once per animation
 * frame, so bursts of live events are all kept and drawn together.
 */
import { ContinualView } from './continualView';
import {
  PRUNE_METHODS,
  type ExtensionToWebviewMessage,
  type MonitorAction,
  type MonitorWebviewState,
  type PruneMethodName,
  type RunAccuracyPath,
  type RunSummary,
  type WebviewToExtensionMessage,
} from '../common/protocol';
import { CLASS_LABELS, describeCell, renderArchitecture, type ArchRender } from './archView';
import { DIFF_CLASSES } from './architecture';
import { ChartPanel } from './chartPanel';
import { ComparisonChart, ScoresChart, StepChart, type MarkerHover, type StepChartSpec } from './charts';
import { controlMessage, controlStates } from './controls';
import { formatDuration, formatInt, formatNumber, formatPct, formatSigned } from './format';
import { growMarkers, markerLines, neuronChanges, type GrowMarker } from './markers';
import { RunModel, summaryView, type GrowEvent } from '../common/monitor/runModel';
import { readTheme, watchTheme, type ThemeColors } from './theme';
import { ChartA11y, describeOtherCharts, stepChartA11yData } from './chartA11y';
import { CompareView } from './compare';
import { bindUiState } from './uiState';
import { signedCount } from '../common/monitor/growDiff';
import { renderLayerDetail } from './layerPanel';
import type { LayerDetail } from './layerDetails';
import { timelinePoints } from './timeline';
import { ArchTimeline } from './timelineView';
import type { Architecture } from '../common/protocol';

export interface VsCodeApi {
  postMessage(message: WebviewToExtensionMessage): void;
  getState(): unknown;
  setState(state: MonitorWebviewState): void;
}

export const STEP_CHARTS: StepChartSpec[] = [
  { id: 'loss', title: 'Loss', yTitle: 'loss', series: [{ name: 'trainLoss', label: 'train loss', color: 'blue' }, { name: 'testLoss', label: 'test loss', color: 'orange', sparse: true }] },
  { id: 'accuracy', title: 'Accuracy', yTitle: 'accuracy', percent: true, series: [{ name: 'trainAccuracy', label: 'train accuracy', color: 'blue' }, { name: 'testAccuracy', label: 'test accuracy', color: 'orange', sparse: true }] },
  { id: 'params', title: 'Parameters', yTitle: 'parameters', integer: true, series: [{ name: 'params', label: 'parameters', color: 'purple' }] },
  { id: 'throughput', title: 'Throughput', yTitle: 'samples/s', series: [{ name: 'samplesPerSecond', label: 'samples/s', color: 'yellow' }] },
];

/** Charts whose summary and table come from the run's data (the others' from what they draw). */
const OWN_A11Y: ReadonlySet<string> = new Set([...STEP_CHARTS.map((s) => s.id), 'comparison', 'compare']);

const BUTTONS: { action: MonitorAction; label: string; secondary?: boolean; title: string }[] = [
  { action: 'start', label: 'Start', title: 'Start an experiment (*.growth.json)' },
  { action: 'pause', label: 'Pause', secondary: true, title: 'Pause the run after the current batch' },
  { action: 'resume', label: 'Resume', secondary: true, title: 'Resume the paused run' },
  { action: 'stop', label: 'Stop', secondary: true, title: 'Stop the run (its checkpoints are kept)' },
];

const SKELETON = `
<header class="toolbar">
  <div class="run-picker">
    <label for="run-select">Run</label>
    <vscode-single-select id="run-select" aria-label="Run"></vscode-single-select>
    <vscode-badge id="run-status" variant="default"></vscode-badge>
  </div>
  <div class="controls" role="toolbar" aria-label="Run controls">
    <span class="group" id="run-buttons"></span>
    <span class="group">
      <vscode-single-select id="grow-method" aria-label="Growth method"></vscode-single-select>
      <vscode-button id="btn-grow" title="Grow the model now with the chosen method">Grow now</vscode-button>
    </span>
    <span class="group">
      <vscode-single-select id="prune-method" aria-label="Pruning method"></vscode-single-select>
      <vscode-button id="btn-prune" secondary title="Remove neurons now with the chosen method">Prune</vscode-button>
    </span>
    <vscode-button id="btn-export" secondary title="Export the model of the latest checkpoint">Export</vscode-button>
  </div>
</header>
<p id="notice" class="notice" role="status" hidden></p>
<section class="summary" aria-label="Run summary"><dl id="summary"></dl></section>
<section id="continual" class="continual-section" aria-label="Continual learning" hidden></section>
<section class="charts" aria-label="Charts">
  <figure class="chart"><figcaption>Loss</figcaption><div class="canvas-box"><canvas id="chart-loss" aria-label="Train and test loss against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Accuracy</figcaption><div class="canvas-box"><canvas id="chart-accuracy" aria-label="Train and test accuracy against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Parameters</figcaption><div class="canvas-box"><canvas id="chart-params" aria-label="Parameter count against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Throughput</figcaption><div class="canvas-box"><canvas id="chart-throughput" aria-label="Samples per second against step" role="img"></canvas></div></figure>
  <figure class="chart"><figcaption>Test accuracy against parameters (all runs)</figcaption><div class="canvas-box"><canvas id="chart-comparison" aria-label="Test accuracy against parameter count for every run" role="img"></canvas></div></figure>
</section>
<section class="compare-section" id="compare" aria-labelledby="compare-title"></section>
<section class="arch-section" aria-label="Architecture">
  <h2 id="arch-title">Architecture</h2>
  <div id="arch-timeline" class="arch-timeline"></div>
  <ul id="arch-legend" class="legend"></ul>
  <div id="arch" class="arch-host"></div>
  <div id="layer-detail" class="layer-detail" aria-live="polite"></div>
  <div id="arch-tracks" class="track-charts"></div>
</section>
<section class="grow-section">
  <div class="timeline-box">
    <h2>Grow events</h2>
    <ol id="timeline" class="timeline" aria-label="Grow and prune events"></ol>
  </div>
  <div class="detail" id="detail" aria-live="polite">
    <h2 id="detail-title">No grow event yet</h2>
    <dl id="detail-stats" class="stats"></dl>
    <div class="canvas-box scores"><canvas id="chart-scores" aria-label="Selected candidates' scores next to the best rejected ones" role="img"></canvas></div>
    <table id="detail-layers" class="layers"></table>
  </div>
</section>
<div id="tip" class="tip" role="tooltip" hidden></div>
`;

export interface RenderStats {
  renders: number;
  /** Milliseconds spent in each of the last 600 redraws. */
  renderMs: number[];
  messages: number;
  events: number;
}

export class MonitorApp {
  model: RunModel | undefined;
  runs: RunSummary[] = [];
  runSummary: RunSummary | undefined;
  growthMethods: string[] = [];
  pruneMethods: PruneMethodName[] = [...PRUNE_METHODS];
  comparison: RunAccuracyPath[] = [];
  readonly busy = new Set<MonitorAction>();
  /** Index of the grow event the user picked; undefined: follow the latest; -1: the architecture the run started with. */
  selectedGrow: number | undefined;
  /** Layer whose details are shown (clicked, or Enter/Space on a focused layer). */
  selectedLayer: string | undefined;
  lastLayerDetail: LayerDetail | undefined;
  readonly stats: RenderStats = { renders: 0, renderMs: [], messages: 0, events: 0 };
  lastArch: ArchRender | undefined;
  noRunMessage: string | undefined;

  private theme: ThemeColors;
  private readonly stepCharts: StepChart[] = [];
  private readonly comparisonChart: ComparisonChart;
  private readonly scoresChart: ScoresChart;
  /** Step charts' toolbar, badges, zoom reset and exports; their viewport requests and answers. */
  readonly chartPanel: ChartPanel;
  /** Summaries (aria-label) and Table views of the charts; "Compare runs". */
  readonly chartA11y = new Map<string, ChartA11y>();
  readonly compareView: CompareView;
  private readonly archTimeline: ArchTimeline;
  private readonly continualView: ContinualView;
  private markers: GrowMarker[] = [];
  private frame = 0;
  private dirty = { structure: true, charts: true, themed: false };
  private readonly buttons = new Map<MonitorAction, HTMLElement & { disabled: boolean }>();
  private busyTimers = new Map<MonitorAction, ReturnType<typeof setTimeout>>();
  private archKey = '';
  private renderedVersion = -1;
  private timelineKey = '';

  constructor(private readonly root: HTMLElement, private readonly vscode: VsCodeApi) {
    root.innerHTML = SKELETON;
    this.theme = readTheme();
    const hover = (h: MarkerHover | undefined): void => this.showMarkerTip(h);
    for (const spec of STEP_CHARTS) this.stepCharts.push(new StepChart(spec, this.$<HTMLCanvasElement>(`chart-${spec.id}`), this.theme, hover));
    this.comparisonChart = new ComparisonChart(this.$<HTMLCanvasElement>('chart-comparison'), this.theme);
    this.scoresChart = new ScoresChart(this.$<HTMLCanvasElement>('chart-scores'), this.theme);
    const ui = bindUiState(this.root, this.vscode); // before the Table toggles: they open as the user left them
    for (const id of [...STEP_CHARTS.map((s) => s.id), 'comparison']) this.chartA11y.set(id, new ChartA11y(id, this.$<HTMLCanvasElement>(`chart-${id}`)));
    this.compareView = new CompareView(this.$('compare'), this.theme, (m) => this.post(m), () => this.schedule());
    this.compareView.restore(ui);
    this.continualView = new ContinualView(this.$('continual'), this.theme);
    this.archTimeline = new ArchTimeline(this.$('arch-timeline'), this.$('arch-tracks'), this.theme, (_pos, p) => {
      const last = (this.model?.grows.length ?? 0) - 1;
      this.selectedGrow = p.growIndex === last ? undefined : p.growIndex;
      this.dirty.structure = true;
      this.schedule();
    });
    this.chartPanel = new ChartPanel(root, this.stepCharts, (m) => this.post(m), () => this.schedule(), () => [...new Set([...(this.model ? [this.model.runId] : []), ...this.compareView.selected])], (t, e) => this.notice(t, e), ui);
    this.buildControls();
    this.wireArchHover();
    this.wireLayerDetails();
    watchTheme(() => { this.dirty.themed = true; this.schedule(); });
    new ResizeObserver(() => this.schedule()).observe(root);
    this.schedule();
  }

  private $<T extends HTMLElement = HTMLElement>(id: string): T {
    return this.root.querySelector<T>(`#${id}`)!;
  }

  // --- messages ---------------------------------------------------------------------------

  handle(msg: ExtensionToWebviewMessage): void {
    this.stats.messages++;
    switch (msg.type) {
      case 'history': {
        const model = new RunModel(msg.runId);
        model.addAll(msg.events);
        this.stats.events += msg.events.length;
        if (this.model?.runId !== msg.runId) this.selectedLayer = undefined;
        this.model = model;
        this.runSummary = msg.summary ?? this.runs.find((r) => r.runId === msg.runId);
        this.selectedGrow = undefined;
        this.noRunMessage = undefined;
        this.vscode.setState({ ...(this.vscode.getState() as MonitorWebviewState | undefined), runId: msg.runId });
        this.fillRunPicker(msg.runId);
        break;
      }
      case 'events':
        if (!this.model || msg.runId !== this.model.runId) return;
        this.model.addAll(msg.events);
        this.stats.events += msg.events.length;
        break;
      case 'runs':
        this.runs = msg.runs;
        if (this.model) this.runSummary = msg.runs.find((r) => r.runId === this.model!.runId) ?? this.runSummary;
        this.fillRunPicker(msg.selected ?? this.model?.runId);
        this.compareView.setRuns(msg.runs);
        break;
      case 'compare':
        this.compareView.setCompare(msg);
        break;
      case 'capabilities':
        this.growthMethods = msg.growthMethods.filter((m) => m !== 'none');
        this.pruneMethods = msg.pruneMethods.filter((m): m is PruneMethodName => (PRUNE_METHODS as readonly string[]).includes(m));
        this.fillMethodPickers();
        break;
      case 'comparison':
        this.comparison = msg.paths;
        break;
      case 'actionResult':
        this.clearBusy(msg.action);
        if (msg.message) this.notice(msg.message, !msg.ok);
        break;
      case 'chartData':
        this.chartPanel.onData(msg);
        return;
      case 'exportResult':
        this.notice(msg.message, !msg.ok);
        return;
      case 'noRun':
        this.model = undefined;
        this.runSummary = undefined;
        this.noRunMessage = msg.message;
        this.notice(msg.message, false);
        break;
      default:
        return; // a message this version does not know
    }
    this.dirty.structure = true;
    this.schedule();
  }

  private post(msg: WebviewToExtensionMessage): void {
    this.vscode.postMessage(msg);
  }

  // --- controls ---------------------------------------------------------------------------

  private buildControls(): void {
    const host = this.$('run-buttons');
    for (const b of BUTTONS) {
      const btn = document.createElement('vscode-button') as HTMLElement & { disabled: boolean; secondary: boolean };
      btn.id = `btn-${b.action}`;
      btn.textContent = b.label;
      btn.title = b.title;
      if (b.secondary) btn.secondary = true;
      host.appendChild(btn);
      this.buttons.set(b.action, btn);
    }
    this.buttons.set('grow', this.$('btn-grow') as HTMLElement & { disabled: boolean });
    this.buttons.set('prune', this.$('btn-prune') as HTMLElement & { disabled: boolean });
    this.buttons.set('export', this.$('btn-export') as HTMLElement & { disabled: boolean });
    for (const [action, btn] of this.buttons) btn.addEventListener('click', () => this.onControl(action, btn));
    this.$('run-select').addEventListener('change', (e) => {
      const runId = (e.target as HTMLElement & { value: string }).value;
      if (runId && runId !== this.model?.runId) this.post({ type: 'selectRun', runId });
    });
    this.fillMethodPickers();
  }

  private onControl(action: MonitorAction, btn: { disabled: boolean }): void {
    if (btn.disabled) return;
    const msg = controlMessage(action, this.model?.runId, {
      grow: (this.$('grow-method') as HTMLElement & { value: string }).value || this.growthMethods[0],
      prune: ((this.$('prune-method') as HTMLElement & { value: string }).value || this.pruneMethods[0]) as PruneMethodName,
    });
    if (!msg) return;
    this.post(msg);
    this.busy.add(action);
    // The extension answers every control with actionResult; never leave a button stuck if it does not.
    this.busyTimers.set(action, setTimeout(() => this.clearBusy(action), action === 'grow' || action === 'prune' ? 120_000 : 15_000));
    this.dirty.structure = true;
    this.schedule();
  }

  private clearBusy(action: MonitorAction): void {
    this.busy.delete(action);
    clearTimeout(this.busyTimers.get(action));
    this.busyTimers.delete(action);
    this.dirty.structure = true;
    this.schedule();
  }

  private fillMethodPickers(): void {
    setOptions(this.$('grow-method'), this.growthMethods.map((m) => ({ value: m, label: m })), this.growthMethods[0], 'no growth method');
    setOptions(this.$('prune-method'), this.pruneMethods.map((m) => ({ value: m, label: m })), this.pruneMethods[0], 'no pruning method');
  }

  private fillRunPicker(selected: string | undefined): void {
    const items = this.runs.map((r) => ({ value: r.runId, label: `${r.name} · ${r.runId.slice(0, 15)} · ${r.status}${r.stale ? ' (stale)' : ''}` }));
    if (selected && !items.some((i) => i.value === selected)) items.unshift({ value: selected, label: selected });
    setOptions(this.$('run-select'), items, selected, 'no runs');
  }

  private notice(text: string, error: boolean): void {
    const n = this.$('notice');
    n.textContent = text;
    n.classList.toggle('error', error);
    n.hidden = false;
  }

  // --- rendering --------------------------------------------------------------------------

  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Redraws what changed; returns the milliseconds it took. */
  render(): number {
    const t0 = performance.now();
    if (this.dirty.themed) {
      this.dirty.themed = false;
      this.theme = readTheme();
      for (const c of this.stepCharts) c.setTheme(this.theme);
      this.comparisonChart.setTheme(this.theme);
      this.scoresChart.setTheme(this.theme);
      this.compareView.setTheme(this.theme);
      this.archTimeline.setTheme(this.theme);
      this.continualView.setTheme(this.theme, this.model?.continual);
      this.dirty.structure = true;
      this.archKey = '';
      this.timelineKey = '';
      for (const c of this.stepCharts) c.render(this.model, this.markers, true);
      this.comparisonChart.render(this.paths(), this.model?.runId, true);
    }
    const model = this.model;
    const grows = model?.grows ?? [];
    if (this.markers.length !== grows.length || this.markers[this.markers.length - 1]?.step !== grows[grows.length - 1]?.step) {
      this.markers = growMarkers(grows);
    }
    for (const c of this.stepCharts) c.render(model, this.markers);
    this.comparisonChart.render(this.paths(), model?.runId);
    this.compareView.render();
    // Continual runs: the heatmaps and per-task lines replace the step charts (whose x axis would mix methods).
    this.continualView.render(model?.continual);
    this.root.classList.toggle('continual-run', !!model && !model.continual.empty);
    if (this.dirty.structure || (model?.version ?? -1) !== this.renderedVersion) {
      const structural = this.dirty.structure || model?.runId !== this.a11yRunId;
      this.dirty.structure = false;
      this.renderedVersion = model?.version ?? -1;
      this.renderControls();
      this.renderSummary();
      this.renderTimeline();
      this.renderArchAndDetail();
      this.scheduleA11y(structural);
    }
    const ms = performance.now() - t0;
    this.stats.renders++;
    this.stats.renderMs.push(ms);
    if (this.stats.renderMs.length > 600) this.stats.renderMs.splice(0, this.stats.renderMs.length - 600);
    return ms;
  }

  /** Charts' aria-labels (summaries) and, where shown, their tables. */
  /**
   * Screen-reader summaries scan whole series: at once when the view changes (another run, a theme),
   * and while live data streams in at most once a second (the last update always lands).
   */
  private scheduleA11y(now: boolean): void {
    const due = this.a11yAt + 1000 - performance.now();
    if (now || due <= 0) {
      if (this.a11yTimer) clearTimeout(this.a11yTimer);
      this.a11yTimer = undefined;
      this.renderA11y();
      return;
    }
    this.a11yTimer ??= setTimeout(() => {
      this.a11yTimer = undefined;
      this.renderA11y();
    }, due);
  }

  private a11yAt = -Infinity;
  private a11yTimer: ReturnType<typeof setTimeout> | undefined;
  private a11yRunId: string | undefined;

  private renderA11y(): void {
    this.a11yAt = performance.now();
    this.a11yRunId = this.model?.runId;
    const model = this.model;
    const key = `${model?.runId}|${model?.version}`;
    for (const spec of STEP_CHARTS) this.chartA11y.get(spec.id)?.update(() => stepChartA11yData(spec, model?.series, model?.grows ?? []), key);
    const paths = this.paths();
    this.chartA11y.get('comparison')?.update(() => ({
      title: 'Test accuracy against parameters (all runs)',
      series: paths.map((p) => ({ label: p.name, ...this.comparisonChart.columnsOf(p) })),
      options: { xUnit: 'parameters', format: (v) => `${+(v * 100).toFixed(1)}%` },
      xLabel: 'parameters',
    }), `${key}|${paths.map((p) => `${p.runId}:${p.points.length}`).join(',')}`);
    describeOtherCharts(this.root, this.chartA11y, OWN_A11Y, { scores: 'Candidate scores' });
  }

  /** Every run's accuracy path; the shown run's from its live model. */
  paths(): RunAccuracyPath[] {
    const model = this.model;
    const out = this.comparison.filter((p) => p.runId !== model?.runId);
    if (model) {
      const name = model.config?.name ?? this.runSummary?.name ?? model.runId;
      out.push({ runId: model.runId, name, points: model.path });
    }
    return out;
  }

  private renderControls(): void {
    const view = this.model ? summaryView(this.model, this.runSummary) : undefined;
    const states = controlStates({
      runId: this.model?.runId,
      status: view?.status,
      stale: view?.stale,
      growthMethods: this.growthMethods,
      hasCheckpoint: this.model?.hasCheckpoint ?? false,
      busy: this.busy,
      continual: !!this.model?.config?.continual,
    });
    for (const [action, btn] of this.buttons) if (btn.disabled !== !states[action]) btn.disabled = !states[action];
    const gm = this.$('grow-method') as HTMLElement & { disabled: boolean };
    const pm = this.$('prune-method') as HTMLElement & { disabled: boolean };
    if (gm.disabled !== !states.grow) gm.disabled = !states.grow;
    if (pm.disabled !== !states.prune) pm.disabled = !states.prune;
    const badge = this.$('run-status');
    const status = view ? `${view.status ?? 'unknown'}${view.stale ? ' (stale)' : ''}` : 'no run';
    if (badge.textContent !== status) badge.textContent = status;
    badge.dataset.status = view?.status ?? 'none';
  }

  private renderSummary(): void {
    const dl = this.$('summary');
    const model = this.model;
    if (!model) {
      dl.replaceChildren(item('Run', this.noRunMessage ?? 'none selected'));
      return;
    }
    const v = summaryView(model, this.runSummary);
    const key = JSON.stringify(v);
    if (dl.dataset.key === key) return;
    dl.dataset.key = key;
    const cl = model.config?.continual;
    if (cl) {
      // A continual run: the stream and its progress; each method's numbers are in the section below.
      const tasks = model.continual.tasks;
      const done = [...model.continual.tracks.values()].reduce((n, t) => n + t.rows.filter(Boolean).length, 0);
      dl.replaceChildren(
        item('Run', `${v.name}`, v.runId),
        item('Stream', `${cl.stream}${tasks ? ` · ${tasks} tasks` : ''}`),
        item('Methods', cl.methods.join(', ')),
        item('Backend', v.engine ? `${v.engine} · ${v.executionProvider ?? '?'}` : '–'),
        item('Tasks learnt', tasks ? `${done} / ${tasks * cl.methods.length}` : formatInt(done)),
        item('Wall time', formatDuration(v.wallMs)),
      );
      dl.dataset.runId = v.runId;
      return;
    }
    dl.replaceChildren(
      item('Run', `${v.name}`, v.runId),
      item('Dataset', v.dataset ?? '–'),
      item('Backend', v.engine ? `${v.engine} · ${v.executionProvider ?? '?'}` : '–'),
      item('Best test accuracy', formatPct(v.bestTestAccuracy)),
      item('Parameters', formatInt(v.params)),
      item('Epochs', v.epochs !== undefined ? `${v.epochsDone ?? 0} / ${v.epochs}` : formatInt(v.epochsDone)),
      item('Grow steps', v.pruneSteps ? `${v.growSteps} (+${v.pruneSteps} prune)` : String(v.growSteps)),
      item('Wall time', formatDuration(v.wallMs)),
    );
    dl.dataset.runId = v.runId;
  }

  private selectedEvent(): GrowEvent | undefined {
    const grows = this.model?.grows ?? [];
    if (!grows.length) return undefined;
    const i = this.selectedGrow !== undefined && this.selectedGrow < grows.length ? this.selectedGrow : grows.length - 1;
    return grows[i];
  }

  private renderTimeline(): void {
    const ol = this.$('timeline');
    const grows = this.model?.grows ?? [];
    const current = this.selectedEvent();
    const key = `${this.model?.runId}|${grows.length}|${current ? grows.indexOf(current) : -1}`;
    if (key === this.timelineKey) return;
    this.timelineKey = key;
    if (!grows.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = this.model ? 'No grow or prune step in this run yet.' : 'No run.';
      ol.replaceChildren(li);
      return;
    }
    ol.replaceChildren(...this.markers.map((m) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `timeline-item ${m.kind}`;
      b.dataset.index = String(m.index);
      b.setAttribute('aria-pressed', String(grows[m.index] === current));
      const head = document.createElement('span');
      head.className = 'head';
      head.textContent = `${m.kind === 'prune' ? 'prune' : 'grow'} · ${m.method}`;
      const sub = document.createElement('span');
      sub.className = 'sub';
      sub.textContent = `step ${m.step} · epoch ${m.epoch} · +${m.added} / −${m.removed} neurons · loss ${formatNumber(m.lossBefore)} → ${formatNumber(m.lossAfter)}`;
      b.append(head, sub);
      b.addEventListener('click', () => {
        this.selectedGrow = m.index === grows.length - 1 ? undefined : m.index;
        this.dirty.structure = true;
        this.schedule();
      });
      li.appendChild(b);
      return li;
    }));
  }

  private renderArchAndDetail(): void {
    const model = this.model;
    const ev = this.selectedEvent();
    const atStart = this.selectedGrow === -1 && !!model?.grows.length;
    const arch = atStart ? model?.startArchitecture ?? model?.grows[0].before : model?.architecture;
    this.renderArchTimeline(ev);
    const key = `${model?.runId}|${ev ? `${ev.step}|${ev.method}|${ev.after.params}` : `${atStart ? 'start' : 'none'}|${arch?.params}`}|${this.selectedLayer}|${this.theme.kind}`;
    if (key === this.archKey) return;
    this.archKey = key;
    this.lastArch = renderArchitecture(this.$('arch'), ev ? undefined : arch, ev);
    this.$('arch-title').textContent = ev
      ? `Architecture after ${ev.kind === 'prune' ? 'pruning' : 'growing'} with ${ev.method} (step ${ev.step})`
      : atStart ? 'Architecture at the start of the run' : 'Architecture';
    this.renderLayer(ev, ev?.after ?? arch);
    const legend = this.$('arch-legend');
    const counts = this.lastArch?.counts;
    legend.replaceChildren(...DIFF_CLASSES.map((c) => {
      const li = document.createElement('li');
      li.dataset.class = c;
      const sw = document.createElement('span');
      sw.className = `swatch ${c}`;
      const label = document.createElement('span');
      label.textContent = `${CLASS_LABELS[c]}${counts ? ` (${counts[c]})` : ''}`;
      li.append(sw, label);
      return li;
    }));
    this.renderDetail(ev);
  }

  /** The architecture timeline's scrubber at the shown architecture, its charts up to the latest step. */
  private renderArchTimeline(ev: GrowEvent | undefined): void {
    const model = this.model;
    const points = model ? timelinePoints(model.startArchitecture, model.grows) : [];
    const position = ev ? points.findIndex((p) => p.event === ev) : 0;
    this.archTimeline.update(points, Math.max(0, position), model?.lastMetrics?.step);
  }

  /** The selected layer, marked in the architecture view, and its details. */
  private renderLayer(ev: GrowEvent | undefined, shown: Architecture | undefined): void {
    for (const g of Array.from(this.$('arch').querySelectorAll<SVGGElement>('g.layer'))) {
      const on = g.dataset.layer === this.selectedLayer;
      g.classList.toggle('selected', on);
      g.setAttribute('aria-pressed', String(on));
    }
    this.lastLayerDetail = renderLayerDetail(this.$('layer-detail'), shown, this.selectedLayer, ev);
  }

  private wireLayerDetails(): void {
    const host = this.$('arch');
    const pick = (target: EventTarget | null): boolean => {
      const g = target instanceof Element ? target.closest<SVGGElement>('g.layer[data-layer]') : null;
      if (!g) return false;
      this.selectedLayer = g.dataset.layer;
      this.dirty.structure = true;
      this.schedule();
      return true;
    };
    host.addEventListener('click', (e) => { pick(e.target); });
    host.addEventListener('keydown', (e) => {
      if ((e.key === 'Enter' || e.key === ' ') && pick(e.target)) e.preventDefault();
    });
  }

  private renderDetail(ev: GrowEvent | undefined): void {
    const title = this.$('detail-title');
    const stats = this.$('detail-stats');
    const table = this.$('detail-layers');
    this.scoresChart.render(ev);
    if (!ev) {
      title.textContent = this.selectedGrow === -1 && this.model?.grows.length ? 'Start of the run (before the first grow event)' : 'No grow event yet';
      stats.replaceChildren();
      table.replaceChildren();
      return;
    }
    const c = neuronChanges(ev.diff);
    title.textContent = `${ev.kind === 'prune' ? 'Prune' : 'Grow'}: ${ev.method} at step ${ev.step} (epoch ${ev.epoch})`;
    const dLoss = ev.lossAfter - ev.lossBefore;
    stats.replaceChildren(
      item('Loss before → after', `${formatNumber(ev.lossBefore)} → ${formatNumber(ev.lossAfter)} (${dLoss >= 0 ? '+' : ''}${formatNumber(dLoss, 3)})`),
      item('Max output change', formatNumber(ev.maxOutputChange)),
      item('Time', formatDuration(ev.durationMs)),
      item('Parameters', `${formatInt(ev.before.params)} → ${formatInt(ev.after.params)}`),
      item('Neurons', `+${c.added} / −${c.removed}${c.insertedLayers ? ` · ${c.insertedLayers} inserted layer${c.insertedLayers === 1 ? '' : 's'}` : ''}`),
      item('Candidates', `${ev.selected.length} selected · ${ev.rejected.length} rejected shown`),
    );
    const head = document.createElement('tr');
    for (const h of ['layer', 'before', 'after', 'kept', 'split', 'new', 'removed', 'params Δ', 'FLOPs Δ']) {
      const th = document.createElement('th');
      th.textContent = h;
      head.appendChild(th);
    }
    const before = new Map(ev.before.layers.map((l) => [l.id, l]));
    const diffs = new Map(ev.diff.map((d) => [d.id, d]));
    const rows = ev.after.layers.filter((l) => l.width !== undefined || diffs.has(l.id)).map((l) => {
      const d = diffs.get(l.id);
      const b = before.get(l.id);
      const tr = document.createElement('tr');
      if (d?.inserted || !b) tr.className = 'inserted';
      const cells = [
        d?.inserted || !b ? `${l.id} (inserted)` : l.id,
        b?.width !== undefined ? String(b.width) : b ? '–' : 'new',
        l.width !== undefined ? String(l.width) : '–',
        d ? String(d.kept) : l.width !== undefined ? String(l.width) : '–',
        d ? String(d.split.length) : '0',
        d ? String(d.added.length) : '0',
        d ? String(d.removed.length) : '0',
        signedCount(l.params - (b?.params ?? 0)),
        signedCount(l.flops - (b?.flops ?? 0)),
      ];
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      }
      return tr;
    });
    table.replaceChildren(head, ...rows);
  }

  // --- tooltips ---------------------------------------------------------------------------

  private showMarkerTip(h: MarkerHover | undefined): void {
    const tip = this.$('tip');
    if (!h) {
      if (tip.dataset.source === 'marker') tip.hidden = true;
      return;
    }
    tip.dataset.source = 'marker';
    tip.dataset.chart = h.chartId;
    tip.dataset.step = String(h.marker.step);
    tip.replaceChildren(...markerLines(h.marker).map((line, i) => {
      const d = document.createElement('div');
      d.textContent = line;
      if (i === 0) d.className = 'tip-title';
      return d;
    }));
    tip.hidden = false;
    placeTip(tip, h.clientX + 8, h.clientY);
  }

  private wireArchHover(): void {
    const host = this.$('arch');
    const tip = this.$('tip');
    host.addEventListener('mousemove', (e) => {
      const text = e.target instanceof Element ? describeCell(e.target) : undefined;
      if (!text) {
        if (tip.dataset.source === 'arch') tip.hidden = true;
        return;
      }
      tip.dataset.source = 'arch';
      tip.replaceChildren(Object.assign(document.createElement('div'), { textContent: text }));
      tip.hidden = false;
      placeTip(tip, e.clientX + 12, e.clientY + 12);
    });
    host.addEventListener('mouseleave', () => { if (tip.dataset.source === 'arch') tip.hidden = true; });
    // A tooltip placed for a pointer position means nothing once the page scrolls under it.
    window.addEventListener('scroll', () => { tip.hidden = true; }, { passive: true });
  }

  // --- introspection (tests, diagnosis) ---------------------------------------------------

  inspect() {
    return {
      runId: this.model?.runId,
      accepted: this.model?.accepted ?? 0,
      duplicates: this.model?.duplicates ?? 0,
      charts: Object.fromEntries(this.stepCharts.map((c) => [c.spec.id, c.inspect()])),
      comparison: this.comparisonChart.inspect(),
      markers: this.markers,
      arch: this.lastArch ? { counts: this.lastArch.counts, ignored: this.lastArch.view.ignored } : undefined,
      timeline: this.archTimeline.inspect(),
      continual: this.continualView.inspect(),
      layerDetail: this.lastLayerDetail,
      busy: [...this.busy],
      chartPanel: this.chartPanel.inspect(),
      stats: this.stats,
      theme: this.theme.kind,
    };
  }
}

function item(term: string, value: string, title?: string): DocumentFragment {
  const f = document.createDocumentFragment();
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  if (title) dd.title = title;
  f.append(dt, dd);
  return f;
}

function setOptions(select: HTMLElement, items: { value: string; label: string }[], value: string | undefined, emptyLabel: string): void {
  const s = select as HTMLElement & { value: string; disabled: boolean };
  const key = JSON.stringify([items, value]);
  if (s.dataset.key === key) return;
  s.dataset.key = key;
  const options = items.length ? items : [{ value: '', label: emptyLabel }];
  s.replaceChildren(...options.map((i) => {
    const o = document.createElement('vscode-option') as HTMLElement & { value: string };
    o.setAttribute('value', i.value);
    o.textContent = i.label;
    if (i.value === value) o.setAttribute('selected', '');
    return o;
  }));
  if (value !== undefined) s.value = value;
}

function placeTip(tip: HTMLElement, x: number, y: number): void {
  const w = tip.offsetWidth, h = tip.offsetHeight;
  const left = Math.max(4, Math.min(x, window.innerWidth - w - 4));
  const top = Math.max(4, Math.min(y, window.innerHeight - h - 4));
  tip.style.left = `${left}px`;
  tip.style.top = `${top}px`;
}
