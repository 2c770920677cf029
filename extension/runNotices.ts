/**
 * Feeds the run tracker from the notification bus and tells the user what happened to a run: its
 * new warnings, a failure (with Resume and Show logs) and a completion (with its test accuracy).
 */
import * as vscode from 'vscode';
import type { RunStatusParams } from '../common/protocol';
import { COMMANDS } from './commands';
import type { NotificationBus, Subscription } from './notificationBus';
import { runCompletedMessage, runFailedMessage, runWarningMessage, type RunTracker } from './runTracker';

export const SHOW_LOGS = 'Show logs';
const RESUME_RUN = 'Resume';

/** Subscribes the tracker (and the run messages) to the bus; returns the subscriptions. */
export function trackRuns(bus: NotificationBus, tracker: RunTracker, showLogs: () => void): Subscription[] {
  return [
    bus.on('runStatus', (p) => onRunStatus(tracker, p, showLogs)),
    bus.on('metrics', (p) => {
      tracker.onMetrics(p);
    }),
    // The runs of a crashed backend are gone.
    bus.on('backendCrashed', () => tracker.clear()),
  ];
}

function onRunStatus(tracker: RunTracker, p: RunStatusParams, showLogs: () => void): void {
  const before = tracker.get(p.runId);
  const seenWarnings = new Set(before?.warnings ?? []);
  const hadStatus = before?.status;
  const run = tracker.onStatus(p);
  for (const w of run.warnings) {
    if (!seenWarnings.has(w)) void vscode.window.showWarningMessage(runWarningMessage(run, w));
  }
  if (hadStatus === p.status) return;
  if (p.status === 'failed') {
    // A failed run can continue from its latest checkpoint (growthLab/resumeRun).
    void vscode.window.showErrorMessage(runFailedMessage(run, p.message), RESUME_RUN, SHOW_LOGS).then((c) => {
      if (c === SHOW_LOGS) showLogs();
      else if (c === RESUME_RUN) void vscode.commands.executeCommand(COMMANDS.resumeRun, run.runId);
    });
  } else if (p.status === 'completed') {
    void vscode.window.showInformationMessage(runCompletedMessage(run));
  }
}
