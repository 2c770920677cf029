/** The Download Dataset command's pure part: choices, progress steps, the dataset block and its insertion. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { parse } from 'jsonc-parser';
import { DOWNLOAD_DATASETS, type DownloadProgressParams } from '../../common/protocol';
import { DOWNLOAD_CHOICES, DownloadProgressSteps, datasetBlockFor, datasetBlockText, withDataset } from '../../extension/datasetDownload';
import { COMMANDS, COMMAND_TITLES } from '../../extension/commands';
import { requestRefusal } from '../../extension/workspaceTrust';
import pkg from '../../package.json';

test('Download Dataset: one choice per downloadable dataset; the command is contributed and refused in Restricted Mode', () => {
  assert.deepEqual(
    DOWNLOAD_CHOICES.map((c) => c.name),
    [...DOWNLOAD_DATASETS],
  );
  assert.equal(COMMANDS.downloadDataset, 'growthLab.downloadDataset');
  assert.equal(COMMAND_TITLES.downloadDataset, 'Download Dataset');
  const contributed = pkg.contributes.commands.find((c) => c.command === 'growthLab.downloadDataset');
  assert.deepEqual(contributed && { title: contributed.title, category: contributed.category }, {
    title: 'Download Dataset',
    category: 'Growth Lab',
  });
  assert.match(requestRefusal('growthLab/downloadDataset', false)!, /downloadDataset is disabled in Restricted Mode/);
  assert.equal(requestRefusal('growthLab/downloadDataset', true), undefined);
  assert.equal(requestRefusal('growthLab/cancelDownload', false), undefined);
});

test('DownloadProgressSteps: each file an equal share, increments add up to 100, never backwards', () => {
  const steps = new DownloadProgressSteps();
  const p = (
    fileIndex: number,
    receivedBytes: number,
    totalBytes?: number,
    phase: 'download' | 'unpack' = 'download',
  ): DownloadProgressParams => ({
    name: 'svhn',
    phase,
    file: ['train_32x32.mat', 'test_32x32.mat'][fileIndex],
    fileIndex,
    fileCount: 2,
    receivedBytes,
    totalBytes,
  });
  const MB = 1024 * 1024;
  assert.deepEqual(steps.step(p(0, 0)), { message: 'train_32x32.mat (1/2): 0.0 MB', increment: 0 });
  assert.deepEqual(steps.step(p(0, 50 * MB, 100 * MB)), { message: 'train_32x32.mat (1/2): 50.0 of 100.0 MB', increment: 25 });
  assert.deepEqual(steps.step(p(0, 100 * MB, 100 * MB)), { message: 'train_32x32.mat (1/2): 100.0 of 100.0 MB', increment: 25 });
  assert.equal(steps.step(p(1, 0)).increment, 0);
  assert.equal(steps.step(p(1, 10, 40)).increment, 12.5);
  assert.equal(steps.step(p(1, 5, 40)).increment, 0);
  assert.equal(steps.step(p(1, 40, 40)).increment, 37.5);
  const cifar = new DownloadProgressSteps();
  cifar.step({ name: 'cifar-10', phase: 'download', file: 'a.tar.gz', fileIndex: 0, fileCount: 1, receivedBytes: 1, totalBytes: 2 });
  assert.deepEqual(cifar.step({ name: 'cifar-10', phase: 'unpack', file: 'a.tar.gz', fileIndex: 0, fileCount: 1, receivedBytes: 0 }), {
    message: 'unpacking a.tar.gz…',
    increment: 50,
  });
});

test('the dataset block: path relative to the experiment file, one line to paste', () => {
  const abs = path.resolve('/ws/data/cifar-10-batches-bin');
  const block = { name: 'cifar-10' as const, path: abs };
  assert.deepEqual(datasetBlockFor(block), block);
  assert.deepEqual(datasetBlockFor(block, path.resolve('/ws/exp/a.growth.json')), {
    name: 'cifar-10',
    path: '../data/cifar-10-batches-bin',
  });
  assert.deepEqual(datasetBlockFor(block, path.resolve('/ws/a.growth.json')), { name: 'cifar-10', path: 'data/cifar-10-batches-bin' });
  assert.equal(
    datasetBlockText({ name: 'svhn', path: 'data/svhn', extra: true }),
    '"dataset": {"name": "svhn", "path": "data/svhn", "extra": true}',
  );
});

test('withDataset: sets name and path (and extra), keeps the other fields and the comments', () => {
  const text = `{
  // my experiment
  "dataset": { "name": "mnist", "trainSize": 1000, "extra": true },
  "training": { "epochs": 2 }
}
`;
  const out = withDataset(text, { name: 'cifar-10', path: 'data/cifar-10-batches-bin' })!;
  assert.ok(out.includes('// my experiment'));
  assert.deepEqual(parse(out), {
    dataset: { name: 'cifar-10', trainSize: 1000, path: 'data/cifar-10-batches-bin' },
    training: { epochs: 2 },
  });
  const none = withDataset('{\n  "training": {}\n}', { name: 'svhn', path: 'd/svhn', extra: true })!;
  assert.deepEqual(parse(none), { training: {}, dataset: { name: 'svhn', path: 'd/svhn', extra: true } });
  const crlf = withDataset('{\r\n  "model": {}\r\n}\r\n', { name: 'svhn', path: 's' })!;
  assert.ok(!/[^\r]\n/.test(crlf), 'CRLF kept');
  assert.equal(withDataset('[1, 2]', { name: 'svhn', path: 's' }), undefined);
  assert.equal(withDataset('', { name: 'svhn', path: 's' }), undefined);
});
