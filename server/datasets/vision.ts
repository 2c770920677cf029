/**
 * The image datasets read from the user's disk (cifar-10, cifar-100, svhn, npz, image-folder):
 * parsed once per process into byte arrays (cache.ts) and split into seeded subsets that share
 * those bytes (imageSplits.ts).
 */
import type { DatasetConfig } from '../../common/protocol';
import { CIFAR10_CLASSES, CIFAR_PIXELS, CIFAR_SHAPE, cifarRows, loadCifarRaw, type CifarName } from './cifar';
import { DatasetError } from './errors';
import { datasetPath } from './folders';
import { type ImageRows, fractionSplit, imageSubsets } from './imageSplits';
import { loadNpzRaw } from './npzImages';
import { loadImageFolderRaw } from './imageFolder';
import { SVHN_PIXELS, loadSvhnRaw } from './svhn';
import { checkSize } from './subset';
import type { Dataset } from './types';

export interface LoadOptions {
  seed: number;
  baseDir: string;
}

const numbered = (k: number) => Array.from({ length: k }, (_, i) => String(i));

/** The seeded subsets of a source with its own test split, or else of a seeded testFraction split of its rows (`what` names it in errors). */
function splitSubsets(
  cfg: DatasetConfig,
  opts: LoadOptions,
  train: ImageRows,
  test: ImageRows | undefined,
  features: number,
  what: string,
) {
  const split = test ? undefined : fractionSplit(what, train.n, cfg.testFraction, opts.seed);
  return imageSubsets(train, test ?? train, features, {
    seed: opts.seed,
    trainSize: checkSize('trainSize', cfg.trainSize),
    testSize: checkSize('testSize', cfg.testSize),
    normalize: cfg.normalize ?? true,
    trainRows: split?.trainRows,
    testRows: split?.testRows,
  });
}

export async function loadCifar(name: CifarName, cfg: DatasetConfig, opts: LoadOptions): Promise<Dataset> {
  const dir = datasetPath(cfg, opts.baseDir, 'the folder with the binary files');
  const label = cfg.label ?? 'fine';
  if (label !== 'fine' && label !== 'coarse') {
    throw new DatasetError(`${name}: label must be "fine" or "coarse", got ${JSON.stringify(label)}`);
  }
  if (name === 'cifar-10' && cfg.label !== undefined) {
    throw new DatasetError('cifar-10: label applies to cifar-100 only (cifar-10 has one label per image)');
  }
  const raw = await loadCifarRaw(name, dir, cfg.path as string);
  const s = imageSubsets(cifarRows(raw.train, label), cifarRows(raw.test, label), CIFAR_PIXELS, {
    seed: opts.seed,
    trainSize: checkSize('trainSize', cfg.trainSize),
    testSize: checkSize('testSize', cfg.testSize),
    normalize: cfg.normalize ?? true,
  });
  const classNames =
    name === 'cifar-10' ? CIFAR10_CLASSES : label === 'coarse' ? (raw.coarseNames ?? numbered(20)) : (raw.fineNames ?? numbered(100));
  const title = name === 'cifar-10' ? 'CIFAR-10' : `CIFAR-100 (${label} labels)`;
  return {
    name,
    task: 'classification',
    inputShape: [...CIFAR_SHAPE],
    numClasses: classNames.length,
    targetSize: 1,
    classNames: [...classNames],
    train: s.train,
    test: s.test,
    description: `${title} from ${raw.folder}: ${s.train.n} train / ${s.test.n} test${s.note}`,
  };
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export async function loadSvhn(cfg: DatasetConfig, opts: LoadOptions): Promise<Dataset> {
  const dir = datasetPath(cfg, opts.baseDir, 'the folder with train_32x32.mat and test_32x32.mat');
  if (cfg.extra !== undefined && typeof cfg.extra !== 'boolean')
    throw new DatasetError(`svhn: extra must be true or false, got ${JSON.stringify(cfg.extra)}`);
  const raw = await loadSvhnRaw(dir, cfg.path as string, cfg.extra === true);
  const s = imageSubsets(raw.train, raw.test, SVHN_PIXELS, {
    seed: opts.seed,
    trainSize: checkSize('trainSize', cfg.trainSize),
    testSize: checkSize('testSize', cfg.testSize),
    normalize: cfg.normalize ?? true,
  });
  return {
    name: 'svhn',
    task: 'classification',
    inputShape: [3, 32, 32],
    numClasses: 10,
    targetSize: 1,
    classNames: [...DIGITS],
    train: s.train,
    test: s.test,
    description: `SVHN from ${raw.folder}${cfg.extra ? ' (train with extra)' : ''}: ${s.train.n} train / ${s.test.n} test${s.note}`,
  };
}

export async function loadNpzDataset(cfg: DatasetConfig, opts: LoadOptions): Promise<Dataset> {
  const raw = await loadNpzRaw(cfg, opts.baseDir);
  const f = raw.inputShape.reduce((a, b) => a * b, 1);
  const s = splitSubsets(cfg, opts, raw.train, raw.test, f, `npz: ${raw.files}`);
  const how = raw.test ? '' : `, seeded testFraction ${cfg.testFraction ?? 0.2} split of ${raw.train.n}`;
  return {
    name: 'npz',
    task: 'classification',
    inputShape: [...raw.inputShape],
    numClasses: raw.numClasses,
    targetSize: 1,
    classNames: numbered(raw.numClasses),
    train: s.train,
    test: s.test,
    description: `npz ${raw.files} (${raw.dtype} [${raw.inputShape.join(', ')}]${how}): ${s.train.n} train / ${s.test.n} test${s.note}`,
  };
}

export async function loadImageFolder(cfg: DatasetConfig, opts: LoadOptions): Promise<Dataset> {
  const raw = await loadImageFolderRaw(cfg, opts.baseDir);
  const f = raw.channels * raw.size * raw.size;
  const s = splitSubsets(cfg, opts, raw.train, raw.test, f, `image-folder: ${raw.root}`);
  const how = raw.test ? raw.layout : `${raw.layout}, seeded testFraction ${cfg.testFraction ?? 0.2} split of ${raw.train.n}`;
  return {
    name: 'image-folder',
    task: 'classification',
    inputShape: [raw.channels, raw.size, raw.size],
    numClasses: raw.classNames.length,
    targetSize: 1,
    classNames: [...raw.classNames],
    train: s.train,
    test: s.test,
    description: `image folder ${raw.root} (${how}; ${raw.classNames.length} classes, ${raw.channels}x${raw.size}x${raw.size}): ${s.train.n} train / ${s.test.n} test${s.note}`,
  };
}
