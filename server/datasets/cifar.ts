/**
 * CIFAR-10 and CIFAR-100 from their official binary versions
 * (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version"):
 *
 * - cifar-10: data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin, each a run of 3,073-byte
 *   records: 1 label byte (0-9), then 3,072 pixel bytes, the red, green and blue 32x32 planes in
 *   row-major order (so CHW);
 * - cifar-100: train.bin and test.bin, 3,074-byte records: coarse label (0-19), fine label (0-99), pixels.
 *
 * Records are read in chunks straight into one Uint8Array of pixels [N, 3, 32, 32] per split.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { DatasetError } from './errors';
import { cachedLoad, statSignature } from './cache';
import { findDataFolder, requireFile } from './folders';
import { checkSplitSize, sharedBytes, type ImageRows } from './imageSplits';

export type CifarName = 'cifar-10' | 'cifar-100';

export const CIFAR_PIXELS = 3 * 32 * 32;
export const CIFAR_SHAPE = [3, 32, 32];

interface CifarFormat {
  train: string[];
  test: string[];
  /** Label bytes before the pixels. */
  labelBytes: number;
  /** The folder the official archive unpacks into. */
  archiveFolder: string;
  want: string;
}

export const CIFAR_FORMATS: Record<CifarName, CifarFormat> = {
  'cifar-10': {
    train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    test: ['test_batch.bin'],
    labelBytes: 1,
    archiveFolder: 'cifar-10-batches-bin',
    want: 'the binary version: data_batch_1.bin .. data_batch_5.bin and test_batch.bin',
  },
  'cifar-100': {
    train: ['train.bin'],
    test: ['test.bin'],
    labelBytes: 2,
    archiveFolder: 'cifar-100-binary',
    want: 'the binary version: train.bin and test.bin',
  },
};

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Bytes per record: the label bytes and 3,072 pixels. */
export const cifarRecordBytes = (name: CifarName) => CIFAR_FORMATS[name].labelBytes + CIFAR_PIXELS;

export interface CifarRaw {
  folder: string;
  train: CifarSplitRaw;
  test: CifarSplitRaw;
  /** cifar-100: names from fine_label_names.txt / coarse_label_names.txt when the folder has them. */
  fineNames?: string[];
  coarseNames?: string[];
}

export interface CifarSplitRaw {
  x: Uint8Array;
  /** cifar-10: the label; cifar-100: the fine label. */
  fine: Uint8Array;
  /** cifar-100 only. */
  coarse?: Uint8Array;
  n: number;
}

const RECORDS_PER_READ = 1024;
const fmt = (v: number) => v.toLocaleString('en-US');

/** The folder holding the files: dataset.path itself, or the archive's folder inside it. */
export function cifarFolder(name: CifarName, dir: string, given: string): Promise<string> {
  const f = CIFAR_FORMATS[name];
  return findDataFolder(name, dir, given, f.train[0], [f.archiveFolder], f.want);
}

/** Loads (once per process, while the files are unchanged) both splits of a CIFAR folder. */
export async function loadCifarRaw(name: CifarName, dir: string, given: string): Promise<CifarRaw> {
  const folder = await cifarFolder(name, dir, given);
  const f = CIFAR_FORMATS[name];
  const files = [...f.train, ...f.test].map((file) => path.join(folder, file));
  return cachedLoad(`${name}\0${folder}`, await statSignature(files), () => readCifar(name, folder));
}

async function readCifar(name: CifarName, folder: string): Promise<CifarRaw> {
  const f = CIFAR_FORMATS[name];
  const train = await readSplit(name, folder, f.train);
  const test = await readSplit(name, folder, f.test);
  const raw: CifarRaw = { folder, train, test };
  if (name === 'cifar-100') {
    raw.fineNames = await labelNames(path.join(folder, 'fine_label_names.txt'), 100);
    raw.coarseNames = await labelNames(path.join(folder, 'coarse_label_names.txt'), 20);
  }
  return raw;
}

async function readSplit(name: CifarName, folder: string, files: string[]): Promise<CifarSplitRaw> {
  const record = cifarRecordBytes(name);
  const f = CIFAR_FORMATS[name];
  const sizes: number[] = [];
  for (const file of files) {
    const p = await requireFile(name, folder, file, f.want);
    const size = (await fsp.stat(p)).size;
    if (size === 0 || size % record !== 0) {
      throw new DatasetError(`${name}: ${file} is ${fmt(size)} bytes, want a multiple of ${fmt(record)}`);
    }
    sizes.push(size);
  }
  const n = sizes.reduce((a, s) => a + s / record, 0);
  checkSplitSize(`${name}: ${files.join(', ')}`, n, CIFAR_PIXELS, 1);
  const x = sharedBytes(n * CIFAR_PIXELS);
  const fine = new Uint8Array(n);
  const coarse = f.labelBytes === 2 ? new Uint8Array(n) : undefined;
  const buf = Buffer.alloc(RECORDS_PER_READ * record);
  let row = 0;
  for (let k = 0; k < files.length; k++) {
    const file = files[k];
    const fh = await fsp.open(path.join(folder, file), 'r');
    try {
      const records = sizes[k] / record;
      for (let r0 = 0; r0 < records; r0 += RECORDS_PER_READ) {
        const m = Math.min(RECORDS_PER_READ, records - r0);
        const want = m * record;
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, r0 * record + got);
          if (bytesRead === 0) throw new DatasetError(`${name}: ${file} ended early (it changed while being read?)`);
          got += bytesRead;
        }
        for (let i = 0; i < m; i++, row++) {
          const o = i * record;
          if (coarse) {
            coarse[row] = checkLabel(name, file, r0 + i, buf[o], 20, 'coarse label');
            fine[row] = checkLabel(name, file, r0 + i, buf[o + 1], 100, 'fine label');
          } else {
            fine[row] = checkLabel(name, file, r0 + i, buf[o], 10, 'label');
          }
          x.set(buf.subarray(o + f.labelBytes, o + record), row * CIFAR_PIXELS);
        }
      }
    } finally {
      await fh.close();
    }
  }
  return { x, fine, coarse, n };
}

function checkLabel(name: CifarName, file: string, rec: number, v: number, classes: number, what: string): number {
  if (v >= classes) {
    throw new DatasetError(
      `${name}: ${file} record ${fmt(rec)} (byte ${fmt(rec * cifarRecordBytes(name))}) has ${what} ${v}, want 0-${classes - 1}`,
    );
  }
  return v;
}

/** One name per line (blank lines dropped); undefined when the file is absent, too big or has another count. */
async function labelNames(p: string, count: number): Promise<string[] | undefined> {
  try {
    const s = await fsp.stat(p);
    if (s.size > 64 * 1024) return undefined;
    const names = (await fsp.readFile(p, 'utf8'))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
    return names.length === count ? names : undefined;
  } catch {
    return undefined;
  }
}

/** The rows of one split with the labels asked for. */
export function cifarRows(split: CifarSplitRaw, label: 'fine' | 'coarse'): ImageRows {
  return { x: split.x, y: label === 'coarse' && split.coarse ? split.coarse : split.fine, n: split.n };
}
