/**
 * The Growth Monitor's comparisons of runs (pure: no VS Code imports): the "all runs" chart (test
 * accuracy against parameters of the most recent runs) and "Compare runs" (the overlaid runs' series
 * and the colours fixed per run, kept in the workspace state). Finished runs' histories are read once.
 */
import {
  Methods,
  type ChartColorName,
  type CompareRun,
  type ExtensionToWebviewMessage,
  type RunAccuracyPath,
  type RunStatus,
  type RunSummary,
} from '../common/protocol';
import { accuracyPath } from '../common/monitor/runModel';
import { CompareRunsState, compareRunFromHistory } from './compareRuns';
import type { MonitorHost } from './monitorController';
import { isLive } from './runTracker';
import { readRunHistory } from './runHistory';

/** Runs drawn in the "all runs" comparison chart (the most recent ones). */
export const COMPARISON_RUNS = 20;

/** What the comparisons read from the controller that owns them. */
export interface ComparisonSource {
  /** The latest listRuns answer. */
  runs(): readonly RunSummary[];
  /** A run's latest known status (live events and run lists). */
  status(runId: string): RunStatus | undefined;
  /** False once the page went away (or reloads): late answers are dropped. */
  isReady(): boolean;
  post(msg: ExtensionToWebviewMessage): void;
}

export class MonitorComparison {
  private readonly pathCache = new Map<string, RunAccuracyPath>();
  private pathToken = 0;
  private readonly compare: CompareRunsState;
  private readonly compareCache = new Map<string, CompareRun>();
  private compareToken = 0;

  constructor(
    private readonly host: MonitorHost,
    private readonly source: ComparisonSource,
  ) {
    this.compare = new CompareRunsState(host.workspaceState);
  }

  /** "Compare runs" was used (runs selected or colours chosen): its state is worth sending on ready. */
  get inUse(): boolean {
    return this.compare.selected.length > 0 || Object.keys(this.compare.colors).length > 0;
  }

  async select(runIds: string[]): Promise<void> {
    await this.compare.setSelected(runIds);
    return this.sendCompare();
  }

  /** A run's colour in Compare runs (null: back to the automatic one). */
  async setColor(runId: string, color: ChartColorName | null): Promise<void> {
    await this.compare.setColor(runId, color);
    return this.sendCompare();
  }

  /** Test accuracy against parameters for the most recent runs (finished runs are read once). */
  async refreshComparison(): Promise<void> {
    const token = ++this.pathToken;
    const runs = [...this.source.runs()]
      .sort((a, b) => (b.startedAt > a.startedAt ? 1 : b.startedAt < a.startedAt ? -1 : 0))
      .slice(0, COMPARISON_RUNS);
    const paths: RunAccuracyPath[] = [];
    for (const r of runs) {
      let path = this.pathCache.get(r.runId);
      if (!path) {
        try {
          path = accuracyPath(r.runId, r.name, await readRunHistory((p) => this.host.request(Methods.getRunHistory, p), r.runId));
        } catch (err) {
          this.host.log(`monitor: history of ${r.runId} for the comparison chart: ${this.host.errorText(err)}`);
          continue;
        }
        if (!isLive(r.status)) this.pathCache.set(r.runId, path);
      }
      if (token !== this.pathToken || !this.source.isReady()) return;
      if (path.points.length) paths.push(path);
    }
    this.source.post({ type: 'comparison', paths: paths.reverse() });
  }

  /** "Compare runs": the overlaid runs' series (finished runs are read once) and the colours fixed per run. */
  async sendCompare(): Promise<void> {
    const token = ++this.compareToken;
    const selected = this.compare.selected;
    const runs: CompareRun[] = [];
    for (const runId of selected) {
      let run = this.compareCache.get(runId);
      if (!run) {
        const summary = this.source.runs().find((r) => r.runId === runId);
        try {
          run = compareRunFromHistory(
            runId,
            summary?.name ?? runId,
            await readRunHistory((p) => this.host.request(Methods.getRunHistory, p), runId),
          );
        } catch (err) {
          this.host.log(`monitor: history of ${runId} for Compare runs: ${this.host.errorText(err)}`);
          continue;
        }
        const status = this.source.status(runId) ?? summary?.status;
        if (status && !isLive(status)) this.compareCache.set(runId, run);
      }
      if (token !== this.compareToken || !this.source.isReady()) return;
      runs.push(run);
    }
    this.source.post({ type: 'compare', selected, colors: this.compare.colors, runs });
  }
}
