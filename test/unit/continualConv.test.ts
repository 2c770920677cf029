import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { OrtExecutor } from '../../server/engine';
import { Rng } from '../../server/random';
import {
  FireflyClConv,
  loadStream,
  makeLearner,
  runContinual,
  thinVgg16,
  type ContinualTask,
  type LearnerContext,
  type TaskStream,
} from '../../server/continual';
import type { ConvSpec } from '../../server/continual/convTrunk';
import type { TaskSplit } from '../../server/continual/training';
import { pixelOf, writeCifar100 } from '../helpers/visionFiles';

const SIZE = 8;
const F = SIZE * SIZE;
const SPEC: ConvSpec = { input: [1, SIZE, SIZE], channels: [4, 4], pool: [true, false] };

/** A 2-class task on 8×8 images: a bright bar in one of two task-specific places (plus noise). */
function barTask(seed: number, n: number): ContinualTask {
  const rng = new Rng(seed);
  const rows = [rng.int(SIZE), rng.int(SIZE)];
  if (rows[0] === rows[1]) rows[1] = (rows[0] + 3) % SIZE;
  const vertical = seed % 2 === 1;
  const split = (m: number): TaskSplit => {
    const x = Float32Array.from({ length: m * F }, () => rng.normal(0, 0.3));
    const y = new Float32Array(m);
    for (let i = 0; i < m; i++) {
      const c = i % 2;
      y[i] = c;
      for (let k = 0; k < SIZE; k++) x[i * F + (vertical ? k * SIZE + rows[c] : rows[c] * SIZE + k)] += 1;
    }
    return { x, y, n: m };
  };
  return { name: `bars ${seed}`, classes: [0, 1], train: split(n), test: split(32) };
}

async function context(seed: number, tasks = 2): Promise<LearnerContext> {
  return {
    executor: await OrtExecutor.create({ threads: 1 }),
    features: F,
    classes: 2,
    tasks,
    rng: new Rng(seed),
    settings: { hidden: [], conv: SPEC, epochs: 1, batchSize: 16, learningRate: 0.01, init: 'uniform', optimizerState: 'keep' },
  };
}

const fireflyOpts = {
  targetAccuracy: 1.01,
  maxGrowRounds: 1,
  eta: 3,
  newCandidates: 2,
  stepOneIterations: 2,
  scoreExamples: 32,
  maskEpochs: 1,
};

test('Firefly CL on a conv net: task 1 grows by splitting and new channels; task 2 locks, masks, unlocks and grows; task 1 logits bit-identical', async () => {
  const ctx = await context(5);
  const ff = new FireflyClConv(ctx, fireflyOpts);
  const t1 = barTask(1, 64);
  const t2 = barTask(2, 64);
  await ff.learnTask(t1, 0);
  const log0 = ff.log[0];
  assert.equal(log0.rounds, 1);
  assert.equal(log0.split + log0.fresh, 3, 'η = 3 channels added in task 1');
  assert.equal(log0.unlocked, 0);
  assert.ok(log0.commitGap < 1e-4, `commit gap ${log0.commitGap}`);
  const widths = ff.net.layers.map((ly) => ly.owner.length);
  assert.equal(
    widths.reduce((a, b) => a + b, 0),
    8 + 3,
  );
  const before = await ff.taskOutputs(t1.test, 0);
  const kernelsBefore = ff.net.layers.map((ly) => Float32Array.from(ly.K.data as Float32Array));
  await ff.learnTask(t2, 1);
  const log1 = ff.log[1];
  assert.equal(log1.split, 0, 'later tasks unlock instead of splitting');
  assert.equal(log1.unlocked + log1.fresh, 3);
  assert.ok(log1.commitGap < 1e-4, `commit gap ${log1.commitGap}`);
  // Task 1's channels keep their taps (the kernels only gained rows and input columns).
  ff.net.layers.forEach((ly, l) => {
    const [out, inp] = ly.K.shape;
    const old = kernelsBefore[l];
    const oldIn = l === 0 ? 1 : widths[l - 1];
    for (let r = 0; r < widths[l]; r++)
      for (let i = 0; i < oldIn; i++)
        for (let j = 0; j < 9; j++) assert.equal((ly.K.data as Float32Array)[(r * inp + i) * 9 + j], old[(r * oldIn + i) * 9 + j]);
    assert.ok(out >= widths[l]);
  });
  assert.ok(
    ff.net.layers.some((ly) => ly.owner.includes(1)),
    'task 2 owns new or copied channels',
  );
  const after = await ff.taskOutputs(t1.test, 0);
  assert.deepEqual(Array.from(after), Array.from(before), 'task 1 logits are bit-identical after task 2');
  // The latest task's gathered evaluation computes the training graph's function.
  const gathered = await ff.taskOutputs(t2.test, 1);
  const masked = await ff.maskedOutputs(t2.test);
  gathered.forEach((v, i) => assert.ok(Math.abs(v - masked[i]) < 1e-4, `logit ${i}: ${v} vs ${masked[i]}`));
  // Parameters: the shared master is smaller than the two tasks' sub-networks stored apart.
  assert.ok(ff.parameterCount() < ff.taskParameterCount(0) + ff.taskParameterCount(1));
  // A checkpoint restores the same network: same logits.
  const restored = makeLearner('firefly-cl', await context(99), { firefly: fireflyOpts }, ff.state()) as FireflyClConv;
  assert.deepEqual(Array.from(await restored.taskOutputs(t1.test, 0)), Array.from(before));
  assert.equal(restored.parameterCount(), ff.parameterCount());
});

test('conv baselines and Firefly CL run a 3-task stream; Firefly CL and Progressive forget nothing', async () => {
  const stream: TaskStream = { name: 'custom', features: F, classesPerTask: 2, tasks: [barTask(1, 64), barTask(2, 64), barTask(3, 64)] };
  const results: Record<string, Awaited<ReturnType<typeof runContinual>>> = {};
  for (const m of ['firefly-cl', 'finetune', 'ewc', 'progressive', 'individual'] as const) {
    const learner = makeLearner(m, await context(7, 3), { firefly: fireflyOpts, ewcLambda: 100, fisherExamples: 8 });
    results[m] = await runContinual(learner, stream);
    assert.equal(results[m].accuracyMatrix.length, 3, m);
  }
  assert.equal(results['firefly-cl'].forgetting, 0);
  assert.equal(results.progressive.forgetting, 0);
  assert.equal(results.individual.forgetting, 0);
  // Conv parameter counts: Individual is 3 of the same net.
  const one = (1 * 9 + 1) * 4 + (4 * 9 + 1) * 4 + (4 + 1) * 2;
  assert.equal(results.individual.parameters, 3 * one);
  assert.equal(results.finetune.parameters, one - 10 + 3 * 10);
  assert.ok(results.progressive.parameters > results.individual.parameters, 'Progressive adds lateral connections');
});

test('split-cifar-100: 20 tasks of 5 classes (or 10 of 10) from a CIFAR-100 binary folder, learnt by Firefly CL on a thin VGG-16', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'split-c100-'));
  try {
    writeCifar100(dir, 400, 200); // fine label of record i: (7i) mod 100
    const s20 = await loadStream('split-cifar-100', { seed: 1, path: dir, tasks: 20 });
    assert.equal(s20.tasks.length, 20);
    assert.equal(s20.classesPerTask, 5);
    assert.equal(s20.features, 3072);
    assert.deepEqual(s20.inputShape, [3, 32, 32]);
    assert.deepEqual(
      s20.tasks.flatMap((t) => t.classes).sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
    // Every class has 4 training records; a task's rows carry its classes as 0..4, pixels scaled to [0, 1].
    const t0 = s20.tasks[0];
    assert.equal(t0.train.n, 20);
    const rows = Array.from({ length: 400 }, (_, i) => i).filter((i) => t0.classes.includes((i * 7) % 100));
    rows.forEach((r, k) => {
      assert.equal(t0.train.y[k], t0.classes.indexOf((r * 7) % 100));
      assert.equal(t0.train.x[k * 3072 + 5], Math.fround(pixelOf(r, 5) / 255));
    });
    const s10 = await loadStream('split-cifar-100', { seed: 1, path: dir, tasks: 10, classOrder: 'ordered' });
    assert.deepEqual(s10.tasks[1].classes, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    await assert.rejects(
      loadStream('split-cifar-100', { seed: 1, path: dir, tasks: 7 }),
      /split-cifar-100 has 10 or 20 tasks, 7 asked for/,
    );
    const vgg = thinVgg16([3, 32, 32], 1 / 16);
    assert.deepEqual(vgg.channels, [4, 4, 8, 8, 16, 16, 16, 32, 32, 32, 32, 32, 32]);
    assert.equal(vgg.pool.filter(Boolean).length, 5);
    const ctx: LearnerContext = {
      executor: await OrtExecutor.create({ threads: 1 }),
      features: 3072,
      classes: 5,
      tasks: 2,
      rng: new Rng(3),
      settings: { hidden: [], conv: vgg, epochs: 1, batchSize: 10, learningRate: 0.01, init: 'uniform', optimizerState: 'keep' },
    };
    const ff = makeLearner('firefly-cl', ctx, { firefly: { ...fireflyOpts, initialWidth: vgg.channels.map((c) => Math.max(2, c / 2)) } });
    const r = await runContinual(ff, { ...s20, tasks: s20.tasks.slice(0, 2) });
    assert.equal(r.forgetting, 0);
    assert.ok(r.parameters > 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
