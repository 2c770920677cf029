/**
 * The Grow network / Prune network / New experiment / Resume failed run commands. Pure parts
 * (method items, budget parsing, the new file's text) live in growCommand.ts.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { DATASET_NAMES, Methods, type DatasetName, type GrowEventParams, type RunSummary } from '../common/protocol';
import type { Backend } from './backend';
import { backendErrorText } from './experimentFile';
import {
  CONTINUAL_STREAM_CHOICES,
  DATASET_DESCRIPTIONS,
  STARTING_MODELS,
  freeExperimentFileName,
  growableRuns,
  methodPickItems,
  newContinualExperimentText,
  newExperimentText,
  parseBudget,
  resumableRuns,
} from './growCommand';
import type { ReviewDocuments } from './review';
import { formatPercent, type RunTracker } from './runTracker';

export interface GrowCommandDeps {
  backend: Backend;
  tracker: RunTracker;
  reviews: ReviewDocuments;
  refreshRuns(): Promise<RunSummary[] | undefined>;
  errorWithLogs(message: string): void;
  /** The extension's own schema file (dist/experiment.schema.json), for "$schema". */
  schemaUri: vscode.Uri;
  /** Grows with `propose: true` and shows Accept/Reject (setting growthLab.review = ask). */
  proposeGrow?(runId: string, method: string, options: Record<string, unknown>): Promise<void>;
}

function runIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const r = (arg as { runId?: unknown } | undefined)?.runId;
  return typeof r === 'string' ? r : undefined;
}

function runItems(runs: readonly RunSummary[], activeId: string | undefined) {
  return runs
    .map((r) => ({
      label: r.name,
      description: `${r.runId}${r.runId === activeId ? ' (active)' : ''}`,
      detail: `${r.status} · epoch ${r.epochsDone}/${r.epochs} · ${r.params.toLocaleString('en-US')} parameters${r.lastTestAccuracy !== undefined ? ` · acc ${formatPercent(r.lastTestAccuracy)}` : ''}`,
      runId: r.runId,
    }))
    .sort((a, b) => Number(b.runId === activeId) - Number(a.runId === activeId));
}

/** The run to grow or prune: the argument, the active live run, the only live run, or a quick pick. */
async function pickLiveRun(deps: GrowCommandDeps, arg: unknown, verb: string): Promise<string | undefined> {
  const given = runIdOf(arg);
  if (given) return given;
  const active = deps.tracker.active;
  if (active && (active.status === 'running' || active.status === 'paused') && !active.stale) return active.runId;
  const live = growableRuns((await deps.refreshRuns()) ?? []);
  if (live.length === 0) {
    void vscode.window.showInformationMessage(`Growth Lab: no running or paused experiment to ${verb.toLowerCase()}.`);
    return undefined;
  }
  if (live.length === 1) return live[0].runId;
  const picked = await vscode.window.showQuickPick(runItems(live, active?.runId), { title: `Growth Lab: ${verb} Network`, placeHolder: `Run to ${verb.toLowerCase()}` });
  return picked?.runId;
}

async function askBudget(kind: 'grow' | 'prune', title: string): Promise<Record<string, unknown> | undefined> {
  const input = await vscode.window.showInputBox({
    title,
    prompt: kind === 'grow'
      ? 'Budget: a growth ratio (0.5 or 50% of each layer\'s width) or a neuron count (e.g. 32). Empty: the method\'s default.'
      : 'Budget: a prune ratio (0.1 or 10% of each layer\'s width) or a neuron count (e.g. 8). Empty: the method\'s default.',
    placeHolder: kind === 'grow' ? '0.5' : '0.1',
    validateInput: (v) => { const r = parseBudget(v, kind); return r.ok ? undefined : r.message; },
  });
  if (input === undefined) return undefined;
  const r = parseBudget(input, kind);
  return r.ok ? { ...(r.budget ?? {}) } : undefined;
}

export async function growNetworkCommand(deps: GrowCommandDeps, arg?: unknown, kind: 'grow' | 'prune' = 'grow'): Promise<void> {
  const verb = kind === 'grow' ? 'Grow' : 'Prune';
  const runId = await pickLiveRun(deps, arg, verb);
  if (!runId) return;
  const name = deps.tracker.get(runId)?.name ?? runId;
  const givenMethod = typeof (arg as { method?: unknown } | undefined)?.method === 'string' ? (arg as { method: string }).method : undefined;
  let method = givenMethod;
  if (!method) {
    const items = methodPickItems(kind, deps.backend.capabilities);
    if (items.length === 0) {
      void vscode.window.showErrorMessage(`Growth Lab: the backend offers no ${kind} method.`);
      return;
    }
    const picked = await vscode.window.showQuickPick(items, { title: `Growth Lab: ${verb} ${name} (method)`, placeHolder: 'Method', matchOnDescription: true, matchOnDetail: true });
    if (!picked) return;
    method = picked.method;
  }
  const budget = await askBudget(kind, `Growth Lab: ${verb} ${name} with ${method} (budget)`);
  if (!budget) return;
  if (kind === 'grow' && deps.proposeGrow) {
    await deps.proposeGrow(runId, method, budget);
    return;
  }
  let event: GrowEventParams;
  try {
    event = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Growth Lab: ${kind === 'grow' ? 'growing' : 'pruning'} ${name} with ${method}…` },
      () => kind === 'grow'
        ? deps.backend.request(Methods.grow, { runId, method: method!, options: budget })
        : deps.backend.request(Methods.prune, { runId, options: { ...budget, method: method as 'prune-taylor' | 'prune-gauss-newton' } }),
    );
  } catch (err) {
    deps.errorWithLogs(`Growth Lab: could not ${kind} ${name}: ${backendErrorText(err)}`);
    return;
  }
  deps.backend.log(`${kind} ${runId} with ${method}: ${event.before.params} -> ${event.after.params} parameters`);
  await deps.reviews.open(event);
}

export async function resumeRunCommand(deps: GrowCommandDeps, arg?: unknown): Promise<void> {
  let runId = runIdOf(arg);
  if (!runId) {
    const runs = resumableRuns((await deps.refreshRuns()) ?? []);
    if (runs.length === 0) {
      void vscode.window.showInformationMessage('Growth Lab: no failed or stopped run to resume.');
      return;
    }
    const picked = await vscode.window.showQuickPick(runItems(runs, undefined), { title: 'Growth Lab: Resume Run', placeHolder: 'Run to continue from its latest checkpoint' });
    if (!picked) return;
    runId = picked.runId;
  }
  try {
    const { runId: newId } = await deps.backend.request(Methods.resumeRun, { runId });
    const name = deps.tracker.get(runId)?.name ?? runId;
    deps.tracker.started(newId, { name });
    void vscode.window.showInformationMessage(`Growth Lab: resumed ${name}${newId !== runId ? ` as run ${newId}` : ''}.`);
    void deps.refreshRuns();
  } catch (err) {
    deps.errorWithLogs(`Growth Lab: could not resume run ${runId}: ${backendErrorText(err)}`);
  }
}

export async function newExperimentCommand(deps: GrowCommandDeps, arg?: unknown): Promise<void> {
  const folderUri = arg instanceof vscode.Uri ? arg : vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!folderUri) {
    void vscode.window.showErrorMessage('Growth Lab: open a folder first; the experiment file is written into the workspace.');
    return;
  }
  let folder = folderUri;
  try {
    const stat = await vscode.workspace.fs.stat(folderUri);
    if (stat.type !== vscode.FileType.Directory) folder = vscode.Uri.joinPath(folderUri, '..');
  } catch {
    folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? folderUri;
  }
  const available = new Map((deps.backend.capabilities?.datasets ?? []).map((d) => [d.name, d]));
  type DatasetItem = vscode.QuickPickItem & { name?: string; stream?: (typeof CONTINUAL_STREAM_CHOICES)[number]['stream'] };
  const items: DatasetItem[] = [
    ...DATASET_NAMES.map((name) => {
      const a = available.get(name);
      return { label: name, detail: DATASET_DESCRIPTIONS[name], description: a && !a.available ? `unavailable${a.reason ? `: ${a.reason}` : ''}` : '', name };
    }),
    { label: 'Continual learning', kind: vscode.QuickPickItemKind.Separator },
    ...CONTINUAL_STREAM_CHOICES.map((c) => ({ label: c.stream, detail: c.detail, stream: c.stream })),
  ];
  const dataset = await vscode.window.showQuickPick(items, { title: 'Growth Lab: New Experiment (1/3)', placeHolder: 'Dataset, or a continual-learning stream' });
  if (!dataset) return;
  if (dataset.stream) {
    // A continual experiment needs no model or growth method: each method grows (or not) by itself.
    await writeExperiment(deps, folder, dataset.stream, (name, schemaUrl) => newContinualExperimentText({ name, stream: dataset.stream!, schemaUrl }));
    return;
  }
  const image = dataset.name === 'mnist' || dataset.name === 'fashion-mnist';
  const model = await vscode.window.showQuickPick(
    STARTING_MODELS.filter((m) => image || m.id !== 'cnn').map((m) => ({ label: m.label, detail: m.detail, model: m })),
    { title: 'Growth Lab: New Experiment (2/3)', placeHolder: 'Starting model' },
  );
  if (!model) return;
  const methods = [
    { label: 'No scheduled growth', description: 'none', detail: 'Grow by hand with Growth Lab: Grow Network', method: 'none' },
    ...methodPickItems('grow', deps.backend.capabilities),
  ];
  const method = await vscode.window.showQuickPick(methods, { title: 'Growth Lab: New Experiment (3/3)', placeHolder: 'Growth method' });
  if (!method) return;

  const base = `${dataset.name as DatasetName}-${model.model.id}${method.method !== 'none' ? `-${method.method}` : ''}`;
  await writeExperiment(deps, folder, base, (name, schemaUrl) => newExperimentText({
    name, dataset: dataset.name as DatasetName, model: model.model, method: method.method, schemaUrl,
  }));
}

/** Writes `<base>.growth.json` (or the first free `<base>-N`) into `folder` and opens it; never overwrites. */
async function writeExperiment(deps: GrowCommandDeps, folder: vscode.Uri, base: string, text: (name: string, schemaUrl: string) => string): Promise<void> {
  const existing = new Set<string>();
  try {
    for (const [n] of await vscode.workspace.fs.readDirectory(folder)) existing.add(n);
  } catch {
    // a folder that cannot be listed: the write below still refuses to overwrite
  }
  const fileName = freeExperimentFileName(base, (n) => existing.has(n));
  const target = vscode.Uri.joinPath(folder, fileName);
  const relativeSchema = path.relative(folder.fsPath, deps.schemaUri.fsPath).split(path.sep).join('/');
  const schemaUrl = path.isAbsolute(relativeSchema) ? deps.schemaUri.toString() : relativeSchema;
  const edit = new vscode.WorkspaceEdit();
  edit.createFile(target, { overwrite: false, ignoreIfExists: false, contents: Buffer.from(text(fileName.replace(/\.growth\.json$/, ''), schemaUrl), 'utf8') });
  const ok = await vscode.workspace.applyEdit(edit);
  if (!ok) {
    void vscode.window.showErrorMessage(`Growth Lab: could not create ${fileName} (it may exist already).`);
    return;
  }
  const doc = await vscode.workspace.openTextDocument(target);
  if (doc.isDirty) await doc.save();
  await vscode.window.showTextDocument(doc);
}
