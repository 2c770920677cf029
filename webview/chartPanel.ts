/**
 * The step charts' toolbar and per-chart tools: x axis, smoothing slider, log-scale y, data export
 * (CSV, JSON of the selected runs); per chart a "N of M points" badge, reset zoom, PNG and SVG.
 * It also numbers the charts' viewport requests and hands the extension's answers to the charts.
 * The page cannot write files: exports are posted to the extension, which asks where to save.
 */
import {
  CHART_X_AXES,
  MAX_SMOOTHING,
  type ChartDataMessage,
  type ChartXAxis,
  type MonitorUiState,
  type WebviewToExtensionMessage,
} from '../common/protocol';
import type { StepChart } from './stepChart';
import { X_AXIS_TITLES, type ChartSettings } from './stepChartSpec';

const AXIS_LABELS: Record<ChartXAxis, string> = {
  step: 'Step',
  epoch: 'Epoch',
  time: 'Wall time',
  params: 'Parameters',
  flops: 'FLOPs (estimate)',
};

type Button = HTMLElement & { disabled: boolean; secondary: boolean };

/** Dispatched on the panel's root when the toolbar changes (webview/uiState.ts saves it with setState). */
export const CHART_UI_EVENT = 'growthlab-chart-ui';

/** The toolbar settings a saved state holds, checked (anything unusable keeps the default). */
export function restoredSettings(ui: MonitorUiState): ChartSettings {
  const xAxis = CHART_X_AXES.includes(ui.chartXAxis as ChartXAxis) ? (ui.chartXAxis as ChartXAxis) : 'step';
  const w = ui.smoothing;
  const smoothing = typeof w === 'number' && w >= 0 && w <= MAX_SMOOTHING ? Math.round(w * 100) / 100 : 0;
  return { xAxis, smoothing, logY: ui.logY === true };
}

function button(id: string, text: string, title: string): Button {
  const b = document.createElement('vscode-button') as Button;
  b.id = id;
  b.textContent = text;
  b.title = title;
  b.setAttribute('aria-label', title);
  b.secondary = true;
  return b;
}

export class ChartPanel {
  readonly settings: ChartSettings;
  private seq = 0;
  /** Viewport requests posted and answers applied (diagnosis). */
  readonly counts = { requests: 0, answers: 0, ignored: 0 };
  private readonly byId = new Map<string, StepChart>();
  private readonly root: HTMLElement;

  constructor(
    root: HTMLElement,
    private readonly charts: readonly StepChart[],
    private readonly post: (msg: WebviewToExtensionMessage) => void,
    private readonly redraw: () => void,
    /** The runs "Export CSV/JSON" saves: the shown run and the ones overlaid. */
    private readonly exportRunIds: () => string[],
    private readonly notice: (text: string, error: boolean) => void,
    /** Settings restored from the page's saved state. */
    initial: MonitorUiState = {},
  ) {
    this.root = root;
    this.settings = restoredSettings(initial);
    const section = root.querySelector('.charts');
    if (section) section.parentElement!.insertBefore(this.toolbar(), section);
    for (const c of charts) {
      this.byId.set(c.spec.id, c);
      c.requester = (req) => {
        this.counts.requests++;
        this.post({ type: 'viewport', ...req, seq: ++this.seq });
        return this.seq;
      };
      c.onViewChange = () => this.redraw();
      const canvas = c.chart.canvas;
      const figure = canvas.closest('figure');
      if (figure) this.tools(figure, c);
      canvas.setAttribute('aria-roledescription', 'chart: Alt+wheel or + and − zoom, drag or arrow keys pan, 0 or double-click resets');
      canvas.title = 'Alt+wheel (or pinch) zooms, drag pans, double-click resets; focused: + − ← → 0';
    }
    if (this.settings.xAxis !== 'step' || this.settings.smoothing !== 0 || this.settings.logY) {
      for (const c of charts) c.setSettings(this.settings);
    }
  }

  /** An answer to a viewport request. */
  onData(msg: ChartDataMessage): void {
    const c = this.byId.get(msg.chart);
    if (c?.applyData(msg)) this.counts.answers++;
    else this.counts.ignored++;
    this.redraw();
  }

  private apply(): void {
    for (const c of this.charts) c.setSettings(this.settings);
    const { xAxis, smoothing, logY } = this.settings;
    this.root.dispatchEvent(new CustomEvent(CHART_UI_EVENT, { bubbles: true, detail: { chartXAxis: xAxis, smoothing, logY } }));
    this.redraw();
  }

  private toolbar(): HTMLElement {
    const bar = document.createElement('div');
    bar.className = 'chart-toolbar';
    bar.setAttribute('role', 'toolbar');
    bar.setAttribute('aria-label', 'Chart settings');

    const axisLabel = document.createElement('label');
    axisLabel.htmlFor = 'chart-x-axis';
    axisLabel.textContent = 'x axis';
    const axis = document.createElement('vscode-single-select') as HTMLElement & { value: string };
    axis.id = 'chart-x-axis';
    axis.setAttribute('aria-label', 'x axis of the step charts');
    for (const a of CHART_X_AXES) {
      const o = document.createElement('vscode-option') as HTMLElement;
      o.setAttribute('value', a);
      o.textContent = AXIS_LABELS[a];
      o.title = X_AXIS_TITLES[a];
      if (a === this.settings.xAxis) o.setAttribute('selected', '');
      axis.appendChild(o);
    }
    axis.addEventListener('change', () => {
      const v = axis.value as ChartXAxis;
      if (!CHART_X_AXES.includes(v) || v === this.settings.xAxis) return;
      this.settings.xAxis = v;
      this.apply();
    });

    const smoothLabel = document.createElement('label');
    smoothLabel.htmlFor = 'chart-smoothing';
    smoothLabel.textContent = 'Smoothing';
    const slider = document.createElement('input');
    slider.type = 'range';
    slider.id = 'chart-smoothing';
    slider.min = '0';
    slider.max = String(MAX_SMOOTHING);
    slider.step = '0.01';
    slider.value = String(this.settings.smoothing);
    slider.setAttribute('aria-label', 'Smoothing (exponential moving average weight, as in TensorBoard)');
    const out = document.createElement('output');
    out.id = 'chart-smoothing-value';
    out.htmlFor.add('chart-smoothing');
    out.textContent = this.settings.smoothing.toFixed(2);
    slider.addEventListener('input', () => {
      const w = Math.min(MAX_SMOOTHING, Math.max(0, Math.round(Number(slider.value) * 100) / 100));
      out.textContent = w.toFixed(2);
      slider.setAttribute('aria-valuetext', w === 0 ? 'off' : w.toFixed(2));
      if (w === this.settings.smoothing) return;
      this.settings.smoothing = w;
      this.apply();
    });

    const log = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
    log.id = 'chart-log-y';
    log.setAttribute('label', 'Log scale (y)');
    log.setAttribute('aria-label', 'Logarithmic y axis');
    if (this.settings.logY) log.setAttribute('checked', '');
    log.addEventListener('change', () => {
      if (log.checked === this.settings.logY) return;
      this.settings.logY = log.checked;
      this.apply();
    });

    const csv = button('btn-export-csv', 'Export CSV', 'Save the full series of the selected runs as one CSV file');
    const json = button('btn-export-json', 'Export JSON', 'Save the full series of the selected runs as one JSON file');
    const exportData = (format: 'csv' | 'json') => {
      const runIds = this.exportRunIds();
      if (!runIds.length) {
        this.notice('No run to export.', true);
        return;
      }
      this.post({ type: 'exportSeries', format, runIds });
    };
    csv.addEventListener('click', () => exportData('csv'));
    json.addEventListener('click', () => exportData('json'));

    const group = (...els: HTMLElement[]) => {
      const g = document.createElement('span');
      g.className = 'group';
      g.append(...els);
      return g;
    };
    bar.append(group(axisLabel, axis), group(smoothLabel, slider, out), group(log), group(csv, json));
    return bar;
  }

  private tools(figure: HTMLElement, c: StepChart): void {
    const tools = document.createElement('div');
    tools.className = 'chart-tools';
    const badge = document.createElement('vscode-badge');
    badge.id = `points-${c.spec.id}`;
    badge.className = 'points-badge';
    badge.setAttribute('variant', 'counter');
    const reset = button(`btn-reset-${c.spec.id}`, 'Reset zoom', `Show all of the ${c.spec.title.toLowerCase()} chart`);
    reset.disabled = true;
    reset.addEventListener('click', () => c.resetZoom());
    const png = button(`btn-png-${c.spec.id}`, 'PNG', `Save the ${c.spec.title.toLowerCase()} chart as PNG`);
    const svg = button(`btn-svg-${c.spec.id}`, 'SVG', `Save the ${c.spec.title.toLowerCase()} chart as SVG`);
    const exportChart = (format: 'png' | 'svg') => {
      const runId = this.exportRunIds()[0];
      if (!runId) {
        this.notice('No run to export.', true);
        return;
      }
      this.post({ type: 'exportChart', format, runId, chart: c.spec.id, data: format === 'png' ? c.pngBase64() : c.svg() });
    };
    png.addEventListener('click', () => exportChart('png'));
    svg.addEventListener('click', () => exportChart('svg'));
    tools.append(badge, reset, png, svg);
    c.badge = badge;
    c.resetButton = reset;
    const caption = figure.querySelector('figcaption');
    if (caption) caption.after(tools);
    else figure.prepend(tools);
  }

  inspect() {
    return { settings: { ...this.settings }, seq: this.seq, ...this.counts };
  }
}
