/**
 * Every command of the extension: its id (commands.ts COMMANDS, contributed in package.json) and
 * the factory that makes its handler from the Ctx. The table's type requires one entry per id, so
 * a command in package.json cannot be left unregistered.
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../commands';
import type { Ctx } from '../ctx';
import { restartBackend, showLogs } from './backend';
import { exportModel } from './exportModel';
import { growNetwork, pruneNetwork } from './growNetwork';
import { installGpuBackend } from './installGpuBackend';
import { downloadDataset } from './downloadDataset';
import { newExperiment } from './newExperiment';
import { acceptProposal, rejectProposal } from './proposals';
import { resumeRun } from './resumeRun';
import { pauseExperiment, resumeExperiment, stopExperiment } from './runControl';
import { startExperiment } from './startExperiment';
import { openGrowEvent, openMonitor, refreshExperiments } from './views';
import { MANAGE_TRUST, MANAGE_TRUST_COMMAND, guardCommand } from '../workspaceTrust';

/** A command handler: VS Code passes the arguments of `executeCommand` or of the menu item. */
export type Command = (arg?: unknown) => Promise<void>;
export type CommandFactory = (ctx: Ctx) => Command;

export const COMMAND_TABLE: { readonly [K in keyof typeof COMMANDS]: CommandFactory } = {
  startExperiment,
  stopExperiment,
  pauseExperiment,
  resumeExperiment,
  restartBackend,
  showLogs,
  openMonitor,
  exportModel,
  growNetwork,
  pruneNetwork,
  newExperiment,
  resumeRun,
  openGrowEvent,
  acceptProposal,
  rejectProposal,
  refreshExperiments,
  installGpuBackend,
  downloadDataset,
};

/** Restricted Mode: the refusal of a command that needs a trusted workspace, with a way to grant trust. */
function refuseUntrusted(message: string): void {
  void vscode.window.showWarningMessage(message, MANAGE_TRUST).then((choice) => {
    if (choice === MANAGE_TRUST) void vscode.commands.executeCommand(MANAGE_TRUST_COMMAND);
  });
}

/**
 * Registers every command of the table; the registrations are disposed with the extension. Commands that
 * execute something check vscode.workspace.isTrusted at each call (extension/workspaceTrust.ts), so they
 * work as soon as trust is granted.
 */
export function registerCommands(ctx: Ctx): void {
  for (const key of Object.keys(COMMAND_TABLE) as (keyof typeof COMMANDS)[]) {
    const handler = guardCommand(key, () => vscode.workspace.isTrusted, COMMAND_TABLE[key](ctx), refuseUntrusted);
    ctx.push(vscode.commands.registerCommand(COMMANDS[key], handler));
  }
  ctx.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      ctx.backend.log('workspace trusted: starting, resuming, growing and exporting runs are enabled');
      void vscode.commands.executeCommand(COMMANDS.refreshExperiments);
    }),
  );
}
