/**
 * What every chart.js chart of the panel shares: the chart.js parts registered once, the global
 * defaults taken from the theme, the base options (no parsing, no animation, sized by its box,
 * themed legend) and the themed linear axis.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Decimation,
  Legend,
  LinearScale,
  LogarithmicScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import type { ThemeColors } from './theme';

Chart.register(
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  BarController,
  BarElement,
  CategoryScale,
  Tooltip,
  Legend,
  Decimation,
);

/** Options every chart of the panel shares: no parsing or animation, sized by its box, themed legend. */
export function baseOptions(theme: ThemeColors) {
  return {
    animation: false as const,
    parsing: false as const,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    spanGaps: true,
    interaction: { mode: 'nearest' as const, axis: 'x' as const, intersect: false },
    layout: { padding: { top: 8 } },
    plugins: {
      legend: {
        labels: { color: theme.foreground, boxWidth: 12, boxHeight: 2, font: { family: theme.fontFamily, size: theme.fontSize - 1 } },
      },
      tooltip: { animation: false as const },
    },
  };
}

/** chart.js' global defaults (text colour, grid, font) in the theme's colours. */
export function applyThemeDefaults(theme: ThemeColors): void {
  Chart.defaults.color = theme.foreground;
  Chart.defaults.borderColor = theme.grid;
  Chart.defaults.font.family = theme.fontFamily;
  Chart.defaults.font.size = Math.max(10, theme.fontSize - 1);
}

/** A linear axis in the theme's colours (every chart of the panel uses it). */
export function axis(theme: ThemeColors, title: string, format?: (v: number) => string) {
  return {
    type: 'linear' as const,
    title: { display: true, text: title, color: theme.muted },
    grid: { color: theme.grid },
    border: { color: theme.grid },
    ticks: { color: theme.foreground, maxTicksLimit: 7, ...(format ? { callback: (v: number | string) => format(Number(v)) } : {}) },
  };
}
