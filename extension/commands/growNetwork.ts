/**
 * growthLab.growNetwork / pruneNetwork: pick a live run, a method (from the backend's capabilities)
 * and a budget, then grow or prune and open the before/after diff. With growthLab.review = ask a
 * grow is proposed instead (Accept / Reject). Pure parts (method items, budget parsing) live in
 * growMethods.ts.
 */
import * as vscode from 'vscode';
import { Methods, type GrowEventParams } from '../../common/protocol';
import type { Ctx } from '../ctx';
import { backendErrorText } from '../experimentFile';
import { growableRuns, methodPickItems, parseBudget } from '../growMethods';
import { SETTINGS_SECTION, reviewMode } from '../settings';
import { runIdOf, runItems } from './runPicks';

/** The run to grow or prune: the argument, the active live run, the only live run, or a quick pick. */
async function pickLiveRun(ctx: Ctx, arg: unknown, verb: string): Promise<string | undefined> {
  const given = runIdOf(arg);
  if (given) return given;
  const active = ctx.tracker.active;
  if (active && (active.status === 'running' || active.status === 'paused') && !active.stale) return active.runId;
  const live = growableRuns((await ctx.refreshRuns()) ?? []);
  if (live.length === 0) {
    void vscode.window.showInformationMessage(`Growth Lab: no running or paused experiment to ${verb.toLowerCase()}.`);
    return undefined;
  }
  if (live.length === 1) return live[0].runId;
  const picked = await vscode.window.showQuickPick(runItems(live, active?.runId), {
    title: `Growth Lab: ${verb} Network`,
    placeHolder: `Run to ${verb.toLowerCase()}`,
  });
  return picked?.runId;
}

async function askBudget(kind: 'grow' | 'prune', title: string): Promise<Record<string, unknown> | undefined> {
  const input = await vscode.window.showInputBox({
    title,
    prompt:
      kind === 'grow'
        ? "Budget: a growth ratio (0.5 or 50% of each layer's width) or a neuron count (e.g. 32). Empty: the method's default."
        : "Budget: a prune ratio (0.1 or 10% of each layer's width) or a neuron count (e.g. 8). Empty: the method's default.",
    placeHolder: kind === 'grow' ? '0.5' : '0.1',
    validateInput: (v) => {
      const r = parseBudget(v, kind);
      return r.ok ? undefined : r.message;
    },
  });
  if (input === undefined) return undefined;
  const r = parseBudget(input, kind);
  return r.ok ? { ...(r.budget ?? {}) } : undefined;
}

const growOrPrune =
  (kind: 'grow' | 'prune') =>
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> => {
    const verb = kind === 'grow' ? 'Grow' : 'Prune';
    const runId = await pickLiveRun(ctx, arg, verb);
    if (!runId) return;
    const name = ctx.tracker.get(runId)?.name ?? runId;
    const givenMethod =
      typeof (arg as { method?: unknown } | undefined)?.method === 'string' ? (arg as { method: string }).method : undefined;
    let method = givenMethod;
    if (!method) {
      const items = methodPickItems(kind, ctx.backend.capabilities);
      if (items.length === 0) {
        void vscode.window.showErrorMessage(`Growth Lab: the backend offers no ${kind} method.`);
        return;
      }
      const picked = await vscode.window.showQuickPick(items, {
        title: `Growth Lab: ${verb} ${name} (method)`,
        placeHolder: 'Method',
        matchOnDescription: true,
        matchOnDetail: true,
      });
      if (!picked) return;
      method = picked.method;
    }
    const budget = await askBudget(kind, `Growth Lab: ${verb} ${name} with ${method} (budget)`);
    if (!budget) return;
    // growthLab.review = ask: grow with `propose: true` and show Accept / Reject.
    if (kind === 'grow' && reviewMode(vscode.workspace.getConfiguration(SETTINGS_SECTION)) === 'ask') {
      await ctx.proposals.propose(runId, method, budget);
      return;
    }
    let event: GrowEventParams;
    try {
      event = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Growth Lab: ${kind === 'grow' ? 'growing' : 'pruning'} ${name} with ${method}…`,
        },
        () =>
          kind === 'grow'
            ? ctx.backend.request(Methods.grow, { runId, method: method!, options: budget })
            : ctx.backend.request(Methods.prune, {
                runId,
                options: { ...budget, method: method as 'prune-taylor' | 'prune-gauss-newton' },
              }),
      );
    } catch (err) {
      ctx.errorWithLogs(`Growth Lab: could not ${kind} ${name}: ${backendErrorText(err)}`);
      return;
    }
    ctx.backend.log(`${kind} ${runId} with ${method}: ${event.before.params} -> ${event.after.params} parameters`);
    await ctx.reviews.open(event);
  };

export const growNetwork = growOrPrune('grow');
export const pruneNetwork = growOrPrune('prune');
