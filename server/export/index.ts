/**
 * Export of a run's model (one module per format) and import of an exported model into a new run.
 *
 *   tfjs     model.json + group1-shard1of1.bin    TF.js Layers (tf.loadLayersModel; Keras via tensorflowjs_converter)
 *   onnx     model.onnx                            opset 17 (onnxruntime and friends)
 *   pytorch  model.py + weights.npz + architecture.json
 *   json     architecture.json                     spec, summary and grow history
 *   torchrun the pytorch files + train.py, job.json, data.npz, README.md (DDP retraining; torchrun.ts)
 */
import { noSingleArchitecture } from '../training/continualRun';
import { validateCheckpoint } from '../training/modelSetup';
import * as path from 'node:path';
import type { ExportFormat, ExportResult, RunEvent } from '../../common/protocol';
import { EXPORT_FORMATS } from '../../common/protocol';
import type { ModelSpec } from '../model/spec';
import type { RunStore } from '../runs';
import { buildArchitectureExport } from './architecture';
import { ExportError, ExportFile, resolveInside, writeExportFiles } from './files';
import { buildOnnxExport } from './onnx';
import { buildPytorchExport } from './pytorch';
import { ExportOrigin, ExportSource, checkSource } from './source';
import { buildTfjsExport } from './tfjs';
import { type TorchrunInput, buildTorchrunExport } from './torchrun';

export { ExportError, resolveInside, writeExportFiles, isInside } from './files';
export type { ExportErrorKind, ExportFile } from './files';
export type { ExportSource, ExportOrigin } from './source';
export { importModel, modelFromImport } from './import';
export type { ImportedModel } from './import';
export type { TorchrunInput } from './torchrun';

/** Folder under a run store's outDir that receives exports: `<outDir>/exports/<runId>/`. */
export const EXPORTS_DIR = 'exports';

export function isExportFormat(f: unknown): f is ExportFormat {
  return typeof f === 'string' && (EXPORT_FORMATS as readonly string[]).includes(f);
}

export function defaultExportDir(outDir: string, runId: string): string {
  return path.join(path.resolve(outDir), EXPORTS_DIR, runId);
}

/**
 * The destination folder: `requested` when absolute (the user's explicit choice), else resolved against
 * `base` and required to stay inside it; undefined: `fallback`.
 */
export function resolveExportDir(base: string, requested: unknown, fallback: string): string {
  if (requested === undefined || requested === null || requested === '') return path.resolve(fallback);
  if (typeof requested !== 'string') throw new ExportError('path must be a string', 'invalidPath');
  if (path.isAbsolute(requested)) return path.resolve(requested);
  return resolveInside(base, requested, 'export path');
}

/** The files of one format (nothing written); torchrun also needs the run's config and folders. */
export async function buildExport(src: ExportSource, format: ExportFormat, torchrun?: TorchrunInput): Promise<ExportFile[]> {
  checkSource(src);
  switch (format) {
    case 'tfjs':
      return buildTfjsExport(src);
    case 'onnx':
      return buildOnnxExport(src);
    case 'pytorch':
      return buildPytorchExport(src);
    case 'json':
      return buildArchitectureExport(src);
    case 'torchrun':
      if (!torchrun) throw new ExportError("the torchrun export needs the run's config", 'unsupported');
      return buildTorchrunExport(src, torchrun);
  }
}

/** Builds the files, then writes them into `dir` as one unit (see writeExportFiles). */
export async function exportModel(
  src: ExportSource,
  opts: { format: unknown; dir: string; force?: boolean; torchrun?: Omit<TorchrunInput, 'dir'> },
): Promise<ExportResult> {
  if (!isExportFormat(opts.format)) {
    throw new ExportError(
      `unknown export format ${JSON.stringify(opts.format)} (formats: ${EXPORT_FORMATS.join(', ')})`,
      'invalidArgument',
    );
  }
  const dir = path.resolve(opts.dir);
  const files = await buildExport(src, opts.format, opts.torchrun && { ...opts.torchrun, dir });
  const written = writeExportFiles(dir, files, { force: opts.force });
  return { files: written, format: opts.format, dir };
}

/** The source for a run that is not live: its latest intact checkpoint and its events. */
export function sourceFromStore(store: RunStore, runId: string): ExportSource {
  const latest = store.readLatestCheckpoint(runId);
  if (!latest) throw new ExportError(`run ${runId} has no checkpoint yet (one is written after every epoch and grow step)`, 'unsupported');
  const meta = latest.checkpoint.meta as { spec?: ModelSpec; epoch?: number; step?: number; growSteps?: number };
  if (latest.checkpoint.meta.continual)
    throw new ExportError(`${noSingleArchitecture(runId)}; export applies to ordinary runs`, 'unsupported');
  // Untrusted even when its CRCs match (a cloned repository): checked as resuming checks it.
  try {
    validateCheckpoint(latest.checkpoint, latest.file);
  } catch (err) {
    throw new ExportError(`run ${runId}: ${err instanceof Error ? err.message : String(err)}`, 'unsupported');
  }
  if (!meta.spec) throw new ExportError(`checkpoint ${latest.file} of run ${runId} holds no model spec`, 'unsupported');
  const tensors = new Map<string, Float32Array>();
  for (const [k, v] of Object.entries(latest.checkpoint.tensors)) if (!k.startsWith('slot:')) tensors.set(k, v as Float32Array);
  const origin: ExportOrigin = { kind: 'checkpoint', file: latest.file, epoch: meta.epoch, step: meta.step, growSteps: meta.growSteps };
  return { runId, name: runName(store, runId), spec: meta.spec, tensors, origin, events: readEventsQuietly(store, runId) };
}

export function runName(store: RunStore, runId: string): string {
  try {
    const n = store.readConfig(runId).name;
    return typeof n === 'string' && n ? n : runId;
  } catch {
    return runId;
  }
}

export function readEventsQuietly(store: RunStore, runId: string): RunEvent[] {
  try {
    return store.readEvents(runId).events;
  } catch {
    return [];
  }
}
