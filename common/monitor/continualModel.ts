/**
 * What the monitor shows of a continual-learning run, built from its metrics events (those with
 * `continual`): per method, the accuracy matrix (row = after learning task i, column = task j ≤ i),
 * average accuracy and parameters after each task. Pure: no DOM.
 */
import type { ContinualMethodName, MetricsParams } from '../protocol';

export interface ContinualTrack {
  method: ContinualMethodName;
  /** Tasks in the stream and their names (as far as reported). */
  tasks: number;
  taskNames: string[];
  /** rows[i][j]: accuracy on task j after learning task i (fractions); undefined rows not reached yet. */
  rows: (number[] | undefined)[];
  averageAccuracy: (number | undefined)[];
  params: (number | undefined)[];
  forgetting: (number | undefined)[];
}

export class ContinualRecord {
  /** Methods in the order their first event arrived. */
  readonly tracks = new Map<ContinualMethodName, ContinualTrack>();
  version = 0;

  /** Adds a metrics event; false when it is not a continual one. A repeated (method, task) replaces the earlier one. */
  add(m: MetricsParams): boolean {
    const c = m.continual;
    if (!c || m.task === undefined || !Number.isInteger(m.task) || m.task < 0 || m.task >= c.tasks) return false;
    let t = this.tracks.get(c.method);
    if (!t) {
      t = { method: c.method, tasks: c.tasks, taskNames: [], rows: [], averageAccuracy: [], params: [], forgetting: [] };
      this.tracks.set(c.method, t);
    }
    t.tasks = Math.max(t.tasks, c.tasks);
    t.taskNames[m.task] = c.taskName;
    t.rows[m.task] = c.accuracies.slice(0, m.task + 1);
    t.averageAccuracy[m.task] = c.averageAccuracy;
    t.params[m.task] = m.params;
    t.forgetting[m.task] = c.forgetting;
    this.version++;
    return true;
  }

  get empty(): boolean {
    return this.tracks.size === 0;
  }

  /** Number of tasks of the stream (the largest any method reported). */
  get tasks(): number {
    let n = 0;
    for (const t of this.tracks.values()) n = Math.max(n, t.tasks);
    return n;
  }

  /** Task names, from whichever method reported each task first. */
  taskNames(): string[] {
    const names: string[] = [];
    for (let j = 0; j < this.tasks; j++) {
      for (const t of this.tracks.values())
        if (t.taskNames[j] !== undefined) {
          names[j] = t.taskNames[j];
          break;
        }
      names[j] ??= `task ${j + 1}`;
    }
    return names;
  }
}

/**
 * A heatmap cell's share of the colour: accuracy mapped linearly from `floor` (0 %) to 1 (100 %),
 * so the differences that matter in continual learning (90-100 %) stay visible.
 */
export function heatShare(accuracy: number, floor = 0.5): number {
  if (!Number.isFinite(accuracy)) return 0;
  return Math.round(Math.min(1, Math.max(0, (accuracy - floor) / (1 - floor))) * 100);
}

/** One sentence for screen readers: the method's final average accuracy, forgetting and parameters. */
export function describeTrack(t: ContinualTrack): string {
  const done = t.rows.reduce((n, r, i) => (r ? i + 1 : n), 0);
  if (done === 0) return `${t.method}: no task learnt yet`;
  const i = done - 1;
  const pct = (v: number | undefined) => (v === undefined ? '—' : `${(v * 100).toFixed(2)}%`);
  return `${t.method}: after task ${done} of ${t.tasks}, average accuracy ${pct(t.averageAccuracy[i])}, forgetting ${((t.forgetting[i] ?? 0) * 100).toFixed(2)} points, ${(t.params[i] ?? 0).toLocaleString('en-US')} parameters`;
}
