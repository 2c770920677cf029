import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrtExecutor } from '../../server/engine';
import { Rng } from '../../server/random';
import {
  FireflyCl,
  SharedTrunk,
  averageAccuracy,
  averageForgetting,
  backwardTransfer,
  ewcPenalty,
  forgettingPerTask,
  loadStream,
  runContinual,
  selectTask,
  splitClassOrder,
  type ContinualTask,
  type FireflyClState,
  type LearnerContext,
  type TaskStream,
} from '../../server/continual';
import { ceLoss, denseLayer, feedTensors, makeBuilder, tensor, values, type Tensors } from '../../server/continual/tensors';
import { evaluateOutputs, newOptimizerState, trainTensors, type TaskSplit } from '../../server/continual/training';
import { add, matmul } from '../../server/engine';
import { loadDataset } from '../../server/datasets';

const F = 12;

/** A 2-class task: label = [w·x > 0] for a task-specific direction w. */
function synthTask(seed: number, n: number): ContinualTask {
  const rng = new Rng(seed);
  const w = Array.from({ length: F }, () => rng.normal());
  const split = (m: number): TaskSplit => {
    const x = Float32Array.from({ length: m * F }, () => rng.normal());
    const y = new Float32Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let k = 0; k < F; k++) s += w[k] * x[i * F + k];
      y[i] = s > 0 ? 1 : 0;
    }
    return { x, y, n: m };
  };
  return { name: `synth ${seed}`, classes: [0, 1], train: split(n), test: split(64) };
}

async function context(seed = 3): Promise<LearnerContext> {
  const executor = await OrtExecutor.create({ threads: 1 });
  return {
    executor,
    features: F,
    classes: 2,
    tasks: 2,
    rng: new Rng(seed),
    settings: { hidden: [8, 8], epochs: 2, batchSize: 16, learningRate: 0.01, init: 'uniform', optimizerState: 'keep' },
  };
}

test('accuracy matrix: average accuracy, forgetting and backward transfer on a hand-made matrix', () => {
  const a = [[0.9], [0.8, 0.95], [0.85, 0.7, 1.0]];
  assert.equal(averageAccuracy(a, 0), 0.9);
  assert.ok(Math.abs(averageAccuracy(a) - (0.85 + 0.7 + 1.0) / 3) < 1e-12);
  const f = forgettingPerTask(a);
  // task 0: best earlier max(0.9, 0.8) − 0.85; task 1: 0.95 − 0.7; last task 0.
  assert.ok(Math.abs(f[0] - 0.05) < 1e-12);
  assert.ok(Math.abs(f[1] - 0.25) < 1e-12);
  assert.equal(f[2], 0);
  assert.ok(Math.abs(averageForgetting(a) - 0.15) < 1e-12);
  assert.ok(Math.abs(backwardTransfer(a) - (0.85 - 0.9 + (0.7 - 0.95)) / 2) < 1e-12);
  assert.equal(averageForgetting([[0.5]]), 0);
});

test('EWC penalty (λ/2) Σ F (θ − θ*)² through the engine matches a hand computation', async () => {
  const ctx = await context();
  const p: Tensors = {
    w: tensor([2, 2], Float32Array.of(1, 2, 3, 4)),
    b: tensor([2], Float32Array.of(0.5, -1)),
    'F0:w': tensor([2, 2], Float32Array.of(1, 0, 2, 0.5)),
    'S0:w': tensor([2, 2], Float32Array.of(0, 2, 1, 2)),
    'F0:b': tensor([2], Float32Array.of(4, 1)),
    'S0:b': tensor([2], Float32Array.of(0, 0)),
    'F1:w': tensor([2, 2], Float32Array.of(0, 0, 0, 1)),
    'S1:w': tensor([2, 2], Float32Array.of(1, 2, 3, 5)),
    'F1:b': tensor([2], Float32Array.of(0, 0)),
    'S1:b': tensor([2], Float32Array.of(0, 0)),
  };
  // task 0: w: 1·1 + 0 + 2·4 + 0.5·4 = 11; b: 4·0.25 + 1·1 = 2 → 13; task 1: 1·1 = 1; total 14; λ = 3 → 21.
  const b = makeBuilder('ewc', F, 2, p);
  const pen = ewcPenalty(b, ['w', 'b'], 2, 3)!;
  const c = await ctx.executor.compile(b.g, { pen });
  const r = await c.run(feedTensors(b.g, p));
  await c.dispose();
  assert.ok(Math.abs((r.pen.data as Float32Array)[0] - 21) < 1e-5, `penalty ${(r.pen.data as Float32Array)[0]}`);
});

test('task streams: a split task keeps its classes relabelled 0/1, permuted tasks permute pixels', () => {
  const x = Float32Array.from({ length: 6 * 3 }, (_, i) => i);
  const y = Float32Array.of(0, 1, 2, 3, 2, 1);
  const t = selectTask({ x, y, n: 6 }, [2, 3], undefined, new Rng(1), 3);
  assert.deepEqual(Array.from(t.y), [0, 1, 0]);
  assert.deepEqual(Array.from(t.x.subarray(0, 3)), [6, 7, 8]);
  const p = selectTask({ x, y, n: 6 }, [0], undefined, new Rng(1), 3, Int32Array.of(2, 0, 1));
  assert.deepEqual(Array.from(p.x), [2, 0, 1]);
  const sub = selectTask({ x, y, n: 6 }, [1, 2], 2, new Rng(1), 3);
  assert.equal(sub.n, 2);
});

async function taskOutputs(f: FireflyCl, ctx: LearnerContext, task: ContinualTask, t: number): Promise<Float32Array> {
  return evaluateOutputs(ctx.executor, f.masterTensors(), task.test, F, 2, (b) => f.taskLogits(b, t));
}

test('Firefly CL: masks isolate old tasks (bit-identical outputs after growing for a new task)', async () => {
  const ctx = await context();
  const tasks = [synthTask(1, 128), synthTask(2, 128), synthTask(3, 128)];
  const f = new FireflyCl(ctx, {
    initialWidth: [6, 6],
    targetAccuracy: 1.01,
    maxGrowRounds: 1,
    eta: 4,
    newCandidates: 4,
    stepOneIterations: 3,
    maskEpochs: 1,
    scoreExamples: 64,
  });
  await f.learnTask(tasks[0], 0);
  const before0 = await taskOutputs(f, ctx, tasks[0], 0);
  const weights0 = Float32Array.from(values(f.layers[0].W));
  const n0 = f.layers[0].owner.length;
  await f.learnTask(tasks[1], 1);
  const before1 = await taskOutputs(f, ctx, tasks[1], 1);
  await f.learnTask(tasks[2], 2);
  // The master grew (unlocked copies and/or brand-new neurons) for the new tasks.
  assert.ok(f.log[1].unlocked + f.log[1].fresh > 0 && f.log[2].unlocked + f.log[2].fresh > 0, JSON.stringify(f.log));
  assert.ok(f.layers[0].owner.length > n0);
  // What was scored is what was committed: the candidate network with the chosen ε̂ has the loss of the grown one.
  for (const l of f.log) assert.ok(l.commitGap < 1e-4, `commit gap ${l.commitGap}`);
  // Old neurons' weights are untouched (their columns of the first layer).
  const W = f.layers[0].W;
  for (let r = 0; r < F; r++) for (let j = 0; j < n0; j++) assert.equal(values(W)[r * W.shape[1] + j], weights0[r * n0 + j]);
  assert.deepEqual(await taskOutputs(f, ctx, tasks[0], 0), before0);
  assert.deepEqual(await taskOutputs(f, ctx, tasks[1], 1), before1);
  // Training graphs (mask as 0/1 multiplications over the whole master) and evaluation (the task's
  // neurons gathered) compute the same function.
  const masked = await f.maskedOutputs(tasks[2].test);
  const gathered = await taskOutputs(f, ctx, tasks[2], 2);
  for (let i = 0; i < masked.length; i++) assert.ok(Math.abs(masked[i] - gathered[i]) < 1e-4, `${masked[i]} vs ${gathered[i]}`);
  // Per-task parameters never exceed what the master stores.
  for (let t = 0; t < 3; t++) assert.ok(f.taskParameterCount(t) <= f.parameterCount());
});

test('Firefly CL: master network and masks round-trip through a checkpoint (Float32Arrays + JSON meta) and resume', async () => {
  const ctx = await context(5);
  const tasks = [synthTask(4, 96), synthTask(5, 96), synthTask(6, 96)];
  const opts = {
    initialWidth: [5, 5],
    targetAccuracy: 1.01,
    maxGrowRounds: 1,
    eta: 3,
    newCandidates: 3,
    stepOneIterations: 2,
    scoreExamples: 64,
  };
  const f = new FireflyCl(ctx, opts);
  await f.learnTask(tasks[0], 0);
  await f.learnTask(tasks[1], 1);
  const st = f.state();
  const saved: FireflyClState = {
    tensors: Object.fromEntries(Object.entries(st.tensors).map(([k, v]) => [k, new Float32Array(v.buffer.slice(0))])),
    meta: JSON.parse(JSON.stringify(st.meta)),
  };
  const g = FireflyCl.restore(ctx, saved, opts);
  for (let t = 0; t < 2; t++) {
    assert.deepEqual(await taskOutputs(g, ctx, tasks[t], t), await taskOutputs(f, ctx, tasks[t], t));
    assert.equal(g.taskParameterCount(t), f.taskParameterCount(t));
  }
  assert.equal(g.parameterCount(), f.parameterCount());
  const old0 = await taskOutputs(g, ctx, tasks[0], 0);
  await g.learnTask(tasks[2], 2);
  assert.deepEqual(await taskOutputs(g, ctx, tasks[0], 0), old0);
});

test('baselines round-trip through a checkpoint after a task and continue bit for bit (EWC with a kept optimiser, Progressive, Individual)', async () => {
  const { makeLearner } = await import('../../server/continual');
  const tasks = [synthTask(11, 64), synthTask(12, 64), synthTask(13, 64)];
  const json = (st: { tensors: Record<string, Float32Array>; meta: unknown }) => ({
    tensors: Object.fromEntries(Object.entries(st.tensors).map(([k, v]) => [k, new Float32Array(v.buffer.slice(0))])),
    meta: JSON.parse(JSON.stringify(st.meta)),
  });
  for (const method of ['ewc', 'progressive', 'individual'] as const) {
    const ctxA = { ...(await context(3)), tasks: 3 };
    const a = makeLearner(method, ctxA, { fisherExamples: 16 });
    for (let t = 0; t < 3; t++) await a.learnTask(tasks[t], t);
    const ctxB = { ...(await context(3)), tasks: 3 };
    const b = makeLearner(method, ctxB, { fisherExamples: 16 });
    await b.learnTask(tasks[0], 0);
    await b.learnTask(tasks[1], 1);
    const saved = json(b.state());
    const rngState = ctxB.rng.snapshot();
    const ctxC = { ...(await context(99)), tasks: 3, rng: Rng.restore(rngState) };
    const c = makeLearner(method, ctxC, { fisherExamples: 16 }, saved);
    assert.equal(c.parameterCount(), b.parameterCount(), method);
    await c.learnTask(tasks[2], 2);
    for (let t = 0; t < 3; t++) assert.equal(await c.evaluate(tasks[t], t), await a.evaluate(tasks[t], t), `${method} task ${t}`);
    assert.deepEqual(json(c.state()), json(a.state()), `${method}: the same tensors and bookkeeping as without the checkpoint`);
  }
  const ctx = { ...(await context(3)), tasks: 3 };
  const e = makeLearner('ewc', ctx);
  await e.learnTask(tasks[0], 0);
  const st = json(e.state());
  delete st.tensors.W1;
  assert.throws(() => makeLearner('ewc', ctx, {}, st), /ewc checkpoint: tensor W1 is missing/);
  assert.throws(
    () => makeLearner('finetune', { ...ctx, tasks: 4 }, {}, json(e.state())),
    /finetune checkpoint: its output layer has 6 units, the stream needs 8/,
  );
  assert.throws(() => makeLearner('progressive', ctx, {}, json(e.state())), /progressive checkpoint: not a columns state/);
});

test('runContinual: Firefly CL has no forgetting; fine-tuning runs through the same stream', async () => {
  const ctx = await context(7);
  const stream: TaskStream = { name: 'split-mnist', features: F, classesPerTask: 2, tasks: [synthTask(7, 96), synthTask(8, 96)] };
  const r = await runContinual(new FireflyCl(ctx, { initialWidth: [6, 6], maxGrowRounds: 1, stepOneIterations: 2 }), stream);
  assert.equal(r.accuracyMatrix.length, 2);
  assert.equal(r.accuracyMatrix[1][0], r.accuracyMatrix[0][0]);
  assert.equal(r.forgetting, 0);
  const ft = await runContinual(new SharedTrunk(await context(7)), stream);
  assert.equal(ft.accuracyMatrix[1].length, 2);
  assert.ok(ft.parameters > 0);
});

test('split streams: classes in order, or paired by a permutation drawn from the seed', async () => {
  assert.deepEqual(splitClassOrder('ordered', 5), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const a = splitClassOrder('shuffled', 1);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(splitClassOrder('shuffled', 1), a, 'the same seed draws the same assignment');
  assert.notDeepEqual(splitClassOrder('shuffled', 2), a, 'another seed draws another assignment');
  const stream = await loadStream('split-mnist', { seed: 1, trainPerTask: 40, testPerTask: 20, classOrder: 'shuffled' });
  assert.deepEqual(
    stream.tasks.map((t) => t.classes),
    [0, 1, 2, 3, 4].map((t) => [a[2 * t], a[2 * t + 1]]),
  );
  assert.deepEqual(
    stream.tasks.map((t) => t.name),
    stream.tasks.map((t) => `${t.classes[0]}/${t.classes[1]}`),
  );
  // Each task's images are those of its two digits, labelled by their place in the pair.
  const mnist = await loadDataset({ name: 'mnist' }, { seed: 1 });
  const digitOf = new Map<string, number>();
  for (let i = 0; i < mnist.test.n; i++) digitOf.set(mnist.test.x.subarray(i * 784, (i + 1) * 784).join(','), mnist.test.y[i]);
  for (const t of stream.tasks) {
    for (let i = 0; i < t.test.n; i++)
      assert.equal(digitOf.get(t.test.x.subarray(i * 784, (i + 1) * 784).join(',')), t.classes[t.test.y[i]]);
  }
  // `ordered` (the default) draws exactly the images it drew before the option existed (the class order
  // has its own generator): pixel sums of each task's 40 training and 20 test images, as computed at 2bedc56.
  const ordered = await loadStream('split-mnist', { seed: 1, trainPerTask: 40, testPerTask: 20 });
  const pixelSum = (x: Float32Array) => Number(x.reduce((a, v) => a + v, 0).toFixed(1));
  assert.deepEqual(
    ordered.tasks.map((t) => [t.name, pixelSum(t.train.x), pixelSum(t.test.x)]),
    [
      ['0/1', 3725.6, 1846.4],
      ['2/3', 4783.6, 2359],
      ['4/5', 3937.4, 1968.2],
      ['6/7', 4001.7, 2006.3],
      ['8/9', 4470.7, 2255.1],
    ],
  );
  assert.equal([...ordered.tasks[0].train.y].join(''), '1010110001111100111001100011100001101010');
});

test('continual config: defaults, and messages that name the bad field', async () => {
  const { parseContinualConfig } = await import('../../server/continual/config');
  const c = parseContinualConfig({ stream: 'split-mnist', methods: ['firefly-cl', 'ewc'], trainPerTask: 500 });
  assert.deepEqual(c.methods, ['firefly-cl', 'ewc']);
  assert.equal(c.trainPerTask, 500);
  assert.equal(c.epochs, 4);
  assert.throws(() => parseContinualConfig({ stream: 'cifar' }), /continual\.stream/);
  assert.throws(() => parseContinualConfig({ stream: 'split-mnist', methods: ['magic'] }), /continual\.methods/);
  assert.throws(() => parseContinualConfig({ stream: 'split-mnist', epochs: 0 }), /continual\.epochs/);
  assert.throws(() => parseContinualConfig({ stream: 'split-mnist', tasks: 1 }), /continual\.tasks must be >= 2, got 1/);
  assert.throws(() => parseContinualConfig({ stream: 'custom' }), /continual\.datasets is required when continual\.stream is "custom"/);
  assert.deepEqual(parseContinualConfig({ stream: 'split-mnist' }).firefly, {});
  await assert.rejects(
    loadStream('split-mnist', { seed: 1, trainPerTask: 10, testPerTask: 10, tasks: 6 }),
    /continual\.tasks: split-mnist has 5 tasks, 6 asked for/,
  );
  assert.deepEqual(
    (await loadStream('split-mnist', { seed: 1, trainPerTask: 10, testPerTask: 10, tasks: 3 })).tasks.map((t) => t.name),
    ['0/1', '2/3', '4/5'],
  );
  assert.throws(() => parseContinualConfig({ stream: 'split-mnist', colour: 1 }), /continual\.colour/);
  assert.equal(parseContinualConfig({ stream: 'permuted-mnist', tasks: 3 }).tasks, 3);
  // The reference protocol's baseline: torch.nn.Linear's init and one Adam through the stream.
  assert.deepEqual([c.init, c.optimizerState], ['uniform', 'keep']);
  assert.throws(() => parseContinualConfig({ stream: 'split-mnist', init: 'xavier' }), /continual\.init/);
  assert.throws(() => parseContinualConfig({ stream: 'split-mnist', optimizerState: 'sometimes' }), /continual\.optimizerState/);
  assert.equal(c.classOrder, 'ordered');
  assert.equal(parseContinualConfig({ stream: 'split-mnist', classOrder: 'shuffled' }).classOrder, 'shuffled');
  assert.throws(() => parseContinualConfig({ stream: 'split-mnist', classOrder: 'random' }), /continual\.classOrder/);
  // Only split streams pair classes into tasks: a shuffled order anywhere else is refused, not ignored.
  assert.throws(
    () => parseContinualConfig({ stream: 'permuted-mnist', classOrder: 'shuffled' }),
    /continual\.stream must be one of split-mnist, split-fashion-mnist, split-cifar-100, got "permuted-mnist" when continual\.classOrder is "shuffled"/,
  );
  assert.equal(parseContinualConfig({ stream: 'split-fashion-mnist', classOrder: 'shuffled' }).classOrder, 'shuffled');
  assert.equal(parseContinualConfig({ stream: 'permuted-mnist' }).classOrder, 'ordered');
});

test('layer init: uniform draws weights and biases in ±1/√fan-in (torch.nn.Linear); he-normal keeps zero biases', () => {
  const { W, b } = denseLayer(new Rng(5), 'uniform', 400, 300);
  const a = 1 / Math.sqrt(400);
  assert.deepEqual([W.shape, b.shape], [[400, 300], [300]]);
  for (const v of [...values(W), ...values(b)]) assert.ok(Math.abs(v) <= a, `${v} outside ±${a}`);
  const mean = values(W).reduce((s, v) => s + v, 0) / values(W).length;
  const variance = values(W).reduce((s, v) => s + (v - mean) ** 2, 0) / values(W).length;
  assert.ok(Math.abs(mean) < 0.01 * a, `mean ${mean}`);
  assert.ok(Math.abs(variance / ((a * a) / 3) - 1) < 0.01, `variance ${variance} vs a²/3 = ${(a * a) / 3}`); // U(−a, a): a²/3
  assert.ok(values(b).some((v) => v !== 0));
  const he = denseLayer(new Rng(5), 'he-normal', 400, 300);
  assert.ok(values(he.b).every((v) => v === 0));
  const heVar = values(he.W).reduce((s, v) => s + v * v, 0) / values(he.W).length;
  assert.ok(Math.abs(heVar / (2 / 400) - 1) < 0.02, `he-normal variance ${heVar}`);
});

/** A linear 2-class model W [F, 2], c [2] trained on a synthetic task through trainTensors. */
async function trainLinear(
  params: Tensors,
  wrt: string[],
  task: ContinualTask,
  epochs: number,
  rng: Rng,
  state?: ReturnType<typeof newOptimizerState>,
) {
  const executor = await OrtExecutor.create({ threads: 1 });
  await trainTensors(executor, params, wrt, task.train, F, 2, (b) => ceLoss(b, add(matmul(b.x, b.t('W')), b.t('c'))), {
    epochs,
    batchSize: 16,
    learningRate: 0.01,
    rng,
    state,
  });
}

function linearParams(): Tensors {
  const { W, b } = denseLayer(new Rng(9), 'uniform', F, 2);
  return { W, c: b };
}

test('one optimiser through the stream: two calls with a kept state equal one call of both epochs, bit for bit', async () => {
  const task = synthTask(21, 80);
  const once = linearParams();
  await trainLinear(once, ['W', 'c'], task, 2, new Rng(4));
  const kept = linearParams();
  const rng = new Rng(4);
  const state = newOptimizerState();
  await trainLinear(kept, ['W', 'c'], task, 1, rng, state);
  assert.deepEqual(state.steps, { W: 5, c: 5 }); // 80 examples in batches of 16
  assert.deepEqual(Object.keys(state.slots).sort(), ['m:W', 'm:c', 'v:W', 'v:c']);
  await trainLinear(kept, ['W', 'c'], task, 1, rng, state);
  assert.deepEqual([...values(kept.W)], [...values(once.W)]);
  assert.deepEqual([...values(kept.c)], [...values(once.c)]);
  // A fresh optimiser for the second call (optimizerState "reset") lands elsewhere.
  const reset = linearParams();
  const rng2 = new Rng(4);
  await trainLinear(reset, ['W', 'c'], task, 1, rng2);
  await trainLinear(reset, ['W', 'c'], task, 1, rng2);
  assert.notDeepEqual([...values(reset.W)], [...values(once.W)]);
});

test('iterations: exactly that many full minibatches, reshuffled after each pass, the last incomplete batch dropped', async () => {
  const task = synthTask(23, 40); // 40 examples, batches of 16: 2 full batches per pass
  const state = newOptimizerState();
  const executor = await OrtExecutor.create({ threads: 1 });
  const p = linearParams();
  const rng = new Rng(8);
  const losses: number[] = [];
  await trainTensors(executor, p, ['W', 'c'], task.train, F, 2, (b) => ceLoss(b, add(matmul(b.x, b.t('W')), b.t('c'))), {
    epochs: 99,
    iterations: 5,
    batchSize: 16,
    learningRate: 0.01,
    rng,
    state,
    onEpochLoss: (l) => losses.push(l),
  });
  assert.deepEqual(state.steps, { W: 5, c: 5 });
  assert.equal(losses.length, 3, 'passes of 2, 2 and 1 batches');
  // Three permutations drawn, one per pass: the next draw equals a fresh stream's fourth.
  const ref = new Rng(8);
  for (let k = 0; k < 3; k++) ref.permutation(40);
  assert.deepEqual([...rng.permutation(40)], [...ref.permutation(40)]);
  await assert.rejects(
    trainTensors(executor, linearParams(), ['W'], synthTask(24, 10).train, F, 2, (b) => ceLoss(b, matmul(b.x, b.t('W'))), {
      epochs: 1,
      iterations: 3,
      batchSize: 16,
      learningRate: 0.01,
      rng: new Rng(1),
    }),
    /10 examples make no full batch of 16/,
  );
});

test('a kept optimiser starts a parameter it has not seen at step 1 (its first Adam step moves each weight by lr)', async () => {
  const task = synthTask(22, 16); // one batch
  const p = linearParams();
  const state = newOptimizerState();
  await trainLinear(p, ['W'], task, 3, new Rng(1), state);
  const c0 = Float32Array.from(values(p.c));
  await trainLinear(p, ['W', 'c'], task, 1, new Rng(1), state);
  assert.deepEqual(state.steps, { W: 4, c: 1 });
  // Adam at t = 1: m̂ = g, v̂ = g², so the step is lr · g / (|g| + ε) ≈ lr for every element with g ≠ 0.
  for (let k = 0; k < 2; k++)
    assert.ok(Math.abs(Math.abs(values(p.c)[k] - c0[k]) - 0.01) < 1e-5, `c[${k}] moved ${values(p.c)[k] - c0[k]}`);
  await assert.rejects(
    trainLinear({ W: tensor([F, 3]), c: tensor([3]) }, ['W', 'c'], task, 1, new Rng(1), state),
    /kept optimiser slot m of W is \[12, 2\], the tensor is \[12, 3\]/,
  );
});

test("EWC Fisher through the engine: exact (expectation over the model's predictions) and empirical, against hand computations", async () => {
  const { fisherDiagonal } = await import('../../server/continual/training');
  const ctx = await context();
  const split: TaskSplit = {
    x: Float32Array.from({ length: 2 * F }, (_, i) => ((i % F) - 3 + (i >= F ? 1 : 0)) / 4),
    y: Float32Array.of(0, 1),
    n: 2,
  };
  // W = 0: p = (1/2, 1/2); ∂L/∂W[k, c] = x_k (p_c − y_c) = ±x_k / 2 for either label, squared x_k² / 4.
  const zero = await fisherDiagonal(ctx.executor, { W: tensor([F, 2]) }, ['W'], split, F, 2, (b) => matmul(b.x, b.t('W')), 2);
  for (let k = 0; k < F; k++) {
    const want = (split.x[k] ** 2 / 4 + split.x[F + k] ** 2 / 4) / 2;
    for (let c = 0; c < 2; c++)
      assert.ok(Math.abs(values(zero.W)[k * 2 + c] - want) < 1e-5, `F[${k},${c}] ${values(zero.W)[k * 2 + c]} vs ${want}`);
  }
  // W ≠ 0, two classes, example i with p_i = softmax(x_i W): the exact Fisher of W[k, c] is
  // Σ_c' p_c' x_k² (p_c − [c = c'])² = x_k² p_0 p_1; the empirical one x_k² (1 − p_y)².
  const W = tensor(
    [F, 2],
    Float32Array.from({ length: 2 * F }, (_, i) => ((i * 5) % 7) / 7 - 0.4),
  );
  const p1 = (i: number) => {
    let z0 = 0;
    let z1 = 0;
    for (let k = 0; k < F; k++) {
      z0 += split.x[i * F + k] * values(W)[k * 2];
      z1 += split.x[i * F + k] * values(W)[k * 2 + 1];
    }
    return 1 / (1 + Math.exp(z0 - z1));
  };
  const exact = await fisherDiagonal(ctx.executor, { W }, ['W'], split, F, 2, (b) => matmul(b.x, b.t('W')), 2);
  const empirical = await fisherDiagonal(ctx.executor, { W }, ['W'], split, F, 2, (b) => matmul(b.x, b.t('W')), 2, 'empirical');
  for (let k = 0; k < F; k++) {
    let wantExact = 0;
    let wantEmpirical = 0;
    for (let i = 0; i < 2; i++) {
      const p = p1(i);
      const py = split.y[i] === 1 ? p : 1 - p;
      wantExact += (split.x[i * F + k] ** 2 * p * (1 - p)) / 2;
      wantEmpirical += (split.x[i * F + k] ** 2 * (1 - py) ** 2) / 2;
    }
    for (let c = 0; c < 2; c++) {
      assert.ok(
        Math.abs(values(exact.W)[k * 2 + c] - wantExact) < 1e-5 * Math.max(1, wantExact),
        `exact F[${k},${c}] ${values(exact.W)[k * 2 + c]} vs ${wantExact}`,
      );
      assert.ok(
        Math.abs(values(empirical.W)[k * 2 + c] - wantEmpirical) < 1e-5 * Math.max(1, wantEmpirical),
        `empirical F[${k},${c}] ${values(empirical.W)[k * 2 + c]} vs ${wantEmpirical}`,
      );
    }
  }
  assert.ok(
    values(exact.W).some((v, i) => Math.abs(v - values(empirical.W)[i]) > 1e-3),
    'the two Fishers differ away from W = 0',
  );
});

test('custom stream: one csv dataset per task; dataset follows the stream; mismatched features are named', async () => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const { resolveExperiment } = await import('../../server/config');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-cl-csv-'));
  try {
    const rows = (n: number, cols: number, classes: number) =>
      [
        'a,b,c,d'.split(',').slice(0, cols).join(',') + ',label',
        ...Array.from({ length: n }, (_, i) => [...Array.from({ length: cols }, (_, k) => ((i * 7 + k) % 5) / 5), i % classes].join(',')),
      ].join('\n');
    fs.writeFileSync(path.join(dir, 'one.csv'), rows(40, 3, 2));
    fs.writeFileSync(path.join(dir, 'two.csv'), rows(30, 3, 3));
    fs.writeFileSync(path.join(dir, 'wide.csv'), rows(30, 4, 2));
    const ds = (f: string) => ({ name: 'csv', path: f, task: 'classification', testFraction: 0.25 });
    const cfg = resolveExperiment({ continual: { stream: 'custom', datasets: [ds('one.csv'), ds('two.csv')] } });
    assert.deepEqual(cfg.dataset, { ...ds('one.csv'), normalize: true }, 'dataset defaults to the first task');
    const stream = await loadStream('custom', { seed: 1, datasets: cfg.continual!.datasets, baseDir: dir });
    assert.deepEqual(
      stream.tasks.map((t) => t.name),
      ['1: one.csv', '2: two.csv'],
    );
    assert.equal(stream.features, 3);
    assert.equal(stream.classesPerTask, 3, 'heads as wide as the task with the most classes');
    assert.deepEqual(
      stream.tasks.map((t) => t.train.n + t.test.n),
      [40, 30],
    );
    await assert.rejects(
      loadStream('custom', { seed: 1, datasets: [ds('one.csv'), ds('wide.csv')] as never, baseDir: dir }),
      /continual\.datasets\[1\]: 4 input features, but task 0 has 3/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the schema and the code name the same streams, methods and Firefly CL settings', async () => {
  const { schemaAt } = await import('../../server/config/schema');
  const { CONTINUAL_STREAMS, CONTINUAL_METHODS, FIREFLY_CL_DEFAULTS } = await import('../../server/continual');
  assert.deepEqual(schemaAt(['continual', 'stream'])!.enum, [...CONTINUAL_STREAMS]);
  assert.deepEqual(schemaAt(['continual', 'methods'])!.items!.enum, [...CONTINUAL_METHODS]);
  assert.deepEqual(schemaAt(['continual', 'methods'])!.default, [...CONTINUAL_METHODS]);
  assert.deepEqual(Object.keys(schemaAt(['continual', 'firefly'])!.properties!).sort(), Object.keys(FIREFLY_CL_DEFAULTS).sort());
});

/**
 * A candidate network small enough to differentiate by hand: logits = x (W + δ diag(ε)) on 4 examples of
 * 3 features, two candidate "neurons" (the columns of δ [3, 2]); `shapes` adds the extra inputs a step
 * one reads. gradW: ∂L/∂W_eff = xᵀ(p − y)/N at W + δ diag(e), in float64.
 */
const tiny = (() => {
  const N = 4,
    K = 3;
  const x = Float32Array.of(1, 0.5, -1, 0.2, -0.3, 0.8, -1, 1, 0.5, 0.3, 0.3, -0.2);
  const labels = [0, 1, 1, 0];
  const y = Float32Array.from({ length: N * 2 }, (_, i) => (labels[i >> 1] === (i & 1) ? 1 : 0));
  const W = Float32Array.of(0.2, -0.1, 0.4, 0.3, -0.5, 0.1);
  const network = async (shapes: Record<string, { shape: number[] }> = {}) => {
    const { CandidateNetwork } = await import('../../server/continual/fireflyClCandidates');
    const { mul: mulV, softmaxCrossEntropy } = await import('../../server/engine');
    return new CandidateNetwork({ W: { shape: [K, 2] }, du: { shape: [K, 2] }, eps: { shape: [2] }, ...shapes }, K, 2, (b) => {
      const Weff = add(b.t('W'), mulV(b.t('du'), b.t('eps')));
      return { loss: softmaxCrossEntropy(matmul(b.x, Weff), b.y), outputs: { weff: Weff } };
    });
  };
  const gradW = (d: ArrayLike<number>, e: number[]) => {
    const g = new Float64Array(K * 2);
    for (let i = 0; i < N; i++) {
      const z = [0, 1].map((j) => {
        let s = 0;
        for (let k = 0; k < K; k++) s += x[i * K + k] * (W[k * 2 + j] + d[k * 2 + j] * e[j]);
        return s;
      });
      const m = Math.max(...z);
      const ex = z.map((v) => Math.exp(v - m));
      for (let j = 0; j < 2; j++) for (let k = 0; k < K; k++) g[k * 2 + j] += (x[i * K + k] * (ex[j] / (ex[0] + ex[1]) - y[i * 2 + j])) / N;
    }
    return g;
  };
  return { N, K, x, y, W, batch: { x: tensor([N, K], x), y: tensor([N, 2], y) }, network, gradW };
})();

test('Firefly CL scores through fireflyOptimize (unit-sphere step one): ε held at ϵ, δ ← unit(δ − lr ∂L/∂δ) per neuron, integrated gradients at c_z ϵ, the committed run at the chosen ε', async () => {
  const { optimizeAndScore } = await import('../../server/growth/fireflyOptimize');
  const executor = await OrtExecutor.create({ threads: 1 });
  const { N, K, W, batch, gradW } = tiny;
  const eps = 0.1,
    lr = 0.5,
    n = 3;
  const d0 = Float32Array.of(0.6, -0.3, 0.2, 0.9, -0.7, 0.1);
  const mg = await tiny.network();
  const chosen = Float32Array.of(-eps, 0);
  const r = await optimizeAndScore(
    { executor, scoringBatch: () => batch },
    {
      mg,
      count: 2,
      deltas: [{ key: 'du', shape: [K, 2], axis: 1, group: 1, offset: 0, count: 2, init: d0 }],
      fixed: { W },
      tensors: new Map(),
    },
    { epsilon: eps, steps: 1, integrationPoints: n, scoreBatch: N, epsLr: 0, deltaLr: lr, penalty: 0, stepOne: 'unit-sphere' },
    () => chosen,
  );
  // By hand (float64, tiny.gradW): ∂L/∂δ[:, j] = ε_j ∂L/∂W[:, j]; ∂L/∂ε_j = Σ_k δ[k, j] ∂L/∂W[k, j].
  const g0 = gradW(d0, [eps, eps]);
  const d1 = Float64Array.from(d0, (v, i) => v - lr * eps * g0[i]);
  for (let j = 0; j < 2; j++) {
    const norm = Math.sqrt(d1[j] ** 2 + d1[2 + j] ** 2 + d1[4 + j] ** 2);
    for (let k = 0; k < K; k++) d1[k * 2 + j] /= norm;
  }
  assert.deepEqual([...r.eps], [...Float32Array.of(eps, eps)]);
  for (let i = 0; i < K * 2; i++) assert.ok(Math.abs(r.deltas.du[i] - d1[i]) < 1e-6, `δ[${i}] ${r.deltas.du[i]} vs ${d1[i]}`);
  for (let j = 0; j < 2; j++) {
    const s = [1, 2, 3].reduce((acc, z) => {
      const c = ((2 * z - 1) / (2 * n)) * eps;
      const g = gradW(d1, [c, c]);
      let dot = 0;
      for (let k = 0; k < K; k++) dot += d1[k * 2 + j] * g[k * 2 + j];
      return acc + dot / n;
    }, 0);
    assert.ok(Math.abs(r.scores[j] - s) < 1e-6, `s[${j}] ${r.scores[j]} vs ${s}`);
  }
  // The committed run: W + δ diag(ε̂) at the chosen ε̂ (here −ϵ on the first candidate, 0 on the second).
  const weff = r.committed!.weff;
  for (let k = 0; k < K; k++) {
    assert.ok(Math.abs(weff[k * 2] - (W[k * 2] - eps * r.deltas.du[k * 2])) < 1e-7);
    assert.equal(weff[k * 2 + 1], W[k * 2 + 1]);
  }
  assert.equal(r.committed!.loss.length, 1);
});

test('Firefly step one (penalised Adam) starts from the projected point without a pass of the candidate network: steps 0 scores at the projected δ, and the candidate runs 1 + n (+1 committed) times', async () => {
  const { optimizeAndScore } = await import('../../server/growth/fireflyOptimize');
  const executor = await OrtExecutor.create({ threads: 1 });
  // Runs per compiled graph, by its number of outputs (the candidate graph has the most).
  const runs = new Map<number, number>();
  const counting = {
    compile: async (...a: Parameters<typeof executor.compile>) => {
      const c = await executor.compile(...a);
      const n = Object.keys(a[1]).length;
      return { ...c, run: (f: Parameters<typeof c.run>[0]) => (runs.set(n, (runs.get(n) ?? 0) + 1), c.run(f)) };
    },
  } as unknown as typeof executor;
  const { N, K, W, batch, gradW } = tiny;
  const eps = 0.1,
    n = 3;
  // column 0 has norm 3 (outside the unit ball: scaled to norm 1), column 1 norm 0.5 (kept as it is)
  const d0 = Float32Array.of(2, 0.3, 2, -0.4, 1, 0);
  const shapes: Record<string, { shape: number[] }> = {};
  for (const k of ['lrEps', 'lrDelta', 't']) shapes[k] = { shape: [] };
  for (const k of ['m:eps', 'v:eps']) shapes[k] = { shape: [2] };
  for (const k of ['m:du', 'v:du']) shapes[k] = { shape: [K, 2] };
  const mg = await tiny.network(shapes);
  let draws = 0;
  const r = await optimizeAndScore(
    {
      executor: counting,
      scoringBatch: () => {
        draws++;
        return batch;
      },
    },
    {
      mg,
      count: 2,
      deltas: [{ key: 'du', shape: [K, 2], axis: 1, group: 1, offset: 0, count: 2, init: d0 }],
      fixed: { W },
      tensors: new Map(),
    },
    { epsilon: eps, steps: 0, integrationPoints: n, scoreBatch: N, epsLr: 0.1, deltaLr: 0.05, penalty: 1 },
    () => Float32Array.of(-eps, 0),
  );
  const d1 = Float64Array.from(d0, (v, i) => (i % 2 === 0 ? v / 3 : v));
  assert.deepEqual([...r.eps], [...Float32Array.of(eps, eps)]);
  for (let i = 0; i < K * 2; i++) assert.ok(Math.abs(r.deltas.du[i] - d1[i]) < 1e-6, `δ[${i}] ${r.deltas.du[i]} vs ${d1[i]}`);
  assert.equal(r.deltas.du[1], d0[1]);
  assert.equal(r.lossStart, r.lossEnd); // no step: both are the loss at the projected start
  // ∂L/∂ε_j = Σ_k δ[k, j] ∂L/∂W_eff[k, j] at W + δ diag(c_z ε̃), averaged over the n points (float64 by hand)
  for (let j = 0; j < 2; j++) {
    let s = 0;
    for (let z = 1; z <= n; z++) {
      const c = ((2 * z - 1) / (2 * n)) * eps;
      const g = gradW(d1, [c, c]);
      for (let k = 0; k < K; k++) s += (d1[k * 2 + j] * g[k * 2 + j]) / n;
    }
    assert.ok(Math.abs(r.scores[j] - s) < 1e-6, `s[${j}] ${r.scores[j]} vs ${s}`);
  }
  const candidateRuns = runs.get(Math.max(...runs.keys()));
  assert.equal(
    candidateRuns,
    1 + n + 1,
    `the candidate network ran ${candidateRuns} times (last point, ${n} integration points, committed)`,
  );
  assert.equal(draws, 1, 'one scoring minibatch: the one step two and the committed run use');
});
