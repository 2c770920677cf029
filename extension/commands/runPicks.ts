/** What the run commands share: the run id of an argument and quick-pick items of runs. */
import type { RunSummary } from '../../common/protocol';
import { formatPercent } from '../runTracker';

/** A run id given as a string or as {runId} (the monitor, the Experiments tree, a notification). */
export function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const r = (arg as { runId?: unknown } | undefined)?.runId;
  return typeof r === 'string' ? r : undefined;
}

/** Quick-pick items of runs (status, epochs, parameters, accuracy), the active run first. */
export function runItems(runs: readonly RunSummary[], activeId: string | undefined) {
  return runs
    .map((r) => ({
      label: r.name,
      description: `${r.runId}${r.runId === activeId ? ' (active)' : ''}`,
      detail: `${r.status} · epoch ${r.epochsDone}/${r.epochs} · ${r.params.toLocaleString('en-US')} parameters${r.lastTestAccuracy !== undefined ? ` · acc ${formatPercent(r.lastTestAccuracy)}` : ''}`,
      runId: r.runId,
    }))
    .sort((a, b) => Number(b.runId === activeId) - Number(a.runId === activeId));
}
