/**
 * Restricted Mode (pure: no VS Code imports, unit-tested). In an untrusted workspace Growth Lab reads runs
 * and shows the monitor, but refuses the commands that execute something or write files: starting,
 * resuming, growing or pruning a run, exporting a model and installing the GPU backend. The check is made
 * when a command runs, so granting trust (onDidGrantWorkspaceTrust) enables them at once.
 * package.json `capabilities.untrustedWorkspaces` says the same.
 */
import { Methods } from '../common/protocol';
import { COMMAND_TITLES, type COMMANDS } from './commands';

export type CommandKey = keyof typeof COMMANDS;

/** Commands refused while the workspace is not trusted. */
export const TRUST_REQUIRED: ReadonlySet<CommandKey> = new Set<CommandKey>([
  'startExperiment',
  'resumeExperiment',
  'resumeRun',
  'growNetwork',
  'pruneNetwork',
  'acceptProposal',
  'exportModel',
  'installGpuBackend',
  'downloadDataset',
]);

export const MANAGE_TRUST = 'Manage Workspace Trust';
/** VS Code's command behind MANAGE_TRUST. */
export const MANAGE_TRUST_COMMAND = 'workbench.trust.manage';

export function requiresTrust(key: CommandKey): boolean {
  return TRUST_REQUIRED.has(key);
}

export function restrictedModeMessage(key: CommandKey): string {
  return `Growth Lab: ${COMMAND_TITLES[key]} is disabled in Restricted Mode: this workspace is not trusted. Reading runs and the monitor work; trust the workspace to start, resume, grow or export runs.`;
}

/**
 * The handler VS Code registers for `key`: the command itself when the workspace is trusted (asked at each
 * call) or the command needs no trust, else `refuse` with the message.
 */
export function guardCommand<A extends unknown[]>(
  key: CommandKey,
  isTrusted: () => boolean,
  run: (...args: A) => Promise<void>,
  refuse: (message: string) => void,
): (...args: A) => Promise<void> {
  if (!requiresTrust(key)) return run;
  return async (...args: A) => {
    if (!isTrusted()) {
      refuse(restrictedModeMessage(key));
      return;
    }
    await run(...args);
  };
}

/** Backend requests that start, resume, grow or export (the monitor page sends some of them directly). */
export const TRUST_REQUIRED_METHODS: ReadonlySet<string> = new Set([
  Methods.startExperiment,
  Methods.resumeExperiment,
  Methods.resumeRun,
  Methods.grow,
  Methods.prune,
  Methods.commitProposal,
  Methods.export,
  Methods.downloadDataset,
]);

/** The refusal of a backend request in Restricted Mode, or undefined when it may be sent. */
export function requestRefusal(method: string, trusted: boolean): string | undefined {
  if (trusted || !TRUST_REQUIRED_METHODS.has(method)) return undefined;
  return `Growth Lab: ${method.replace(/^growthLab\//, '')} is disabled in Restricted Mode: this workspace is not trusted. Trust the workspace to start, resume, grow or export runs.`;
}
