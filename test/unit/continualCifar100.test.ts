/**
 * split-cifar-100 as an experiment stream (Firefly §3 "Continual Learning", Table 2 / Fig. 5): the
 * experiment field's validation and defaults (continual.path, tasks 10 or 20, the thin VGG-16), the
 * errors a bad folder gives, and a tiny run through the server's continual runner on a folder written
 * in the exact CIFAR-100 binary format (1 coarse label byte, 1 fine label byte, 3,072 pixel bytes).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveExperiment } from '../../server/config';
import { CONTINUAL_STREAMS, loadStream, thinVgg16, type TaskStream } from '../../server/continual';
import { continualConvSpec } from '../../server/continual/config';
import { OrtExecutor } from '../../server/engine';
import { runContinualPhase } from '../../server/training/continualRun';
import type { Architecture, ContinualConfig, MetricsParams } from '../../common/protocol';
import type { Checkpoint } from '../../server/runs';
import { cifarRecords, writeCifar100 } from '../helpers/visionFiles';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-c100-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
// Fine label of record i: (7i) mod 100, so every 100 records hold each class once: 10 training and
// 3 test images per class.
const folder = path.join(work, 'data', 'cifar-100-binary');
writeCifar100(folder, 1000, 300);

const resolve = (continual: Record<string, unknown>) => resolveExperiment({ name: 'c100', seed: 1, continual }).continual!;

test('split-cifar-100 in the experiment file: defaults (thin VGG-16, shuffled partitions, 10 tasks), and messages naming the bad field', () => {
  assert.ok(CONTINUAL_STREAMS.includes('split-cifar-100'));
  const c = resolve({ stream: 'split-cifar-100', path: 'data/cifar-100-binary' });
  assert.equal(c.path, 'data/cifar-100-binary');
  assert.equal(c.tasks, undefined, 'absent: the stream makes 10');
  assert.equal(c.model, 'conv');
  assert.equal(c.classOrder, 'shuffled', "the paper's random partitions");
  // The paper's thin VGG-16: VGG-16's 13 conv layers (no fully connected layers) at a quarter of their widths.
  const vgg = thinVgg16([3, 32, 32], 0.25);
  assert.deepEqual(c.conv, { channels: vgg.channels, pool: vgg.pool });
  assert.deepEqual(c.conv!.channels, [16, 16, 32, 32, 64, 64, 64, 128, 128, 128, 128, 128, 128]);
  // The top-level dataset follows the stream.
  assert.deepEqual(resolveExperiment({ continual: { stream: 'split-cifar-100', path: 'c' } }).dataset, {
    name: 'cifar-100',
    path: 'c',
    normalize: true,
  });
  assert.equal(resolve({ stream: 'split-cifar-100', path: 'c', tasks: 20 }).tasks, 20);
  const mlp = resolve({ stream: 'split-cifar-100', path: 'c', model: 'mlp', classOrder: 'ordered' });
  assert.deepEqual([mlp.model, mlp.conv, mlp.classOrder], ['mlp', undefined, 'ordered']);
  // The other streams keep MLPs; a conv model there defaults to 8-16 with a pool after each layer.
  assert.deepEqual([resolve({ stream: 'split-mnist' }).model, resolve({ stream: 'split-mnist' }).conv], ['mlp', undefined]);
  assert.deepEqual(resolve({ stream: 'split-fashion-mnist', model: 'conv' }).conv, { channels: [8, 16], pool: [true, true] });
  assert.deepEqual(resolve({ stream: 'split-mnist', model: 'conv', conv: { channels: [4, 8, 8] } }).conv, {
    channels: [4, 8, 8],
    pool: [true, true, true],
  });

  const bad = (continual: Record<string, unknown>, message: string) =>
    assert.throws(
      () => resolve(continual),
      (e: Error) => e.message.includes(message),
      message,
    );
  bad(
    { stream: 'split-cifar-100', path: 'c', tasks: 15 },
    'continual.tasks must be one of 10, 20, got 15 when continual.stream is "split-cifar-100"',
  );
  bad({ stream: 'split-cifar-100', path: 'c', tasks: 5 }, 'continual.tasks must be one of 10, 20, got 5');
  bad({ stream: 'split-cifar-100' }, 'continual.path is required when continual.stream is "split-cifar-100"');
  bad({ stream: 'split-cifar-100', path: '' }, 'continual.path');
  bad({ stream: 'split-cifar-100', path: 'c', model: 'resnet' }, 'continual.model must be one of mlp, conv, got "resnet"');
  bad({ stream: 'split-cifar-100', path: 'c', conv: { channels: [0] } }, 'continual.conv.channels[0] must be >= 1, got 0');
  bad({ stream: 'split-cifar-100', path: 'c', conv: { pool: [true] } }, 'continual.conv.channels is required');
  // The schema the extension contributes for *.growth.json files is the same one.
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../server/config/experiment.schema.json'), 'utf8'));
  assert.ok(schema.properties.continual.properties.stream.enum.includes('split-cifar-100'));
  assert.deepEqual(Object.keys(schema.properties.continual.properties.conv.properties), ['channels', 'pool']);
});

test('split-cifar-100: a bad folder gives an error naming continual.path and the folder, not a crash', async () => {
  const load = (p: string | undefined, baseDir = work) => loadStream('split-cifar-100', { seed: 1, path: p, baseDir, tasks: 10 });
  const missing = path.join(work, 'nowhere');
  await assert.rejects(load('nowhere'), (e: Error) => {
    assert.equal(e.name, 'DatasetError');
    assert.equal(
      e.message,
      `split-cifar-100: continual.path "nowhere" (${missing}) is not a folder that exists; want the CIFAR-100 binary folder with train.bin and test.bin (growth-lab data download cifar-100)`,
    );
    return true;
  });
  await assert.rejects(load(undefined), /split-cifar-100: continual\.path is required/);
  // The folder the official archive unpacks into may be named one level up.
  assert.equal((await load('data')).tasks.length, 10);
  await assert.rejects(
    load(path.join('data', 'cifar-100-binary', 'train.bin')),
    /continual\.path "data.cifar-100-binary.train\.bin" \(.*\) is a file; want/,
  );
  // A folder without test.bin, one with a truncated train.bin, one with a fine label of 100.
  const noTest = path.join(work, 'no-test');
  fs.mkdirSync(noTest);
  fs.copyFileSync(path.join(folder, 'train.bin'), path.join(noTest, 'train.bin'));
  await assert.rejects(load('no-test'), (e: Error) =>
    e.message.startsWith(`split-cifar-100: continual.path "no-test" (${noTest}): cifar-100: test.bin not found in ${noTest}`),
  );
  const short = path.join(work, 'short');
  fs.mkdirSync(short);
  fs.writeFileSync(path.join(short, 'train.bin'), fs.readFileSync(path.join(folder, 'train.bin')).subarray(0, 3074 * 3 + 100));
  fs.copyFileSync(path.join(folder, 'test.bin'), path.join(short, 'test.bin'));
  await assert.rejects(load('short'), /continual\.path "short" .*: cifar-100: train\.bin is 9,322 bytes, want a multiple of 3,074/);
  const label = path.join(work, 'label');
  fs.mkdirSync(label);
  fs.writeFileSync(
    path.join(label, 'train.bin'),
    cifarRecords(
      [
        [3, 42],
        [19, 100],
      ],
      0,
    ),
  );
  fs.copyFileSync(path.join(folder, 'test.bin'), path.join(label, 'test.bin'));
  await assert.rejects(
    load('label'),
    /continual\.path "label" .*: cifar-100: train\.bin record 1 \(byte 3,074\) has fine label 100, want 0-99/,
  );
  // tasks other than 10 or 20 (the library's callers: scripts).
  await assert.rejects(
    loadStream('split-cifar-100', { seed: 1, path: folder, tasks: 5 }),
    /continual\.tasks: split-cifar-100 has 10 or 20 tasks, 5 asked for/,
  );
});

test('continual.conv must fit the stream: pool flags, pools that shrink the image to nothing, Firefly CL starting widths', async () => {
  const stream = await loadStream('split-cifar-100', { seed: 1, path: folder, tasks: 10, trainPerTask: 4, testPerTask: 2 });
  const cfg = (c: Record<string, unknown>) => resolve({ stream: 'split-cifar-100', path: 'c', ...c });
  assert.deepEqual(continualConvSpec(cfg({}), stream), thinVgg16([3, 32, 32], 0.25));
  assert.equal(continualConvSpec(cfg({ model: 'mlp' }), stream), undefined);
  assert.throws(
    () => continualConvSpec(cfg({ conv: { channels: [4, 8], pool: [true] } }), stream),
    /^DatasetError: continual\.conv: 1 pool flags for 2 conv layers \(one flag per layer\)$/,
  );
  assert.throws(
    () => continualConvSpec(cfg({ conv: { channels: [2, 2, 2, 2, 2, 2] } }), stream),
    /continual\.conv: conv model: 6 pools shrink a 32×32 image to nothing/,
  );
  assert.throws(
    () => continualConvSpec(cfg({ firefly: { initialWidth: [8, 8] } }), stream),
    /continual\.firefly\.initialWidth has 2 layers, continual\.conv\.channels has 13: one starting width per conv layer/,
  );
});

test('a tiny split-cifar-100 experiment through the continual runner: 10 tasks, Firefly CL and fine-tuning on a conv net, the folder relative to the experiment file', async () => {
  const config = resolveExperiment({
    name: 'c100',
    seed: 4,
    continual: {
      stream: 'split-cifar-100',
      path: 'data/cifar-100-binary',
      methods: ['firefly-cl', 'finetune'],
      trainPerTask: 100,
      testPerTask: 30,
      epochs: 1,
      batchSize: 25,
      learningRate: 0.01,
      conv: { channels: [4, 4], pool: [true, true] },
      firefly: {
        initialWidth: [2, 2],
        targetAccuracy: 1,
        maxGrowRounds: 1,
        eta: 2,
        newCandidates: 1,
        stepOneIterations: 1,
        scoreExamples: 20,
        maskEpochs: 1,
      },
    },
  });
  const cfg: ContinualConfig = config.continual!;
  const metrics: MetricsParams[] = [];
  const checkpoints: number[] = [];
  const saved: Checkpoint[] = [];
  let started: { architecture: Architecture; description: string } | undefined;
  const executor = await OrtExecutor.create({ threads: 1 });
  const out = await runContinualPhase(cfg, {
    runId: 'r1',
    seed: config.seed,
    baseDir: work, // the experiment file's folder: continual.path is relative to it
    executor,
    startedAt: performance.now(),
    control: async () => false,
    started: (architecture, description) => (started = { architecture, description }),
    metrics: (m) => metrics.push(m),
    checkpoint: (index, c) => {
      checkpoints.push(index);
      // As written to disk: meta through JSON, tensors as float32.
      saved.push({
        meta: JSON.parse(JSON.stringify(c.meta)),
        tensors: Object.fromEntries(Object.entries(c.tensors).map(([k, v]) => [k, Float32Array.from(v)])),
      });
    },
  });
  assert.equal(out.stopped, false);
  assert.equal(out.message, 'learnt 10 tasks with firefly-cl, finetune');
  assert.match(started!.description, /^continual split-cifar-100: 10 tasks \(1: [\d,]+, 2: /);
  assert.match(started!.description, /\), 100 training examples in task 1; methods firefly-cl, finetune$/);
  // The architecture shown is the baselines' conv net on [3, 32, 32] images.
  assert.deepEqual(started!.architecture.inputShape, [3, 32, 32]);
  assert.deepEqual(
    started!.architecture.layers.map((l) => l.type),
    ['conv2d', 'maxpool', 'conv2d', 'maxpool', 'globalavgpool', 'output'],
  );
  assert.deepEqual(
    metrics.map((m) => [m.continual!.method, m.task]),
    ['firefly-cl', 'finetune'].flatMap((method) => Array.from({ length: 10 }, (_, t) => [method, t])),
  );
  assert.deepEqual(
    checkpoints,
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  // The tasks are a seeded partition of the 100 classes into 10 of 10, the same for both methods.
  const names = metrics.slice(0, 10).map((m) => m.continual!.taskName);
  assert.deepEqual(
    metrics.slice(10).map((m) => m.continual!.taskName),
    names,
  );
  const classes = names.map((n) =>
    n
      .replace(/^\d+: /, '')
      .split(',')
      .map(Number),
  );
  classes.forEach((c) => assert.equal(c.length, 10));
  assert.deepEqual(
    classes.flat().sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.notDeepEqual(classes[0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'shuffled, not in order');
  const expected: TaskStream = await loadStream('split-cifar-100', { seed: 4, path: folder, tasks: 10, classOrder: 'shuffled' });
  assert.deepEqual(
    names,
    expected.tasks.map((t) => t.name),
  );
  for (const m of metrics) {
    const c = m.continual!;
    assert.equal(c.tasks, 10);
    assert.equal(c.accuracies.length, m.task! + 1);
    // 3 test images per class, 30 per task: accuracies are multiples of 1/30.
    for (const a of c.accuracies) assert.ok(Math.abs(a * 30 - Math.round(a * 30)) < 1e-9, `${a}`);
    assert.ok(Number.isFinite(m.trainLoss));
  }
  // Firefly CL: old tasks go through their own masks, so their accuracies never change; its net only grows.
  const fire = metrics.slice(0, 10);
  for (let t = 1; t < 10; t++) {
    assert.deepEqual(fire[t].continual!.accuracies.slice(0, t), fire[t - 1].continual!.accuracies, `task ${t}`);
    assert.equal(fire[t].continual!.forgetting, 0);
    assert.ok(fire[t].params >= fire[t - 1].params);
  }
  // A run stopped after Firefly CL's task 4, or fine-tuning's task 3, continues from that checkpoint
  // with the next task and reports exactly what the uninterrupted run did (conv masks, kernels, Adam).
  const pick = (m: MetricsParams) => [
    m.continual!.method,
    m.task,
    m.step,
    m.params,
    m.trainLoss,
    m.continual!.accuracies,
    m.continual!.taskParameters,
  ];
  for (const cut of [4, 13]) {
    const resumed: MetricsParams[] = [];
    const again = await runContinualPhase(cfg, {
      runId: 'r2',
      seed: config.seed,
      baseDir: work,
      executor,
      startedAt: performance.now(),
      resume: saved[cut - 1],
      control: async () => false,
      started: () => undefined,
      metrics: (m) => resumed.push(m),
      checkpoint: () => undefined,
    });
    assert.equal(again.stopped, false);
    assert.deepEqual(resumed.map(pick), metrics.slice(cut).map(pick), `resumed after checkpoint ${cut}`);
  }
});
