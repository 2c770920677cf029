/** The model a run starts from: a seeded random one, an imported one, or the one in a checkpoint. */
import type { ExperimentConfig } from '../../common/protocol';
import type { Dataset } from '../datasets/types';
import { ExportError } from '../export/files';
import { fitImportToData, importModel, modelFromImport } from '../export/import';
import { GrowableModel, ModelCheckpoint } from '../model/growable';
import { specFromConfig } from '../model/spec';
import type { Checkpoint } from '../runs';
import { RunFailure } from './runTypes';

/** A seeded random model from the config, or the exported model `model.init.from` names (checked against the dataset). */
export function initialModel(cfg: ExperimentConfig, data: Dataset, baseDir: string, outputs: number, slotNames: string[]): GrowableModel {
  const init = cfg.model.init;
  if (typeof init !== 'object' || init === null)
    return GrowableModel.create(specFromConfig(cfg.model, data.inputShape, data.task, outputs), cfg.seed, slotNames);
  try {
    const imported = importModel(init.from, baseDir);
    const spec = fitImportToData(imported, { inputShape: data.inputShape, outputs, task: data.task });
    return modelFromImport(spec, imported.tensors, cfg.seed, slotNames);
  } catch (e) {
    if (e instanceof ExportError) throw new RunFailure(e.message);
    throw e;
  }
}

/** The model, grow count and first epoch to train of a checkpoint (what resuming continues from). */
export function restoreCheckpoint(c: Checkpoint): { model: GrowableModel; growSteps: number; firstEpoch: number } {
  const meta = c.meta as ModelCheckpoint['meta'] & { epoch?: number; growSteps?: number; epochComplete?: boolean };
  const model = GrowableModel.fromCheckpoint({ meta, tensors: c.tensors });
  const epoch = meta.epoch ?? 0;
  return { model, growSteps: meta.growSteps ?? 0, firstEpoch: meta.epochComplete === false ? Math.max(1, epoch) : epoch + 1 };
}
