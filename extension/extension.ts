/**
 * Growth Lab's VS Code client: commands, settings, the status bar item and the backend process.
 * Logic that needs no VS Code lives in the pure modules next to this file.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import {
  Methods,
  Notifications,
  type GrowEventParams,
  type MetricsParams,
  type RunStatusParams,
  type RunSummary,
  type StartExperimentParams,
} from '../common/protocol';
import { Backend } from './backend';
import { COMMANDS } from './commands';
import { installGpuBackendCommand } from './gpuBackendCommand';
import { exportModelCommand } from './exportModel';
import { growNetworkCommand, newExperimentCommand, resumeRunCommand, type GrowCommandDeps } from './growCommands';
import { ExperimentsView } from './experimentsView';
import { LiveMonitorView } from './liveMonitorView';
import { ProposalManager } from './proposals';
import { ReviewDocuments } from './review';
import {
  EXPERIMENT_GLOB,
  backendErrorText,
  configuredEpochs,
  experimentName,
  isExperimentFile,
  isInvalidExperimentError,
  outDirFor,
  parseExperimentText,
} from './experimentFile';
import { MonitorManager } from './monitor';
import { RunTracker, chooseRunTarget, formatPercent, noRunMessage, statusBarView, type RunAction } from './runTracker';
import { BACKEND_SETTINGS, SETTINGS_SECTION, reviewMode } from './settings';

const SHOW_LOGS = 'Show logs';
const RESTART_BACKEND = 'Restart Backend';
const RESUME_RUN = 'Resume';

let backend: Backend | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Growth Lab');
  const tracker = new RunTracker();
  const statusItem = vscode.window.createStatusBarItem('growthLab.run', vscode.StatusBarAlignment.Left, 50);
  statusItem.name = 'Growth Lab run';
  statusItem.command = COMMANDS.openMonitor;
  context.subscriptions.push(output, statusItem);

  const showLogs = (): void => output.show(true);
  const errorWithLogs = (message: string): void => {
    void vscode.window.showErrorMessage(message, SHOW_LOGS).then((c) => { if (c === SHOW_LOGS) showLogs(); });
  };

  const be = new Backend(context, output, {
    onCrash: () => {
      tracker.clear();
      proposals.forget();
    },
    onReady: () => {
      void refreshRuns();
      experiments.refresh(0);
      liveMonitor.onBackendReady();
      monitor.onBackendReady();
    },
    onGaveUp: (message) => {
      void vscode.window.showErrorMessage(message, SHOW_LOGS, RESTART_BACKEND).then((choice) => {
        if (choice === SHOW_LOGS) showLogs();
        else if (choice === RESTART_BACKEND) void vscode.commands.executeCommand(COMMANDS.restartBackend);
      });
    },
    notifications: {
      [Notifications.runStatus]: (p: RunStatusParams) => {
        if (p.status !== 'running' && p.status !== 'paused') proposals.forget(p.runId);
        onRunStatus(p);
        experiments.refresh();
        liveMonitor.onStatus(p);
        monitor.onStatus(p);
      },
      [Notifications.metrics]: (p: MetricsParams) => {
        tracker.onMetrics(p);
        experiments.refresh(3000);
        liveMonitor.onMetrics(p);
        monitor.onMetrics(p);
      },
      [Notifications.growEvent]: (p: GrowEventParams) => {
        reviews.add(p);
        experiments.onGrow(p);
        liveMonitor.onGrow(p);
        monitor.onGrow(p);
      },
    },
  });
  backend = be;
  context.subscriptions.push({ dispose: () => void be.dispose() });

  // Before/after architecture documents of grow events (growth-lab: scheme, opened with vscode.diff).
  const reviews = new ReviewDocuments();
  context.subscriptions.push(reviews);
  // growthLab.review = ask: proposed grows wait for Accept / Reject.
  // The Experiments tree in the Growth Lab side bar.
  const experiments = new ExperimentsView(be);
  context.subscriptions.push(experiments);
  // The compact live monitor under it (the Growth Monitor page in a webview view, following the active run).
  const liveMonitor = new LiveMonitorView(context, be, tracker);
  context.subscriptions.push(liveMonitor);
  const proposals = new ProposalManager(be, reviews, errorWithLogs, (runId) => tracker.get(runId)?.name ?? runId);

  // The Growth Monitor panel (command growthLab.openMonitor, restored after a window reload).
  const monitor = new MonitorManager(context, be, tracker);
  context.subscriptions.push(monitor);

  // --- run tracking and the status bar ------------------------------------------------------

  function onRunStatus(p: RunStatusParams): void {
    const before = tracker.get(p.runId);
    const seenWarnings = new Set(before?.warnings ?? []);
    const hadStatus = before?.status;
    const run = tracker.onStatus(p);
    for (const w of run.warnings) {
      if (!seenWarnings.has(w)) void vscode.window.showWarningMessage(`Growth Lab: ${run.name}: ${w}`);
    }
    if (hadStatus === p.status) return;
    if (p.status === 'failed') {
      // A failed run can continue from its latest checkpoint (growthLab/resumeRun).
      void vscode.window
        .showErrorMessage(`Growth Lab: run ${run.name} (${run.runId}) failed${p.message ? `: ${p.message}` : '.'}`, RESUME_RUN, SHOW_LOGS)
        .then((c) => {
          if (c === SHOW_LOGS) showLogs();
          else if (c === RESUME_RUN) void vscode.commands.executeCommand(COMMANDS.resumeRun, run.runId);
        });
    }
    else if (p.status === 'completed') {
      const acc = run.testAccuracy !== undefined ? ` (test accuracy ${formatPercent(run.testAccuracy)})` : '';
      void vscode.window.showInformationMessage(`Growth Lab: run ${run.name} (${run.runId}) completed${acc}.`);
    }
  }

  const updateStatusBar = (): void => {
    const view = statusBarView(tracker.active);
    if (!view) { statusItem.hide(); return; }
    statusItem.text = view.text;
    statusItem.tooltip = view.tooltip;
    statusItem.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    statusItem.show();
  };
  const unsubscribe = tracker.onDidChange(updateStatusBar);
  context.subscriptions.push({ dispose: unsubscribe });

  async function refreshRuns(): Promise<RunSummary[] | undefined> {
    try {
      const runs = await be.request(Methods.listRuns, {});
      tracker.mergeSummaries(runs);
      return runs;
    } catch (err) {
      be.log(`listRuns failed: ${backendErrorText(err)}`);
      return undefined;
    }
  }

  // --- commands --------------------------------------------------------------------------

  async function startExperiment(arg?: unknown): Promise<void> {
    const uri = await resolveExperimentUri(arg);
    if (!uri) return;
    const label = path.basename(uri.fsPath);
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.isDirty && !(await doc.save())) {
      void vscode.window.showErrorMessage(`Growth Lab: ${label} could not be saved; the experiment was not started.`);
      return;
    }
    const parsed = parseExperimentText(doc.getText(), label);
    if (!parsed.ok) {
      void vscode.window.showErrorMessage(`Growth Lab: ${parsed.message}`);
      return;
    }
    const workspaceDir = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const params: StartExperimentParams = { config: parsed.config, configPath: uri.fsPath, outDir: outDirFor(workspaceDir, uri.fsPath) };
    const name = experimentName(parsed.config, uri.fsPath);
    try {
      const pending = be.request(Methods.startExperiment, params);
      vscode.window.setStatusBarMessage(`$(sync~spin) Growth Lab: starting ${name}…`, pending);
      const { runId } = await pending;
      tracker.started(runId, { name, epochs: configuredEpochs(parsed.config), configPath: uri.fsPath });
      be.log(`started ${name} from ${uri.fsPath} as run ${runId}`);
      void vscode.window.showInformationMessage(`Growth Lab: started ${name} (run ${runId}).`);
      void refreshRuns();
    } catch (err) {
      const text = backendErrorText(err);
      be.log(`startExperiment ${uri.fsPath} failed: ${text}`);
      const message = `Growth Lab: ${label}: ${text}`;
      if (isInvalidExperimentError(err)) void vscode.window.showErrorMessage(message);
      else errorWithLogs(message);
    }
  }

  async function resolveExperimentUri(arg: unknown): Promise<vscode.Uri | undefined> {
    // An Experiments tree item carries the file's path.
    if (arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) && typeof (arg as { path?: unknown }).path === 'string') arg = (arg as { path: string }).path;
    if (arg instanceof vscode.Uri) {
      if (isExperimentFile(arg.path)) return arg;
      void vscode.window.showErrorMessage(`Growth Lab: ${path.basename(arg.path)} is not an experiment file (*.growth.json).`);
      return undefined;
    }
    // The CodeLens passes the document's URI as a string.
    if (typeof arg === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(arg) && isExperimentFile(arg)) return vscode.Uri.parse(arg);
    if (typeof arg === 'string' && isExperimentFile(arg)) return vscode.Uri.file(arg);
    const active = vscode.window.activeTextEditor?.document;
    if (active && active.uri.scheme === 'file' && isExperimentFile(active.fileName)) return active.uri;
    const files = await vscode.workspace.findFiles(EXPERIMENT_GLOB, '**/{node_modules,.growth-lab}/**');
    if (files.length === 0) {
      void vscode.window.showErrorMessage('Growth Lab: no experiment file (*.growth.json) in the workspace.');
      return undefined;
    }
    if (files.length === 1) return files[0];
    const items = files
      .map((f) => ({ label: path.basename(f.fsPath), description: path.dirname(vscode.workspace.asRelativePath(f)), uri: f }))
      .sort((a, b) => a.label.localeCompare(b.label) || a.description.localeCompare(b.description));
    const picked = await vscode.window.showQuickPick(items, { title: 'Growth Lab: Start Experiment', placeHolder: 'Experiment file to run' });
    return picked?.uri;
  }

  async function runCommand(action: RunAction, arg?: unknown): Promise<void> {
    const method = { stop: Methods.stopExperiment, pause: Methods.pauseExperiment, resume: Methods.resumeExperiment }[action];
    let runId = typeof arg === 'string' ? arg : (arg as { runId?: unknown } | undefined)?.runId;
    try {
      if (typeof runId !== 'string') {
        const summaries = (await refreshRuns()) ?? [];
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
          const picked = await vscode.window.showQuickPick(items, { title: `Growth Lab: ${verb} Experiment`, placeHolder: `Run to ${action}` });
          if (!picked) return;
          runId = picked.runId;
        } else {
          runId = target.runId;
        }
      }
      await be.request(method, { runId: runId as string });
      const name = tracker.get(runId as string)?.name ?? runId;
      const done = { stop: 'stopping', pause: 'pausing', resume: 'resuming' }[action];
      vscode.window.setStatusBarMessage(`Growth Lab: ${done} ${name}`, 3000);
    } catch (err) {
      errorWithLogs(`Growth Lab: could not ${action} ${typeof runId === 'string' ? `run ${runId}` : 'the experiment'}: ${backendErrorText(err)}`);
    }
  }

  async function restartBackend(): Promise<void> {
    const live = tracker.all().filter((r) => r.status === 'running' || r.status === 'paused');
    if (live.length > 0 && be.isRunning()) {
      const ok = await vscode.window.showWarningMessage(
        `Restarting the Growth Lab backend ends ${live.length} running or paused experiment${live.length === 1 ? '' : 's'}.`,
        { modal: true },
        RESTART_BACKEND,
      );
      if (ok !== RESTART_BACKEND) return;
    }
    tracker.clear();
    proposals.forget();
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Growth Lab: restarting the backend' },
        () => be.restart(),
      );
      vscode.window.setStatusBarMessage('Growth Lab: backend restarted', 3000);
    } catch (err) {
      errorWithLogs(`Growth Lab: ${(err as Error).message ?? err}`);
    }
  }

  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.startExperiment, (arg?: unknown) => startExperiment(arg)),
    vscode.commands.registerCommand(COMMANDS.stopExperiment, (arg?: unknown) => runCommand('stop', arg)),
    vscode.commands.registerCommand(COMMANDS.pauseExperiment, (arg?: unknown) => runCommand('pause', arg)),
    vscode.commands.registerCommand(COMMANDS.resumeExperiment, (arg?: unknown) => runCommand('resume', arg)),
    vscode.commands.registerCommand(COMMANDS.restartBackend, () => restartBackend()),
    vscode.commands.registerCommand(COMMANDS.showLogs, showLogs),
    vscode.commands.registerCommand(COMMANDS.exportModel, (arg?: unknown) => exportModelCommand({ backend: be, tracker, refreshRuns, errorWithLogs }, arg)),
    vscode.commands.registerCommand(COMMANDS.installGpuBackend, () =>
      installGpuBackendCommand({ storageDir: context.globalStorageUri.fsPath, log: (l) => be.log(l), restartBackend, showLogs })),
  );

  const growDeps: GrowCommandDeps = {
    backend: be,
    tracker,
    reviews,
    refreshRuns,
    errorWithLogs,
    schemaUri: vscode.Uri.file(context.asAbsolutePath('dist/experiment.schema.json')),
    get proposeGrow() {
      if (reviewMode(vscode.workspace.getConfiguration(SETTINGS_SECTION)) !== 'ask') return undefined;
      return (runId: string, method: string, options: Record<string, unknown>) => proposals.propose(runId, method, options);
    },
  };
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.growNetwork, (arg?: unknown) => growNetworkCommand(growDeps, arg, 'grow')),
    vscode.commands.registerCommand(COMMANDS.pruneNetwork, (arg?: unknown) => growNetworkCommand(growDeps, arg, 'prune')),
    vscode.commands.registerCommand(COMMANDS.newExperiment, (arg?: unknown) => newExperimentCommand(growDeps, arg)),
    vscode.commands.registerCommand(COMMANDS.resumeRun, (arg?: unknown) => resumeRunCommand(growDeps, arg)),
    vscode.commands.registerCommand(COMMANDS.refreshExperiments, () => experiments.refresh(0)),
    vscode.commands.registerCommand(COMMANDS.acceptProposal, (arg?: unknown) => proposals.command('commit', arg)),
    vscode.commands.registerCommand(COMMANDS.rejectProposal, (arg?: unknown) => proposals.command('reject', arg)),
    vscode.commands.registerCommand(COMMANDS.openGrowEvent, (arg?: unknown) => {
      const event = (arg as { event?: GrowEventParams } | undefined)?.event ?? (arg as GrowEventParams | undefined);
      if (event && typeof event === 'object' && 'before' in event && 'after' in event) return reviews.open(event);
      return undefined;
    }),
  );

  // --- settings ------------------------------------------------------------------------------

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!BACKEND_SETTINGS.some((k) => e.affectsConfiguration(`${SETTINGS_SECTION}.${k}`))) return;
      if (!be.isRunning()) return; // the next start uses the new settings
      void vscode.window
        .showInformationMessage('Growth Lab: restart the backend to use the new engine, execution provider or Node settings.', RESTART_BACKEND)
        .then((choice) => { if (choice === RESTART_BACKEND) void vscode.commands.executeCommand(COMMANDS.restartBackend); });
    }),
  );

  // Start the backend now: it also serves the *.growth.json documents.
  be.ensureStarted().catch((err) => be.log(`${(err as Error).message ?? err}`));
}

export async function deactivate(): Promise<void> {
  const be = backend;
  backend = undefined;
  await be?.dispose();
}
