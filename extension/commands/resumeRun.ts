/** growthLab.resumeRun: continue a failed or stopped run from its latest checkpoint (growthLab/resumeRun). */
import * as vscode from 'vscode';
import { Methods } from '../../common/protocol';
import type { Ctx } from '../ctx';
import { backendErrorText } from '../experimentFile';
import { resumableRuns } from '../growMethods';
import { runIdOf, runItems } from './runPicks';
import { plainText } from '../plainText';

export const resumeRun =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> => {
    let runId = runIdOf(arg);
    if (!runId) {
      const runs = resumableRuns((await ctx.refreshRuns()) ?? []);
      if (runs.length === 0) {
        void vscode.window.showInformationMessage('Growth Lab: no failed or stopped run to resume.');
        return;
      }
      const picked = await vscode.window.showQuickPick(runItems(runs, undefined), {
        title: 'Growth Lab: Resume Run',
        placeHolder: 'Run to continue from its latest checkpoint',
      });
      if (!picked) return;
      runId = picked.runId;
    }
    try {
      const { runId: newId } = await ctx.backend.request(Methods.resumeRun, { runId });
      const name = ctx.tracker.get(runId)?.name ?? runId;
      ctx.tracker.started(newId, { name });
      void vscode.window.showInformationMessage(plainText(`Growth Lab: resumed ${name}${newId !== runId ? ` as run ${newId}` : ''}.`));
      void ctx.refreshRuns();
    } catch (err) {
      ctx.errorWithLogs(`Growth Lab: could not resume run ${runId}: ${backendErrorText(err)}`);
    }
  };
