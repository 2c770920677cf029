/**
 * growthLab.stopExperiment / pauseExperiment / resumeExperiment: the run given (a run id or
 * {runId}), else the active run when its status fits, the only fitting run, or a quick pick.
 */
import * as vscode from 'vscode';
import { Methods } from '../../common/protocol';
import type { Ctx } from '../ctx';
import { backendErrorText } from '../experimentFile';
import { plainText } from '../plainText';
import { chooseRunTarget, formatPercent, noRunMessage, type RunAction } from '../runTracker';

const runControl =
  (action: RunAction) =>
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> => {
    const { backend: be, tracker } = ctx;
    const method = { stop: Methods.stopExperiment, pause: Methods.pauseExperiment, resume: Methods.resumeExperiment }[action];
    let runId = typeof arg === 'string' ? arg : (arg as { runId?: unknown } | undefined)?.runId;
    try {
      if (typeof runId !== 'string') {
        const summaries = (await ctx.refreshRuns()) ?? [];
        const target = chooseRunTarget(action, tracker.active, summaries);
        if (target.kind === 'none') {
          void vscode.window.showInformationMessage(noRunMessage(action));
          return;
        }
        if (target.kind === 'pick') {
          const activeId = tracker.active?.runId;
          const items = target.runs
            .map((r) => ({
              label: r.name,
              description: `${r.runId}${r.runId === activeId ? ' (active)' : ''}`,
              detail: `${r.status} · epoch ${r.epochsDone}/${r.epochs}${r.lastTestAccuracy !== undefined ? ` · acc ${formatPercent(r.lastTestAccuracy)}` : ''} · ${r.engine}/${r.executionProvider}`,
              runId: r.runId,
            }))
            .sort((a, b) => Number(b.runId === activeId) - Number(a.runId === activeId));
          const verb = action[0].toUpperCase() + action.slice(1);
          const picked = await vscode.window.showQuickPick(items, {
            title: `Growth Lab: ${verb} Experiment`,
            placeHolder: `Run to ${action}`,
          });
          if (!picked) return;
          runId = picked.runId;
        } else {
          runId = target.runId;
        }
      }
      await be.request(method, { runId: runId as string });
      const name = tracker.get(runId as string)?.name ?? runId;
      const done = { stop: 'stopping', pause: 'pausing', resume: 'resuming' }[action];
      vscode.window.setStatusBarMessage(`Growth Lab: ${done} ${plainText(name, { max: 60 })}`, 3000);
    } catch (err) {
      ctx.errorWithLogs(
        `Growth Lab: could not ${action} ${typeof runId === 'string' ? `run ${runId}` : 'the experiment'}: ${backendErrorText(err)}`,
      );
    }
  };

export const stopExperiment = runControl('stop');
export const pauseExperiment = runControl('pause');
export const resumeExperiment = runControl('resume');
