/**
 * The toolbar's run controls on the page: the run picker, Start/Pause/Resume/Stop, Grow now and
 * Prune with their method pickers, Export, and the run's status badge. A control posts its message
 * (controls.ts decides which apply and what they post) and stays disabled until the extension's
 * actionResult, or a timeout, frees it.
 */
import {
  PRUNE_METHODS,
  type MonitorAction,
  type PruneMethodName,
  type RunSummary,
  type WebviewToExtensionMessage,
} from '../common/protocol';
import { summaryView, type RunModel } from '../common/monitor/runModel';
import { controlMessage, controlStates } from './controls';
import { setOptions } from './domHelpers';

type Button = HTMLElement & { disabled: boolean };

const BUTTONS: { action: MonitorAction; label: string; secondary?: boolean; title: string }[] = [
  { action: 'start', label: 'Start', title: 'Start an experiment (*.growth.json)' },
  { action: 'pause', label: 'Pause', secondary: true, title: 'Pause the run after the current batch' },
  { action: 'resume', label: 'Resume', secondary: true, title: 'Resume the paused run' },
  { action: 'stop', label: 'Stop', secondary: true, title: 'Stop the run (its checkpoints are kept)' },
];

export interface RunControlsHost {
  /** The run shown (what the controls act on). */
  runId(): string | undefined;
  post(msg: WebviewToExtensionMessage): void;
  /** Something the controls show changed: redraw them. */
  invalidate(): void;
}

export class RunControls {
  growthMethods: string[] = [];
  pruneMethods: PruneMethodName[] = [...PRUNE_METHODS];
  /** Actions posted and not answered yet. */
  readonly busy = new Set<MonitorAction>();
  private readonly buttons = new Map<MonitorAction, Button>();
  private readonly busyTimers = new Map<MonitorAction, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly $: (id: string) => HTMLElement,
    private readonly host: RunControlsHost,
  ) {
    const bar = $('run-buttons');
    for (const b of BUTTONS) {
      const btn = document.createElement('vscode-button') as Button & { secondary: boolean };
      btn.id = `btn-${b.action}`;
      btn.textContent = b.label;
      btn.title = b.title;
      if (b.secondary) btn.secondary = true;
      bar.appendChild(btn);
      this.buttons.set(b.action, btn);
    }
    this.buttons.set('grow', $('btn-grow') as Button);
    this.buttons.set('prune', $('btn-prune') as Button);
    this.buttons.set('export', $('btn-export') as Button);
    for (const [action, btn] of this.buttons) btn.addEventListener('click', () => this.onControl(action, btn));
    $('run-select').addEventListener('change', (e) => {
      const runId = (e.target as HTMLElement & { value: string }).value;
      if (runId && runId !== host.runId()) host.post({ type: 'selectRun', runId });
    });
    this.fillMethodPickers();
  }

  private onControl(action: MonitorAction, btn: { disabled: boolean }): void {
    if (btn.disabled) return;
    const msg = controlMessage(action, this.host.runId(), {
      grow: (this.$('grow-method') as HTMLElement & { value: string }).value || this.growthMethods[0],
      prune: ((this.$('prune-method') as HTMLElement & { value: string }).value || this.pruneMethods[0]) as PruneMethodName,
    });
    if (!msg) return;
    this.host.post(msg);
    this.busy.add(action);
    // The extension answers every control with actionResult; never leave a button stuck if it does not.
    this.busyTimers.set(
      action,
      setTimeout(() => this.clearBusy(action), action === 'grow' || action === 'prune' ? 120_000 : 15_000),
    );
    this.host.invalidate();
  }

  /** The extension answered (or the answer timed out): the control is free again. */
  clearBusy(action: MonitorAction): void {
    this.busy.delete(action);
    clearTimeout(this.busyTimers.get(action));
    this.busyTimers.delete(action);
    this.host.invalidate();
  }

  /** The methods the backend offers ('none' is no growth method; unknown pruning methods are left out). */
  setCapabilities(growthMethods: readonly string[], pruneMethods: readonly string[]): void {
    this.growthMethods = growthMethods.filter((m) => m !== 'none');
    this.pruneMethods = pruneMethods.filter((m): m is PruneMethodName => (PRUNE_METHODS as readonly string[]).includes(m));
    this.fillMethodPickers();
  }

  private fillMethodPickers(): void {
    setOptions(
      this.$('grow-method'),
      this.growthMethods.map((m) => ({ value: m, label: m })),
      this.growthMethods[0],
      'no growth method',
    );
    setOptions(
      this.$('prune-method'),
      this.pruneMethods.map((m) => ({ value: m, label: m })),
      this.pruneMethods[0],
      'no pruning method',
    );
  }

  fillRunPicker(runs: readonly RunSummary[], selected: string | undefined): void {
    const items = runs.map((r) => ({
      value: r.runId,
      label: `${r.name} · ${r.runId.slice(0, 15)} · ${r.status}${r.stale ? ' (stale)' : ''}${r.external ? ` (external: ${r.external})` : ''}`,
    }));
    if (selected && !items.some((i) => i.value === selected)) items.unshift({ value: selected, label: selected });
    setOptions(this.$('run-select'), items, selected, 'no runs');
  }

  /** Enables what applies to the shown run; its status on the badge. */
  render(model: RunModel | undefined, runSummary: RunSummary | undefined): void {
    const view = model ? summaryView(model, runSummary) : undefined;
    const states = controlStates({
      runId: model?.runId,
      status: view?.status,
      stale: view?.stale,
      growthMethods: this.growthMethods,
      hasCheckpoint: model?.hasCheckpoint ?? false,
      busy: this.busy,
      continual: !!model?.config?.continual,
      external: view?.external !== undefined,
    });
    for (const [action, btn] of this.buttons) if (btn.disabled !== !states[action]) btn.disabled = !states[action];
    const gm = this.$('grow-method') as Button;
    const pm = this.$('prune-method') as Button;
    if (gm.disabled !== !states.grow) gm.disabled = !states.grow;
    if (pm.disabled !== !states.prune) pm.disabled = !states.prune;
    const badge = this.$('run-status');
    const status = view
      ? `${view.status ?? 'unknown'}${view.stale ? ' (stale)' : ''}${view.external ? ` · external ${view.external} job, read-only` : ''}`
      : 'no run';
    if (badge.textContent !== status) badge.textContent = status;
    badge.dataset.status = view?.status ?? 'none';
  }
}
