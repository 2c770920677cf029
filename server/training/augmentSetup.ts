/**
 * What a run's `training.augment` asks of its data: per-channel normalisation applied once to a copy
 * of both splits (so training, evaluation and every growth method see the same inputs), and the
 * crop/flip pipeline for training batches (server/trainer/augmentPipeline.ts).
 */
import type { AugmentConfig } from '../../common/protocol';
import type { Dataset, DataSplit } from '../datasets/types';
import { channelStats, imageShape, normalizeImages, type ImageAugment, type ImageShape } from '../trainer/augment';
import { AugmentPipeline } from '../trainer/augmentPipeline';
import { RunFailure } from './runTypes';

/** A split as it may come: float rows, or uint8 pixels with the float each byte stands for. */
type AnySplit = Omit<DataSplit, 'x'> & { x: Float32Array | Uint8Array; byteValues?: Float32Array };

export interface PreparedAugment {
  /** The run's data: `data` itself, or a copy with normalised inputs. */
  data: Dataset;
  /** Crop and flip of training batches (absent: none). */
  image?: ImageAugment;
  /** Builds augmented training batches (present with `image`). */
  pipeline?: AugmentPipeline;
  /** The per-channel statistics applied ("auto": computed from the training set). */
  normalization?: { mean: number[]; std: number[] };
  /** One line for the run's status, e.g. "augment: crop pad 4, flip, normalize (auto) …". */
  description?: string;
}

const fmt = (xs: readonly number[]) => `[${xs.map((v) => Number(v.toPrecision(4))).join(', ')}]`;

/** Applies `cfg` to `data` (which is never changed: datasets may be shared by runs). */
export function prepareAugment(
  data: Dataset,
  cfg: AugmentConfig | undefined,
  batchSize: number,
  opts: { inline?: boolean } = {},
): PreparedAugment {
  if (!cfg || (!cfg.crop && !cfg.flip && !cfg.normalize)) return { data };
  const shape = imageShape(data.inputShape);
  if (!shape)
    throw new RunFailure(
      `training.augment needs image inputs [channels, height, width]; ${data.name} has input shape [${data.inputShape.join(', ')}]`,
    );
  const pad = cfg.crop?.pad ?? 0;
  const image: ImageAugment | undefined = cfg.crop || cfg.flip ? { pad, flip: cfg.flip === true } : undefined;
  if (pad > Math.min(shape.h, shape.w))
    throw new RunFailure(`training.augment.crop.pad (${pad}) is larger than the images (${shape.h}x${shape.w})`);
  let run = data;
  let normalization: PreparedAugment['normalization'];
  const fill = new Float32Array(shape.c);
  if (cfg.normalize) {
    normalization = normalizationOf(data, cfg.normalize, shape);
    const { mean, std } = normalization;
    mean.forEach((m, c) => (fill[c] = (0 - m) / std[c])); // padding is black before normalisation, as torchvision pads
    const norm = (s: AnySplit, shared: boolean): DataSplit =>
      ({ ...s, x: normalizeImages(s.x, s.byteValues ?? null, s.n, shape, mean, std, shared), byteValues: undefined }) as DataSplit;
    // the training copy in shared memory when a worker augments it: the worker reads rows from it directly
    run = { ...data, train: norm(data.train as AnySplit, image !== undefined && !opts.inline), test: norm(data.test as AnySplit, false) };
  }
  const train = run.train as AnySplit;
  let pipeline: AugmentPipeline | undefined;
  let fallback = '';
  if (image) {
    const o = { src: train.x, table: train.byteValues, shape, augment: image, fill, maxBatch: batchSize };
    try {
      pipeline = new AugmentPipeline({ ...o, inline: opts.inline });
    } catch (e) {
      // no worker thread here: the same batches, built before each step
      pipeline = new AugmentPipeline({ ...o, inline: true });
      fallback = ` (on the training thread: ${e instanceof Error ? e.message : String(e)})`;
    }
  }
  const parts = [
    ...(image && pad > 0 ? [`crop pad ${pad}`] : []),
    ...(image?.flip ? ['flip'] : []),
    ...(normalization
      ? [`normalize${cfg.normalize === 'auto' ? ' (auto)' : ''} mean ${fmt(normalization.mean)} std ${fmt(normalization.std)}`]
      : []),
  ];
  return { data: run, image, pipeline, normalization, description: `augment: ${parts.join(', ')}${fallback}` };
}

function normalizationOf(data: Dataset, n: NonNullable<AugmentConfig['normalize']>, shape: ImageShape): { mean: number[]; std: number[] } {
  if (n === 'auto') {
    const t = data.train as AnySplit;
    const s = channelStats(t.x, t.n, shape, t.byteValues ?? null);
    const flat = s.std.findIndex((v) => !(v > 0));
    if (flat >= 0) throw new RunFailure(`training.augment.normalize "auto": channel ${flat} of the training set is constant (std 0)`);
    return s;
  }
  for (const [k, v] of [
    ['mean', n.mean],
    ['std', n.std],
  ] as const) {
    if (v.length !== shape.c)
      throw new RunFailure(`training.augment.normalize.${k} has ${v.length} values; ${data.name} images have ${shape.c} channels`);
  }
  return { mean: [...n.mean], std: [...n.std] };
}
