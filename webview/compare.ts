/**
 * "Compare runs": any runs of the workspace overlaid on one chart of their own (a chart.js instance
 * separate from the monitor's step charts), each in the colour the user fixed for it (one of the
 * theme's `--vscode-charts-*` colours, kept by the extension in workspaceState), or grouped by a
 * config field or a regex on run names and drawn as each group's mean ± sample std band
 * (compareModel.ts states the rules). The extension sends the runs' series (`compare` message);
 * this view posts `compareRuns` and `setRunColor`.
 */
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset } from 'chart.js';
import {
  COMPARE_MAX_RUNS,
  COMPARE_METRICS,
  type ChartColorName,
  type CompareMetric,
  type CompareRun,
  type ExtensionToWebviewMessage,
  type RunSummary,
  type WebviewToExtensionMessage,
} from '../common/protocol';
import { ChartA11y } from './chartA11y';
import { configFields, groupRuns, seedBand, type GroupBy } from '../common/monitor/compareModel';
import { withAlpha, type ThemeColors } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend, Filler);

/** Bubbles from the section when its metric or grouping changes: detail {compareMetric, compareGroup, compareRegex} (uiState.ts saves it). */
export const COMPARE_UI_EVENT = 'growthlab-compare-ui';

/** Order in which runs without a fixed colour get one. */
export const AUTO_COLORS: readonly ChartColorName[] = ['blue', 'orange', 'green', 'purple', 'yellow', 'red'];

const METRIC_LABELS: Record<CompareMetric, string> = {
  trainLoss: 'train loss',
  testLoss: 'test loss',
  trainAccuracy: 'train accuracy',
  testAccuracy: 'test accuracy',
  params: 'parameters',
};
const PERCENT: ReadonlySet<CompareMetric> = new Set(['trainAccuracy', 'testAccuracy']);

type CompareMessage = Extract<ExtensionToWebviewMessage, { type: 'compare' }>;
type Line = ChartDataset<'line', { x: number; y: number }[]> & {
  growthLab?: { runId?: string; group?: string; band?: 'upper' | 'lower'; color: ChartColorName };
};

/** Colour of every selected run: the fixed one, else the first auto colour no other selected run uses (cycling when all are taken). */
export function runColors(selected: readonly string[], fixed: Readonly<Record<string, ChartColorName>>): Record<string, ChartColorName> {
  const out: Record<string, ChartColorName> = {};
  const used = new Set<ChartColorName>();
  for (const id of selected)
    if (fixed[id]) {
      out[id] = fixed[id];
      used.add(fixed[id]);
    }
  let k = 0;
  for (const id of selected) {
    if (out[id]) continue;
    const free = AUTO_COLORS.find((c) => !used.has(c));
    const c = free ?? AUTO_COLORS[k++ % AUTO_COLORS.length];
    out[id] = c;
    used.add(c);
  }
  return out;
}

/** Regex grouping before the user types one: the run name without a trailing "seed<N>". */
const DEFAULT_REGEX = '^(.*?)(?:[-_ ]?seed\\d+)?$';

const SKELETON = `
<h2 id="compare-title">Compare runs</h2>
<div class="compare-controls">
  <label for="compare-metric">Metric</label>
  <vscode-single-select id="compare-metric" aria-label="Metric to compare"></vscode-single-select>
  <label for="compare-group">Group by</label>
  <vscode-single-select id="compare-group" aria-label="Group runs by"></vscode-single-select>
  <vscode-textfield id="compare-regex" aria-label="Regular expression on run names (its first group is the group's name)" placeholder="e.g. ^(.*)-seed" hidden></vscode-textfield>
  <span id="compare-note" class="compare-note"></span>
</div>
<ul id="compare-runs" class="compare-runs" aria-label="Runs to compare"></ul>
<figure class="chart compare-chart"><figcaption>Runs compared</figcaption><div class="canvas-box"><canvas id="chart-compare" role="img" aria-label="Runs compared: no run selected"></canvas></div></figure>
`;

export class CompareView {
  readonly chart: Chart<'line', { x: number; y: number }[]>;
  readonly a11y: ChartA11y;
  runs: RunSummary[] = [];
  selected: string[] = [];
  fixed: Record<string, ChartColorName> = {};
  data = new Map<string, CompareRun>();
  metric: CompareMetric = 'trainLoss';
  groupBy: GroupBy = { kind: 'none' };
  error: string | undefined;
  private theme: ThemeColors;
  private dirty = true;
  private listKey = '';
  private fieldsKey = '';

  constructor(
    private readonly root: HTMLElement,
    theme: ThemeColors,
    private readonly post: (m: WebviewToExtensionMessage) => void,
    private readonly onDirty: () => void = () => undefined,
  ) {
    this.theme = theme;
    root.innerHTML = SKELETON;
    const canvas = this.$<HTMLCanvasElement>('chart-compare');
    this.chart = new Chart<'line', { x: number; y: number }[]>(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        spanGaps: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: { x: this.axis('step'), y: this.axis(METRIC_LABELS[this.metric]) },
        plugins: {
          legend: {
            labels: {
              color: theme.foreground,
              boxWidth: 12,
              boxHeight: 2,
              filter: (item, data) => !(data.datasets[item.datasetIndex ?? 0] as Line).growthLab?.band,
            },
          },
          tooltip: { animation: false, filter: (item) => !(item.dataset as Line).growthLab?.band },
        },
      },
    });
    this.a11y = new ChartA11y('compare', canvas);
    this.fillMetric();
    this.fillGroup();
    this.$('compare-metric').addEventListener('change', (e) => {
      const v = (e.target as HTMLElement & { value: string }).value as CompareMetric;
      if (COMPARE_METRICS.includes(v)) {
        this.metric = v;
        this.changed();
        this.saveUi();
      }
    });
    this.$('compare-group').addEventListener('change', (e) => {
      const v = (e.target as HTMLElement & { value: string }).value;
      const regex = this.$<HTMLElement & { value: string }>('compare-regex');
      regex.hidden = v !== '@regex';
      this.groupBy =
        v === ''
          ? { kind: 'none' }
          : v === '@regex'
            ? { kind: 'regex', pattern: regex.value || DEFAULT_REGEX }
            : { kind: 'field', field: v.slice(1) };
      this.changed();
      this.saveUi();
    });
    const onRegex = (e: Event): void => {
      if (this.groupBy.kind !== 'regex') return;
      this.groupBy = { kind: 'regex', pattern: (e.target as HTMLElement & { value: string }).value || DEFAULT_REGEX };
      this.changed();
      this.saveUi();
    };
    this.$('compare-regex').addEventListener('input', onRegex);
    this.$('compare-regex').addEventListener('change', onRegex);
  }

  private $<T extends HTMLElement = HTMLElement>(id: string): T {
    return this.root.querySelector<T>(`#${id}`)!;
  }

  private axis(title: string, percent = false) {
    const t = this.theme;
    return {
      type: 'linear' as const,
      title: { display: true, text: title, color: t.muted },
      grid: { color: t.grid },
      border: { color: t.grid },
      ticks: {
        color: t.foreground,
        maxTicksLimit: 7,
        ...(percent ? { callback: (v: number | string) => `${+(Number(v) * 100).toFixed(1)}%` } : {}),
      },
    };
  }

  private changed(): void {
    this.dirty = true;
    this.onDirty();
  }

  /** The metric and grouping as the user left them (getState, after VS Code reloaded the page). */
  restore(ui: { compareMetric?: string; compareGroup?: string; compareRegex?: string }): void {
    if (COMPARE_METRICS.includes(ui.compareMetric as CompareMetric)) this.metric = ui.compareMetric as CompareMetric;
    const regex = this.$<HTMLElement & { value: string }>('compare-regex');
    if (ui.compareRegex !== undefined) regex.value = ui.compareRegex;
    const g = ui.compareGroup ?? '';
    this.groupBy =
      g === '@regex'
        ? { kind: 'regex', pattern: regex.value || DEFAULT_REGEX }
        : g.startsWith('=')
          ? { kind: 'field', field: g.slice(1) }
          : { kind: 'none' };
    regex.hidden = this.groupBy.kind !== 'regex';
    this.fillMetric();
    this.fillGroup();
    this.fieldsKey = '';
    this.changed();
  }

  private saveUi(): void {
    const g = this.groupBy;
    this.root.dispatchEvent(
      new CustomEvent(COMPARE_UI_EVENT, {
        bubbles: true,
        detail: {
          compareMetric: this.metric,
          compareGroup: g.kind === 'none' ? '' : g.kind === 'regex' ? '@regex' : `=${g.field}`,
          compareRegex: this.$<HTMLElement & { value: string }>('compare-regex').value,
        },
      }),
    );
  }

  /** The workspace's runs (the checklist). */
  setRuns(runs: RunSummary[]): void {
    this.runs = runs;
    this.changed();
  }

  setCompare(msg: CompareMessage): void {
    this.selected = msg.selected.slice();
    this.fixed = { ...msg.colors };
    this.data = new Map(msg.runs.map((r) => [r.runId, r]));
    this.changed();
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    this.changed();
  }

  /** Colour of each selected run now. */
  colors(): Record<string, ChartColorName> {
    return runColors(this.selected, this.fixed);
  }

  render(force = false): void {
    if (!this.dirty && !force) return;
    this.dirty = false;
    this.renderList();
    this.renderFields();
    this.renderChart();
  }

  private toggleRun(runId: string, on: boolean): void {
    const next = on ? [...this.selected.filter((r) => r !== runId), runId] : this.selected.filter((r) => r !== runId);
    if (next.length > COMPARE_MAX_RUNS) return;
    this.selected = next;
    this.post({ type: 'compareRuns', runIds: next });
    this.changed();
  }

  private renderList(): void {
    const colors = this.colors();
    const names = new Map(this.runs.map((r) => [r.runId, r.name]));
    const ids = [...this.runs.map((r) => r.runId), ...this.selected.filter((id) => !names.has(id))];
    const key = JSON.stringify([ids, this.selected, colors, this.fixed, this.runs.map((r) => r.name)]);
    if (key === this.listKey) return;
    this.listKey = key;
    const ul = this.$('compare-runs');
    if (!ids.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'No runs in this workspace yet.';
      ul.replaceChildren(li);
      return;
    }
    ul.replaceChildren(
      ...ids.map((runId) => {
        const name = names.get(runId) ?? this.data.get(runId)?.name ?? runId;
        const on = this.selected.includes(runId);
        const li = document.createElement('li');
        li.dataset.runId = runId;
        const box = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean; label: string };
        box.id = `compare-run-${cssId(runId)}`;
        box.checked = on;
        box.label = `${name} · ${runId}`;
        box.setAttribute('aria-label', `Overlay run ${name} (${runId})`);
        box.addEventListener('change', () => this.toggleRun(runId, box.checked));
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.dataset.color = on ? colors[runId] : '';
        swatch.setAttribute('aria-hidden', 'true');
        const pick = document.createElement('vscode-single-select') as HTMLElement & { value: string };
        pick.id = `compare-color-${cssId(runId)}`;
        pick.className = 'compare-color';
        pick.setAttribute('aria-label', `Colour of run ${name}`);
        const current = this.fixed[runId] ?? '';
        for (const [value, label] of [['', on ? `auto (${colors[runId]})` : 'auto'], ...AUTO_COLORS.map((c) => [c, c])]) {
          const o = document.createElement('vscode-option') as HTMLElement & { value: string };
          o.setAttribute('value', value);
          o.textContent = label;
          if (value === current) o.setAttribute('selected', '');
          pick.appendChild(o);
        }
        pick.value = current;
        pick.addEventListener('change', () => {
          const v = pick.value as ChartColorName | '';
          if ((this.fixed[runId] ?? '') === v) return;
          if (v) this.fixed[runId] = v;
          else delete this.fixed[runId];
          this.post({ type: 'setRunColor', runId, color: v || null });
          this.changed();
        });
        li.append(box, swatch, pick);
        return li;
      }),
    );
  }

  private renderFields(): void {
    const runs = this.selected.map((id) => this.data.get(id)).filter((r): r is CompareRun => !!r);
    const fields = configFields(runs);
    const key = JSON.stringify(fields);
    if (key === this.fieldsKey) return;
    this.fieldsKey = key;
    this.fillGroup(fields);
  }

  private fillMetric(): void {
    const s = this.$<HTMLElement & { value: string }>('compare-metric');
    s.replaceChildren(...COMPARE_METRICS.map((m) => option(m, METRIC_LABELS[m], m === this.metric)));
    s.value = this.metric;
  }

  private fillGroup(fields: string[] = []): void {
    const s = this.$<HTMLElement & { value: string }>('compare-group');
    const current = this.groupBy.kind === 'none' ? '' : this.groupBy.kind === 'regex' ? '@regex' : `=${this.groupBy.field}`;
    const items: [string, string][] = [
      ['', 'no grouping (one line per run)'],
      ['@regex', 'run name (regular expression)'],
      ...fields.map((f): [string, string] => [`=${f}`, `config: ${f}`]),
    ];
    if (this.groupBy.kind === 'field' && !fields.includes(this.groupBy.field)) items.push([current, `config: ${this.groupBy.field}`]);
    s.replaceChildren(...items.map(([v, l]) => option(v, l, v === current)));
    s.value = current;
  }

  private renderChart(): void {
    const colors = this.colors();
    const t = this.theme;
    const percent = PERCENT.has(this.metric);
    const o = this.chart.options;
    o.scales!.x = this.axis('step');
    o.scales!.y = this.axis(METRIC_LABELS[this.metric], percent);
    o.plugins!.legend!.labels!.color = t.foreground;
    const runs = this.selected.map((id) => this.data.get(id)).filter((r): r is CompareRun => !!r);
    const datasets: Line[] = [];
    const summary: { label: string; xs: number[]; ys: number[] }[] = [];
    this.error = undefined;
    let groups;
    try {
      groups = this.groupBy.kind === 'none' ? undefined : groupRuns(runs, this.groupBy);
    } catch (err) {
      this.error = `Invalid regular expression: ${(err as Error).message}`;
    }
    const note = this.$('compare-note');
    if (!groups) {
      for (const r of runs) {
        const s = r.series[this.metric];
        const color = colors[r.runId];
        const data = s ? s.steps.map((x, i) => ({ x, y: s.values[i] })) : [];
        datasets.push({
          label: r.name === r.runId ? r.runId : `${r.name} (${r.runId.slice(0, 15)})`,
          data,
          borderColor: t[color],
          backgroundColor: t[color],
          borderWidth: 1.5,
          pointRadius: data.length > 60 ? 0 : 2,
          tension: 0,
          growthLab: { runId: r.runId, color },
        });
        if (s) summary.push({ label: r.name, xs: s.steps, ys: s.values });
      }
      note.textContent = this.error ?? (runs.length ? '' : 'Tick runs below to overlay them.');
    } else {
      for (const g of groups) {
        const members = g.runIds.map((id) => this.data.get(id)!).filter((r) => r.series[this.metric]);
        if (!members.length) continue;
        const color = colors[g.runIds[0]];
        const band = seedBand(members.map((r) => ({ xs: r.series[this.metric]!.steps, ys: r.series[this.metric]!.values })));
        const pts = (f: (i: number) => number) => band.xs.map((x, i) => ({ x, y: f(i) }));
        const base = { borderWidth: 0, pointRadius: 0, tension: 0 };
        datasets.push({
          ...base,
          label: `${g.key} + std`,
          data: pts((i) => band.mean[i] + band.std[i]),
          borderColor: withAlpha(t[color], 0.25),
          backgroundColor: withAlpha(t[color], 0.18),
          fill: false,
          growthLab: { group: g.key, band: 'upper', color },
        });
        datasets.push({
          ...base,
          label: `${g.key} − std`,
          data: pts((i) => band.mean[i] - band.std[i]),
          borderColor: withAlpha(t[color], 0.25),
          backgroundColor: withAlpha(t[color], 0.18),
          fill: '-1',
          growthLab: { group: g.key, band: 'lower', color },
        });
        datasets.push({
          label: `${g.key} (mean of ${members.length} run${members.length === 1 ? '' : 's'})`,
          data: pts((i) => band.mean[i]),
          borderColor: t[color],
          backgroundColor: t[color],
          borderWidth: 2,
          pointRadius: 0,
          tension: 0,
          growthLab: { group: g.key, color },
        });
        summary.push({ label: `${g.key} mean (${members.length} runs)`, xs: band.xs, ys: band.mean });
      }
      note.textContent =
        this.error ??
        "Bands: mean ± sample standard deviation (n − 1) of the group's runs, on the union of their steps (linear interpolation inside each run).";
    }
    this.chart.data.datasets = datasets;
    // No empty axes while nothing is overlaid.
    const figure = this.root.querySelector<HTMLElement>('figure.compare-chart')!;
    figure.hidden = this.selected.length === 0;
    this.chart.update('none');
    const fmt = percent ? (v: number) => `${+(v * 100).toFixed(1)}%` : undefined;
    this.a11y.update(
      () => ({ title: `Runs compared, ${METRIC_LABELS[this.metric]}`, series: summary, options: { format: fmt } }),
      JSON.stringify([this.metric, this.groupBy, this.selected, [...this.data.values()].map((r) => r.series[this.metric]?.total)]),
    );
  }

  inspect(): { label: string; color: string; colorName: string; points: number; band?: string; runId?: string }[] {
    return (this.chart.data.datasets as Line[]).map((d) => ({
      label: String(d.label),
      color: String(d.borderColor),
      colorName: d.growthLab?.color ?? '',
      points: d.data.length,
      band: d.growthLab?.band,
      runId: d.growthLab?.runId,
    }));
  }
}

function option(value: string, label: string, selected: boolean): HTMLElement {
  const o = document.createElement('vscode-option');
  o.setAttribute('value', value);
  o.textContent = label;
  if (selected) o.setAttribute('selected', '');
  return o;
}

function cssId(runId: string): string {
  return runId.replace(/[^A-Za-z0-9_-]/g, '_');
}
