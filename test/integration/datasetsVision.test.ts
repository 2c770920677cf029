/** The CLI (the built backend) trains and grows on generated CIFAR-format and image-folder data; format errors fail the run. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { ROOT } from './backendClient';
import { writeCifar10 } from '../helpers/visionFiles';

const BIN = path.join(ROOT, 'bin', 'growth-lab.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-vision-cli-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function run(name: string, dataset: unknown) {
  const f = path.join(work, name);
  fs.writeFileSync(
    f,
    JSON.stringify({
      dataset,
      model: {
        layers: [
          { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
          { type: 'maxpool', size: 4 },
          { type: 'dense', units: 8, activation: 'relu' },
        ],
      },
      training: { epochs: 2, batchSize: 8 },
      growth: { method: 'firefly', schedule: { every: 1 }, maxGrowSteps: 1 },
    }),
  );
  const r = spawnSync(process.execPath, [BIN, 'run', f, '--json', '--out', path.join(work, 'out')], {
    cwd: work,
    encoding: 'utf8',
    timeout: 120000,
  });
  const lines = r.stdout.trim()
    ? r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];
  return { ...r, summary: lines[lines.length - 1] };
}

test('cifar-10: a run on a generated binary folder (path relative to the experiment) trains [3, 32, 32] images and grows', () => {
  writeCifar10(path.join(work, 'data', 'cifar-10-batches-bin'), 8, 8);
  const r = run('c10.growth.json', { name: 'cifar-10', path: 'data', testSize: 6 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.summary.status, 'completed');
  assert.deepEqual(r.summary.architecture.inputShape, [3, 32, 32]);
  assert.equal(r.summary.growEvents, 1);
  assert.ok(r.summary.finalTestLoss > 0);
});

test('image-folder: a run on PNG folders decoded by sharp from the built bundle', async () => {
  for (const [cls, colour] of [
    ['red', [250, 0, 0]],
    ['blue', [0, 0, 250]],
  ] as const)
    for (let i = 0; i < 6; i++) {
      fs.mkdirSync(path.join(work, 'imgs', cls), { recursive: true });
      const px = Buffer.alloc(20 * 12 * 3);
      for (let p = 0; p < 240; p++) for (let k = 0; k < 3; k++) px[p * 3 + k] = Math.max(0, colour[k] - i * 10);
      await sharp(px, { raw: { width: 20, height: 12, channels: 3 } })
        .png()
        .toFile(path.join(work, 'imgs', cls, `${i}.png`));
    }
  const r = run('img.growth.json', { name: 'image-folder', path: 'imgs', size: 16, testFraction: 0.25 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.summary.architecture.inputShape, [3, 16, 16]);
  assert.equal(r.summary.architecture.outputSize, 2);
});

test('a CIFAR file of the wrong size fails the run with the message naming it (exit 1)', () => {
  fs.writeFileSync(path.join(work, 'data', 'cifar-10-batches-bin', 'data_batch_3.bin'), Buffer.alloc(3073 * 2 + 5));
  const r = run('bad.growth.json', { name: 'cifar-10', path: 'data' });
  assert.equal(r.status, 1);
  assert.equal(r.summary.status, 'failed');
  assert.match(r.summary.message, /cifar-10: data_batch_3\.bin is 6,151 bytes, want a multiple of 3,073/);
});
