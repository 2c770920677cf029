/**
 * When and with what the charts' screen-reader summaries (aria-label) and Table views are
 * refreshed: the step charts and the comparison chart from the run's data, the other charts from
 * what they draw. Summaries scan whole series: at once when the view changes (another run, a
 * theme), and while live data streams in at most once a second (the last update always lands).
 */
import type { RunAccuracyPath } from '../common/protocol';
import type { RunModel } from '../common/monitor/runModel';
import { describeOtherCharts, stepChartA11yData, type ChartA11y } from './chartA11y';
import { formatPercent } from './format';
import { STEP_CHARTS } from './stepChartSpec';

/** Charts whose summary and table come from the run's data (the others' from what they draw). */
const OWN_A11Y: ReadonlySet<string> = new Set([...STEP_CHARTS.map((s) => s.id), 'comparison', 'compare']);

/** Where the summaries' data comes from (the panel). */
export interface A11ySource {
  model(): RunModel | undefined;
  paths(): RunAccuracyPath[];
  /** A path as columns (the comparison chart keeps them). */
  columnsOf(p: RunAccuracyPath): { xs: readonly number[]; ys: readonly number[] };
}

export class ChartA11yUpdates {
  /** The run the summaries were last made for. */
  runId: string | undefined;
  private at = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly charts: Map<string, ChartA11y>,
    private readonly source: A11ySource,
  ) {}

  /** `now`: the view changed (update at once); else at most once a second. */
  schedule(now: boolean): void {
    const due = this.at + 1000 - performance.now();
    if (now || due <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.render();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, due);
  }

  private render(): void {
    this.at = performance.now();
    const model = this.source.model();
    this.runId = model?.runId;
    const key = `${model?.runId}|${model?.version}`;
    for (const spec of STEP_CHARTS) this.charts.get(spec.id)?.update(() => stepChartA11yData(spec, model?.series, model?.grows ?? []), key);
    const paths = this.source.paths();
    this.charts.get('comparison')?.update(
      () => ({
        title: 'Test accuracy against parameters (all runs)',
        series: paths.map((p) => ({ label: p.name, ...this.source.columnsOf(p) })),
        options: { xUnit: 'parameters', format: formatPercent },
        xLabel: 'parameters',
      }),
      `${key}|${paths.map((p) => `${p.runId}:${p.points.length}`).join(',')}`,
    );
    describeOtherCharts(this.root, this.charts, OWN_A11Y, { scores: 'Candidate scores' });
  }
}
