/** Commands that show something: growthLab.openMonitor, refreshExperiments and openGrowEvent. */
import { validateWebviewMessage, type GrowEventParams } from '../../common/protocol';
import type { Ctx } from '../ctx';

/** Opens (or reveals) the Growth Monitor panel; with a run id (a string or {runId}), shows that run. */
export const openMonitor =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> => {
    ctx.views.monitor.open(runIdArg(arg));
  };

export const refreshExperiments = (ctx: Ctx) => async (): Promise<void> => {
  ctx.views.experiments.refresh(0);
};

/** Opens the before/after diff of a grow event (an Experiments tree item carries {event}). */
export const openGrowEvent =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> => {
    const event = (arg as { event?: GrowEventParams } | undefined)?.event ?? (arg as GrowEventParams | undefined);
    if (event && typeof event === 'object' && 'before' in event && 'after' in event) return ctx.reviews.open(event);
    return undefined;
  };

function runIdArg(arg: unknown): string | undefined {
  const id = typeof arg === 'string' ? arg : (arg as { runId?: unknown } | undefined)?.runId;
  if (typeof id !== 'string') return undefined;
  const v = validateWebviewMessage({ type: 'selectRun', runId: id });
  return v.ok ? id : undefined;
}
