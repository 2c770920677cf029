/**
 * The Experiments tree's model (pure: no VS Code imports, unit-tested): the workspace's
 * `*.growth.json` files, their runs (from listRuns) and each run's grow events.
 */
import * as path from 'path';
import type { GrowEventParams, RunStatus, RunSummary } from '../common/protocol';
import { plainText } from './plainText';
import { formatCount, formatPercent } from './runTracker';

export type TreeNode = ExperimentNode | RunNode | GrowNode | MessageNode;

export interface ExperimentNode {
  kind: 'experiment';
  id: string;
  label: string;
  description: string;
  tooltip: string;
  /** Absolute path of the file; undefined for the "Other runs" group (runs without a workspace file). */
  path?: string;
  icon: string;
  contextValue: 'experiment' | 'otherRuns';
  runs: RunNode[];
}

export interface RunNode {
  kind: 'run';
  id: string;
  runId: string;
  label: string;
  description: string;
  tooltip: string;
  icon: string;
  /** Theme colour of the icon (e.g. failed runs in red). */
  color?: string;
  status: RunStatus;
  /** `run.<status>` (`run.stale` for runs left by a backend that no longer runs): the context menu's actions. */
  contextValue: string;
}

export interface GrowNode {
  kind: 'grow';
  id: string;
  runId: string;
  label: string;
  description: string;
  tooltip: string;
  icon: string;
  contextValue: 'growEvent';
  event: GrowEventParams;
}

export interface MessageNode {
  kind: 'message';
  id: string;
  label: string;
  icon?: string;
  contextValue: 'message';
}

export const STATUS_ICONS: Record<RunStatus, { icon: string; color?: string }> = {
  running: { icon: 'sync~spin', color: 'charts.blue' },
  paused: { icon: 'debug-pause', color: 'charts.yellow' },
  completed: { icon: 'pass', color: 'testing.iconPassed' },
  failed: { icon: 'error', color: 'testing.iconFailed' },
  stopped: { icon: 'circle-slash' },
};

const byNewest = (a: RunSummary, b: RunSummary) => (b.startedAt > a.startedAt ? 1 : b.startedAt < a.startedAt ? -1 : 0);
const norm = (p: string) => path.normalize(p).replace(/\\/g, '/').toLowerCase();

export function runNode(r: RunSummary): RunNode {
  const { icon, color } =
    r.stale && (r.status === 'running' || r.status === 'paused')
      ? { icon: 'warning', color: 'list.warningForeground' }
      : STATUS_ICONS[r.status];
  const parts = [`epoch ${r.epochsDone}/${r.epochs}`, `${formatCount(r.params)} params`];
  if (r.bestTestAccuracy !== undefined) parts.push(`best ${formatPercent(r.bestTestAccuracy)}`);
  if (r.growSteps > 0) parts.push(`${r.growSteps} grow${r.growSteps === 1 ? '' : 's'}`);
  if (r.external !== undefined) parts.push(`external: ${r.external}`);
  const tip = [
    `${r.name} (${r.runId}): ${r.status}${r.stale ? ' (left by a backend that no longer runs)' : ''}`,
    `epoch ${r.epochsDone} of ${r.epochs} · ${formatCount(r.params)} parameters`,
    r.bestTestAccuracy !== undefined
      ? `best test accuracy ${formatPercent(r.bestTestAccuracy)}${r.lastTestAccuracy !== undefined ? `, last ${formatPercent(r.lastTestAccuracy)}` : ''}`
      : undefined,
    `${r.dataset} · ${r.engine}/${r.executionProvider}`,
    `started ${r.startedAt}${r.endedAt ? `, ended ${r.endedAt}` : ''}`,
    r.runningElsewhere !== undefined ? `being trained by another process (pid ${r.runningElsewhere})` : undefined,
    r.unreadable !== undefined ? `unreadable: ${r.unreadable}` : undefined,
    r.external !== undefined
      ? `an external ${r.external} job: followed here, not resumed, grown or exported (continue it with its own train.py --resume)`
      : undefined,
  ].filter((x): x is string => x !== undefined);
  return {
    kind: 'run',
    id: `run:${r.runId}`,
    runId: r.runId,
    label: r.runId,
    description: parts.join(' · '),
    tooltip: tip.join('\n'),
    icon,
    color,
    status: r.status,
    contextValue: r.external !== undefined ? 'run.external' : r.stale ? 'run.stale' : `run.${r.status}`,
  };
}

/**
 * Experiments (sorted by file name, then folder) with their runs (newest first); runs whose
 * configPath matches no file go under "Other runs" (last). `relative` shows a file's folder.
 */
export function buildExperimentTree(
  files: readonly string[],
  runs: readonly RunSummary[],
  relative: (file: string) => string = (f) => f,
): ExperimentNode[] {
  const byFile = new Map<string, RunSummary[]>();
  for (const f of files) byFile.set(norm(f), []);
  const other: RunSummary[] = [];
  for (const r of runs) {
    const list = r.configPath !== undefined ? byFile.get(norm(r.configPath)) : undefined;
    (list ?? other).push(r);
  }
  const nodes: ExperimentNode[] = [...files]
    .map((f) => {
      const list = [...(byFile.get(norm(f)) ?? [])].sort(byNewest);
      const live = list.filter((r) => (r.status === 'running' || r.status === 'paused') && !r.stale).length;
      const best = list.reduce<number | undefined>(
        (m, r) => (r.bestTestAccuracy !== undefined && (m === undefined || r.bestTestAccuracy > m) ? r.bestTestAccuracy : m),
        undefined,
      );
      const desc = [list.length ? `${list.length} run${list.length === 1 ? '' : 's'}` : 'no runs'];
      if (live) desc.push(`${live} live`);
      if (best !== undefined) desc.push(`best ${formatPercent(best)}`);
      const rel = relative(f);
      const dir = path.dirname(rel);
      return {
        kind: 'experiment' as const,
        id: `exp:${f}`,
        label: path.basename(f),
        description: `${dir !== '.' ? `${dir} · ` : ''}${desc.join(' · ')}`,
        tooltip: rel,
        path: f,
        icon: live ? 'beaker~spin' : 'beaker',
        contextValue: 'experiment' as const,
        runs: list.map(runNode),
      };
    })
    .sort((a, b) => a.label.localeCompare(b.label) || a.description.localeCompare(b.description));
  if (other.length) {
    nodes.push({
      kind: 'experiment',
      id: 'exp:(other)',
      label: 'Other runs',
      description: `${other.length} run${other.length === 1 ? '' : 's'} without a workspace file`,
      tooltip: 'Runs whose experiment file is not in this workspace (e.g. started by the CLI or from a deleted file)',
      icon: 'history',
      contextValue: 'otherRuns',
      runs: [...other].sort(byNewest).map(runNode),
    });
  }
  return nodes;
}

/**
 * What a tree item shows, as plain text: labels, descriptions and tooltips carry run names and ids,
 * file names, dataset names and backend strings (from a cloned repository or the backend).
 */
export function treeItemText(n: TreeNode): { label: string; description?: string; tooltip?: string } {
  if (n.kind === 'message') return { label: plainText(n.label) };
  return {
    label: plainText(n.label, { max: 200 }),
    description: plainText(n.description, { max: 200 }),
    tooltip: plainText(n.tooltip, { newlines: true, max: 2000 }),
  };
}

/** A run's grow (and prune) events as children, in order. */
export function growNodes(runId: string, events: readonly GrowEventParams[]): GrowNode[] {
  return events.map((e, i) => {
    const delta = e.after.params - e.before.params;
    return {
      kind: 'grow' as const,
      id: `grow:${runId}:${i}:${e.step}`,
      runId,
      label: `${e.kind === 'prune' ? 'Prune' : 'Grow'} ${i + 1}: ${e.method}`,
      description: `epoch ${e.epoch} · ${formatCount(e.before.params)} → ${formatCount(e.after.params)} (${delta >= 0 ? '+' : '−'}${formatCount(Math.abs(delta))})`,
      tooltip: `${e.kind} by ${e.method} at step ${e.step} (epoch ${e.epoch})\nloss ${e.lossBefore.toPrecision(4)} → ${e.lossAfter.toPrecision(4)}\n${formatCount(e.before.params)} → ${formatCount(e.after.params)} parameters\nClick to review the architecture diff`,
      icon: e.kind === 'prune' ? 'remove' : 'add',
      contextValue: 'growEvent' as const,
      event: e,
    };
  });
}
