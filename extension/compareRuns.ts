/**
 * "Compare runs" on the extension side (pure: no VS Code imports, unit-tested with a fake store):
 * the runs the user overlays and the colour fixed per run, kept in the workspace's state (VS Code's
 * `workspaceState` Memento) so they survive a reload of the panel and of the window; and each run's
 * series built from its history for the webview.
 */
import {
  CHART_COLOR_NAMES,
  COMPARE_MAX_RUNS,
  COMPARE_METRICS,
  type ChartColorName,
  type CompareRun,
  type RunEvent,
  isRunId,
} from '../common/protocol';
import { downsampleView } from '../common/monitor/downsample';
import { flattenConfig } from '../common/monitor/compareModel';
import { RunModel } from '../common/monitor/runModel';

/** The part of VS Code's Memento used here (`context.workspaceState`). */
export interface StateStore {
  get(key: string): unknown;
  update(key: string, value: unknown): PromiseLike<void> | void;
}

export const COMPARE_STATE_KEY = 'growthLab.monitor.compare';
/** Points per series sent for a compared run (min/max per bucket: spikes survive). */
export const COMPARE_POINTS = 2000;

export interface CompareState {
  selected: string[];
  colors: Record<string, ChartColorName>;
}

/** Reads a stored state defensively (anything malformed is dropped). */
export function parseCompareState(raw: unknown): CompareState {
  const out: CompareState = { selected: [], colors: {} };
  if (!raw || typeof raw !== 'object') return out;
  const r = raw as { selected?: unknown; colors?: unknown };
  if (Array.isArray(r.selected)) {
    for (const id of r.selected)
      if (isRunId(id) && !out.selected.includes(id) && out.selected.length < COMPARE_MAX_RUNS) out.selected.push(id);
  }
  if (r.colors && typeof r.colors === 'object' && !Array.isArray(r.colors)) {
    for (const [id, c] of Object.entries(r.colors as Record<string, unknown>)) {
      if (isRunId(id) && CHART_COLOR_NAMES.includes(c as ChartColorName)) out.colors[id] = c as ChartColorName;
    }
  }
  return out;
}

/**
 * The overlaid runs and fixed colours. With a store, every read goes to it (the panel and the side
 * view share one workspaceState, so a colour fixed in one is used by the other on its next update).
 */
export class CompareRunsState {
  private local: CompareState = { selected: [], colors: {} };

  constructor(private readonly store: StateStore | undefined) {}

  private get state(): CompareState {
    return this.store ? parseCompareState(this.store.get(COMPARE_STATE_KEY)) : this.local;
  }

  get selected(): string[] {
    return [...this.state.selected];
  }

  get colors(): Record<string, ChartColorName> {
    return { ...this.state.colors };
  }

  setSelected(runIds: readonly string[]): PromiseLike<void> | void {
    return this.save({ ...this.state, selected: [...new Set(runIds)].slice(0, COMPARE_MAX_RUNS) });
  }

  /** Fixes `runId`'s colour; null forgets it (the run gets the first free colour again). */
  setColor(runId: string, color: ChartColorName | null): PromiseLike<void> | void {
    const state = this.state;
    const colors = { ...state.colors };
    if (color) colors[runId] = color;
    else delete colors[runId];
    return this.save({ ...state, colors });
  }

  private save(state: CompareState): PromiseLike<void> | void {
    this.local = state;
    return this.store?.update(COMPARE_STATE_KEY, { selected: state.selected, colors: state.colors });
  }
}

/** One run's series for "Compare runs", each at most `maxPoints` points (min/max per bucket). */
export function compareRunFromHistory(runId: string, name: string, events: readonly RunEvent[], maxPoints = COMPARE_POINTS): CompareRun {
  const model = new RunModel(runId);
  model.addAll(events);
  const series: CompareRun['series'] = {};
  for (const metric of COMPARE_METRICS) {
    const s = model.series[metric];
    if (!s.length) continue;
    // About 2 points per bucket (its lowest and highest, so spikes stay) plus the two ends.
    const idx = downsampleView(s.xs, s.ys, { pixels: Math.max(1, Math.floor((maxPoints - 2) / 2)) });
    series[metric] = { steps: idx.map((i) => s.xs[i]), values: idx.map((i) => s.ys[i]), total: s.length };
  }
  return { runId, name: model.config?.name ?? name, config: flattenConfig(model.config ?? {}), series };
}
