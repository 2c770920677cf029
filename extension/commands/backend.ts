/** growthLab.restartBackend and growthLab.showLogs. */
import * as vscode from 'vscode';
import { RESTART_BACKEND, type Ctx } from '../ctx';

/** Restarts the backend (asking first when runs would end); the tracker and pending proposals start over. */
export const restartBackend = (ctx: Ctx) => async (): Promise<void> => {
  const be = ctx.backend;
  const live = ctx.tracker.all().filter((r) => r.status === 'running' || r.status === 'paused');
  if (live.length > 0 && be.isRunning()) {
    const ok = await vscode.window.showWarningMessage(
      `Restarting the Growth Lab backend ends ${live.length} running or paused experiment${live.length === 1 ? '' : 's'}.`,
      { modal: true },
      RESTART_BACKEND,
    );
    if (ok !== RESTART_BACKEND) return;
  }
  ctx.tracker.clear();
  ctx.proposals.forget();
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Growth Lab: restarting the backend' }, () =>
      be.restart(),
    );
    vscode.window.setStatusBarMessage('Growth Lab: backend restarted', 3000);
  } catch (err) {
    ctx.errorWithLogs(`Growth Lab: ${(err as Error).message ?? err}`);
  }
};

export const showLogs = (ctx: Ctx) => async (): Promise<void> => {
  ctx.showLogs();
};
