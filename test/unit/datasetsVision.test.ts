/** The vision datasets read from the user's disk: exact on-disk formats, errors, subsets, byte representation. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DatasetError, datasetAvailability, loadDataset, type Dataset } from '../../server/datasets';
import { clearDatasetCache } from '../../server/datasets/cache';
import { UNIT_BYTE_VALUES } from '../../server/datasets/rows';
import { matNumbers, readMatVariables } from '../../server/datasets/mat5';
import { parseNpy, zipEntries, zipEntryData } from '../../server/datasets/npz';
import { BatchAssembler } from '../../server/trainer/batches';
import sharp from 'sharp';
import type { DatasetConfig } from '../../common/protocol';
import { cifarRecords, matFile, mi, mx, npy, pixelOf, svhnMat, writeCifar10, writeCifar100, zip } from '../helpers/visionFiles';

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-vision-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const load = (cfg: Partial<DatasetConfig> & { name: DatasetConfig['name'] }, seed = 1) =>
  loadDataset(cfg as DatasetConfig, { seed, baseDir: tmp });

async function rejects(p: Promise<unknown>, expected: string | RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`);
    if (typeof expected === 'string') assert.equal((e as Error).message, expected);
    else assert.match((e as Error).message, expected);
    return true;
  });
}

/** Which generated record a row holds (its first pixel bytes identify it). */
function recordOf(d: Dataset, split: 'train' | 'test', row: number, candidates: number[]): number {
  const x = d[split].x;
  const found = candidates.filter((r) => [0, 1, 2, 500, 3071].every((k) => x[row * 3072 + k] === pixelOf(r, k)));
  assert.equal(found.length, 1, `row ${row} matches records ${found}`);
  return found[0];
}

// ---------------------------------------------------------------------------------------------
// cifar-10 / cifar-100
// ---------------------------------------------------------------------------------------------

test('cifar-10: the binary records become uint8 pixels [N, 3, 32, 32] and labels, in file order', async () => {
  writeCifar10(path.join(tmp, 'c10'), 4, 3);
  const d = await load({ name: 'cifar-10', path: 'c10' });
  assert.deepEqual(d.inputShape, [3, 32, 32]);
  assert.equal(d.numClasses, 10);
  assert.equal(d.classNames?.[0], 'airplane');
  assert.equal(d.classNames?.[9], 'truck');
  assert.equal(d.train.n, 20);
  assert.equal(d.test.n, 3);
  assert.ok(d.train.x instanceof Uint8Array, 'pixels stay bytes');
  assert.ok(d.train.x.buffer instanceof SharedArrayBuffer, 'on shared memory: worker threads read it without a copy');
  assert.ok(d.train.y instanceof Uint8Array, 'labels are bytes');
  assert.equal(d.train.x.length, 20 * 3072);
  for (let r = 0; r < 20; r++) {
    assert.equal(d.train.y[r], r % 10);
    for (const k of [0, 1, 1023, 1024, 2048, 3071]) assert.equal(d.train.x[r * 3072 + k], pixelOf(r, k));
  }
  assert.deepEqual(Array.from(d.test.y), [0, 3, 6]);
  assert.equal(d.test.x[2 * 3072 + 5], pixelOf(1002, 5));
  assert.match(d.description, /^CIFAR-10 from .*c10: 20 train \/ 3 test$/);
});

test('cifar-10: batches turn the bytes into floats (v/255, or v with normalize false) and one-hot targets', async () => {
  const d = await load({ name: 'cifar-10', path: 'c10' });
  const asm = new BatchAssembler(d.train, d.inputShape, d.numClasses, 1, 4);
  const b = asm.fill([7, 2], 0, 2);
  assert.deepEqual(b.x.shape, [2, 3, 32, 32]);
  const x = b.x.data as Float32Array;
  for (const k of [0, 100, 3071]) {
    assert.equal(x[k], UNIT_BYTE_VALUES[pixelOf(7, k)]);
    assert.equal(x[3072 + k], Math.fround(pixelOf(2, k) / 255));
  }
  assert.deepEqual(Array.from(b.labels), [7, 2]);
  const y = b.y.data as Float32Array;
  assert.equal(y[7], 1);
  assert.equal(y[10 + 2], 1);
  assert.equal(
    y.reduce((a, v) => a + v, 0),
    2,
  );
  const raw = await load({ name: 'cifar-10', path: 'c10', normalize: false });
  const rb = new BatchAssembler(raw.train, raw.inputShape, raw.numClasses, 1, 1).fill([3], 0, 1);
  assert.equal((rb.x.data as Float32Array)[9], pixelOf(3, 9));
});

test('cifar-10: loaded once per process and shared by runs; a changed file is read again', async () => {
  clearDatasetCache();
  writeCifar10(path.join(tmp, 'shared'), 2, 2);
  const a = await load({ name: 'cifar-10', path: 'shared' }, 1);
  const b = await load({ name: 'cifar-10', path: path.join(tmp, 'shared') }, 2);
  assert.equal(a.train.x, b.train.x, 'the whole split is the cached array itself');
  assert.equal(a.test.y, b.test.y);
  const sub = await load({ name: 'cifar-10', path: 'shared', trainSize: 3 });
  assert.notEqual(sub.train.x.buffer, a.train.x.buffer, 'a subset copies only its rows');
  assert.equal(sub.train.x.length, 3 * 3072);
  assert.ok(sub.train.x.buffer instanceof SharedArrayBuffer);
  // rewrite one batch (one more record): the signature changes, the files are parsed again
  fs.writeFileSync(path.join(tmp, 'shared', 'data_batch_2.bin'), cifarRecords([[1], [2], [3]], 50));
  const c = await load({ name: 'cifar-10', path: 'shared' });
  assert.notEqual(c.train.x, a.train.x);
  assert.equal(c.train.n, 11);
  assert.equal(c.train.x[2 * 3072 + 4], pixelOf(50, 4));
});

test('cifar-10: the folder the archive unpacks into (cifar-10-batches-bin) is found inside dataset.path', async () => {
  writeCifar10(path.join(tmp, 'download', 'cifar-10-batches-bin'), 1, 1);
  const d = await load({ name: 'cifar-10', path: 'download' });
  assert.equal(d.train.n, 5);
  assert.match(d.description, /cifar-10-batches-bin/);
});

test('cifar-10: trainSize / testSize are seeded subsets, kept in file order, independent of each other', async () => {
  const all = Array.from({ length: 20 }, (_, i) => i);
  const rows = (d: Dataset) => Array.from({ length: d.train.n }, (_, i) => recordOf(d, 'train', i, all));
  const a = await load({ name: 'cifar-10', path: 'c10', trainSize: 6, testSize: 2 }, 5);
  const b = await load({ name: 'cifar-10', path: 'c10', trainSize: 6, testSize: 2 }, 5);
  const c = await load({ name: 'cifar-10', path: 'c10', trainSize: 6, testSize: 2 }, 6);
  const e = await load({ name: 'cifar-10', path: 'c10', trainSize: 7, testSize: 2 }, 5);
  assert.deepEqual(rows(a), rows(b), 'same seed, same subset');
  assert.notDeepEqual(rows(a), rows(c), 'another seed, another subset');
  assert.deepEqual(
    rows(a),
    [...rows(a)].sort((p, q) => p - q),
    'file order kept',
  );
  rows(a).forEach((r, i) => assert.equal(a.train.y[i], r % 10, 'labels follow their images'));
  assert.deepEqual(Array.from(a.test.x), Array.from(e.test.x), 'trainSize does not change the test subset');
  assert.match(a.description, /6 train \/ 2 test \(train: seeded subset of 20; test: seeded subset of 3\)/);
  await rejects(load({ name: 'cifar-10', path: 'c10', trainSize: 21 }), 'trainSize is 21, larger than the 20 training examples available');
});

test('cifar-10: errors name the file and the expected layout', async () => {
  const dir = path.join(tmp, 'bad10');
  writeCifar10(dir, 2, 1);
  fs.writeFileSync(path.join(dir, 'data_batch_3.bin'), Buffer.alloc(2 * 3073 + 5));
  await rejects(load({ name: 'cifar-10', path: 'bad10' }), 'cifar-10: data_batch_3.bin is 6,151 bytes, want a multiple of 3,073');
  fs.writeFileSync(path.join(dir, 'data_batch_3.bin'), Buffer.alloc(0));
  await rejects(load({ name: 'cifar-10', path: 'bad10' }), 'cifar-10: data_batch_3.bin is 0 bytes, want a multiple of 3,073');
  fs.rmSync(path.join(dir, 'data_batch_3.bin'));
  await rejects(
    load({ name: 'cifar-10', path: 'bad10' }),
    `cifar-10: data_batch_3.bin not found in ${dir} (want the binary version: data_batch_1.bin .. data_batch_5.bin and test_batch.bin)`,
  );
  fs.writeFileSync(path.join(dir, 'data_batch_3.bin'), cifarRecords([[4], [12]], 0));
  await rejects(load({ name: 'cifar-10', path: 'bad10' }), 'cifar-10: data_batch_3.bin record 1 (byte 3,073) has label 12, want 0-9');
  await rejects(
    load({ name: 'cifar-10', path: 'nowhere' }),
    `cifar-10: folder ${path.join(tmp, 'nowhere')} not found (dataset.path "nowhere")`,
  );
  await rejects(load({ name: 'cifar-10' }), /^cifar-10: dataset\.path is required/);
  await rejects(load({ name: 'cifar-10', path: 'c10', label: 'coarse' }), /label applies to cifar-100 only/);
  fs.writeFileSync(path.join(tmp, 'afile'), 'x');
  await rejects(load({ name: 'cifar-10', path: 'afile' }), /is a file; want the folder/);
  fs.writeFileSync(path.join(tmp, 'cifar-10-binary.tar.gz'), 'x');
  await rejects(
    load({ name: 'cifar-10', path: 'cifar-10-binary.tar.gz' }),
    /cifar-10-binary\.tar\.gz is a file \(an archive: unpack it, e\.g\. tar xzf, and point dataset\.path at its folder\); want the folder that holds the binary version/,
  );
});

test('cifar-100: 3,074-byte records, fine labels by default, coarse on request, names from the label files', async () => {
  const dir = path.join(tmp, 'c100');
  writeCifar100(dir, 30, 4);
  const fine = await load({ name: 'cifar-100', path: 'c100' });
  assert.equal(fine.numClasses, 100);
  assert.equal(fine.classNames?.[42], '42', 'numbers without fine_label_names.txt');
  assert.equal(fine.train.n, 30);
  for (let r = 0; r < 30; r++) {
    assert.equal(fine.train.y[r], (r * 7) % 100);
    assert.equal(fine.train.x[r * 3072 + 17], pixelOf(r, 17));
  }
  const coarse = await load({ name: 'cifar-100', path: 'c100', label: 'coarse' });
  assert.equal(coarse.numClasses, 20);
  assert.equal(coarse.train.x, fine.train.x, 'one parse serves both label sets');
  assert.deepEqual(Array.from(coarse.test.y), [0, 1, 2, 3]);
  assert.match(coarse.description, /CIFAR-100 \(coarse labels\)/);
  fs.writeFileSync(path.join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n') + '\n');
  clearDatasetCache();
  assert.equal((await load({ name: 'cifar-100', path: 'c100', label: 'coarse' })).classNames?.[19], 'super19');

  fs.writeFileSync(path.join(dir, 'test.bin'), Buffer.alloc(3073 * 2));
  await rejects(load({ name: 'cifar-100', path: 'c100' }), 'cifar-100: test.bin is 6,146 bytes, want a multiple of 3,074');
  fs.writeFileSync(path.join(dir, 'test.bin'), cifarRecords([[3, 100]], 0));
  await rejects(load({ name: 'cifar-100', path: 'c100' }), 'cifar-100: test.bin record 0 (byte 0) has fine label 100, want 0-99');
  fs.rmSync(path.join(dir, 'test.bin'));
  await rejects(
    load({ name: 'cifar-100', path: 'c100' }),
    `cifar-100: test.bin not found in ${dir} (want the binary version: train.bin and test.bin)`,
  );
});

// ---------------------------------------------------------------------------------------------
// svhn (MATLAB level-5)
// ---------------------------------------------------------------------------------------------

test('svhn: X [32, 32, 3, N] column-major becomes [N, 3, 32, 32]; label 10 is the digit 0; compressed or not', async () => {
  const dir = path.join(tmp, 'svhn');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), svhnMat([1, 10, 5, 10, 9], { compressed: true }));
  fs.writeFileSync(path.join(dir, 'test_32x32.mat'), svhnMat([3, 10]));
  const d = await load({ name: 'svhn', path: 'svhn' });
  assert.deepEqual(d.inputShape, [3, 32, 32]);
  assert.equal(d.numClasses, 10);
  assert.ok(d.train.x instanceof Uint8Array);
  assert.deepEqual(Array.from(d.train.y), [1, 0, 5, 0, 9]);
  assert.ok(d.train.x.buffer instanceof SharedArrayBuffer && d.test.x.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(Array.from(d.test.y), [3, 0]);
  for (let i = 0; i < 5; i++)
    for (const [c, row, col] of [
      [0, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
      [1, 5, 30],
      [2, 31, 31],
    ]) {
      const k = c * 1024 + row * 32 + col;
      assert.equal(d.train.x[i * 3072 + k], pixelOf(i, k), `image ${i} channel ${c} row ${row} col ${col}`);
    }
  assert.equal(d.test.x[3072 + 1024 + 32 * 2 + 7], pixelOf(1, 1024 + 32 * 2 + 7));
  const sub = await load({ name: 'svhn', path: 'svhn', trainSize: 2 }, 3);
  assert.equal(sub.train.n, 2);
  assert.deepEqual(sub, await load({ name: 'svhn', path: 'svhn', trainSize: 2 }, 3));
});

test('svhn: extra: true appends extra_32x32.mat to the training set', async () => {
  const dir = path.join(tmp, 'svhn');
  fs.writeFileSync(path.join(dir, 'extra_32x32.mat'), svhnMat([2, 2, 2], { compressed: true }));
  const d = await load({ name: 'svhn', path: 'svhn', extra: true });
  assert.equal(d.train.n, 8);
  assert.deepEqual(Array.from(d.train.y), [1, 0, 5, 0, 9, 2, 2, 2]);
  assert.equal(d.train.x[6 * 3072 + 40], pixelOf(1, 40), 'the second image of extra');
  assert.equal(d.train.x[5 * 3072], pixelOf(0, 0));
  assert.match(d.description, /train with extra/);
});

test('svhn: errors name the file and what it lacks', async () => {
  const dir = path.join(tmp, 'svhnbad');
  fs.mkdirSync(dir);
  const test = path.join(dir, 'test_32x32.mat');
  fs.writeFileSync(test, svhnMat([1]));
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), svhnMat([1, 2], { omit: 'X', compressed: true }));
  await rejects(load({ name: 'svhn', path: 'svhnbad' }), 'svhn: train_32x32.mat has no variable "X"');
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), svhnMat([1, 2], { omit: 'y' }));
  await rejects(load({ name: 'svhn', path: 'svhnbad' }), 'svhn: train_32x32.mat has no variable "y"');
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), svhnMat([1, 11]));
  await rejects(load({ name: 'svhn', path: 'svhnbad' }), 'svhn: train_32x32.mat: y(2) is 11, want 1-10 (10 for the digit 0)');
  const grey = matFile([{ name: 'X', classId: mx.UINT8, dims: [32, 32, 1, 1], type: mi.UINT8, data: new Uint8Array(1024) }]);
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), Buffer.concat([grey]));
  await rejects(load({ name: 'svhn', path: 'svhnbad' }), /svhn: train_32x32.mat: X is uint8 \[32, 32, 1, 1\], want uint8 \[32, 32, 3, N\]/);
  const hdf5 = Buffer.alloc(512);
  hdf5.write('MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00', 0, 'latin1');
  hdf5.writeUInt16LE(0x0200, 124);
  hdf5.write('IM', 126, 'latin1');
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), hdf5);
  await rejects(load({ name: 'svhn', path: 'svhnbad' }), /svhn: train_32x32.mat: a MATLAB v7.3 \(HDF5\) file; save it with -v7/);
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), svhnMat([1, 2]).subarray(0, 2000));
  await rejects(load({ name: 'svhn', path: 'svhnbad' }), /svhn: train_32x32.mat: truncated/);
  const z = svhnMat([1, 2], { compressed: true });
  z.fill(0xff, 200, 260); // inside the zlib stream of X
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), z);
  await rejects(load({ name: 'svhn', path: 'svhnbad' }), /svhn: train_32x32.mat: (corrupt compressed variable|cannot decompress)/);
  fs.writeFileSync(path.join(dir, 'train_32x32.mat'), Buffer.from('not a mat file at all'));
  await rejects(load({ name: 'svhn', path: 'svhnbad' }), /svhn: train_32x32.mat: not a MAT-file/);
  fs.rmSync(path.join(dir, 'train_32x32.mat'));
  await rejects(
    load({ name: 'svhn', path: 'svhnbad' }),
    new RegExp(`^svhn: train_32x32.mat not found in ${dir.replace(/[/\\.]/g, '\\$&')}`),
  );
  await rejects(
    load({ name: 'svhn', path: 'svhn', extra: true, trainSize: 100 }),
    'trainSize is 100, larger than the 8 training examples available',
  );
});

test('mat5: skips variables not asked for (compressed ones unread), reads any numeric storage type, long names', () => {
  const doubles = new Float64Array([1.5, -2, 1e6]);
  const big = new Uint8Array(4096).fill(7);
  const file = matFile([
    { name: 'unwanted_but_long_name', classId: mx.UINT8, dims: [64, 64], type: mi.UINT8, data: big, compressed: true },
    { name: 'labels_as_doubles', classId: mx.DOUBLE, dims: [1, 3], type: mi.DOUBLE, data: new Uint8Array(doubles.buffer) },
    {
      name: 'i16',
      classId: mx.DOUBLE,
      dims: [2, 1],
      type: mi.INT16,
      data: new Uint8Array(new Int16Array([-3, 300]).buffer),
      compressed: true,
    },
  ]);
  const vars = readMatVariables(file, 'f.mat', ['labels_as_doubles', 'i16']);
  assert.deepEqual([...vars.keys()].sort(), ['i16', 'labels_as_doubles']);
  const a = vars.get('labels_as_doubles')!;
  assert.equal(a.className, 'double');
  assert.deepEqual(a.dims, [1, 3]);
  assert.deepEqual(Array.from(matNumbers(a)), [1.5, -2, 1e6]);
  assert.deepEqual(Array.from(matNumbers(vars.get('i16')!)), [-3, 300]);
  assert.throws(
    () =>
      readMatVariables(matFile([{ name: 'v', classId: mx.DOUBLE, dims: [2, 2], type: mi.DOUBLE, data: new Uint8Array(8) }]), 'g.mat', [
        'v',
      ]),
    /g\.mat: variable "v" is \[2, 2\] \(4 values\) but holds 8 bytes of 8-byte values/,
  );
  const be = Buffer.from(matFile([]));
  be.write('MI', 126, 'latin1');
  assert.throws(() => readMatVariables(be, 'h.mat', ['x']), /h\.mat: a big-endian MAT-file/);
});

// ---------------------------------------------------------------------------------------------
// npz
// ---------------------------------------------------------------------------------------------

/** n images [n, c, h, w] with pixel (i, k) = pixelOf(i, k), in NCHW or NHWC byte order. */
function images(n: number, c: number, h: number, w: number, layout: 'nchw' | 'nhwc'): Uint8Array {
  const out = new Uint8Array(n * c * h * w);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++)
      for (let p = 0; p < h * w; p++) {
        const at = layout === 'nchw' ? i * c * h * w + k * h * w + p : i * c * h * w + p * c + k;
        out[at] = pixelOf(i, k * h * w + p);
      }
  return out;
}
const int64 = (v: number[]) => new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer);

test('npz: x [N, H, W, C] with layout nhwc becomes [N, C, H, W] bytes; deflated (savez_compressed) or stored', async () => {
  for (const deflate of [false, true]) {
    const file = `nhwc-${deflate}.npz`;
    const labels = [0, 1, 2, 1, 0, 2];
    fs.writeFileSync(
      path.join(tmp, file),
      zip(
        [
          ['x.npy', npy('|u1', [6, 5, 4, 3], images(6, 3, 5, 4, 'nhwc'))],
          ['y.npy', npy('<i8', [6], int64(labels))],
        ],
        deflate,
      ),
    );
    const d = await load({ name: 'npz', path: file, layout: 'nhwc', testFraction: 0.5 }, 4);
    assert.deepEqual(d.inputShape, [3, 5, 4]);
    assert.equal(d.numClasses, 3);
    assert.ok(d.train.x instanceof Uint8Array);
    assert.equal(d.train.n + d.test.n, 6);
    assert.equal(d.test.n, 3);
    // each row is one of the six images, in NCHW order, with its own label
    const all = [d.train, d.test].flatMap((sp) =>
      Array.from({ length: sp.n }, (_, r) => {
        const i = [0, 1, 2, 3, 4, 5].find((cand) => [0, 7, 20, 59].every((k) => sp.x[r * 60 + k] === pixelOf(cand, k)));
        assert.ok(i !== undefined, 'an image in NCHW order');
        assert.equal(sp.y[r], labels[i]);
        return i;
      }),
    );
    assert.deepEqual([...all].sort(), [0, 1, 2, 3, 4, 5]);
    const again = await load({ name: 'npz', path: file, layout: 'nhwc', testFraction: 0.5 }, 4);
    assert.deepEqual(Array.from(again.test.x), Array.from(d.test.x), 'the split is seeded');
    assert.match(d.description, /uint8 \[3, 5, 4\], seeded testFraction 0.5 split of 6/);
  }
});

test('npz: float32 x [N, C, H, W] with a testPath file, [N, H, W] as one channel, keras x_train/x_test in one file', async () => {
  const fx = Float32Array.from({ length: 4 * 2 * 3 * 3 }, (_, i) => i / 10);
  const fy = new Uint8Array([3, 0, 1, 2]);
  fs.writeFileSync(
    path.join(tmp, 'f-train.npz'),
    zip(
      [
        ['x.npy', npy('<f4', [4, 2, 3, 3], new Uint8Array(fx.buffer))],
        ['y.npy', npy('|u1', [4, 1], fy)],
      ],
      false,
    ),
  );
  fs.writeFileSync(
    path.join(tmp, 'f-test.npz'),
    zip(
      [
        ['x.npy', npy('<f4', [1, 2, 3, 3], new Uint8Array(fx.buffer, 0, 18 * 4))],
        ['y.npy', npy('<i4', [1], new Uint8Array(new Int32Array([2]).buffer))],
      ],
      true,
    ),
  );
  const d = await load({ name: 'npz', path: 'f-train.npz', testPath: 'f-test.npz', layout: 'nchw' });
  assert.ok(d.train.x instanceof Float32Array, 'float images stay floats');
  assert.ok(d.train.x.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(d.inputShape, [2, 3, 3]);
  assert.equal(d.numClasses, 4);
  assert.deepEqual(Array.from(d.train.x), Array.from(fx));
  assert.deepEqual(Array.from(d.train.y), [3, 0, 1, 2]);
  assert.equal(d.test.n, 1);
  assert.equal(d.test.y[0], 2);
  const grey = images(4, 1, 6, 6, 'nchw');
  fs.writeFileSync(
    path.join(tmp, 'keras.npz'),
    zip(
      [
        ['x_train.npy', npy('|u1', [3, 6, 6], grey.subarray(0, 108))],
        ['y_train.npy', npy('|u1', [3], new Uint8Array([0, 1, 1]))],
        ['x_test.npy', npy('|u1', [1, 6, 6], grey.subarray(108))],
        ['y_test.npy', npy('|u1', [1], new Uint8Array([0]))],
      ],
      true,
    ),
  );
  const k = await load({ name: 'npz', path: 'keras.npz' });
  assert.deepEqual(k.inputShape, [1, 6, 6]);
  assert.equal(k.train.n, 3);
  assert.equal(k.test.n, 1);
  assert.equal(k.test.x[5], pixelOf(3, 5));
});

test('npz: errors name the file, the array and the expected layout', async () => {
  const w = (file: string, entries: [string, Uint8Array][]) => fs.writeFileSync(path.join(tmp, file), zip(entries, false));
  const x = npy('|u1', [2, 8, 8, 3], new Uint8Array(2 * 192));
  const y = npy('|u1', [2], new Uint8Array([0, 1]));
  w('e1.npz', [['x.npy', x]]);
  await rejects(
    load({ name: 'npz', path: 'e1.npz' }),
    /^npz: e1\.npz has no array "y" \(want x: images \[N, C, H, W\] or \[N, H, W, C\], y: labels \[N\]/,
  );
  w('e2.npz', [
    ['x.npy', x],
    ['y.npy', y],
  ]);
  await rejects(
    load({ name: 'npz', path: 'e2.npz' }),
    'npz: e2.npz: x has shape [2, 8, 8, 3], which looks like [N, H, W, C]; set dataset.layout to "nhwc" (or "nchw" if it is [N, C, H, W])',
  );
  w('e3.npz', [
    ['x.npy', x],
    ['y.npy', npy('|u1', [3], new Uint8Array([0, 1, 1]))],
  ]);
  await rejects(load({ name: 'npz', path: 'e3.npz', layout: 'nhwc' }), 'npz: e3.npz: y has shape [3]; want [2] (one label per image of x)');
  w('e4.npz', [
    ['x.npy', npy('<f8', [2, 4], new Uint8Array(64))],
    ['y.npy', y],
  ]);
  await rejects(load({ name: 'npz', path: 'e4.npz' }), 'npz: e4.npz: x: dtype <f8; images must be uint8 or float32');
  w('e5.npz', [
    ['x.npy', npy('|u1', [2, 4], new Uint8Array(8), true)],
    ['y.npy', y],
  ]);
  await rejects(load({ name: 'npz', path: 'e5.npz' }), /npz: e5\.npz: x: a Fortran-order array/);
  w('e6.npz', [
    ['x.npy', npy('|u1', [2, 4], new Uint8Array(7))],
    ['y.npy', y],
  ]);
  await rejects(load({ name: 'npz', path: 'e6.npz' }), 'npz: e6.npz: x: shape [2, 4] of |u1 needs 8 bytes, the array holds 7');
  w('e7.npz', [
    ['x.npy', npy('|u1', [2, 4], new Uint8Array(8))],
    ['y.npy', npy('<i8', [2], int64([0, -1]))],
  ]);
  await rejects(load({ name: 'npz', path: 'e7.npz' }), 'npz: e7.npz: y[1] is -1; labels must be class indices 0, 1, 2, ...');
  fs.writeFileSync(path.join(tmp, 'e8.npz'), 'PK not really a zip archive, just text');
  await rejects(load({ name: 'npz', path: 'e8.npz' }), 'npz: e8.npz: not an .npz file (no ZIP end-of-central-directory record)');
  const cut = zip(
    [
      ['x.npy', npy('|u1', [2, 4], new Uint8Array(8))],
      ['y.npy', y],
    ],
    true,
  );
  fs.writeFileSync(path.join(tmp, 'e9.npz'), Buffer.concat([cut.subarray(0, 40), Buffer.alloc(60), cut.subarray(100)]));
  await rejects(load({ name: 'npz', path: 'e9.npz' }), /npz: e9\.npz: /);
  await rejects(load({ name: 'npz', path: 'missing.npz' }), `npz: missing.npz: file not found (${path.join(tmp, 'missing.npz')})`);
  w('e10.npz', [
    ['x.npy', npy('|u1', [4, 4], new Uint8Array(16))],
    ['y.npy', npy('|u1', [4], new Uint8Array([0, 1, 0, 1]))],
  ]);
  await rejects(
    load({ name: 'npz', path: 'e10.npz', testFraction: 0.1 }),
    'npz: e10.npz: testFraction 0.1 of 4 examples gives 0 test examples; both splits need at least one',
  );
});

// ---------------------------------------------------------------------------------------------
// image-folder (PNG / JPEG / WebP written with sharp)
// ---------------------------------------------------------------------------------------------

/** A w x h image, left half `left`, right half `right` (RGB), written in the format of the file's extension. */
async function writeImage(file: string, w: number, h: number, left: number[], right = left, alpha = false): Promise<void> {
  const ch = alpha ? 4 : 3;
  const px = Buffer.alloc(w * h * ch);
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      const v = c < w / 2 ? left : right;
      for (let k = 0; k < 3; k++) px[(r * w + c) * ch + k] = v[k];
      if (alpha) px[(r * w + c) * ch + 3] = 128;
    }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp(px, { raw: { width: w, height: h, channels: ch } });
  const ext = path.extname(file).toLowerCase();
  const out = ext === '.png' ? img.png() : ext === '.webp' ? img.webp({ lossless: true }) : img.jpeg({ quality: 100 });
  await out.toFile(file);
}

test('image-folder: classes sorted by name, images resized (shorter side) and centre-cropped to size, CHW bytes', async () => {
  const root = path.join(tmp, 'imgs');
  await writeImage(path.join(root, 'dog', 'a.png'), 64, 32, [255, 0, 0], [0, 0, 255]); // wide: red | blue
  await writeImage(path.join(root, 'dog', 'b.webp'), 8, 8, [10, 20, 30]);
  await writeImage(path.join(root, 'cat', 'x.PNG'), 16, 16, [200, 100, 50], [200, 100, 50], true);
  await writeImage(path.join(root, 'cat', 'y.jpg'), 20, 40, [0, 255, 0]);
  await writeImage(path.join(root, 'cat', 'z.jpeg'), 8, 8, [128, 128, 128]);
  fs.writeFileSync(path.join(root, 'cat', 'notes.txt'), 'not an image');
  const d = await load({ name: 'image-folder', path: 'imgs', size: 8, testFraction: 0.4 }, 2);
  assert.deepEqual(d.classNames, ['cat', 'dog']);
  assert.deepEqual(d.inputShape, [3, 8, 8]);
  assert.ok(d.train.x.buffer instanceof SharedArrayBuffer);
  assert.ok(d.train.x instanceof Uint8Array);
  assert.equal(d.train.n, 3);
  assert.equal(d.test.n, 2);
  // the full set, by the order of the files: cat/x.PNG, cat/y.jpg, cat/z.jpeg, dog/a.png, dog/b.webp
  const all = await load({ name: 'image-folder', path: 'imgs', size: 8, testFraction: 0.4 }, 2);
  const rows = [all.train, all.test].flatMap((sp) => Array.from({ length: sp.n }, (_, r) => ({ sp, r })));
  const at = (sp: typeof d.train, r: number, c: number, row: number, col: number) => sp.x[r * 192 + c * 64 + row * 8 + col];
  const wide = rows.find(({ sp, r }) => sp.y[r] === 1 && at(sp, r, 2, 0, 7) > 200);
  assert.ok(wide, 'the red | blue image');
  // 64x32 -> 16x8 -> columns 4..11: red on the left edge, blue on the right edge
  assert.deepEqual(
    [0, 1, 2].map((c) => at(wide.sp, wide.r, c, 3, 0)),
    [255, 0, 0],
  );
  assert.deepEqual(
    [0, 1, 2].map((c) => at(wide.sp, wide.r, c, 3, 7)),
    [0, 0, 255],
  );
  const flat = rows.find(({ sp, r }) => sp.y[r] === 1 && at(sp, r, 0, 4, 4) === 10);
  assert.ok(flat, 'the lossless webp keeps its colour');
  assert.deepEqual(
    [0, 1, 2].map((c) => at(flat.sp, flat.r, c, 7, 7)),
    [10, 20, 30],
  );
  // (resizing premultiplies by alpha and back: within 2 of the colour)
  const rgba = rows.find(({ sp, r }) => sp.y[r] === 0 && Math.abs(at(sp, r, 0, 0, 0) - 200) <= 2);
  assert.ok(rgba, 'alpha dropped, colour kept');
  assert.ok(Math.abs(at(rgba.sp, rgba.r, 1, 5, 5) - 100) <= 2 && Math.abs(at(rgba.sp, rgba.r, 2, 5, 5) - 50) <= 2);
  const jpeg = rows.find(({ sp, r }) => sp.y[r] === 0 && at(sp, r, 1, 4, 4) > 240 && at(sp, r, 0, 4, 4) < 15);
  assert.ok(jpeg, 'the green JPEG');
  assert.deepEqual(all.train.x, d.train.x, 'the same seed gives the same split');
  const grey = await load({ name: 'image-folder', path: 'imgs', size: 4, channels: 1, testFraction: 0.4 }, 2);
  assert.deepEqual(grey.inputShape, [1, 4, 4]);
  const g = [grey.train, grey.test].flatMap((sp) => Array.from({ length: sp.n }, (_, r) => sp.x[r * 16 + 5]));
  assert.ok(
    g.some((v) => Math.abs(v - 128) <= 1),
    `the grey JPEG stays grey: ${g}`,
  );
});

test('image-folder: a test subfolder (with or without train/) is the test set; errors name the folder or file', async () => {
  const root = path.join(tmp, 'split');
  for (const [sub, cls, n] of [
    ['b', 'b', 3],
    ['a', 'a', 2],
    ['test/a', 'a', 1],
    ['test/b', 'b', 2],
  ] as const)
    for (let i = 0; i < n; i++) await writeImage(path.join(root, sub, `${cls}${i}.png`), 4, 4, [i * 40, 0, 0]);
  const d = await load({ name: 'image-folder', path: 'split', size: 4 });
  assert.deepEqual(d.classNames, ['a', 'b']);
  assert.equal(d.train.n, 5);
  assert.equal(d.test.n, 3);
  assert.deepEqual(Array.from(d.train.y), [0, 0, 1, 1, 1]);
  assert.deepEqual(Array.from(d.test.y), [0, 1, 1]);
  assert.deepEqual(Array.from(d.test.x.subarray(48, 50)), [0, 0]);
  assert.equal(d.test.x[2 * 48], 40);
  assert.match(d.description, /<class> and test\/<class>; 2 classes, 3x4x4\): 5 train \/ 3 test/);
  await writeImage(path.join(root, 'train', 'a', 'a.png'), 4, 4, [1, 2, 3]);
  await writeImage(path.join(root, 'train', 'b', 'b.png'), 4, 4, [1, 2, 3]);
  const t = await load({ name: 'image-folder', path: 'split', size: 4 });
  assert.equal(t.train.n, 2, 'train/ is used when test/ has a sibling train/');

  fs.mkdirSync(path.join(root, 'train', 'c'));
  await rejects(
    load({ name: 'image-folder', path: 'split', size: 4 }),
    `image-folder: class folder ${path.join(root, 'train', 'c')} has no images (want .png, .jpg, .jpeg, .webp files)`,
  );
  fs.rmSync(path.join(root, 'train'), { recursive: true });
  await writeImage(path.join(root, 'test', 'zebra', 'z.png'), 4, 4, [0, 0, 0]);
  await rejects(
    load({ name: 'image-folder', path: 'split', size: 4 }),
    /image-folder: .*test has class folder "zebra", which .*split does not have \(classes: a, b\)/,
  );
  fs.rmSync(path.join(root, 'test', 'zebra'), { recursive: true });
  fs.writeFileSync(path.join(root, 'a', 'broken.png'), 'not a png');
  await rejects(
    load({ name: 'image-folder', path: 'split', size: 4 }),
    new RegExp(`^image-folder: cannot decode ${path.join(root, 'a', 'broken.png').replace(/[/.]/g, '\\$&')}: `),
  );
  await rejects(
    load({ name: 'image-folder', path: 'nope' }),
    `image-folder: folder ${path.join(tmp, 'nope')} not found (dataset.path "nope")`,
  );
  await writeImage(path.join(tmp, 'one', 'only', 'a.png'), 4, 4, [0, 0, 0]);
  await rejects(load({ name: 'image-folder', path: 'one' }), /has one class folder \(only\); classification needs at least 2/);
});

// ---------------------------------------------------------------------------------------------
// capabilities
// ---------------------------------------------------------------------------------------------

test('datasetAvailability: path-based datasets say what they read; official sets are found in the search folders', () => {
  const ws = path.join(tmp, 'workspace');
  writeCifar10(path.join(ws, 'data', 'cifar-10-batches-bin'), 1, 1);
  writeCifar100(path.join(ws, 'cifar-100-binary'), 1, 1);
  const a = new Map(datasetAvailability([ws, path.join(ws, 'data')]).map((d) => [d.name, d]));
  assert.deepEqual(a.get('cifar-10'), {
    name: 'cifar-10',
    available: true,
    files:
      'a folder (dataset.path) with data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin (the binary version)',
    found: path.join(ws, 'data', 'cifar-10-batches-bin'),
  });
  assert.equal(a.get('cifar-100')?.found, path.join(ws, 'cifar-100-binary'));
  assert.equal(a.get('svhn')?.found, undefined, 'not downloaded');
  assert.equal(a.get('svhn')?.available, true);
  assert.match(a.get('svhn')?.files ?? '', /train_32x32\.mat, test_32x32\.mat/);
  assert.equal(a.get('image-folder')?.available, true, 'sharp is installed');
  assert.match(a.get('npz')?.files ?? '', /arrays x and y/);
  assert.equal(a.get('mnist')?.files, undefined);
});

// ---------------------------------------------------------------------------------------------
// hostile files: every damaged file is a DatasetError, never a crash, a hang or a raw TypeError
// ---------------------------------------------------------------------------------------------

test('fuzz: truncated and corrupted MAT and npz files give DatasetErrors only', () => {
  const rng = (() => {
    let s = 12345;
    return () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  })();
  const mat = svhnMat([1, 2, 3], { compressed: true });
  const matPlain = svhnMat([4, 5]);
  const x = npy('|u1', [3, 2, 2], new Uint8Array(12));
  const y = npy('<i8', [3], int64([0, 1, 1]));
  const npzStored = zip(
    [
      ['x.npy', x],
      ['y.npy', y],
    ],
    false,
  );
  const npzDeflated = zip(
    [
      ['x.npy', x],
      ['y.npy', y],
    ],
    true,
  );
  const check = (fn: () => unknown, what: string) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof DatasetError, `${what}: ${(e as Error)?.stack}`);
    }
  };
  for (let t = 0; t < 300; t++) {
    for (const [name, src] of [
      ['mat', mat],
      ['matPlain', matPlain],
      ['npzStored', npzStored],
      ['npzDeflated', npzDeflated],
    ] as const) {
      const b = Buffer.from(src);
      const cut = t % 3 === 0 ? Math.floor(rng() * b.length) : b.length;
      for (let k = 0; k < 1 + (t % 4); k++) b[Math.floor(rng() * b.length)] = Math.floor(rng() * 256);
      const damaged = b.subarray(0, cut);
      if (name.startsWith('mat')) check(() => readMatVariables(damaged, name, ['X', 'y']), `${name} #${t}`);
      else
        check(() => {
          const entries = zipEntries(damaged, name);
          for (const e of entries.values()) parseNpy(zipEntryData(damaged, e, name), `${name}: ${e.name}`);
        }, `${name} #${t}`);
    }
  }
});
