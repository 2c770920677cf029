/**
 * growthLab.newExperiment: dataset (or continual-learning stream), starting model and growth method
 * (from the backend's capabilities), then a new `*.growth.json` written into the folder given (or the
 * workspace's) and opened. Pure parts (the file's text, a free name) live in newExperimentText.ts.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { plainText } from '../plainText';
import { DATASET_NAMES, type DatasetName } from '../../common/protocol';
import type { Ctx } from '../ctx';
import { methodPickItems } from '../growMethods';
import {
  CONTINUAL_STREAM_CHOICES,
  DATASET_DESCRIPTIONS,
  STARTING_MODELS,
  freeExperimentFileName,
  newContinualExperimentText,
  newExperimentText,
} from '../newExperimentText';

export const newExperiment =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> => {
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
    const available = new Map((ctx.backend.capabilities?.datasets ?? []).map((d) => [d.name, d]));
    type DatasetItem = vscode.QuickPickItem & { name?: string; stream?: (typeof CONTINUAL_STREAM_CHOICES)[number]['stream'] };
    const items: DatasetItem[] = [
      ...DATASET_NAMES.map((name) => {
        const a = available.get(name);
        return {
          label: name,
          detail: DATASET_DESCRIPTIONS[name],
          description: a && !a.available ? `unavailable${a.reason ? `: ${a.reason}` : ''}` : a?.found ? `found in ${a.found}` : '',
          name,
        };
      }),
      { label: 'Continual learning', kind: vscode.QuickPickItemKind.Separator },
      ...CONTINUAL_STREAM_CHOICES.map((c) => ({ label: c.stream, detail: c.detail, stream: c.stream })),
    ];
    const dataset = await vscode.window.showQuickPick(items, {
      title: 'Growth Lab: New Experiment (1/3)',
      placeHolder: 'Dataset, or a continual-learning stream',
    });
    if (!dataset) return;
    if (dataset.stream) {
      // A continual experiment needs no model or growth method: each method grows (or not) by itself.
      await writeExperiment(ctx.schemaUri, folder, dataset.stream, (name, schemaUrl) =>
        newContinualExperimentText({ name, stream: dataset.stream!, schemaUrl }),
      );
      return;
    }
    const image = ['mnist', 'fashion-mnist', 'cifar-10', 'cifar-100', 'svhn', 'image-folder'].includes(dataset.name ?? '');
    const model = await vscode.window.showQuickPick(
      STARTING_MODELS.filter((m) => image || m.id !== 'cnn').map((m) => ({ label: m.label, detail: m.detail, model: m })),
      { title: 'Growth Lab: New Experiment (2/3)', placeHolder: 'Starting model' },
    );
    if (!model) return;
    const methods = [
      { label: 'No scheduled growth', description: 'none', detail: 'Grow by hand with Growth Lab: Grow Network', method: 'none' },
      ...methodPickItems('grow', ctx.backend.capabilities),
    ];
    const method = await vscode.window.showQuickPick(methods, { title: 'Growth Lab: New Experiment (3/3)', placeHolder: 'Growth method' });
    if (!method) return;

    const base = `${dataset.name as DatasetName}-${model.model.id}${method.method !== 'none' ? `-${method.method}` : ''}`;
    await writeExperiment(ctx.schemaUri, folder, base, (name, schemaUrl) =>
      newExperimentText({
        name,
        dataset: dataset.name as DatasetName,
        model: model.model,
        method: method.method,
        schemaUrl,
        datasetPath: foundPath(available.get(dataset.name as DatasetName)?.found, folder.fsPath),
      }),
    );
  };

/** Writes `<base>.growth.json` (or the first free `<base>-N`) into `folder` and opens it; never overwrites. */
async function writeExperiment(
  schemaUri: vscode.Uri,
  folder: vscode.Uri,
  base: string,
  text: (name: string, schemaUrl: string) => string,
): Promise<void> {
  const existing = new Set<string>();
  try {
    for (const [n] of await vscode.workspace.fs.readDirectory(folder)) existing.add(n);
  } catch {
    // a folder that cannot be listed: the write below still refuses to overwrite
  }
  const fileName = freeExperimentFileName(base, (n) => existing.has(n));
  const target = vscode.Uri.joinPath(folder, fileName);
  const relativeSchema = path.relative(folder.fsPath, schemaUri.fsPath).split(path.sep).join('/');
  const schemaUrl = path.isAbsolute(relativeSchema) ? schemaUri.toString() : relativeSchema;
  const edit = new vscode.WorkspaceEdit();
  edit.createFile(target, {
    overwrite: false,
    ignoreIfExists: false,
    contents: Buffer.from(text(fileName.replace(/\.growth\.json$/, ''), schemaUrl), 'utf8'),
  });
  const ok = await vscode.workspace.applyEdit(edit);
  if (!ok) {
    void vscode.window.showErrorMessage(plainText(`Growth Lab: could not create ${fileName} (it may exist already).`));
    return;
  }
  const doc = await vscode.workspace.openTextDocument(target);
  if (doc.isDirty) await doc.save();
  await vscode.window.showTextDocument(doc);
}

/** A found dataset folder as dataset.path: relative to the experiment's folder (forward slashes), or absolute when elsewhere. */
function foundPath(found: string | undefined, folder: string): string | undefined {
  if (!found) return undefined;
  const rel = path.relative(folder, found);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : found;
}
