/**
 * The bar chart of the selected grow event's candidates: the chosen ones next to the best rejected
 * ones, by |score|.
 */
import { Chart } from 'chart.js';
import type { GrowEvent } from '../common/monitor/runModel';
import { applyThemeDefaults } from './chartOptions';
import { withAlpha, type ThemeColors } from './theme';

/** The selected grow event's candidates: chosen ones next to the best rejected ones. */
export class ScoresChart {
  readonly chart: Chart<'bar', (number | null)[], string>;
  private theme: ThemeColors;

  constructor(canvas: HTMLCanvasElement, theme: ThemeColors) {
    this.theme = theme;
    applyThemeDefaults(theme);
    this.chart = new Chart<'bar', (number | null)[], string>(canvas, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: {
            grid: { display: false },
            ticks: { color: theme.foreground, autoSkip: false, maxRotation: 60, minRotation: 45, font: { size: 10 } },
          },
          y: {
            grid: { color: theme.grid },
            ticks: { color: theme.foreground, maxTicksLimit: 5 },
            title: { display: true, text: 'score', color: theme.muted },
          },
        },
        plugins: {
          legend: { labels: { color: theme.foreground, boxWidth: 12, font: { family: theme.fontFamily } } },
          tooltip: { animation: false },
        },
      },
    });
  }

  render(event: GrowEvent | undefined, limit = 10): { selected: number; rejected: number } {
    const byScore = (a: { score: number }, b: { score: number }) => Math.abs(b.score) - Math.abs(a.score);
    const sel = event ? [...event.selected].sort(byScore).slice(0, limit) : [];
    const rej = event ? [...event.rejected].sort(byScore).slice(0, limit) : [];
    const label = (c: { layer: string; neuron: number; kind: string }) => `${c.layer}#${c.neuron} ${c.kind}`;
    this.chart.data.labels = [...sel.map(label), ...rej.map(label)];
    this.chart.data.datasets = [
      { label: 'selected', data: [...sel.map((c) => c.score), ...rej.map(() => null)], backgroundColor: this.theme.green, grouped: false },
      {
        label: 'best rejected',
        data: [...sel.map(() => null), ...rej.map((c) => c.score)],
        backgroundColor: withAlpha(this.theme.muted, 0.7),
        grouped: false,
      },
    ];
    this.chart.update('none');
    return { selected: sel.length, rejected: rej.length };
  }

  setTheme(theme: ThemeColors): void {
    this.theme = theme;
    applyThemeDefaults(theme);
    const s = this.chart.options.scales!;
    (s.x as { ticks: { color: string } }).ticks.color = theme.foreground;
    (s.y as { ticks: { color: string }; grid: { color: string } }).ticks.color = theme.foreground;
    (s.y as { grid: { color: string } }).grid.color = theme.grid;
    this.chart.options.plugins!.legend!.labels!.color = theme.foreground;
  }
}
