/**
 * The `npz` dataset: arrays `x` (images [N, C, H, W] or [N, H, W, C] by `layout`; [N, H, W] is one
 * channel; [N, F] plain features) and `y` (class indices) in `path`, with the test set from
 * `testPath` (the same arrays) or a seeded `testFraction` split. One file holding x_train, y_train,
 * x_test and y_test (as keras' datasets ship) is read too. uint8 pixels stay bytes.
 */
import * as path from 'path';
import type { DatasetConfig } from '../../common/protocol';
import { quoted } from '../messages';
import { cachedLoad, statSignature } from './cache';
import { DatasetError } from './errors';
import { checkSplitSize, onShared, type ImageRows } from './imageSplits';
import { npyLabels, npyPixels, readNpz, type NpyArray } from './npz';

export type NpzLayout = 'nchw' | 'nhwc';

export interface NpzRaw {
  train: ImageRows;
  /** Absent when the test set is a testFraction split of train. */
  test?: ImageRows;
  /** One example's shape: [C, H, W] or [F]. */
  inputShape: number[];
  numClasses: number;
  dtype: 'uint8' | 'float32';
  files: string;
}

export async function loadNpzRaw(cfg: DatasetConfig, baseDir: string): Promise<NpzRaw> {
  if (typeof cfg.path !== 'string' || cfg.path.trim() === '') {
    throw new DatasetError('npz: dataset.path is required (the .npz file with arrays x and y, relative to the experiment file)');
  }
  const layout = cfg.layout;
  if (layout !== undefined && layout !== 'nchw' && layout !== 'nhwc') {
    throw new DatasetError(`npz: layout must be "nchw" or "nhwc", got ${JSON.stringify(layout)}`);
  }
  const trainPath = path.resolve(baseDir, cfg.path);
  const testPath = cfg.testPath !== undefined ? path.resolve(baseDir, cfg.testPath) : undefined;
  const files = testPath ? [trainPath, testPath] : [trainPath];
  const key = `npz\0${trainPath}\0${testPath ?? ''}\0${layout ?? ''}`;
  return cachedLoad(key, await statSignature(files), () => readNpzDataset(trainPath, testPath, layout, cfg.path as string));
}

async function readNpzDataset(
  trainPath: string,
  testPath: string | undefined,
  layout: NpzLayout | undefined,
  given: string,
): Promise<NpzRaw> {
  const name = (p: string) => `npz: ${path.basename(p)}`;
  const first = await readNpz(trainPath, name(trainPath), ['x', 'y', 'x_train', 'y_train', 'x_test', 'y_test']);
  let train: Split;
  let test: Split | undefined;
  if (first.has('x_train') && first.has('y_train') && !first.has('x')) {
    train = split(first.get('x_train')!, first.get('y_train')!, `${name(trainPath)}: x_train`, `${name(trainPath)}: y_train`, layout);
    if (!testPath && first.has('x_test') && first.has('y_test'))
      test = split(first.get('x_test')!, first.get('y_test')!, `${name(trainPath)}: x_test`, `${name(trainPath)}: y_test`, layout);
  } else {
    train = split(
      need(first, 'x', trainPath, given),
      need(first, 'y', trainPath, given),
      `${name(trainPath)}: x`,
      `${name(trainPath)}: y`,
      layout,
    );
  }
  if (testPath) {
    const t = await readNpz(testPath, name(testPath), ['x', 'y']);
    test = split(need(t, 'x', testPath, given), need(t, 'y', testPath, given), `${name(testPath)}: x`, `${name(testPath)}: y`, layout);
  }
  if (test) {
    const same = test.inputShape.length === train.inputShape.length && test.inputShape.every((d, i) => d === train.inputShape[i]);
    if (!same || test.rows.x.constructor !== train.rows.x.constructor) {
      throw new DatasetError(
        `npz: the test images are ${test.dtype} [${test.inputShape.join(', ')}], the training images ${train.dtype} [${train.inputShape.join(', ')}]; both need the same`,
      );
    }
  }
  let numClasses = 0;
  for (const s of test ? [train, test] : [train]) for (const v of s.rows.y) numClasses = Math.max(numClasses, v + 1);
  if (numClasses < 2)
    throw new DatasetError(`npz: ${path.basename(trainPath)}: y holds ${numClasses} class; classification needs at least 2`);
  return {
    train: train.rows,
    test: test?.rows,
    inputShape: train.inputShape,
    numClasses,
    dtype: train.dtype,
    files: testPath ? `${path.basename(trainPath)} + ${path.basename(testPath)}` : path.basename(trainPath),
  };
}

function need(arrays: Map<string, NpyArray>, key: string, file: string, given: string): NpyArray {
  const a = arrays.get(key);
  if (!a) {
    throw new DatasetError(
      `npz: ${path.basename(file)} has no array "${key}" (want x: images [N, C, H, W] or [N, H, W, C], y: labels [N]; dataset.path ${quoted(given)})`,
    );
  }
  return a;
}

interface Split {
  rows: ImageRows;
  inputShape: number[];
  dtype: 'uint8' | 'float32';
}

function split(x: NpyArray, y: NpyArray, xWhat: string, yWhat: string, layout: NpzLayout | undefined): Split {
  const s = x.shape;
  if (s.length < 2 || s.length > 4) {
    throw new DatasetError(`${xWhat} has shape [${s.join(', ')}]; want [N, C, H, W], [N, H, W, C] (layout "nhwc"), [N, H, W] or [N, F]`);
  }
  const n = s[0];
  const ys = y.shape;
  if (ys.reduce((a, b) => a * b, 1) !== n || ys.length === 0 || ys[0] !== n || ys.length > 2) {
    throw new DatasetError(`${yWhat} has shape [${ys.join(', ')}]; want [${n}] (one label per image of x)`);
  }
  const pixels = npyPixels(x, xWhat);
  let inputShape: number[];
  let data = pixels;
  if (s.length === 4) {
    if (layout === undefined && [1, 3, 4].includes(s[3]) && ![1, 3, 4].includes(s[1])) {
      throw new DatasetError(
        `${xWhat} has shape [${s.join(', ')}], which looks like [N, H, W, C]; set dataset.layout to "nhwc" (or "nchw" if it is [N, C, H, W])`,
      );
    }
    if (layout === 'nhwc') {
      const [, h, w, c] = s;
      inputShape = [c, h, w];
      data = nhwcToNchw(pixels, n, h, w, c);
    } else {
      inputShape = s.slice(1);
      data = onShared(pixels);
    }
  } else {
    inputShape = s.length === 3 ? [1, s[1], s[2]] : [s[1]];
    data = onShared(pixels);
  }
  const f = inputShape.reduce((a, b) => a * b, 1);
  checkSplitSize(xWhat, n, f, pixels instanceof Uint8Array ? 1 : 4);
  const labels = npyLabels(y, yWhat);
  const yOut = labels.every((v) => v < 256) ? Uint8Array.from(labels) : labels;
  return { rows: { x: data, y: yOut, n }, inputShape, dtype: pixels instanceof Uint8Array ? 'uint8' : 'float32' };
}

function nhwcToNchw<T extends Uint8Array | Float32Array>(src: T, n: number, h: number, w: number, c: number): T {
  const out = (
    src instanceof Uint8Array ? new Uint8Array(new SharedArrayBuffer(src.length)) : new Float32Array(new SharedArrayBuffer(src.byteLength))
  ) as T;
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const o = i * plane * c;
    for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[o + k * plane + p] = src[o + p * c + k];
  }
  return out;
}
