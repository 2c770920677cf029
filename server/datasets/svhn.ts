/**
 * SVHN, the cropped digits (http://ufldl.stanford.edu/housenumbers/, "Format 2"): train_32x32.mat,
 * test_32x32.mat and optionally extra_32x32.mat, MATLAB level-5 files (read by mat5.ts) with
 * `X` uint8 [32, 32, 3, N] (column-major: X(row, col, channel, n)) and `y` [N, 1] with labels
 * 1..10, where 10 stands for the digit 0. Images become [N, 3, 32, 32] bytes (on shared memory),
 * labels the digit.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { cachedLoad, statSignature } from './cache';
import { DatasetError } from './errors';
import { findDataFolder, requireFile } from './folders';
import { checkSplitSize, fmtBytes, sharedBytes, type ImageRows } from './imageSplits';
import { MAX_VARIABLE_BYTES, MI, matNumbers, readMatVariables } from './mat5';

export const SVHN_FILES = { train: 'train_32x32.mat', test: 'test_32x32.mat', extra: 'extra_32x32.mat' } as const;
export const SVHN_PIXELS = 3 * 32 * 32;
const WANT = 'the cropped digits: train_32x32.mat and test_32x32.mat (and extra_32x32.mat with "extra": true)';

export interface SvhnRaw {
  folder: string;
  train: ImageRows;
  test: ImageRows;
}

export async function loadSvhnRaw(dir: string, given: string, extra: boolean): Promise<SvhnRaw> {
  const folder = await findDataFolder('svhn', dir, given, SVHN_FILES.train, [], WANT);
  const names = extra ? [SVHN_FILES.train, SVHN_FILES.extra, SVHN_FILES.test] : [SVHN_FILES.train, SVHN_FILES.test];
  const files = names.map((f) => path.join(folder, f));
  return cachedLoad(`svhn\0${folder}\0${extra}`, await statSignature(files), () => readSvhn(folder, extra));
}

async function readSvhn(folder: string, extra: boolean): Promise<SvhnRaw> {
  let train = await readSvhnFile(folder, SVHN_FILES.train);
  if (extra) {
    const more = await readSvhnFile(folder, SVHN_FILES.extra);
    const n = train.n + more.n;
    checkSplitSize(`svhn: ${SVHN_FILES.train} with ${SVHN_FILES.extra}`, n, SVHN_PIXELS, 1);
    const x = sharedBytes(n * SVHN_PIXELS);
    x.set(train.x);
    x.set(more.x, train.n * SVHN_PIXELS);
    const y = new Uint8Array(n);
    y.set(train.y);
    y.set(more.y, train.n);
    train = { x, y, n };
  }
  const test = await readSvhnFile(folder, SVHN_FILES.test);
  return { folder, train, test };
}

/** One SVHN .mat file as NCHW bytes and digit labels. */
export async function readSvhnFile(folder: string, file: string): Promise<ImageRows> {
  const p = await requireFile('svhn', folder, file, WANT);
  const size = (await fsp.stat(p)).size;
  if (size > MAX_VARIABLE_BYTES)
    throw new DatasetError(`svhn: ${file} is ${fmtBytes(size)}, more than the ${fmtBytes(MAX_VARIABLE_BYTES)} read here`);
  const buf = await fsp.readFile(p);
  const vars = readMatVariables(buf, `svhn: ${file}`, ['X', 'y']);
  const X = vars.get('X');
  if (!X) throw new DatasetError(`svhn: ${file} has no variable "X"`);
  const d = X.dims;
  if (X.className !== 'uint8' || X.type !== MI.UINT8 || d.length !== 4 || d[0] !== 32 || d[1] !== 32 || d[2] !== 3) {
    throw new DatasetError(`svhn: ${file}: X is ${X.className} [${d.join(', ')}], want uint8 [32, 32, 3, N] (the cropped-digits format)`);
  }
  const y = vars.get('y');
  if (!y) throw new DatasetError(`svhn: ${file} has no variable "y"`);
  const n = d[3];
  if (y.dims.reduce((a, b) => a * b, 1) !== n || !y.dims.every((v) => v === n || v === 1)) {
    throw new DatasetError(`svhn: ${file}: y is [${y.dims.join(', ')}], want [${n}, 1] (one label per image of X)`);
  }
  checkSplitSize(`svhn: ${file}`, n, SVHN_PIXELS, 1);
  const labels = new Uint8Array(n);
  const values = matNumbers(y);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 1 || v > 10)
      throw new DatasetError(`svhn: ${file}: y(${i + 1}) is ${v}, want 1-10 (10 for the digit 0)`);
    labels[i] = v === 10 ? 0 : v;
  }
  return { x: toNchw(X.bytes, n), y: labels, n };
}

/** X(row, col, c, n) column-major -> [n, c, row, col], into a new array on shared memory. */
function toNchw(x: Uint8Array, n: number): Uint8Array {
  const out = sharedBytes(n * SVHN_PIXELS);
  for (let i = 0; i < n; i++) {
    const o = i * SVHN_PIXELS;
    for (let c = 0; c < 3; c++)
      for (let col = 0; col < 32; col++) {
        const from = o + 1024 * c + 32 * col;
        for (let row = 0; row < 32; row++) out[o + 1024 * c + 32 * row + col] = x[from + row];
      }
  }
  return out;
}
