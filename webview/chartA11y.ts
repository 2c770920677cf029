/**
 * A chart for screen readers and keyboards: the canvas keeps role="img" with an aria-label that
 * summarises what it shows (updated as data arrives), and a "Table" toggle in the chart's caption
 * shows the same data as an accessible <table> under it. The text comes from chartSummary.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { Chart } from 'chart.js';
import {
  categoryTable,
  chartTable,
  formatSignificant,
  summarizeCategories,
  summarizeChart,
  type ChartA11yData,
  type TableData,
} from './chartSummary';

export { stepChartA11yData, type ChartA11yData } from './chartSummary';

/** Bubbles from a Table toggle when it is switched: detail {id, on} (uiState.ts saves it). */
export const TABLE_TOGGLE_EVENT = 'growthlab-table-toggle';
/** Charts whose table was shown when the page was last left (filled by uiState.ts before the charts are made). */
export const restoredTables = new Set<string>();

interface A11ySource {
  label: string;
  title: string;
  table: () => TableData;
  format?: (v: number) => string;
  xLabel: string;
}

/** Changes when what a chart.js chart draws changes (counts and last values of its datasets). */
export function chartKey(chart: Chart | undefined): string {
  if (!chart) return '';
  return JSON.stringify([
    chart.data.labels?.length,
    chart.data.datasets.map((d) => [
      d.label,
      d.data.length,
      JSON.stringify(d.data[0] ?? null),
      JSON.stringify(d.data[d.data.length - 1] ?? null),
    ]),
  ]);
}

export class ChartA11y {
  readonly toggle: HTMLElement & { secondary: boolean };
  readonly tableBox: HTMLElement;
  private shown = false;
  private label = '';
  private source: A11ySource | undefined;
  private key = '';
  lastTable: TableData | undefined;

  /** The label the canvas came with, and whether its own view writes a summary there (then it is left alone). */
  private readonly initialLabel: string | null;
  private labelOwnedElsewhere = false;

  constructor(
    readonly id: string,
    readonly canvas: HTMLCanvasElement,
    private readonly maxRows = 200,
  ) {
    canvas.setAttribute('role', 'img');
    this.initialLabel = canvas.getAttribute('aria-label');
    const figure = canvas.closest('figure');
    const caption = figure?.querySelector('figcaption');
    this.toggle = document.createElement('vscode-button') as HTMLElement & { secondary: boolean };
    this.toggle.id = `table-toggle-${id}`;
    this.toggle.className = 'table-toggle';
    this.toggle.secondary = true;
    this.toggle.textContent = 'Table';
    this.toggle.setAttribute('aria-pressed', 'false');
    this.toggle.setAttribute('aria-controls', `table-${id}`);
    this.toggle.title = "Show the chart's data as a table";
    this.tableBox = document.createElement('div');
    this.tableBox.id = `table-${id}`;
    this.tableBox.className = 'chart-table';
    this.tableBox.hidden = true;
    if (figure && caption) {
      caption.classList.add('with-toggle');
      caption.appendChild(this.toggle);
      this.toggle.setAttribute('aria-label', `Show the ${caption.firstChild?.textContent?.trim() || id} chart as a table`);
      figure.appendChild(this.tableBox);
    } else {
      // No caption: the toggle and the table go right after the chart's box.
      const box = canvas.closest('.canvas-box') ?? canvas;
      this.toggle.classList.add('standalone');
      this.toggle.setAttribute('aria-label', `Show the ${id} chart as a table`);
      box.after(this.toggle, this.tableBox);
    }
    const flip = (): void => {
      this.setShown(!this.shown);
      this.toggle.dispatchEvent(new CustomEvent(TABLE_TOGGLE_EVENT, { bubbles: true, detail: { id, on: this.shown } }));
    };
    this.toggle.addEventListener('click', flip);
    if (restoredTables.has(id)) this.setShown(true);
  }

  get isShown(): boolean {
    return this.shown;
  }

  setShown(on: boolean): void {
    this.shown = on;
    this.toggle.setAttribute('aria-pressed', String(on));
    this.toggle.textContent = on ? 'Hide table' : 'Table';
    this.tableBox.hidden = !on;
    if (on) this.renderTable();
  }

  /** New data: the label is recomputed now, the table when it is shown. `key` changes when the data does. */
  update(data: () => ChartA11yData, key: string): void {
    this.set(() => {
      const d = data();
      return {
        label: summarizeChart(d.title, d.series, d.options),
        title: d.title,
        table: () => chartTable(d.xLabel ?? 'step', d.series, this.maxRows, d.keep ?? []),
        format: d.options?.format,
        xLabel: d.xLabel ?? 'step',
      };
    }, key);
  }

  /**
   * From what a chart.js chart draws (for charts whose data has no model of its own here, e.g. the
   * architecture timeline's and the candidates' charts): line charts by x, bar charts by category.
   */
  updateFromChart(chart: Chart | undefined, title: string, xLabel: string, key = chartKey(chart)): void {
    this.set(() => {
      const labels = (chart?.data.labels ?? []).map(String);
      const datasets = (chart?.data.datasets ?? []).filter((d) => !(d as { growthLab?: { band?: string } }).growthLab?.band);
      if (chart && (chart.config as { type?: string }).type === 'bar') {
        const series = datasets.map((d) => ({
          label: String(d.label ?? ''),
          values: (d.data as (number | null)[]).map((v) => (typeof v === 'number' ? v : undefined)),
        }));
        return { label: summarizeCategories(title, labels, series), title, table: () => categoryTable(xLabel, labels, series), xLabel };
      }
      const series = datasets.map((d) => {
        const pts = (d.data as ({ x: number; y: number | null } | null)[]).filter(
          (p): p is { x: number; y: number } => !!p && typeof p.y === 'number',
        );
        return { label: String(d.label ?? ''), xs: pts.map((p) => p.x), ys: pts.map((p) => p.y) };
      });
      return {
        label: summarizeChart(title, series, { xUnit: `${xLabel}s` }),
        title,
        table: () => chartTable(xLabel, series, this.maxRows),
        xLabel,
      };
    }, key);
  }

  private set(source: () => A11ySource, key: string): void {
    if (key === this.key && this.source) return;
    this.key = key;
    const s = source();
    this.source = s;
    const current = this.canvas.getAttribute('aria-label');
    if (current !== this.initialLabel && current !== (this.label || this.initialLabel)) this.labelOwnedElsewhere = true;
    if (this.labelOwnedElsewhere) return void (this.shown && this.renderTable());
    if (s.label !== this.label) {
      this.label = s.label;
      this.canvas.setAttribute('aria-label', s.label);
    }
    if (this.shown) this.renderTable();
  }

  get ariaLabel(): string {
    return this.label;
  }

  private renderTable(): void {
    const d = this.source;
    if (!d) {
      this.tableBox.replaceChildren();
      return;
    }
    const t = d.table();
    this.lastTable = t;
    const fmt = d.format ?? formatSignificant;
    const table = document.createElement('table');
    const caption = document.createElement('caption');
    caption.textContent =
      t.rows.length < t.total
        ? `${d.title}: ${t.rows.length.toLocaleString('en-US')} of ${t.total.toLocaleString('en-US')} rows (evenly spaced by ${d.xLabel}, with the first, the last and every grow step)`
        : `${d.title}: all ${t.total.toLocaleString('en-US')} rows`;
    const thead = document.createElement('thead');
    const hr = document.createElement('tr');
    for (const c of t.columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = c;
      hr.appendChild(th);
    }
    thead.appendChild(hr);
    const tbody = document.createElement('tbody');
    for (const r of t.rows) {
      const tr = document.createElement('tr');
      r.forEach((v, i) => {
        const cell = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) (cell as HTMLTableCellElement).scope = 'row';
        cell.textContent = v === undefined ? '' : typeof v === 'string' ? v : i === 0 ? v.toLocaleString('en-US') : fmt(v);
        tr.appendChild(cell);
      });
      tbody.appendChild(tr);
    }
    table.append(caption, thead, tbody);
    this.tableBox.replaceChildren(table);
  }
}

/**
 * Gives every other chart.js canvas under `root` (charts drawn by other views: the architecture
 * timeline's, the candidates' scores, continual learning's) a ChartA11y fed from what it draws.
 * `registry` holds the ChartA11y of each canvas id (without "chart-"); ids in `own` are fed elsewhere.
 */
export function describeOtherCharts(
  root: HTMLElement,
  registry: Map<string, ChartA11y>,
  own: ReadonlySet<string>,
  titles: Readonly<Record<string, string>> = {},
): void {
  for (const canvas of Array.from(root.querySelectorAll<HTMLCanvasElement>('canvas[id]'))) {
    const id = canvas.id.replace(/^chart-/, '');
    if (own.has(id)) continue;
    const chart = Chart.getChart(canvas);
    if (!chart) continue;
    let a = registry.get(id);
    if (!a) {
      a = new ChartA11y(id, canvas);
      registry.set(id, a);
    }
    const caption = canvas.closest('figure')?.querySelector('figcaption')?.firstChild?.textContent?.trim();
    const xTitle = (chart.options.scales?.x as { title?: { text?: unknown } } | undefined)?.title?.text;
    const isBar = (chart.config as { type?: string }).type === 'bar';
    a.updateFromChart(chart, titles[id] ?? caption ?? id, typeof xTitle === 'string' && xTitle ? xTitle : isBar ? 'category' : 'x');
  }
}
