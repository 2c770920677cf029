/** The vision datasets read from the user's disk: exact on-disk formats, errors, subsets, byte representation. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DatasetError, loadDataset, type Dataset } from '../../server/datasets';
import { clearDatasetCache } from '../../server/datasets/cache';
import { UNIT_BYTE_VALUES } from '../../server/datasets/rows';
import { BatchAssembler } from '../../server/trainer/batches';
import type { DatasetConfig } from '../../common/protocol';
import { cifarRecords, pixelOf, writeCifar10, writeCifar100 } from '../helpers/visionFiles';

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
