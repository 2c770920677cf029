/**
 * The "Export Model" command (growthLab.exportModel): pick a run, a format and a folder, confirm an
 * overwrite, then growthLab/export with a progress notification and a "Reveal" on success.
 * Accepts a run id (string or {runId}) as argument, e.g. from the monitor panel's Export button.
 */
import * as vscode from 'vscode';
import { ErrorCodes, Methods, type ExportFormat, type ExportParams, type ExportResult } from '../../common/protocol';
import type { Ctx } from '../ctx';
import { backendErrorText } from '../experimentFile';
import { formatPercent } from '../runTracker';
import { plainText } from '../plainText';

export const EXPORT_FORMAT_CHOICES: readonly { format: ExportFormat; label: string; description: string; detail: string }[] = [
  {
    format: 'tfjs',
    label: 'TF.js Layers',
    description: 'model.json + group1-shard1of1.bin',
    detail: 'tf.loadLayersModel in the browser or Node; Keras via tensorflowjs_converter',
  },
  {
    format: 'onnx',
    label: 'ONNX',
    description: 'model.onnx (opset 17)',
    detail: 'onnxruntime (Python, C++, C#, JavaScript, …) and other ONNX tools',
  },
  {
    format: 'pytorch',
    label: 'PyTorch',
    description: 'model.py + weights.npz + architecture.json',
    detail: 'an nn.Module with the grown widths and a weights loader (numpy + torch)',
  },
  {
    format: 'torchrun',
    label: 'PyTorch + torchrun',
    description: 'model.py, weights.npz, train.py, job.json, data.npz, README.md',
    detail: 'retrain at scale with torchrun and DistributedDataParallel (numpy + torch only); the job shows here as an external run',
  },
  {
    format: 'json',
    label: 'Architecture JSON',
    description: 'architecture.json',
    detail: 'the spec, layer summary and grow history (no weights)',
  },
];

const OVERWRITE = 'Overwrite';
const REVEAL = 'Reveal';

export const exportModel =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> => {
    const { backend: be, tracker } = ctx;
    let runId: string | undefined =
      typeof arg === 'string'
        ? arg
        : typeof (arg as { runId?: unknown })?.runId === 'string'
          ? (arg as { runId: string }).runId
          : undefined;
    const summaries = (await ctx.refreshRuns()) ?? [];
    if (!runId) {
      if (summaries.length === 0) {
        void vscode.window.showInformationMessage('Growth Lab: there is no run to export yet; start an experiment first.');
        return;
      }
      const activeId = tracker.active?.runId;
      if (summaries.length === 1) runId = summaries[0].runId;
      else {
        const items = summaries
          .map((r) => ({
            label: r.name,
            description: `${r.runId}${r.runId === activeId ? ' (active)' : ''}`,
            detail: `${r.status} · epoch ${r.epochsDone}/${r.epochs} · ${r.params.toLocaleString('en-US')} parameters${r.lastTestAccuracy !== undefined ? ` · acc ${formatPercent(r.lastTestAccuracy)}` : ''}${r.growSteps ? ` · ${r.growSteps} grow steps` : ''}`,
            runId: r.runId,
          }))
          .sort((a, b) => Number(b.runId === activeId) - Number(a.runId === activeId));
        const picked = await vscode.window.showQuickPick(items, {
          title: 'Growth Lab: Export Model (1/3)',
          placeHolder: 'Run to export (a running run exports its current weights)',
        });
        if (!picked) return;
        runId = picked.runId;
      }
    }
    const name = summaries.find((r) => r.runId === runId)?.name ?? tracker.get(runId)?.name ?? runId;

    const format = await vscode.window.showQuickPick(
      EXPORT_FORMAT_CHOICES.map((c) => ({ ...c })),
      { title: `Growth Lab: Export ${name} (2/3)`, placeHolder: 'Format' },
    );
    if (!format) return;

    const defaultLabel = `.growth-lab/exports/${runId}`;
    const where = await vscode.window.showQuickPick(
      [
        { label: `$(folder) ${defaultLabel}`, description: 'default', choose: false },
        { label: '$(folder-opened) Choose a folder…', description: '', choose: true },
      ],
      { title: `Growth Lab: Export ${name} as ${format.label} (3/3)`, placeHolder: 'Folder to export to' },
    );
    if (!where) return;
    let folder: string | undefined;
    if (where.choose) {
      const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        canSelectMany: false,
        openLabel: 'Export Here',
        title: `Growth Lab: folder for the ${format.label} export of ${name}`,
        defaultUri: ws ? vscode.Uri.joinPath(ws, '.growth-lab', 'exports') : undefined,
      });
      if (!picked?.[0]) return;
      folder = picked[0].fsPath;
    }

    const params: ExportParams = { runId, format: format.format, ...(folder ? { path: folder } : {}) };
    const run = (force: boolean) =>
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Growth Lab: exporting ${name} as ${format.label}…` },
        () => be.request(Methods.export, { ...params, force }),
      );
    let result: ExportResult;
    try {
      try {
        result = await run(false);
      } catch (err) {
        if ((err as { code?: unknown })?.code !== ErrorCodes.exportExists) throw err;
        const choice = await vscode.window.showWarningMessage(
          plainText(`Growth Lab: the ${format.label} export of ${name} would replace existing files.`),
          { modal: true, detail: plainText(backendErrorText(err), { newlines: true }) },
          OVERWRITE,
        );
        if (choice !== OVERWRITE) return;
        result = await run(true);
      }
    } catch (err) {
      be.log(`export of ${runId} as ${format.format} failed: ${backendErrorText(err)}`);
      ctx.errorWithLogs(`Growth Lab: could not export ${name} as ${format.label}: ${backendErrorText(err)}`);
      return;
    }
    be.log(`exported ${runId} as ${result.format} to ${result.dir}: ${result.files.join(', ')}`);
    const choice = await vscode.window.showInformationMessage(
      plainText(
        `Growth Lab: exported ${name} as ${format.label} to ${result.dir} (${result.files.length} file${result.files.length === 1 ? '' : 's'}).`,
      ),
      REVEAL,
    );
    if (choice === REVEAL && result.files[0]) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.files[0]));
  };
