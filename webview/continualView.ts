/**
 * The monitor's continual-learning section (shown for runs with a `continual` field): per method an
 * accuracy-matrix heatmap (row: after learning task i; column: task j), and average accuracy and
 * parameters against tasks with one line per method. Colours come from the theme (cells mix
 * `--vscode-charts-green` by accuracy in CSS; lines use the theme's chart colours).
 */
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { ContinualRecord, describeTrack, heatShare, type ContinualTrack } from '../common/monitor/continualModel';
import { axis, baseOptions } from './chartOptions';
import type { ThemeColors } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

// Five methods: yellow last, as it is hard to tell from orange in light themes.
const PALETTE = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'] as const;

const LABELS: Record<string, string> = {
  'firefly-cl': 'Firefly CL',
  finetune: 'fine-tuning',
  ewc: 'EWC',
  progressive: 'Progressive Networks',
  individual: 'Individual',
};

export function methodLabel(m: string): string {
  return LABELS[m] ?? m;
}

type LineChart = Chart<'line', { x: number; y: number }[]>;

export class ContinualView {
  private readonly matrices: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly accuracyChart: LineChart;
  private readonly paramsChart: LineChart;
  private drawn = -1;

  constructor(
    private readonly host: HTMLElement,
    private theme: ThemeColors,
  ) {
    host.innerHTML = `
<h2>Continual learning</h2>
<ul class="cl-summary" id="cl-summary"></ul>
<div class="cl-matrices" id="cl-matrices"></div>
<div class="cl-charts">
  <figure class="chart"><figcaption>Average accuracy after each task</figcaption><div class="canvas-box"><canvas id="cl-accuracy" role="img" aria-label="Average accuracy on the tasks seen so far, against tasks learnt, one line per method"></canvas></div></figure>
  <figure class="chart"><figcaption>Parameters after each task</figcaption><div class="canvas-box"><canvas id="cl-params" role="img" aria-label="Parameters stored, against tasks learnt, one line per method"></canvas></div></figure>
</div>`;
    this.summary = host.querySelector('#cl-summary')!;
    this.matrices = host.querySelector('#cl-matrices')!;
    this.accuracyChart = this.lineChart(host.querySelector('#cl-accuracy')!, 'average accuracy', (v) => `${+(v * 100).toFixed(1)}%`);
    this.paramsChart = this.lineChart(host.querySelector('#cl-params')!, 'parameters', (v) => v.toLocaleString('en-US'));
  }

  private lineChart(canvas: HTMLCanvasElement, yTitle: string, format: (v: number) => string): LineChart {
    const chart: LineChart = new Chart<'line', { x: number; y: number }[]>(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        ...baseOptions(this.theme),
        plugins: {
          ...baseOptions(this.theme).plugins,
          tooltip: {
            animation: false,
            callbacks: { label: (item) => `${item.dataset.label}: ${format(item.parsed.y ?? NaN)} after task ${item.parsed.x}` },
          },
        },
      },
    });
    this.axes.set(chart, { yTitle, format });
    this.applyTheme(chart);
    return chart;
  }

  private readonly axes = new Map<LineChart, { yTitle: string; format: (v: number) => string }>();

  /** Scales and legend in the theme's colours; the x axis counts tasks, the y range is kept. */
  private applyTheme(c: LineChart): void {
    const t = this.theme,
      a = this.axes.get(c)!;
    const old = c.options.scales as { x?: { min?: number; max?: number }; y?: { min?: number; max?: number } } | undefined;
    const x = axis(t, 'tasks learnt');
    const y = axis(t, a.yTitle, a.format);
    c.options.scales = {
      x: { ...x, ticks: { ...x.ticks, stepSize: 1, precision: 0 }, min: old?.x?.min, max: old?.x?.max },
      y: { ...y, min: old?.y?.min, max: old?.y?.max },
    };
    c.options.plugins!.legend = { labels: { color: t.foreground, boxWidth: 12, boxHeight: 2 } };
  }

  /** Redraws when the record changed (or `force`, e.g. after a theme change). */
  render(record: ContinualRecord | undefined, force = false): boolean {
    const show = !!record && !record.empty;
    this.host.hidden = !show;
    if (!show) return false;
    if (!force && record.version === this.drawn) return false;
    this.drawn = record.version;
    const tracks = [...record.tracks.values()];
    this.summary.replaceChildren(
      ...tracks.map((t) => {
        const li = document.createElement('li');
        li.textContent = describeTrack(t).replace(t.method, methodLabel(t.method));
        return li;
      }),
    );
    const names = record.taskNames();
    this.matrices.replaceChildren(...tracks.map((t) => this.matrix(t, names)));
    const lines = (pick: (t: ContinualTrack) => (number | undefined)[]) =>
      tracks.map((t, i) => {
        const color = this.theme[PALETTE[i % PALETTE.length]];
        const data = pick(t).flatMap((y, task) => (y === undefined ? [] : [{ x: task + 1, y }]));
        return {
          label: methodLabel(t.method),
          data,
          borderColor: color,
          backgroundColor: color,
          borderWidth: 2,
          pointRadius: 3,
          tension: 0,
        };
      });
    this.accuracyChart.data.datasets = lines((t) => t.averageAccuracy);
    this.paramsChart.data.datasets = lines((t) => t.params);
    // Accuracy differences that matter here are a few points: the y axis starts just below the lowest value.
    const lowest = Math.min(...tracks.flatMap((t) => t.averageAccuracy.filter((v): v is number => v !== undefined)));
    (this.accuracyChart.options.scales!.y as { min?: number; max?: number }).min = Number.isFinite(lowest)
      ? Math.max(0, Math.floor((lowest - 0.01) * 50) / 50)
      : 0;
    (this.accuracyChart.options.scales!.y as { min?: number; max?: number }).max = 1;
    for (const c of [this.accuracyChart, this.paramsChart]) {
      (c.options.scales!.x as { max?: number; min?: number }).min = 1;
      (c.options.scales!.x as { max?: number; min?: number }).max = Math.max(2, record.tasks);
      c.update('none');
    }
    return true;
  }

  /** An accessible table: header row of task names, one row per task learnt, cells coloured by accuracy. */
  private matrix(t: ContinualTrack, names: string[]): HTMLElement {
    const fig = document.createElement('figure');
    fig.className = 'cl-matrix';
    fig.dataset.method = t.method;
    const cap = document.createElement('figcaption');
    cap.textContent = `${methodLabel(t.method)}: accuracy on each task (columns) after learning task i (rows)`;
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    const corner = document.createElement('th');
    corner.textContent = 'after ↓ / task →';
    corner.scope = 'col';
    head.append(corner);
    for (const n of names) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = n;
      head.append(th);
    }
    const body = table.createTBody();
    t.rows.forEach((row, i) => {
      if (!row) return;
      const tr = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = `task ${i + 1}`;
      tr.append(th);
      for (let j = 0; j < names.length; j++) {
        const td = tr.insertCell();
        if (j < row.length) {
          td.textContent = (row[j] * 100).toFixed(1);
          td.className = 'cl-cell';
          td.style.setProperty('--share', String(heatShare(row[j])));
          const drop = i > j && t.rows[j] ? row[j] - t.rows[j]![j] : 0;
          td.title = `${methodLabel(t.method)}: ${(row[j] * 100).toFixed(2)}% on ${names[j]} after learning task ${i + 1}${i > j ? ` (${drop >= 0 ? '+' : ''}${(drop * 100).toFixed(2)} points since it was learnt)` : ''}`;
        } else td.className = 'cl-empty';
      }
    });
    fig.append(cap, table);
    return fig;
  }

  setTheme(theme: ThemeColors, record: ContinualRecord | undefined): void {
    this.theme = theme;
    for (const c of [this.accuracyChart, this.paramsChart]) this.applyTheme(c);
    this.render(record, true);
  }

  /** For tests: the drawn matrices (per method, as percentages) and the lines' points. */
  inspect(): {
    matrices: Record<string, (number | null)[][]>;
    accuracy: Record<string, { x: number; y: number }[]>;
    params: Record<string, { x: number; y: number }[]>;
    colors: string[];
  } {
    const matrices: Record<string, (number | null)[][]> = {};
    this.matrices.querySelectorAll<HTMLElement>('figure.cl-matrix').forEach((fig) => {
      const rows: (number | null)[][] = [];
      fig
        .querySelectorAll('tbody tr')
        .forEach((tr) => rows.push(Array.from(tr.querySelectorAll('td')).map((td) => (td.textContent ? Number(td.textContent) : null))));
      matrices[fig.dataset.method!] = rows;
    });
    const lines = (c: LineChart) => Object.fromEntries(c.data.datasets.map((d) => [String(d.label), d.data as { x: number; y: number }[]]));
    return {
      matrices,
      accuracy: lines(this.accuracyChart),
      params: lines(this.paramsChart),
      colors: this.accuracyChart.data.datasets.map((d) => String(d.borderColor)),
    };
  }
}
