/**
 * The architecture timeline: a scrubber (a native range input: arrow keys, Page Up/Down, Home and End
 * move it; a label under each position) over the run's start and grow events, and two small charts of
 * each layer's width and parameters against the training step (one line per layer) with a line at the
 * scrubbed step. The math is in timeline.ts; this file only builds the DOM and hands data to chart.js.
 */
import { Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip, type Plugin } from 'chart.js';
import { axis, baseOptions } from './chartOptions';
import { formatInt } from './format';
import { layerTracks, pointLabel, tickLabel, tickPositions, trackPoints, widthsAt, type LayerTrack, type TimelinePoint } from './timeline';
import type { ThemeColors } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Legend);

type Pt = { x: number; y: number | null };
const COLORS: (keyof ThemeColors & ('blue' | 'orange' | 'green' | 'purple' | 'yellow' | 'red'))[] = [
  'blue',
  'orange',
  'green',
  'purple',
  'yellow',
  'red',
];
const cursorSteps = new WeakMap<Chart, { step?: number; color: string }>();

/** A vertical line at the scrubbed step. */
const cursorPlugin: Plugin<'line'> = {
  id: 'growthLabTimelineCursor',
  afterDatasetsDraw(chart) {
    const c = cursorSteps.get(chart);
    const x = chart.scales.x;
    if (!c || c.step === undefined || !x) return;
    const px = Math.round(x.getPixelForValue(c.step)) + 0.5;
    const { top, bottom, left, right } = chart.chartArea;
    if (px < left - 1 || px > right + 1) return;
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = c.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(px, top);
    ctx.lineTo(px, bottom);
    ctx.stroke();
    ctx.restore();
  },
};

class TrackChart {
  readonly chart: Chart<'line', Pt[]>;
  private key = '';

  private maxX: number | undefined;

  /** `log`: a logarithmic y axis (parameters: the input layer would flatten every other line). */
  constructor(
    private readonly canvas: HTMLCanvasElement,
    private theme: ThemeColors,
    private readonly yTitle: string,
    private readonly log = false,
  ) {
    this.chart = new Chart<'line', Pt[]>(canvas, {
      type: 'line',
      data: { datasets: [] },
      // A layer's track has gaps (null) before it exists and repeats steps where it changes: drawn as is.
      options: { ...baseOptions(theme), normalized: false, spanGaps: false, scales: {}, plugins: {} },
      plugins: [cursorPlugin],
    });
    this.applyTheme();
  }

  private applyTheme(): void {
    const t = this.theme;
    const themed = (title: string) => {
      const a = axis(t, title);
      return { ...a, ticks: { ...a.ticks, maxTicksLimit: 6 } };
    };
    const y = this.log
      ? {
          ...themed(this.yTitle),
          type: 'logarithmic' as const,
          ticks: { ...themed(this.yTitle).ticks, callback: (v: number | string) => (/^[125]/.test(String(v)) ? formatInt(Number(v)) : '') },
        }
      : { ...themed(this.yTitle), beginAtZero: true, ticks: { ...themed(this.yTitle).ticks, precision: 0 } };
    this.chart.options.scales = { x: { ...themed('step'), min: 0, max: this.maxX }, y };
    this.chart.options.plugins = {
      legend: { labels: { color: t.foreground, boxWidth: 12, boxHeight: 2, font: { family: t.fontFamily, size: t.fontSize - 1 } } },
      tooltip: {
        animation: false,
        callbacks: {
          title: (items) => (items.length ? `step ${items[0].parsed.x}` : ''),
          label: (item) => `${item.dataset.label}: ${formatInt(item.parsed.y ?? NaN)}`,
        },
      },
    };
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    this.applyTheme();
    this.key = '';
  }

  render(tracks: { id: string; points: Pt[] }[], step: number | undefined): void {
    const key = JSON.stringify([tracks, step, this.theme.kind]);
    if (key === this.key) return;
    this.key = key;
    cursorSteps.set(this.chart, { step, color: this.theme.foreground });
    const maxX = Math.max(0, ...tracks.flatMap((t) => t.points.map((p) => p.x)));
    if (maxX !== this.maxX) {
      this.maxX = maxX > 0 ? maxX : undefined;
      this.applyTheme();
    }
    this.chart.data.datasets = tracks.map((t, i) => {
      const color = this.theme[COLORS[i % COLORS.length]];
      return {
        label: t.id,
        data: t.points,
        borderColor: color,
        backgroundColor: color,
        borderWidth: 1.8,
        // chart.js 'before': flat at the previous value up to the next point, then the step there.
        stepped: 'before' as const,
        pointRadius: 2.5,
        spanGaps: false,
      };
    });
    this.chart.update('none');
    // The summary a screen reader gets: each layer's first and last value.
    const ends = tracks.map((t) => {
      const ys = t.points.map((p) => p.y).filter((y): y is number => y !== null);
      return ys.length ? `${t.id} ${formatInt(ys[0])} → ${formatInt(ys[ys.length - 1])}` : `${t.id} –`;
    });
    this.canvas.setAttribute('aria-label', `${this.canvas.dataset.title ?? this.yTitle} against step: ${ends.join(', ') || 'no layers'}`);
  }

  inspect(): { label: string; points: [number, number | null][] }[] {
    return this.chart.data.datasets.map((d) => ({ label: String(d.label), points: (d.data as Pt[]).map((p) => [p.x, p.y]) }));
  }
}

export class ArchTimeline {
  readonly input: HTMLInputElement;
  private readonly value: HTMLOutputElement;
  private readonly ticks: HTMLElement;
  private readonly widthChart: TrackChart;
  private readonly paramsChart: TrackChart;
  private points: TimelinePoint[] = [];
  private tracks: LayerTrack[] = [];
  private position = 0;
  private ticksKey = '';
  private drawnEnd: number | undefined;

  /** `host`: the scrubber and its labels; `chartsHost`: the width and parameter charts. */
  constructor(
    private readonly host: HTMLElement,
    private readonly chartsHost: HTMLElement,
    theme: ThemeColors,
    onScrub: (position: number, point: TimelinePoint) => void,
  ) {
    host.innerHTML = `
      <div class="scrubber">
        <label for="arch-scrubber">Architecture at</label>
        <div class="scrubber-track">
          <input type="range" id="arch-scrubber" min="0" max="0" step="1" value="0" aria-describedby="arch-scrubber-value">
          <div class="scrubber-ticks" id="arch-ticks"></div>
        </div>
        <output id="arch-scrubber-value" for="arch-scrubber" class="scrubber-value"></output>
      </div>`;
    chartsHost.innerHTML = `
      <figure class="chart small"><figcaption>Width per layer</figcaption><div class="canvas-box small"><canvas id="chart-layer-width" role="img" data-title="Width per layer" aria-label="Width of each layer against step"></canvas></div></figure>
      <figure class="chart small"><figcaption>Parameters per layer</figcaption><div class="canvas-box small"><canvas id="chart-layer-params" role="img" data-title="Parameters per layer" aria-label="Parameters of each layer against step"></canvas></div></figure>`;
    this.input = host.querySelector<HTMLInputElement>('#arch-scrubber')!;
    this.value = host.querySelector<HTMLOutputElement>('#arch-scrubber-value')!;
    this.ticks = host.querySelector<HTMLElement>('#arch-ticks')!;
    this.widthChart = new TrackChart(chartsHost.querySelector<HTMLCanvasElement>('#chart-layer-width')!, theme, 'neurons / channels');
    this.paramsChart = new TrackChart(chartsHost.querySelector<HTMLCanvasElement>('#chart-layer-params')!, theme, 'parameters', true);
    const scrub = (pos: number): void => {
      const p = this.points[pos];
      if (p && pos !== this.position) {
        this.position = pos;
        this.describe();
        onScrub(pos, p);
      }
    };
    this.input.addEventListener('input', () => scrub(Number(this.input.value)));
    this.ticks.addEventListener('click', (e) => {
      const t = (e.target as Element).closest<HTMLElement>('[data-position]');
      if (t) {
        this.input.value = t.dataset.position!;
        scrub(Number(t.dataset.position));
        this.input.focus();
      }
    });
  }

  setTheme(theme: ThemeColors): void {
    this.widthChart.setTheme(theme);
    this.paramsChart.setTheme(theme);
  }

  /** Shows `points` with the scrubber at `position`; `endStep`: the run's latest step (lines reach it). */
  update(points: TimelinePoint[], position: number, endStep: number | undefined): void {
    this.points = points;
    this.tracks = layerTracks(points);
    this.position = Math.max(0, Math.min(position, points.length - 1));
    this.host.hidden = points.length === 0;
    this.chartsHost.hidden = points.length === 0;
    this.input.max = String(Math.max(0, points.length - 1));
    this.input.value = String(this.position);
    this.input.disabled = points.length < 2;
    const ticksKey = JSON.stringify(points.map((p) => p.step));
    if (ticksKey !== this.ticksKey) {
      this.ticksKey = ticksKey;
      const n = points.length;
      this.ticks.replaceChildren(
        ...tickPositions(n, 12).map((i) => {
          const s = document.createElement('span');
          s.className = `tick ${points[i].kind}`;
          s.dataset.position = String(i);
          s.textContent = tickLabel(points[i]);
          s.title = pointLabel(points[i]);
          s.style.left = n > 1 ? `${(i / (n - 1)) * 100}%` : '0';
          return s;
        }),
      );
    }
    this.describe();
    // Live runs move the end step with every metrics event: redraw the charts for it only when it moved
    // by more than 1% (a pixel or two), so streaming costs no chart update per frame.
    if (endStep === undefined || this.drawnEnd === undefined || endStep < this.drawnEnd || endStep - this.drawnEnd > 0.01 * endStep)
      this.drawnEnd = endStep;
    endStep = this.drawnEnd;
    const step = points[this.position]?.step;
    this.widthChart.render(
      this.tracks
        .filter((t) => t.widths.some((w) => w !== null))
        .map((t) => ({ id: t.id, points: trackPoints(points, t.widths, endStep) })),
      step,
    );
    this.paramsChart.render(
      this.tracks
        .filter((t) => t.params.some((p) => p !== null && p > 0))
        .map((t) => ({ id: t.id, points: trackPoints(points, t.params, endStep) })),
      step,
    );
  }

  private describe(): void {
    const p = this.points[this.position];
    const text = p ? `${pointLabel(p)} (${this.position + 1} of ${this.points.length})` : '';
    this.value.textContent = text;
    this.input.setAttribute('aria-valuetext', text);
    for (const t of Array.from(this.ticks.querySelectorAll<HTMLElement>('.tick')))
      t.classList.toggle('current', t.dataset.position === String(this.position));
  }

  inspect() {
    const p = this.points[this.position];
    return {
      positions: this.points.length,
      position: this.position,
      step: p?.step,
      label: p ? pointLabel(p) : undefined,
      widths: p ? widthsAt(p) : {},
      widthChart: this.widthChart.inspect(),
      paramsChart: this.paramsChart.inspect(),
    };
  }
}
