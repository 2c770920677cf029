/** The model a run starts from: a seeded random one, an imported one, or the one in a checkpoint. */
import type { ExperimentConfig } from '../../common/protocol';
import type { Dataset } from '../datasets/types';
import { ExportError } from '../export/files';
import { checkImportedSpec, fitImportToData, importModel, modelFromImport } from '../export/import';
import { GrowableModel, ModelCheckpoint } from '../model/growable';
import { type ModelSpec, allParamShapes, flatSize, specFromConfig } from '../model/spec';
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

const SLOT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const isCount = (v: unknown): boolean => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);

/**
 * Checks a checkpoint read from a run folder (untrusted, even when its CRCs match) before anything uses
 * it, as imports are checked: the spec with the import's own check (checkImportedSpec: layer types,
 * sizes, ids, activations, shapes that fit together), the optimiser slot names, every tensor present
 * with exactly its shape's count of values, no tensor the spec does not name, every value finite, and
 * epoch/step/growSteps non-negative integers. Throws RunFailure naming the file and the problem.
 */
export function validateCheckpoint(c: Checkpoint, file: string): void {
  const fail = (msg: string) => new RunFailure(`checkpoint ${file} is unusable: ${msg}`);
  const meta = c.meta as Record<string, unknown>;
  let spec: ModelSpec;
  try {
    spec = checkImportedSpec(meta.spec, file);
  } catch (e) {
    throw fail(e instanceof Error ? e.message.replace(/^cannot import [^:]*: /, '') : String(e));
  }
  const slots = meta.slotNames;
  if (!Array.isArray(slots) || slots.length > 8 || !slots.every((s) => typeof s === 'string' && SLOT_NAME.test(s)))
    throw fail('slotNames must be a list of at most 8 optimiser slot names');
  if (!Number.isSafeInteger(meta.version)) throw fail('version must be an integer');
  for (const k of ['epoch', 'step', 'growSteps'] as const) if (!isCount(meta[k])) throw fail(`${k} must be a non-negative integer`);
  const expected = new Map<string, number>();
  for (const p of allParamShapes(spec)) {
    expected.set(p.name, flatSize(p.shape));
    if (p.trainable) for (const s of slots as string[]) expected.set(`slot:${s}:${p.name}`, flatSize(p.shape));
  }
  for (const [name, n] of expected) {
    const t = c.tensors[name];
    if (!t) throw fail(`tensor ${name} is missing`);
    if (t.length !== n) throw fail(`tensor ${name} has ${t.length} values, its shape needs ${n}`);
    for (let i = 0; i < t.length; i++) if (!Number.isFinite(t[i])) throw fail(`tensor ${name} holds a non-finite value (${t[i]}) at ${i}`);
  }
  for (const name of Object.keys(c.tensors))
    if (!expected.has(name)) throw fail(`tensor ${JSON.stringify(name.slice(0, 100))} is not part of the model`);
}
