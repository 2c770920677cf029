/**
 * The Growth Monitor panel: run picker and controls, run summary, charts, architecture view and the
 * timeline of grow events. Messages come in through `handle` (typed by the protocol module) and are
 * applied to a RunModel at once; the DOM and the charts are redrawn at most once per animation
 * frame, so bursts of live events are all kept and drawn together.
 *
 * This class holds what the panel shows (the run, the selection) and routes messages and redraws
 * to the sections: runControls.ts (toolbar), runSummaryView.ts, stepChart.ts and chartPanel.ts (step
 * charts and their tools), comparisonChart.ts, compare.ts, continualView.ts, archSection.ts,
 * growEventList.ts, growDetail.ts, tooltips.ts and chartA11yUpdates.ts (screen-reader summaries).
 */
import type {
  ExtensionToWebviewMessage,
  MonitorWebviewState,
  RunAccuracyPath,
  RunSummary,
  WebviewToExtensionMessage,
} from '../common/protocol';
import { RunModel, type GrowEvent } from '../common/monitor/runModel';
import { accuracyPaths } from './accuracyPaths';
import { ArchSection } from './archSection';
import { ChartA11y } from './chartA11y';
import { ChartA11yUpdates } from './chartA11yUpdates';
import { ChartPanel } from './chartPanel';
import { CompareView } from './compare';
import { ComparisonChart } from './comparisonChart';
import { ContinualView } from './continualView';
import { showNotice } from './domHelpers';
import { renderGrowDetail } from './growDetail';
import { GrowEventList } from './growEventList';
import { growMarkers, type GrowMarker } from './markers';
import { SKELETON } from './monitorSkeleton';
import { RunControls } from './runControls';
import { renderRunSummary } from './runSummaryView';
import { ScoresChart } from './scoresChart';
import { StepChart } from './stepChart';
import { STEP_CHARTS } from './stepChartSpec';
import { readTheme, watchTheme, type ThemeColors } from './theme';
import { showMarkerTip, wireArchHover } from './tooltips';
import { bindUiState } from './uiState';

export interface VsCodeApi {
  postMessage(message: WebviewToExtensionMessage): void;
  getState(): unknown;
  setState(state: MonitorWebviewState): void;
}

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
  comparison: RunAccuracyPath[] = [];
  /** Index of the grow event the user picked; undefined: follow the latest; -1: the architecture the run started with. */
  selectedGrow: number | undefined;
  /** Layer whose details are shown (clicked, or Enter/Space on a focused layer). */
  selectedLayer: string | undefined;
  readonly stats: RenderStats = { renders: 0, renderMs: [], messages: 0, events: 0 };
  noRunMessage: string | undefined;

  private theme: ThemeColors;
  readonly stepCharts: StepChart[] = [];
  private readonly comparisonChart: ComparisonChart;
  private readonly scoresChart: ScoresChart;
  /** Step charts' toolbar, badges, zoom reset and exports; their viewport requests and answers. */
  readonly chartPanel: ChartPanel;
  /** Summaries (aria-label) and Table views of the charts; "Compare runs". */
  readonly chartA11y = new Map<string, ChartA11y>();
  readonly compareView: CompareView;
  private readonly continualView: ContinualView;
  private readonly archSection: ArchSection;
  private readonly controls: RunControls;
  private readonly growList: GrowEventList;
  private readonly a11y: ChartA11yUpdates;
  private markers: GrowMarker[] = [];
  private frame = 0;
  private dirty = { structure: true, charts: true, themed: false };
  private renderedVersion = -1;

  constructor(
    private readonly root: HTMLElement,
    private readonly vscode: VsCodeApi,
  ) {
    root.innerHTML = SKELETON;
    this.theme = readTheme();
    const tip = this.$('tip');
    for (const spec of STEP_CHARTS)
      this.stepCharts.push(new StepChart(spec, this.$<HTMLCanvasElement>(`chart-${spec.id}`), this.theme, (h) => showMarkerTip(tip, h)));
    this.comparisonChart = new ComparisonChart(this.$<HTMLCanvasElement>('chart-comparison'), this.theme);
    this.scoresChart = new ScoresChart(this.$<HTMLCanvasElement>('chart-scores'), this.theme);
    const ui = bindUiState(this.root, this.vscode); // before the Table toggles: they open as the user left them
    for (const id of [...STEP_CHARTS.map((s) => s.id), 'comparison'])
      this.chartA11y.set(id, new ChartA11y(id, this.$<HTMLCanvasElement>(`chart-${id}`)));
    this.compareView = new CompareView(
      this.$('compare'),
      this.theme,
      (m) => this.post(m),
      () => this.schedule(),
    );
    this.compareView.restore(ui);
    this.continualView = new ContinualView(this.$('continual'), this.theme);
    this.archSection = new ArchSection(
      (id) => this.$(id),
      this.theme,
      (p) => {
        const last = (this.model?.grows.length ?? 0) - 1;
        this.select(p.growIndex === last ? undefined : p.growIndex);
      },
      (layer) => {
        this.selectedLayer = layer;
        this.invalidate();
      },
    );
    this.chartPanel = new ChartPanel(
      root,
      this.stepCharts,
      (m) => this.post(m),
      () => this.schedule(),
      () => [...new Set([...(this.model ? [this.model.runId] : []), ...this.compareView.selected])],
      (t, e) => this.notice(t, e),
      ui,
    );
    this.controls = new RunControls((id) => this.$(id), {
      runId: () => this.model?.runId,
      post: (m) => this.post(m),
      invalidate: () => this.invalidate(),
    });
    this.growList = new GrowEventList(this.$('timeline'), (g) => this.select(g));
    this.a11y = new ChartA11yUpdates(root, this.chartA11y, {
      model: () => this.model,
      paths: () => this.paths(),
      columnsOf: (p) => this.comparisonChart.columnsOf(p),
    });
    wireArchHover(this.$('arch'), tip);
    watchTheme(() => {
      this.dirty.themed = true;
      this.schedule();
    });
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
        this.controls.fillRunPicker(this.runs, msg.runId);
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
        this.controls.fillRunPicker(this.runs, msg.selected ?? this.model?.runId);
        this.compareView.setRuns(msg.runs);
        break;
      case 'compare':
        this.compareView.setCompare(msg);
        break;
      case 'capabilities':
        this.controls.setCapabilities(msg.growthMethods, msg.pruneMethods);
        break;
      case 'comparison':
        this.comparison = msg.paths;
        break;
      case 'actionResult':
        this.controls.clearBusy(msg.action);
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
    this.invalidate();
  }

  private post(msg: WebviewToExtensionMessage): void {
    this.vscode.postMessage(msg);
  }

  private notice(text: string, error: boolean): void {
    showNotice(this.$('notice'), text, error);
  }

  /** Shows a grow event (undefined: follow the latest; -1: the start of the run). */
  private select(grow: number | undefined): void {
    this.selectedGrow = grow;
    this.invalidate();
  }

  /** What the page shows changed: redraw its sections at the next frame. */
  private invalidate(): void {
    this.dirty.structure = true;
    this.schedule();
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
      this.archSection.timeline.setTheme(this.theme);
      this.continualView.setTheme(this.theme, this.model?.continual);
      this.dirty.structure = true;
      this.archSection.reset();
      this.growList.reset();
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
      const structural = this.dirty.structure || model?.runId !== this.a11y.runId;
      this.dirty.structure = false;
      this.renderedVersion = model?.version ?? -1;
      this.controls.render(this.model, this.runSummary);
      renderRunSummary(this.$('summary'), this.model, this.runSummary, this.noRunMessage);
      this.renderGrowEvents();
      this.a11y.schedule(structural);
    }
    const ms = performance.now() - t0;
    this.stats.renders++;
    this.stats.renderMs.push(ms);
    if (this.stats.renderMs.length > 600) this.stats.renderMs.splice(0, this.stats.renderMs.length - 600);
    return ms;
  }

  private selectedEvent(): GrowEvent | undefined {
    const grows = this.model?.grows ?? [];
    if (!grows.length) return undefined;
    const i = this.selectedGrow !== undefined && this.selectedGrow < grows.length ? this.selectedGrow : grows.length - 1;
    return grows[i];
  }

  /** The grow-event list, the architecture shown and the shown event's detail. */
  private renderGrowEvents(): void {
    const model = this.model;
    const ev = this.selectedEvent();
    this.growList.render(model?.runId, !!model, model?.grows ?? [], this.markers, ev);
    const atStart = this.selectedGrow === -1 && !!model?.grows.length;
    if (this.archSection.render({ model, ev, atStart, selectedLayer: this.selectedLayer, themeKind: this.theme.kind })) {
      renderGrowDetail(
        { title: this.$('detail-title'), stats: this.$('detail-stats'), table: this.$('detail-layers') },
        this.scoresChart,
        ev,
        atStart,
      );
    }
  }

  /** Every run's accuracy path; the shown run's from its live model. */
  paths(): RunAccuracyPath[] {
    return accuracyPaths(this.comparison, this.model, this.runSummary);
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
      arch: this.archSection.lastArch
        ? { counts: this.archSection.lastArch.counts, ignored: this.archSection.lastArch.view.ignored }
        : undefined,
      timeline: this.archSection.timeline.inspect(),
      continual: this.continualView.inspect(),
      layerDetail: this.archSection.lastLayerDetail,
      busy: [...this.controls.busy],
      chartPanel: this.chartPanel.inspect(),
      stats: this.stats,
      theme: this.theme.kind,
    };
  }
}
