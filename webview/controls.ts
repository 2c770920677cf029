/**
 * Which controls apply to the shown run, and the message each one posts (pure: unit-tested).
 */
import type { MonitorAction, PruneMethodName, RunStatus, WebviewToExtensionMessage } from '../common/protocol';

export interface ControlInput {
  runId?: string;
  status?: RunStatus;
  /** The run's status came from a backend that no longer runs. */
  stale?: boolean;
  /** Growth methods the backend offers. */
  growthMethods: readonly string[];
  hasCheckpoint: boolean;
  /** Actions posted and not answered yet (their buttons stay disabled until the answer). */
  busy?: ReadonlySet<MonitorAction>;
  /** A continual-learning run: its methods grow by themselves; no single model to grow, prune or export. */
  continual?: boolean;
  /** Written by a tool outside Growth Lab (a torchrun job): followed, never controlled, grown or exported here. */
  external?: boolean;
}

export type ControlStates = Record<MonitorAction, boolean>;

export function controlStates(c: ControlInput): ControlStates {
  const live = !!c.runId && !c.stale && !c.external && (c.status === 'running' || c.status === 'paused');
  const idle = (a: MonitorAction): boolean => !c.busy?.has(a);
  return {
    start: idle('start'),
    pause: live && c.status === 'running' && idle('pause'),
    resume: live && c.status === 'paused' && idle('resume'),
    stop: live && idle('stop'),
    grow: live && !c.continual && c.growthMethods.length > 0 && idle('grow'),
    prune: live && !c.continual && idle('prune'),
    // Exporting needs weights: a live run's current ones, or a checkpoint on disk.
    export: !!c.runId && !c.continual && !c.external && (live || c.hasCheckpoint) && idle('export'),
  };
}

/** The message a control posts, or undefined when it needs a run and there is none. */
export function controlMessage(
  action: MonitorAction,
  runId: string | undefined,
  methods: { grow?: string; prune?: PruneMethodName } = {},
): WebviewToExtensionMessage | undefined {
  if (action === 'start') return { type: 'start' };
  if (!runId) return undefined;
  switch (action) {
    case 'grow':
      return methods.grow ? { type: 'grow', runId, method: methods.grow } : undefined;
    case 'prune':
      return { type: 'prune', runId, method: methods.prune ?? 'prune-taylor' };
    case 'pause':
    case 'resume':
    case 'stop':
    case 'export':
      return { type: action, runId };
  }
}
