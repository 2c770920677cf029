/**
 * Host kernels between onnxruntime sessions: the split of a graph at host nodes (hostSplit.ts), the
 * conv VJP's choice of ConvWeightGradient where the executor has the kernel, and whole training steps
 * with the native kernel against the same steps on onnxruntime's forms alone.
 * GROWTH_LAB_NATIVE=required (set by .ci/run) makes a missing addon a failure instead of a skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONV_DW_LIMITS,
  Graph,
  OrtExecutor,
  add,
  conv,
  convWeightGradient,
  gradients,
  hostTensor,
  mul,
  reduceSum,
  relu,
} from '../../server/engine';
import { splitAtHostNodes } from '../../server/engine/hostSplit';
import { loadNativeKernels } from '../../server/engine/nativeKernels';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig } from '../../server/model/spec';
import { buildTrainGraph } from '../../server/trainer/graphs';
import { Trainer, optimizerSettings } from '../../server/trainer/trainer';
import { Rng } from '../../server/random';
import { describeExecutor } from '../../server/training/executors';
import { assertSameOutputs, largestDifference } from '../helpers/engineFeeds';
import { randomDataset, trainingConfig } from './fixtures';

const loaded = loadNativeKernels();
/** The reason to skip the tests that need the addon, or undefined where it loaded (a failure where it is required). */
function nativeMissing(): string | undefined {
  if (loaded.kernels) return undefined;
  assert.notEqual(process.env.GROWTH_LAB_NATIVE, 'required', `GROWTH_LAB_NATIVE=required but the addon did not load: ${loaded.reason}`);
  return `native addon not loaded: ${loaded.reason}`;
}

test('splitAtHostNodes: what each side computes, what crosses, and the refusals', () => {
  const g = new Graph('split');
  const x = g.input('x', 'float32', ['N', 2, 4, 4]);
  const w = g.input('w', 'float32', [2, 2, 3, 3]);
  const s = g.input('s', 'float32', []);
  const y = relu(conv(x, w, { pads: [1, 1, 1, 1] }));
  const dw = convWeightGradient(x, y, [3, 3], [1, 1, 1, 1]); // host: reads a graph input and a node output
  const scaled = mul(y, s); // computed before the host node, read after it
  const late = add(reduceSum(dw, [0, 1, 2, 3]), reduceSum(scaled, [0, 1, 2, 3]));
  const isHost = (n: { op: string }) => n.op === 'ConvWeightGradient';
  const split = splitAtHostNodes(g, { y, dw, late }, isHost)!;
  assert.deepEqual(
    split.hostNodes.map((n) => n.op),
    ['ConvWeightGradient'],
  );
  assert.deepEqual(Object.keys(split.first), ['y']);
  assert.deepEqual(Object.keys(split.direct), ['dw']);
  assert.deepEqual(Object.keys(split.second), ['late']);
  // y for the host node; the ReduceSum of `scaled` (computed before the host node) for session B
  assert.ok(split.handed.includes(y), 'y is handed over');
  assert.ok(!split.handed.includes(x), 'graph inputs are fed, not handed');
  assert.ok(split.secondGiven.includes(dw), 'B reads the host output');
  assert.equal(split.secondGiven.length, 2, `B reads dw and one value from A: ${split.secondGiven.map(String)}`);
  assert.equal(splitAtHostNodes(g, { y }, isHost), undefined, 'no host node needed: no split');
  const chained = convWeightGradient(x, add(y, reduceSum(dw, [0, 1, 2, 3])), [3, 3], [1, 1, 1, 1]);
  assert.throws(() => splitAtHostNodes(g, { chained }, isHost), /reads another host kernel's output/);
});

test('the conv VJP picks ConvWeightGradient only for the executor that has it, on the shapes it fits', () => {
  const host = new Set(['ConvWeightGradient']);
  const ops = (hostKernels: Set<string>, c: number, o: number, k: number, stride: number, dtype: 'float32' | 'float64' = 'float32') => {
    const g = new Graph('vjp', { hostKernels });
    const x = g.input('x', dtype, ['N', c, 8, 8]);
    const w = g.input('w', dtype, [o, c, k, k]);
    const y = conv(x, w, { pads: Array(4).fill((k - 1) >> 1), strides: [stride, stride] });
    gradients(reduceSum(y, [0, 1, 2, 3]), [w]);
    return g.nodes.filter((n) => n.op === 'ConvWeightGradient').length;
  };
  assert.equal(ops(host, 16, 16, 3, 1), 1);
  assert.equal(ops(host, 64, 32, 5, 1), 1);
  assert.equal(ops(new Set(), 16, 16, 3, 1), 0, 'no host kernels: the per-tap forms');
  assert.equal(ops(host, 8, 16, 3, 1), 0, 'fewer than 16 inputs');
  assert.equal(ops(host, 16, 8, 3, 1), 0, 'fewer than 16 outputs');
  assert.equal(ops(host, 16, 16, 1, 1), 0, '1x1');
  assert.equal(ops(host, 16, 16, 3, 2), 0, 'stride 2');
  assert.equal(ops(host, 16, 16, 3, 1, 'float64'), 0, 'float64');
  const saved = CONV_DW_LIMITS.host;
  CONV_DW_LIMITS.host = { minChannels: Infinity };
  try {
    assert.equal(ops(host, 16, 16, 3, 1), 0, 'limit Infinity: never');
  } finally {
    CONV_DW_LIMITS.host = saved;
  }
});

test('a split graph gives the same values as one session, and its sessions are released', async (t) => {
  const why = nativeMissing();
  if (why) return t.skip(why);
  const native = await OrtExecutor.create({ threads: 2 });
  const plain = await OrtExecutor.create({ threads: 2, native: false });
  assert.deepEqual([...native.hostKernels], ['ConvWeightGradient']);
  assert.deepEqual([...plain.hostKernels], []);
  const g = new Graph('split run');
  const x = g.input('x', 'float32', ['N', 5, 6, 7]);
  const gy = g.input('gy', 'float32', ['N', 3, 6, 5]);
  const s = g.input('s', 'float32', []);
  const dw = convWeightGradient(relu(x), gy, [3, 5], [1, 0, 1, 2]);
  const outputs = { dw, total: add(reduceSum(mul(dw, s), [0, 1, 2, 3]), reduceSum(x, [0, 1, 2, 3])), x2: mul(x, s) };
  const rng = new Rng(3);
  const feeds = (n: number) => ({
    x: hostTensor(
      'float32',
      [n, 5, 6, 7],
      Array.from({ length: n * 210 }, () => rng.normal()),
    ),
    gy: hostTensor(
      'float32',
      [n, 3, 6, 5],
      Array.from({ length: n * 90 }, () => rng.normal()),
    ),
    s: hostTensor('float32', [], [0.5]),
  });
  const a = await native.compile(g, outputs);
  const b = await plain.compile(g, outputs);
  assert.equal(native.liveSessions(), 1);
  try {
    // two batch sizes and back: the handed tensors' shapes follow the batch
    for (const n of [4, 2, 4]) {
      const f = feeds(n);
      const [ra, rb] = [await a.run(f), await b.run(f)];
      for (const name of Object.keys(outputs)) assert.deepEqual(ra[name].shape, rb[name].shape, name);
      assertSameOutputs(ra, rb, Object.keys(outputs), 1e-5, `batch ${n}, `);
    }
    // two runs at once are queued, not overlapped: both right
    const [f1, f2] = [feeds(3), feeds(3)];
    const [r1, r2] = await Promise.all([a.run(f1), a.run(f2)]);
    const [e1, e2] = [await b.run(f1), await b.run(f2)];
    assert.ok(Math.abs((r1.total.data[0] as number) - (e1.total.data[0] as number)) < 1e-3);
    assert.ok(Math.abs((r2.total.data[0] as number) - (e2.total.data[0] as number)) < 1e-3);
    await assert.rejects(a.run({ x: f1.x, gy: f1.gy }), /missing feed "s"/);
  } finally {
    await a.dispose();
    await b.dispose();
  }
  assert.equal(native.liveSessions(), 0);
  await assert.rejects(a.run(feeds(2)), /disposed/);
});

test('training steps with the native dW match the steps on onnxruntime alone (SGD momentum and Adam)', async (t) => {
  const why = nativeMissing();
  if (why) return t.skip(why);
  const input = [3, 8, 8];
  const layers = [
    { type: 'conv2d' as const, filters: 16, kernelSize: 3, stride: 1, padding: 'same' as const, activation: 'relu' as const },
    { type: 'batchnorm' as const, momentum: 0.9, epsilon: 1e-3 },
    { type: 'conv2d' as const, filters: 24, kernelSize: 3, stride: 1, padding: 'same' as const, activation: 'relu' as const },
    { type: 'maxpool' as const, size: 2 },
    { type: 'conv2d' as const, filters: 16, kernelSize: 3, stride: 1, padding: 'valid' as const, activation: 'relu' as const },
    { type: 'globalavgpool' as const },
  ];
  const data = randomDataset(input, 5, 24, 7);
  const native = await OrtExecutor.create({ threads: 2 });
  const plain = await OrtExecutor.create({ threads: 2, native: false });
  for (const opt of ['sgd', 'adam'] as const) {
    const cfg = trainingConfig(
      opt === 'sgd'
        ? { optimizer: 'sgd', momentum: 0.9, learningRate: 0.05, batchSize: 12 }
        : { optimizer: 'adam', learningRate: 0.01, batchSize: 12 },
    );
    const spec = specFromConfig({ layers, init: 'he' }, input, 'classification', 5);
    const slots = opt === 'sgd' ? ['momentum'] : ['m', 'v'];
    const models = [GrowableModel.create(spec, 11, slots), GrowableModel.create(spec, 11, slots)];
    // the native step's graph takes ConvWeightGradient for the two 16+ channel convs, the plain one none
    const count = (m: GrowableModel, ex: OrtExecutor) =>
      buildTrainGraph(m, optimizerSettings(cfg), 0, ex).graph.nodes.filter((n) => n.op === 'ConvWeightGradient').length;
    assert.equal(count(models[0], native), 2);
    assert.equal(count(models[1], plain), 0);
    const trainers = [new Trainer(models[0], data, cfg, native), new Trainer(models[1], data, cfg, plain)];
    const order = Int32Array.from({ length: 24 }, (_, i) => i);
    try {
      for (let s = 0; s < 4; s++) {
        const [a, b] = [await trainers[0].step(order, (s % 2) * 12, 12), await trainers[1].step(order, (s % 2) * 12, 12)];
        assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.max(1, Math.abs(b.loss)), `${opt} step ${s}: loss ${a.loss} vs ${b.loss}`);
      }
      for (const p of models[0].params()) {
        const [u, v] = models.map((m) => hostTensor('float32', p.shape, m.tensors.get(p.name)!));
        const { err, scale } = largestDifference(u, v);
        assert.ok(err <= 1e-4 * Math.max(scale, 1e-3), `${opt}: ${p.name} differs by ${err} after 4 steps (largest ${scale})`);
      }
    } finally {
      await Promise.all(trainers.map((tr) => tr.dispose()));
    }
  }
  assert.equal(native.liveSessions(), 0);
});

test('memory stays flat over many split steps (the handed tensors are not kept)', async (t) => {
  const why = nativeMissing();
  if (why) return t.skip(why);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return t.skip('needs node --expose-gc (npm run test:unit passes it)');
  const input = [16, 16, 16];
  const layers = [
    { type: 'conv2d' as const, filters: 32, kernelSize: 3, stride: 1, padding: 'same' as const, activation: 'relu' as const },
    { type: 'conv2d' as const, filters: 32, kernelSize: 3, stride: 1, padding: 'same' as const, activation: 'relu' as const },
    { type: 'globalavgpool' as const },
  ];
  const data = randomDataset(input, 4, 64, 5);
  const ex = await OrtExecutor.create({ threads: 2 });
  const spec = specFromConfig({ layers, init: 'he' }, input, 'classification', 4);
  const model = GrowableModel.create(spec, 3, ['momentum']);
  const cfg = trainingConfig({ optimizer: 'sgd', momentum: 0.9, learningRate: 0.01, batchSize: 64 });
  assert.equal(buildTrainGraph(model, optimizerSettings(cfg), 0, ex).graph.nodes.filter((n) => n.op === 'ConvWeightGradient').length, 2);
  const tr = new Trainer(model, data, cfg, ex);
  const order = Int32Array.from({ length: 64 }, (_, i) => i);
  const usage: NodeJS.MemoryUsage[] = [];
  try {
    // each step hands over about 2 MB (two convs' inputs and cotangents at batch 64); 320 steps
    for (let block = 0; block < 8; block++) {
      for (let s = 0; s < 40; s++) await tr.step(order, 0, 64);
      // the buffers a collection frees are returned after the current turn of the event loop
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      usage.push(process.memoryUsage());
    }
  } finally {
    await tr.dispose();
  }
  const [first, last] = [usage[3], usage[7]];
  assert.ok(last.heapUsed <= first.heapUsed * 1.05, `heap ${first.heapUsed} -> ${last.heapUsed}`);
  assert.ok(last.arrayBuffers <= first.arrayBuffers * 1.05, `array buffers ${first.arrayBuffers} -> ${last.arrayBuffers}`);
  // RSS jumps by up to a quarter between blocks with nothing kept (onnxruntime's arena and the C heap
  // growing and trimming; measured 159-217 MB with no trend), so its floor is compared: the least of
  // the last three blocks against the most of blocks 1-3. Handed tensors kept would add 80 MB a block.
  const rss = usage.map((u) => u.rss);
  const [early, late] = [Math.max(...rss.slice(1, 4)), Math.min(...rss.slice(5))];
  assert.ok(late <= early * 1.05, `rss ${rss.map((r) => (r / 1e6).toFixed(0)).join(', ')} MB: the floor rose`);
  assert.equal(ex.liveSessions(), 0);
});

test("a run's status names the native kernel where it computes the weight gradients", async (t) => {
  const plain = await OrtExecutor.create({ threads: 1, native: false });
  assert.equal(describeExecutor(plain), 'onnxruntime (cpu)');
  const why = nativeMissing();
  if (why) return t.skip(why);
  const native = await OrtExecutor.create({ threads: 1 });
  assert.match(describeExecutor(native), /^onnxruntime \(cpu; native \((avx512f|avx2|generic)\) convolution weight gradients\)$/);
});
