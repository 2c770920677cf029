/**
 * Small files in the exact on-disk formats of the vision datasets, written byte by byte for the
 * format tests: CIFAR binary records, MATLAB level-5 files (with zlib-compressed variables) and npz.
 */
import * as fs from 'fs';
import * as path from 'path';
import { deflateRawSync, deflateSync } from 'zlib';

/** A pixel byte that identifies its record: images are told apart by their content. */
export const pixelOf = (record: number, k: number) => (record * 7 + k * 13) & 0xff;

/** CIFAR records: label bytes then 3,072 pixel bytes (pixelOf(base + i, k)). */
export function cifarRecords(labels: number[][], base: number): Buffer {
  const lb = labels[0]?.length ?? 1;
  const rec = lb + 3072;
  const b = Buffer.alloc(labels.length * rec);
  labels.forEach((l, i) => {
    l.forEach((v, j) => (b[i * rec + j] = v));
    for (let k = 0; k < 3072; k++) b[i * rec + lb + k] = pixelOf(base + i, k);
  });
  return b;
}

/** A CIFAR-10 folder: five train batches of `perBatch` records and a test batch of `test` records. */
export function writeCifar10(dir: string, perBatch: number, test: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let b = 0; b < 5; b++) {
    const labels = Array.from({ length: perBatch }, (_, i) => [(b * perBatch + i) % 10]);
    fs.writeFileSync(path.join(dir, `data_batch_${b + 1}.bin`), cifarRecords(labels, b * perBatch));
  }
  fs.writeFileSync(
    path.join(dir, 'test_batch.bin'),
    cifarRecords(
      Array.from({ length: test }, (_, i) => [(i * 3) % 10]),
      1000,
    ),
  );
}

/** A CIFAR-100 folder: coarse label i % 20, fine label (i * 7) % 100. */
export function writeCifar100(dir: string, train: number, test: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const labels = (n: number) => Array.from({ length: n }, (_, i) => [i % 20, (i * 7) % 100]);
  fs.writeFileSync(path.join(dir, 'train.bin'), cifarRecords(labels(train), 0));
  fs.writeFileSync(path.join(dir, 'test.bin'), cifarRecords(labels(test), 1000));
}

// ---------------------------------------------------------------------------------------------
// MATLAB level-5 (MAT-File Format, The MathWorks, "Level 5 MAT-File Format")
// ---------------------------------------------------------------------------------------------

export const mi = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, MATRIX: 14, COMPRESSED: 15 };
export const mx = { DOUBLE: 6, SINGLE: 7, UINT8: 9 };

const pad8 = (n: number) => (8 - (n % 8)) % 8;

/** One data element: 8-byte tag (type, byte count), data, padding to 8 bytes (or the 4-byte small form). */
export function matElement(type: number, data: Uint8Array, small = false): Buffer {
  if (small && data.length <= 4) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(((data.length << 16) | type) >>> 0, 0);
    Buffer.from(data).copy(b, 4);
    return b;
  }
  const b = Buffer.alloc(8 + data.length + pad8(data.length));
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(data.length, 4);
  Buffer.from(data).copy(b, 8);
  return b;
}

export interface MatVar {
  name: string;
  classId: number;
  dims: number[];
  /** The stored values and their element type (MATLAB stores doubles in the smallest type that holds them). */
  type: number;
  data: Uint8Array;
  compressed?: boolean;
}

/** A miMATRIX element (flags, dimensions, name, real part), optionally wrapped in miCOMPRESSED. */
export function matVariable(v: MatVar): Buffer {
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(v.classId, 0);
  const dims = Buffer.alloc(4 * v.dims.length);
  v.dims.forEach((d, i) => dims.writeInt32LE(d, 4 * i));
  const body = Buffer.concat([
    matElement(mi.UINT32, flags),
    matElement(mi.INT32, dims),
    matElement(mi.INT8, Buffer.from(v.name, 'latin1'), true),
    matElement(v.type, v.data),
  ]);
  const matrix = matElement(mi.MATRIX, body);
  if (!v.compressed) return matrix;
  const z = deflateSync(matrix);
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(mi.COMPRESSED, 0);
  tag.writeUInt32LE(z.length, 4);
  return Buffer.concat([tag, z]); // compressed elements are not padded
}

/** A whole MAT file: the 128-byte header (text, subsystem offset, version 0x0100, 'IM') then the variables. */
export function matFile(vars: MatVar[], text = 'MATLAB 5.0 MAT-file, written by the Growth Lab tests'): Buffer {
  const header = Buffer.alloc(128, 0x20);
  header.write(text, 0, 'latin1');
  header.fill(0, 116, 124);
  header.writeUInt16LE(0x0100, 124);
  header.write('IM', 126, 'latin1');
  return Buffer.concat([header, ...vars.map(matVariable)]);
}

/**
 * SVHN's layout: X uint8 [32, 32, 3, N] column-major (X(row, col, channel, n)), y double [N, 1] with
 * labels 1..10 (10 for the digit 0), stored as miUINT8. Pixel (n, c, row, col) = pixelOf(n, c*1024 + row*32 + col).
 */
export function svhnMat(labels: number[], opts: { compressed?: boolean; omit?: 'X' | 'y' } = {}): Buffer {
  const n = labels.length;
  const x = new Uint8Array(3072 * n);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++)
      for (let row = 0; row < 32; row++)
        for (let col = 0; col < 32; col++) x[row + 32 * col + 1024 * c + 3072 * i] = pixelOf(i, c * 1024 + row * 32 + col);
  const vars: MatVar[] = [];
  if (opts.omit !== 'X')
    vars.push({ name: 'X', classId: mx.UINT8, dims: [32, 32, 3, n], type: mi.UINT8, data: x, compressed: opts.compressed });
  if (opts.omit !== 'y')
    vars.push({ name: 'y', classId: mx.DOUBLE, dims: [n, 1], type: mi.UINT8, data: Uint8Array.from(labels), compressed: opts.compressed });
  return matFile(vars);
}

// ---------------------------------------------------------------------------------------------
// npz: a ZIP of .npy files (NumPy's format.py: magic, version 1.0, header dict padded to 64 bytes)
// ---------------------------------------------------------------------------------------------

export function npy(descr: string, shape: number[], data: Uint8Array, fortran = false): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const h = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(h);
  h.writeUInt16LE(header.length, 8);
  return Buffer.concat([h, Buffer.from(header, 'latin1'), data]);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = CRC_TABLE[(c ^ v) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A ZIP archive of the entries, each stored or deflated (np.savez / np.savez_compressed). */
export function zip(entries: [string, Uint8Array][], deflate: boolean): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const body = deflate ? deflateRawSync(data) : Buffer.from(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    parts.push(local, nameBytes, body);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc32(data), 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(nameBytes.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}
