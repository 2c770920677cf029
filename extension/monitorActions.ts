/**
 * The Growth Monitor's controls (pure: no VS Code imports): Start, Pause, Resume, Stop, Grow, Prune
 * and Export become backend requests or commands, each answered with an `actionResult`.
 */
import {
  Methods,
  type ExtensionToWebviewMessage,
  type GrowEventParams,
  type MonitorAction,
  type WebviewToExtensionMessage,
} from '../common/protocol';
import type { MonitorHost } from './monitorController';

export const EXPORT_NOT_AVAILABLE =
  "Growth Lab: exporting a model is not available yet (it comes with the export feature). The run's checkpoints are kept in its folder, .growth-lab/runs/<runId>/checkpoints/.";

/** The webview messages that are controls. */
export type ActionMessage = Extract<WebviewToExtensionMessage, { type: MonitorAction }>;

export class MonitorActions {
  constructor(
    private readonly host: MonitorHost,
    private readonly post: (msg: ExtensionToWebviewMessage) => void,
  ) {}

  async handle(msg: ActionMessage): Promise<void> {
    switch (msg.type) {
      case 'start':
        return this.run('start', undefined, async () => {
          await this.host.startExperiment();
          return undefined;
        });
      case 'pause':
      case 'resume':
      case 'stop': {
        const method = { pause: Methods.pauseExperiment, resume: Methods.resumeExperiment, stop: Methods.stopExperiment }[msg.type];
        return this.run(msg.type, msg.runId, async () => {
          await this.host.request(method, { runId: msg.runId });
          return undefined;
        });
      }
      case 'grow': {
        const known = this.host.growthMethods();
        if (known && !known.includes(msg.method)) {
          const message = `Growth Lab: the backend has no growth method "${msg.method}" (it has: ${known.join(', ') || 'none'}).`;
          this.host.notify('error', message);
          this.post({ type: 'actionResult', action: 'grow', runId: msg.runId, ok: false, message });
          return;
        }
        if (await this.host.proposeGrow?.(msg.runId, msg.method)) {
          this.post({
            type: 'actionResult',
            action: 'grow',
            runId: msg.runId,
            ok: true,
            message: `Proposed a grow with ${msg.method}: review the diff, then Accept or Reject.`,
          });
          return;
        }
        return this.run('grow', msg.runId, async () =>
          describeStep(await this.host.request(Methods.grow, { runId: msg.runId, method: msg.method })),
        );
      }
      case 'prune':
        return this.run('prune', msg.runId, async () =>
          describeStep(await this.host.request(Methods.prune, { runId: msg.runId, options: { method: msg.method } })),
        );
      case 'export':
        return this.exportRun(msg.runId);
    }
  }

  private async exportRun(runId: string): Promise<void> {
    let exported = false;
    try {
      exported = (await this.host.exportRun?.(runId)) ?? false;
    } catch (err) {
      const message = `Growth Lab: could not export run ${runId}: ${this.host.errorText(err)}`;
      this.host.notify('error', message);
      this.post({ type: 'actionResult', action: 'export', runId, ok: false, message });
      return;
    }
    if (exported) {
      this.post({ type: 'actionResult', action: 'export', runId, ok: true });
      return;
    }
    this.host.notify('info', EXPORT_NOT_AVAILABLE);
    this.post({ type: 'actionResult', action: 'export', runId, ok: false, message: EXPORT_NOT_AVAILABLE });
  }

  private async run(action: MonitorAction, runId: string | undefined, run: () => Promise<string | undefined>): Promise<void> {
    try {
      const message = await run();
      this.post({ type: 'actionResult', action, runId, ok: true, message });
    } catch (err) {
      const message = `Growth Lab: could not ${action === 'grow' ? 'grow' : action} ${runId ? `run ${runId}` : 'an experiment'}: ${this.host.errorText(err)}`;
      this.host.notify('error', message);
      this.post({ type: 'actionResult', action, runId, ok: false, message });
    }
  }
}

/** One line for a grow or prune answer, e.g. "firefly: +12 / −0 neurons, loss 0.41 → 0.40, 310 ms". */
export function describeStep(e: GrowEventParams): string {
  let added = 0,
    removed = 0;
  for (const d of e.diff) {
    added += d.added.length + d.split.length - new Set(d.split.map((s) => s.parent)).size;
    removed += d.removed.length;
  }
  const f = (v: number) => (Number.isFinite(v) ? v.toPrecision(4) : String(v));
  return `${e.kind === 'prune' ? 'Pruned' : 'Grew'} with ${e.method} at step ${e.step}: +${added} / −${removed} neurons, ${e.before.params.toLocaleString('en-US')} → ${e.after.params.toLocaleString('en-US')} parameters, loss ${f(e.lossBefore)} → ${f(e.lossAfter)} (${e.durationMs} ms).`;
}
