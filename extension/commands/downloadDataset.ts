/**
 * The "Download Dataset" command (growthLab.downloadDataset): pick CIFAR-10, CIFAR-100 or SVHN and a folder,
 * then growthLab/downloadDataset in a cancellable progress notification fed by growthLab/downloadProgress;
 * at the end, copy the `dataset` block or put it into the open experiment file. Refused in Restricted Mode
 * (workspaceTrust.ts): it writes files.
 */
import * as vscode from 'vscode';
import { ErrorCodes, Methods, type DownloadDatasetResult } from '../../common/protocol';
import type { Ctx } from '../ctx';
import { DOWNLOAD_CHOICES, DownloadProgressSteps, datasetBlockFor, datasetBlockText, withDataset } from '../datasetDownload';
import { backendErrorText } from '../experimentFile';
import { plainText } from '../plainText';

const COPY = 'Copy dataset block';
const INSERT = 'Insert into experiment';

export const downloadDataset = (ctx: Ctx) => async (): Promise<void> => {
  const be = ctx.backend;
  const picked = await vscode.window.showQuickPick(
    DOWNLOAD_CHOICES.map((c) => ({ ...c })),
    { title: 'Growth Lab: Download Dataset (1/2)', placeHolder: 'Dataset to download (the official files, checksums checked)' },
  );
  if (!picked) return;
  let extra = false;
  if (picked.name === 'svhn') {
    const which = await vscode.window.showQuickPick(
      [
        { label: 'train + test', description: 'about 235 MB', extra: false },
        { label: 'train + test + extra', description: 'about 1.5 GB (extra_32x32.mat: 531,131 more digits)', extra: true },
      ],
      { title: 'Growth Lab: Download SVHN', placeHolder: 'Which files' },
    );
    if (!which) return;
    extra = which.extra;
  }
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
  const where = await vscode.window.showQuickPick(
    [
      ...(ws ? [{ label: '$(folder) data/', description: 'in the workspace (default)', choose: false }] : []),
      { label: '$(folder-opened) Choose a folder…', description: '', choose: true },
    ],
    { title: `Growth Lab: Download ${picked.label} (2/2)`, placeHolder: 'Folder to download into' },
  );
  if (!where) return;
  let to: string | undefined;
  if (where.choose) {
    const folder = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Download Here',
      title: `Growth Lab: folder for ${picked.label}`,
      defaultUri: ws,
    });
    if (!folder?.[0]) return;
    to = folder[0].fsPath;
  }

  let result: DownloadDatasetResult;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Growth Lab: downloading ${picked.label}`, cancellable: true },
      async (progress, token) => {
        const steps = new DownloadProgressSteps();
        const sub = ctx.bus.on('downloadProgress', (p) => {
          if (p.name === picked.name) progress.report(steps.step(p));
        });
        const cancel = token.onCancellationRequested(() => {
          be.request(Methods.cancelDownload, { name: picked.name }).catch((e) => be.log(`cancelDownload failed: ${backendErrorText(e)}`));
        });
        try {
          return await be.request(Methods.downloadDataset, { name: picked.name, ...(to ? { to } : {}), ...(extra ? { extra } : {}) });
        } finally {
          sub.dispose();
          cancel.dispose();
        }
      },
    );
  } catch (err) {
    if ((err as { code?: unknown })?.code === ErrorCodes.downloadCancelled) {
      void vscode.window.showInformationMessage(`Growth Lab: the download of ${picked.label} was cancelled; nothing was kept.`);
      return;
    }
    be.log(`download of ${picked.name} failed: ${backendErrorText(err)}`);
    ctx.errorWithLogs(`Growth Lab: could not download ${picked.label}: ${backendErrorText(err)}`);
    return;
  }

  const doc = vscode.window.activeTextEditor?.document;
  const experiment = doc && doc.uri.scheme === 'file' && doc.fileName.endsWith('.growth.json') ? doc : undefined;
  const block = datasetBlockFor(result.dataset, experiment?.fileName);
  const choice = await vscode.window.showInformationMessage(
    plainText(`Growth Lab: ${picked.label} is ${result.downloaded ? 'downloaded' : 'already complete'} in ${result.path}.`),
    COPY,
    ...(experiment ? [INSERT] : []),
  );
  if (choice === COPY) {
    await vscode.env.clipboard.writeText(datasetBlockText(block));
    return;
  }
  if (choice === INSERT && experiment) {
    const text = experiment.getText();
    const next = withDataset(text, block);
    if (next === undefined) {
      void vscode.window.showWarningMessage(`Growth Lab: ${experiment.fileName} is not a JSON object; copy the dataset block instead.`);
      await vscode.env.clipboard.writeText(datasetBlockText(block));
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(experiment.uri, new vscode.Range(experiment.positionAt(0), experiment.positionAt(text.length)), next);
    await vscode.workspace.applyEdit(edit);
  }
};
