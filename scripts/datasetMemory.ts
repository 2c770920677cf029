/**
 * Memory of a full-size CIFAR-10 train set as Growth Lab holds it: writes a generated folder in the
 * official binary format (5 x 10,000 records + 10,000 test records, 184 MB) to a temporary folder,
 * loads it twice (two runs) and prints the process's memory against the 153.6 MB of pixels.
 *
 *   node --expose-gc --import tsx scripts/datasetMemory.ts
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadDataset } from '../server/datasets';
import { AugmentPipeline } from '../server/trainer/augmentPipeline';
import { BatchAssembler } from '../server/trainer/batches';

const MB = 1e6;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function writeFolder(dir: string): void {
  const rec = Buffer.alloc(10_000 * 3073);
  for (let f = 0; f < 6; f++) {
    for (let i = 0; i < 10_000; i++) {
      rec[i * 3073] = (i + f) % 10;
      rec.fill((i * 7 + f) & 0xff, i * 3073 + 1, (i + 1) * 3073);
    }
    fs.writeFileSync(path.join(dir, f < 5 ? `data_batch_${f + 1}.bin` : 'test_batch.bin'), rec);
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-cifar-memory-'));
  try {
    writeFolder(dir);
    gc();
    const before = process.memoryUsage();
    const t0 = performance.now();
    const a = await loadDataset({ name: 'cifar-10', path: dir }, { seed: 1 });
    const loadMs = performance.now() - t0;
    const b = await loadDataset({ name: 'cifar-10', path: dir }, { seed: 2 });
    const batch = new BatchAssembler(a.train, a.inputShape, a.numClasses, 1, 128);
    const order = Int32Array.from({ length: 128 }, (_, i) => i * 390);
    const t1 = performance.now();
    for (let k = 0; k < 100; k++) batch.fill(order, 0, 128);
    const batchMs = (performance.now() - t1) / 100;
    gc();
    const after = process.memoryUsage();
    const pixels = a.train.x.byteLength;
    const grown = after.rss - before.rss;
    console.log(`CIFAR-10 train: ${a.train.n} images, ${(pixels / MB).toFixed(1)} MB of pixels (${a.train.x.constructor.name})`);
    console.log(`second run shares the arrays: ${a.train.x === b.train.x}`);
    console.log(`load (both splits, cold page cache aside): ${loadMs.toFixed(0)} ms`);
    console.log(
      `RSS grew ${(grown / MB).toFixed(1)} MB for train + test (${(grown / pixels).toFixed(2)}x the train pixels); external ${(after.external / MB).toFixed(1)} MB, heap ${(after.heapUsed / MB).toFixed(1)} MB`,
    );
    console.log(`one batch of 128 assembled as floats: ${batchMs.toFixed(2)} ms`);
    // two runs with crop + flip: each starts the augmentation worker on the training pixels
    const pipes = [a, b].map(
      (d) =>
        new AugmentPipeline({
          src: d.train.x,
          table: d.train.byteValues,
          shape: { c: 3, h: 32, w: 32 },
          augment: { pad: 4, flip: true },
          fill: new Float32Array(3),
          maxBatch: 128,
        }),
    );
    await Promise.all(pipes.map((p) => p.dispose()));
    gc();
    const withWorkers = process.memoryUsage().rss - before.rss;
    console.log(
      `with two crop/flip worker pipelines started: RSS grew ${(withWorkers / MB).toFixed(1)} MB (${(withWorkers / pixels).toFixed(2)}x)`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
