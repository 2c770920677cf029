/**
 * Image datasets held as bytes: one Uint8Array of pixels [N, C, H, W] and one label array per split,
 * shared by every run that uses them. A split over all rows is a view of the cached arrays (no
 * copy); a trainSize/testSize subset copies only its rows.
 */
import { DatasetError } from './errors';
import { UNIT_BYTE_VALUES, RAW_BYTE_VALUES } from './rows';
import { streamFor } from './streams';
import { pickSubset } from './subset';
import type { DataSplit } from './types';

/** Rows of images as parsed: pixels (bytes, or floats for float sources) and class indices. */
export interface ImageRows {
  x: Uint8Array | Float32Array;
  y: Uint8Array | Int32Array;
  n: number;
}

/**
 * Pixel arrays live on shared memory: the augmentation pipeline's worker thread (and any other) reads
 * them without a copy (server/trainer/augmentPipeline.ts keeps a SharedArrayBuffer as it is).
 */
export function sharedBytes(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/** `a` itself when on shared memory, else a copy there. */
export function onShared<T extends Uint8Array | Float32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = (a instanceof Uint8Array ? sharedBytes(a.length) : new Float32Array(new SharedArrayBuffer(a.byteLength))) as T;
  out.set(a);
  return out;
}

/** Most bytes one split may hold in memory (2 GiB: one typed array). */
export const MAX_SPLIT_BYTES = 2 ** 31 - 1;

export function checkSplitSize(what: string, n: number, featureSize: number, bytesPerValue: number): void {
  const bytes = n * featureSize * bytesPerValue;
  if (bytes > MAX_SPLIT_BYTES) {
    throw new DatasetError(
      `${what}: ${n.toLocaleString('en-US')} examples of ${featureSize.toLocaleString('en-US')} values need ${fmtBytes(bytes)}, more than the ${fmtBytes(MAX_SPLIT_BYTES)} one split may hold; use a smaller set`,
    );
  }
}

export function fmtBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;
}

/** A split of the chosen positions of `rows` (all when undefined); byte pixels keep their bytes. */
export function imageSplit(rows: ImageRows, featureSize: number, positions: ArrayLike<number> | undefined, normalize: boolean): DataSplit {
  const byteValues = rows.x instanceof Uint8Array ? (normalize ? UNIT_BYTE_VALUES : RAW_BYTE_VALUES) : undefined;
  const extra = byteValues ? { byteValues } : {};
  if (!positions) return { x: rows.x, y: rows.y, n: rows.n, ...extra };
  const n = positions.length;
  const x = rows.x instanceof Uint8Array ? sharedBytes(n * featureSize) : new Float32Array(new SharedArrayBuffer(n * featureSize * 4));
  const y = rows.y instanceof Uint8Array ? new Uint8Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = positions[i];
    x.set(rows.x.subarray(r * featureSize, (r + 1) * featureSize), i * featureSize);
    y[i] = rows.y[r];
  }
  return { x, y, n, ...extra };
}

export interface ImageSubsets {
  train: DataSplit;
  test: DataSplit;
  /** " (train: seeded subset of 50000)" or ''. */
  note: string;
}

/**
 * trainSize / testSize as seeded subsets, drawn exactly as for MNIST (streams trainSubset and
 * testSubset, kept in split order). `trainRows` / `testRows` restrict each split to some rows first
 * (a seeded testFraction split of one source).
 */
export function imageSubsets(
  train: ImageRows,
  test: ImageRows,
  featureSize: number,
  opts: { seed: number; trainSize?: number; testSize?: number; normalize: boolean; trainRows?: Int32Array; testRows?: Int32Array },
): ImageSubsets {
  const pick = (rows: ImageRows, only: Int32Array | undefined, size: number | undefined, field: 'trainSize' | 'testSize') => {
    const available = only ? only.length : rows.n;
    const stream = streamFor(opts.seed, field === 'trainSize' ? 'trainSubset' : 'testSubset');
    const sub = pickSubset(available, size, stream, field, field === 'trainSize' ? 'training examples' : 'test examples');
    const positions = sub && only ? Int32Array.from(sub, (p) => only[p]) : (sub ?? only);
    return { split: imageSplit(rows, featureSize, positions, opts.normalize), of: available };
  };
  const tr = pick(train, opts.trainRows, opts.trainSize, 'trainSize');
  const te = pick(test, opts.testRows, opts.testSize, 'testSize');
  const parts: string[] = [];
  if (tr.split.n !== tr.of) parts.push(`train: seeded subset of ${tr.of}`);
  if (te.split.n !== te.of) parts.push(`test: seeded subset of ${te.of}`);
  return { train: tr.split, test: te.split, note: parts.length ? ` (${parts.join('; ')})` : '' };
}

/** A seeded split of n rows into train and test rows (stream 'split', as csv's testFraction). */
export function fractionSplit(
  what: string,
  n: number,
  fraction: number | undefined,
  seed: number,
): { trainRows: Int32Array; testRows: Int32Array } {
  const f = fraction ?? 0.2;
  if (typeof f !== 'number' || !(f > 0 && f < 1)) {
    throw new DatasetError(`${what}: testFraction must be a number between 0 and 1 (exclusive), got ${JSON.stringify(f)}`);
  }
  const nTest = Math.round(n * f);
  if (nTest < 1 || nTest > n - 1) {
    throw new DatasetError(`${what}: testFraction ${f} of ${n} examples gives ${nTest} test examples; both splits need at least one`);
  }
  const p = streamFor(seed, 'split').permutation(n);
  return { trainRows: p.slice(nTest).sort(), testRows: p.slice(0, nTest).sort() };
}
