/**
 * What a step chart shows (pure data, no chart.js): its series and their colours, the toolbar's
 * settings, the x axes' titles, and the four step charts of the panel.
 */
import type { ChartXAxis } from '../common/protocol';
import type { SeriesName } from '../common/monitor/runModel';

/** A point as chart.js draws it (parsing is off). */
export type XY = { x: number; y: number };

export type ColorKey = 'blue' | 'orange' | 'green' | 'red' | 'purple' | 'yellow';

export interface SeriesSpec {
  name: SeriesName;
  label: string;
  color: ColorKey;
  /** Few points (evaluations): draw the points, not only the line. */
  sparse?: boolean;
}

export interface StepChartSpec {
  id: string;
  title: string;
  yTitle: string;
  series: SeriesSpec[];
  percent?: boolean;
  integer?: boolean;
}

/** What the chart toolbar sets for every step chart: x axis, smoothing, log-scale y. */
export interface ChartSettings {
  xAxis: ChartXAxis;
  smoothing: number;
  logY: boolean;
}

export const X_AXIS_TITLES: Record<ChartXAxis, string> = {
  step: 'step',
  epoch: 'epoch',
  time: 'wall time (s)',
  params: 'parameters',
  flops: 'training FLOPs (estimate)',
};

/** The panel's step charts, in the order of their canvases (`chart-<id>`). */
export const STEP_CHARTS: StepChartSpec[] = [
  {
    id: 'loss',
    title: 'Loss',
    yTitle: 'loss',
    series: [
      { name: 'trainLoss', label: 'train loss', color: 'blue' },
      { name: 'testLoss', label: 'test loss', color: 'orange', sparse: true },
    ],
  },
  {
    id: 'accuracy',
    title: 'Accuracy',
    yTitle: 'accuracy',
    percent: true,
    series: [
      { name: 'trainAccuracy', label: 'train accuracy', color: 'blue' },
      { name: 'testAccuracy', label: 'test accuracy', color: 'orange', sparse: true },
    ],
  },
  {
    id: 'params',
    title: 'Parameters',
    yTitle: 'parameters',
    integer: true,
    series: [{ name: 'params', label: 'parameters', color: 'purple' }],
  },
  {
    id: 'throughput',
    title: 'Throughput',
    yTitle: 'samples/s',
    series: [{ name: 'samplesPerSecond', label: 'samples/s', color: 'yellow' }],
  },
  {
    id: 'lr',
    title: 'Learning rate',
    yTitle: 'learning rate',
    series: [{ name: 'learningRate', label: 'learning rate', color: 'green' }],
  },
];
