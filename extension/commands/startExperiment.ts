/**
 * growthLab.startExperiment: save and parse an experiment file (the argument — a URI, a path, an
 * Experiments tree item, the CodeLens's URI string — or the active editor's, or one picked from the
 * workspace), then growthLab/startExperiment; the new run becomes the active run.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { plainText } from '../plainText';
import { Methods, type StartExperimentParams } from '../../common/protocol';
import type { Ctx } from '../ctx';
import {
  EXPERIMENT_GLOB,
  backendErrorText,
  configuredEpochs,
  experimentName,
  isExperimentFile,
  isInvalidExperimentError,
  outDirFor,
  parseExperimentText,
} from '../experimentFile';

export const startExperiment =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> => {
    const uri = await resolveExperimentUri(arg);
    if (!uri) return;
    const label = path.basename(uri.fsPath);
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.isDirty && !(await doc.save())) {
      void vscode.window.showErrorMessage(plainText(`Growth Lab: ${label} could not be saved; the experiment was not started.`));
      return;
    }
    const parsed = parseExperimentText(doc.getText(), label);
    if (!parsed.ok) {
      void vscode.window.showErrorMessage(plainText(`Growth Lab: ${parsed.message}`));
      return;
    }
    const workspaceDir = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const params: StartExperimentParams = { config: parsed.config, configPath: uri.fsPath, outDir: outDirFor(workspaceDir, uri.fsPath) };
    const name = experimentName(parsed.config, uri.fsPath);
    const be = ctx.backend;
    try {
      const pending = be.request(Methods.startExperiment, params);
      vscode.window.setStatusBarMessage(`$(sync~spin) Growth Lab: starting ${plainText(name, { max: 60 })}…`, pending);
      const { runId } = await pending;
      ctx.tracker.started(runId, { name, epochs: configuredEpochs(parsed.config), configPath: uri.fsPath });
      be.log(`started ${name} from ${uri.fsPath} as run ${runId}`);
      void vscode.window.showInformationMessage(plainText(`Growth Lab: started ${name} (run ${runId}).`));
      void ctx.refreshRuns();
    } catch (err) {
      const text = backendErrorText(err);
      be.log(`startExperiment ${uri.fsPath} failed: ${text}`);
      const message = `Growth Lab: ${label}: ${text}`;
      if (isInvalidExperimentError(err)) void vscode.window.showErrorMessage(plainText(message));
      else ctx.errorWithLogs(message);
    }
  };

async function resolveExperimentUri(arg: unknown): Promise<vscode.Uri | undefined> {
  // An Experiments tree item carries the file's path.
  if (arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) && typeof (arg as { path?: unknown }).path === 'string')
    arg = (arg as { path: string }).path;
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
