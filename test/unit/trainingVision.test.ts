/** Training for vision workloads (issue 20): learning-rate schedules, afterGrow, label smoothing, augmentation. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { LrScheduleConfig, MetricsParams } from '../../common/protocol';
import { resolveExperiment, validateExperiment } from '../../server/config/validate';
import { Graph, OrtExecutor, gradients, hostTensor, softmaxCrossEntropy } from '../../server/engine';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig } from '../../server/model/spec';
import { Rng } from '../../server/random';
import { RunStore } from '../../server/runs';
import { augmentRows, channelStats, epochDraws, normalizeImages, type EpochDraws } from '../../server/trainer/augment';
import { AugmentPipeline } from '../../server/trainer/augmentPipeline';
import { Trainer } from '../../server/trainer/trainer';
import { prepareAugment } from '../../server/training/augmentSetup';
import { ExperimentRun } from '../../server/training/experiment';
import {
  CONSTANT_SCHEDULE,
  LrScheduler,
  initialLrState,
  learningRateAt,
  lrStateAfterGrow,
  parseLrState,
  type LrState,
} from '../../server/training/lrSchedule';
import { randomDataset, trainingConfig } from './fixtures';

const sched = (s: Partial<LrScheduleConfig>): LrScheduleConfig => ({ ...CONSTANT_SCHEDULE, ...s });
const close = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${msg ?? ''} ${a} vs ${b}`);

describe('learning-rate schedules (pure)', () => {
  // 4 steps per epoch: dt = 0.25
  const dt = 0.25;
  test('constant: the base rate at every step', () => {
    const s = sched({});
    const st = initialLrState(s, 0.1);
    for (const t of [0, 0.25, 3.5, 9.75]) assert.equal(learningRateAt(s, st, 10, t, dt), 0.1);
  });

  test('linear warmup over 2 epochs: base · (t + dt) / 2, then the base rate', () => {
    const s = sched({ warmupEpochs: 2 });
    const st = initialLrState(s, 0.8);
    assert.equal(learningRateAt(s, st, 10, 0, dt), 0.1); // 0.8 · 0.25 / 2
    assert.equal(learningRateAt(s, st, 10, 0.75, dt), 0.4); // 0.8 · 1 / 2
    close(learningRateAt(s, st, 10, 1.5, dt), 0.7); // 0.8 · 1.75 / 2
    assert.equal(learningRateAt(s, st, 10, 1.75, dt), 0.8, 'the last warmup step reaches the base rate');
    assert.equal(learningRateAt(s, st, 10, 2, dt), 0.8);
  });

  test('step: times gamma once each milestone epoch is complete (MultiStepLR)', () => {
    const s = sched({ type: 'step', milestones: [3, 6], gamma: 0.5 });
    const st = initialLrState(s, 0.8);
    const at = (t: number) => learningRateAt(s, st, 10, t, dt);
    assert.deepEqual([0, 2.75, 3, 5.75, 6, 9.75].map(at), [0.8, 0.8, 0.4, 0.4, 0.2, 0.2]);
  });

  test('cosine: from the base rate to minLearningRate over the run, per step', () => {
    const s = sched({ type: 'cosine' });
    const st = initialLrState(s, 0.8);
    const at = (t: number) => learningRateAt(s, st, 10, t, dt);
    assert.equal(at(0), 0.8);
    close(at(5), 0.4);
    close(at(2.5), 0.4 * (1 + Math.SQRT1_2));
    close(at(9.75), 0.4 * (1 + Math.cos(Math.PI * 0.975)));
    close(at(10), 0);
    const withMin = sched({ type: 'cosine', minLearningRate: 0.1, warmupEpochs: 2 });
    const st2 = initialLrState(withMin, 0.9);
    const at2 = (t: number) => learningRateAt(withMin, st2, 10, t, dt);
    assert.equal(at2(0), 0.1125); // warmup: 0.9 · 0.25 / 2
    assert.equal(at2(2), 0.9, 'the cosine starts after the warmup');
    close(at2(6), 0.5); // 0.1 + 0.8 · (1 + cos(π/2)) / 2
    close(at2(10), 0.1);
  });

  test('afterGrow restart: a new segment from learningRate with its warmup; step milestones before it no longer count', () => {
    const s = sched({ type: 'cosine', minLearningRate: 0.1, warmupEpochs: 2 });
    const st = lrStateAfterGrow(initialLrState(s, 0.9), { learningRate: 0.2, warmupEpochs: 1 }, 0.9, 4);
    assert.deepEqual(st, { start: 4, base: 0.2, warmup: 1, scale: 1 });
    const at = (t: number) => learningRateAt(s, st, 10, t, dt);
    assert.equal(at(4), 0.05); // 0.2 · 0.25 / 1
    assert.equal(at(4.75), 0.2);
    assert.equal(at(5), 0.2, 'cosine over the remaining 5 epochs starts at the restart rate');
    close(at(7.5), 0.15); // 0.1 + 0.1 · (1 + cos(π/2)) / 2
    close(at(10), 0.1);

    const step = sched({ type: 'step', milestones: [3, 6], gamma: 0.5 });
    const st2 = lrStateAfterGrow(initialLrState(step, 0.8), { warmupEpochs: 0.5 }, 0.8, 4);
    assert.deepEqual(st2, { start: 4, base: 0.8, warmup: 0.5, scale: 1 }, 'warmupEpochs alone restarts from training.learningRate');
    const at2 = (t: number) => learningRateAt(step, st2, 10, t, dt);
    assert.deepEqual([4, 4.25, 4.5, 5.75, 6].map(at2), [0.4, 0.8, 0.8, 0.8, 0.4]);
  });

  test('afterGrow decay: every rate after the k-th grow times decay^k; no afterGrow leaves the state as it was', () => {
    const s = sched({ type: 'step', milestones: [3], gamma: 0.5 });
    const st0 = initialLrState(s, 0.8);
    assert.equal(lrStateAfterGrow(st0, undefined, 0.8, 1.5), st0);
    const st1 = lrStateAfterGrow(st0, { decay: 0.5 }, 0.8, 1.5);
    assert.deepEqual(st1, { start: 0, base: 0.8, warmup: 0, scale: 0.5 });
    assert.equal(learningRateAt(s, st1, 10, 2, dt), 0.4);
    const st2 = lrStateAfterGrow(st1, { decay: 0.5 }, 0.8, 2.5);
    assert.equal(learningRateAt(s, st2, 10, 3, dt), 0.1); // 0.8 · 0.5 (milestone) · 0.25
    const both = lrStateAfterGrow(st0, { learningRate: 0.4, decay: 0.5 }, 0.8, 5);
    assert.equal(learningRateAt(s, both, 10, 5, dt), 0.2, 'restart and decay together');
  });

  test('LrScheduler: a grow restarts at the position the loop last set', () => {
    const lr = new LrScheduler(sched({ type: 'constant' }), 0.1, 4, { learningRate: 0.05, warmupEpochs: 1 });
    lr.now = 1.5;
    assert.equal(lr.rate(1.5, 0.5), 0.1);
    lr.grew();
    assert.deepEqual(lr.state, { start: 1.5, base: 0.05, warmup: 1, scale: 1 });
    assert.equal(lr.rate(1.5, 0.5), 0.025);
    assert.equal(lr.rate(2, 0.5), 0.05);
  });

  test('parseLrState: a checkpoint state read back, or what is wrong with it', () => {
    const ok: LrState = { start: 1.5, base: 0.1, warmup: 0, scale: 0.25 };
    assert.deepEqual(parseLrState(JSON.parse(JSON.stringify(ok))), ok);
    assert.equal(parseLrState(null), 'lrSchedule must be an object');
    assert.equal(parseLrState({ ...ok, scale: 'x' }), 'lrSchedule.scale must be a finite number >= 0');
    assert.equal(parseLrState({ ...ok, base: -1 }), 'lrSchedule.base must be a finite number >= 0');
  });
});

describe('schedule fields in the experiment file', () => {
  const base = { dataset: { name: 'mnist' } };
  test('lrSchedule and afterGrow fill their defaults; absent they stay absent', () => {
    const c = resolveExperiment({ ...base, training: { lrSchedule: { type: 'cosine' } }, growth: { afterGrow: { decay: 0.5 } } });
    assert.deepEqual(c.training.lrSchedule, { type: 'cosine', milestones: [], gamma: 0.1, minLearningRate: 0, warmupEpochs: 0 });
    assert.deepEqual(c.growth?.afterGrow, { decay: 0.5 });
    const plain = resolveExperiment(base);
    assert.equal(plain.training.lrSchedule, undefined);
  });

  test('bad values are named', () => {
    const r = validateExperiment({
      ...base,
      training: { lrSchedule: { type: 'linear', gamma: 0, milestones: [0] } },
      growth: { afterGrow: { decay: 1.5, learningRate: 0 } },
    });
    assert.equal(r.ok, false);
    const msgs = r.ok ? [] : r.errors.map((e) => e.message);
    assert.deepEqual(msgs.sort(), [
      'growth.afterGrow.decay must be <= 1, got 1.5',
      'growth.afterGrow.learningRate must be > 0, got 0',
      'training.lrSchedule.gamma must be > 0, got 0',
      'training.lrSchedule.milestones[0] must be >= 1, got 0',
      'training.lrSchedule.type must be one of constant, step, cosine, got "linear"',
    ]);
  });
});

describe('a run follows its schedule', () => {
  test('every metrics event carries the rate of its step; warmup, a milestone and afterGrow decay at two grows', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-lr-'));
    try {
      const config = resolveExperiment({
        seed: 3,
        dataset: { name: 'rbf-toy', trainSize: 40, testSize: 20 },
        model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }] },
        training: {
          epochs: 3,
          batchSize: 10,
          learningRate: 0.08,
          shuffle: false,
          lrSchedule: { type: 'step', milestones: [2], gamma: 0.5, warmupEpochs: 1 },
        },
        growth: { method: 'net2net-wider', schedule: { every: 1 }, options: { neurons: 1 }, afterGrow: { decay: 0.5 } },
      });
      const metrics: MetricsParams[] = [];
      const run = new ExperimentRun({
        config,
        store: new RunStore(dir),
        listener: { metrics: (m) => metrics.push(m), status: () => undefined },
        metricsIntervalMs: 0,
      });
      const summary = await run.start();
      assert.equal(summary.status, 'completed', summary.message);
      assert.equal(summary.growEvents, 2);
      const perStep = metrics.filter((m) => m.testLoss === undefined).map((m) => m.learningRate);
      // epoch 1: warmup 0.08·(1..4)/4; epoch 2: 0.08 after one grow (·0.5); epoch 3: milestone 2 (·0.5), two grows (·0.25)
      assert.deepEqual(perStep, [0.02, 0.04, 0.06, 0.08, 0.04, 0.04, 0.04, 0.04, 0.01, 0.01, 0.01, 0.01]);
      const epochEnds = metrics.filter((m) => m.testLoss !== undefined).map((m) => m.learningRate);
      assert.deepEqual(epochEnds, [0.08, 0.04, 0.01]);

      // Stopped at the first grow and resumed: the checkpoint kept the decayed state, the rates go on as above.
      const store = new RunStore(dir);
      const first: MetricsParams[] = [];
      let stopped: ExperimentRun | undefined = undefined;
      stopped = new ExperimentRun({
        config,
        store,
        listener: { metrics: (m) => first.push(m), status: () => undefined, grow: () => stopped!.stop() },
        metricsIntervalMs: 0,
      });
      assert.equal((await stopped.start()).status, 'stopped');
      assert.deepEqual(store.readLatestCheckpoint(stopped.runId)!.checkpoint.meta.lrSchedule, {
        start: 0,
        base: 0.08,
        warmup: 1,
        scale: 0.5,
      });
      const resumed: MetricsParams[] = [];
      const again = new ExperimentRun({
        config,
        store,
        listener: { metrics: (m) => resumed.push(m), status: () => undefined },
        metricsIntervalMs: 0,
        resume: { runId: stopped.runId },
      });
      assert.equal((await again.start()).status, 'completed');
      assert.deepEqual(
        resumed.filter((m) => m.testLoss === undefined).map((m) => m.learningRate),
        [0.04, 0.04, 0.04, 0.04, 0.01, 0.01, 0.01, 0.01],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('label smoothing', () => {
  // logits [[1, 2, 3], [0.5, -1, 0]], labels [2, 0]; with ε = 0.1 and C = 3 the targets are
  // [ε/3, ε/3, 1 − ε + ε/3] and [1 − ε + ε/3, ε/3, ε/3]; loss = −mean Σ q · (x − logsumexp x).
  const logits = [1, 2, 3, 0.5, -1, 0];
  const onehot = [0, 0, 1, 1, 0, 0];
  async function lossAndGrad(eps: number, x = logits): Promise<{ loss: number; grad: number[] }> {
    const g = new Graph('ls');
    const l = g.input('logits', 'float64', ['N', 3]);
    const t = g.input('targets', 'float64', ['N', 3]);
    const loss = softmaxCrossEntropy(l, t, eps);
    const [dl] = gradients(loss, [l]);
    const ort = await OrtExecutor.create({ threads: 1 });
    const c = await ort.compile(g, { loss, dl });
    try {
      const out = await c.run({ logits: hostTensor('float64', [2, 3], x), targets: hostTensor('float64', [2, 3], onehot) });
      return { loss: Number(out.loss.data[0]), grad: Array.from(out.dl.data as Float64Array) };
    } finally {
      await c.dispose();
    }
  }

  test('the loss value against a hand computation (ε = 0, 0.1, 0.3)', async () => {
    close((await lossAndGrad(0)).loss, 0.5058682848905542);
    close((await lossAndGrad(0.1)).loss, 0.5892016182238875);
    // one row: q = [0.1, 0.1, 0.8], logsumexp(1, 2, 3) = 3.40760596444438
    const g = new Graph('ls1');
    const l = g.input('logits', 'float64', [1, 3]);
    const t = g.input('targets', 'float64', [1, 3]);
    const ort = await OrtExecutor.create({ threads: 1 });
    const c = await ort.compile(g, { loss: softmaxCrossEntropy(l, t, 0.3) });
    const out = await c.run({ logits: hostTensor('float64', [1, 3], [1, 2, 3]), targets: hostTensor('float64', [1, 3], [0, 0, 1]) });
    await c.dispose();
    close(Number(out.loss.data[0]), 0.1 * 2.40760596444438 + 0.1 * 1.40760596444438 + 0.8 * 0.40760596444438);
    assert.throws(() => softmaxCrossEntropy(l, t, 1.5), /label smoothing must be in \[0, 1\], got 1.5/);
  });

  test('its gradient equals central differences (float64, h = 1e-5) and (softmax − q) / N', async () => {
    const eps = 0.2;
    const { grad } = await lossAndGrad(eps);
    const h = 1e-5;
    for (let i = 0; i < logits.length; i++) {
      const up = logits.slice(),
        down = logits.slice();
      up[i] += h;
      down[i] -= h;
      const fd = ((await lossAndGrad(eps, up)).loss - (await lossAndGrad(eps, down)).loss) / (2 * h);
      assert.ok(Math.abs(grad[i] - fd) < 1e-8, `d loss / d logit ${i}: ${grad[i]} vs ${fd}`);
    }
    for (let r = 0; r < 2; r++) {
      const row = logits.slice(r * 3, r * 3 + 3);
      const z = row.reduce((a, v) => a + Math.exp(v), 0);
      for (let k = 0; k < 3; k++) {
        const q = (1 - eps) * onehot[r * 3 + k] + eps / 3;
        close(grad[r * 3 + k], (Math.exp(row[k]) / z - q) / 2);
      }
    }
  });

  test('the Trainer minimises the smoothed loss; its evaluation stays plain cross-entropy', async () => {
    const data = randomDataset([6], 4, 32, 5);
    const spec = specFromConfig({ layers: [{ type: 'dense', units: 5, activation: 'tanh' }], init: 'he' }, [6], 'classification', 4);
    const first = async (labelSmoothing: number | undefined) => {
      const tr = new Trainer(
        GrowableModel.create(spec, 1, ['momentum']),
        data,
        trainingConfig({ labelSmoothing, batchSize: 32 }),
        await OrtExecutor.create(),
      );
      const before = await tr.evaluate(data.train);
      const step = await tr.step(
        Int32Array.from({ length: 32 }, (_, i) => i),
        0,
        32,
      );
      await tr.dispose();
      return { eval: before.loss, step: step.loss };
    };
    const plain = await first(undefined),
      smooth = await first(0.5);
    assert.equal(smooth.eval, plain.eval, 'evaluation does not smooth');
    assert.ok(
      Math.abs(plain.step - plain.eval) < 1e-5,
      `unsmoothed: the first step's loss is the evaluated one (${plain.step} vs ${plain.eval})`,
    );
    assert.ok(Math.abs(smooth.step - plain.step) > 1e-3, `smoothed: a different loss (${smooth.step} vs ${plain.step})`);
  });

  test('a regression run with label smoothing says it ignores it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ls-'));
    try {
      const warnings: string[] = [];
      const run = new ExperimentRun({
        config: resolveExperiment({
          dataset: { name: 'rbf-toy', trainSize: 20, testSize: 10 },
          model: { layers: [{ type: 'dense', units: 2, activation: 'tanh' }] },
          training: { epochs: 1, batchSize: 10, labelSmoothing: 0.1 },
        }),
        store: new RunStore(dir),
        listener: { metrics: () => undefined, status: (s) => warnings.push(...(s.warnings ?? [])) },
      });
      assert.equal((await run.start()).status, 'completed');
      assert.ok(
        warnings.includes('training.labelSmoothing applies to classification; this regression run ignores it'),
        warnings.join('\n'),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('training.labelSmoothing: validated in [0, 1]; absent stays absent', () => {
    assert.equal(resolveExperiment({ dataset: { name: 'mnist' } }).training.labelSmoothing, undefined);
    assert.equal(resolveExperiment({ dataset: { name: 'mnist' }, training: { labelSmoothing: 0.1 } }).training.labelSmoothing, 0.1);
    const r = validateExperiment({ dataset: { name: 'mnist' }, training: { labelSmoothing: 1.2 } });
    assert.deepEqual(r.ok ? [] : r.errors.map((e) => e.message), ['training.labelSmoothing must be <= 1, got 1.2']);
  });
});

function sharedFloats(a: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(a.length * 4));
  out.set(a);
  return out;
}

describe('augmentation', () => {
  const ids = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const one = (v: number) => Uint8Array.of(v);

  test('crop and flip, exact on a 2-channel 3x3 image (torchvision RandomCrop(padding=1) then flip)', () => {
    // channel 0 = 1..9, channel 1 = 11..19; padded pixels take the channel's fill (-1, -2)
    const src = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const out = new Float32Array(18);
    const fill = Float32Array.of(-1, -2);
    // padded 5x5 image, crop at top 2, left 0: rows 1, 2 and padding; columns padding, 0, 1; then flipped
    augmentRows(src, null, ids(1), 1, 2, 3, 3, 1, fill, one(0), one(2), one(1), 0, out);
    assert.deepEqual(Array.from(out), [5, 4, -1, 8, 7, -1, -1, -1, -1, 15, 14, -2, 18, 17, -2, -2, -2, -2]);
    // no flip, crop at top 0, left 2: a shift down-right... of the content up-left
    augmentRows(src, null, ids(1), 1, 2, 3, 3, 1, fill, one(2), one(0), one(0), 0, out);
    assert.deepEqual(Array.from(out.subarray(0, 9)), [-1, -1, -1, 2, 3, -1, 5, 6, -1]);
    // the centre crop without a flip is the image itself
    augmentRows(src, null, ids(1), 1, 2, 3, 3, 1, fill, one(1), one(1), one(0), 0, out);
    assert.deepEqual(out, src);
    // uint8 pixels through a table
    const bytes = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const table = Float32Array.from({ length: 256 }, (_, v) => v / 2);
    const o1 = new Float32Array(9);
    augmentRows(bytes, table, ids(1), 1, 1, 3, 3, 1, Float32Array.of(0), one(1), one(1), one(1), 0, o1);
    assert.deepEqual(Array.from(o1), [1, 0.5, 0, 2.5, 2, 1.5, 4, 3.5, 3]);
  });

  test('draws: the same for a seed and epoch, another epoch differs, offsets in [0, 2·pad]', () => {
    const a = epochDraws(7, 3, 500, { pad: 4, flip: true });
    assert.deepEqual(a, epochDraws(7, 3, 500, { pad: 4, flip: true }));
    assert.notDeepEqual(a.dx, epochDraws(7, 4, 500, { pad: 4, flip: true }).dx);
    assert.notDeepEqual(a.dx, epochDraws(8, 3, 500, { pad: 4, flip: true }).dx);
    assert.ok(Math.max(...a.dx) === 8 && Math.min(...a.dx) === 0 && Math.max(...a.dy) === 8 && Math.min(...a.dy) === 0);
    const flips = a.flip.reduce((s, v) => s + v, 0);
    assert.ok(flips > 200 && flips < 300, `about half flipped: ${flips}`);
    const none = epochDraws(7, 3, 10, { pad: 0, flip: false });
    assert.deepEqual([...none.dx, ...none.dy, ...none.flip], new Array(30).fill(0));
  });

  for (const kind of ['plain', 'shared', 'uint8'] as const)
    test(`the worker builds the same batches, bit for bit, as this thread (${kind} rows)`, async () => {
      const shape = { c: 3, h: 8, w: 6 };
      const n = 40,
        f = 144;
      const rng = new Rng(1);
      const floats = Float32Array.from({ length: n * f }, () => rng.normal());
      const src: Float32Array | Uint8Array =
        kind === 'plain' ? floats : kind === 'shared' ? sharedFloats(floats) : Uint8Array.from(floats, (v) => Math.abs(v * 100) & 255);
      const table = kind === 'uint8' ? Float32Array.from({ length: 256 }, (_, v) => v / 255 - 0.5) : undefined;
      const draws = epochDraws(2, 1, n, { pad: 2, flip: true });
      const order = rng.permutation(n);
      const opts = { src, table, shape, augment: { pad: 2, flip: true }, fill: Float32Array.of(0.5, -1, 2), maxBatch: 16 };
      const inline = new AugmentPipeline({ ...opts, inline: true });
      const worker = new AugmentPipeline(opts);
      try {
        assert.equal(worker.threaded, true);
        assert.equal(worker.copiedSource, kind !== 'shared', 'a source outside shared memory is copied there once');
        for (const [start, m, slot] of [
          [0, 16, 0],
          [16, 16, 1],
          [32, 8, 0],
        ] as const) {
          const a = Float32Array.from(await inline.batch(order, start, m, draws, slot));
          const b = await worker.batch(order, start, m, draws, slot);
          assert.equal(b.length, m * f);
          assert.deepEqual(b, a, `batch at ${start}`);
        }
        // two batches in flight in the two slots: each resolves with its own rows
        const [p, q] = [worker.batch(order, 0, 16, draws, 0), worker.batch(order, 16, 16, draws, 1)];
        const [x0, x1] = await Promise.all([p, q]);
        assert.deepEqual(x0, Float32Array.from(await inline.batch(order, 0, 16, draws, 0)));
        assert.deepEqual(x1, Float32Array.from(await inline.batch(order, 16, 16, draws, 1)));
      } finally {
        await worker.dispose();
        await inline.dispose();
      }
      await assert.rejects(worker.batch(order, 0, 1, draws, 0), /disposed/);
    });

  test('normalisation: exact statistics, (x − mean) / std on both splits, padding black, the source left as it was', () => {
    // 2 images, 2 channels of 2x1: channel 0 = 1, 3, 5, 7 (mean 4, std √5), channel 1 = 2 everywhere but 4 once
    const x = Float32Array.from([1, 3, 2, 2, 5, 7, 2, 4]);
    const s = channelStats(x, 2, { c: 2, h: 2, w: 1 });
    assert.deepEqual(s.mean, [4, 2.5]);
    close(s.std[0], Math.sqrt(5));
    close(s.std[1], Math.sqrt(0.75));
    const y = normalizeImages(x, null, 2, { c: 2, h: 2, w: 1 }, [4, 2], [2, 0.5]);
    assert.deepEqual(Array.from(y), [-1.5, -0.5, 0, 0, 0.5, 1.5, 0, 4]);
    const table = Float32Array.from({ length: 256 }, (_, v) => v / 255);
    assert.deepEqual(channelStats(Uint8Array.of(0, 255), 2, { c: 1, h: 1, w: 1 }, table), { mean: [0.5], std: [0.5] });

    const data = randomDataset([2, 3, 3], 3, 20, 9);
    const before = Float32Array.from(data.train.x);
    const p = prepareAugment(data, { normalize: 'auto', crop: { pad: 1 } }, 8, { inline: true });
    assert.deepEqual(data.train.x, before, 'the dataset itself is not changed');
    const stats = channelStats(p.data.train.x, 20, { c: 2, h: 3, w: 3 });
    stats.mean.forEach((m) => assert.ok(Math.abs(m) < 1e-6, `mean ${m}`));
    stats.std.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5, `std ${v}`));
    const { mean, std } = p.normalization!;
    assert.equal(p.data.test.x[10], Math.fround((data.test.x[10] - mean[1]) / std[1]), 'test inputs use the training statistics');
    assert.match(p.description!, /^augment: crop pad 1, normalize \(auto\) mean \[.*\] std \[.*\]$/);
    // a padded pixel is black (0) before normalisation: -mean/std after it
    const draws: EpochDraws = { dx: one(0), dy: one(1), flip: one(0) };
    return p.pipeline!.batch([0], 0, 1, draws, 0).then((b) => assert.equal(b[0], Math.fround(-mean[0] / std[0])));
  });

  test('prepareAugment: what it cannot do is said', () => {
    const flat = randomDataset([6], 3, 4, 1);
    assert.throws(
      () => prepareAugment(flat, { flip: true }, 4),
      /training\.augment needs image inputs \[channels, height, width\]; csv has input shape \[6\]/,
    );
    const img = randomDataset([3, 4, 4], 3, 4, 1);
    assert.throws(
      () => prepareAugment(img, { normalize: { mean: [0.5], std: [0.2] } }, 4),
      /training\.augment\.normalize\.mean has 1 values; csv images have 3 channels/,
    );
    assert.throws(() => prepareAugment(img, { crop: { pad: 5 } }, 4), /crop\.pad \(5\) is larger than the images \(4x4\)/);
    const constant = { ...img, train: { ...img.train, x: new Float32Array(img.train.x.length) } };
    assert.throws(() => prepareAugment(constant, { normalize: 'auto' }, 4), /channel 0 of the training set is constant/);
    assert.equal(prepareAugment(img, undefined, 4).data, img);
    assert.equal(prepareAugment(img, {}, 4).data, img);
  });

  test('training.augment in the experiment file', () => {
    const base = { dataset: { name: 'mnist' } };
    const c = resolveExperiment({ ...base, training: { augment: { crop: { pad: 4 }, flip: true, normalize: 'auto' } } });
    assert.deepEqual(c.training.augment, { crop: { pad: 4 }, flip: true, normalize: 'auto' });
    const given = resolveExperiment({ ...base, training: { augment: { normalize: { mean: [0.13], std: [0.31] } } } });
    assert.deepEqual(given.training.augment, { normalize: { mean: [0.13], std: [0.31] } });
    const r = validateExperiment({
      ...base,
      training: { augment: { crop: { pad: 0 }, flip: 'yes', normalize: { mean: [0.1], std: [0] } } },
    });
    assert.deepEqual((r.ok ? [] : r.errors.map((e) => e.message)).sort(), [
      'training.augment.crop.pad must be >= 1, got 0',
      'training.augment.flip must be a boolean, got "yes"',
      'training.augment.normalize.std[0] must be > 0, got 0',
    ]);
  });

  test('a run with crop, flip and normalisation is bit-reproducible for a seed (MNIST subset, worker-built batches)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-aug-'));
    const once = async (augment: object | undefined) => {
      const config = resolveExperiment({
        seed: 5,
        dataset: { name: 'mnist', trainSize: 192, testSize: 64 },
        model: { layers: [{ type: 'dense', units: 8, activation: 'relu' }] },
        training: { epochs: 2, batchSize: 64, augment },
      });
      const metrics: MetricsParams[] = [];
      const statuses: string[] = [];
      const run = new ExperimentRun({
        config,
        store: new RunStore(dir),
        listener: { metrics: (m) => metrics.push(m), status: (s) => statuses.push(s.message ?? '') },
        metricsIntervalMs: 0,
      });
      const summary = await run.start();
      assert.equal(summary.status, 'completed', summary.message);
      return { losses: metrics.map((m) => [m.step, m.trainLoss, m.testLoss ?? null]), statuses };
    };
    try {
      const augment = { crop: { pad: 4 }, flip: true, normalize: 'auto' };
      const a = await once(augment),
        b = await once(augment),
        plain = await once(undefined);
      assert.equal(a.losses.length, 8, 'one event per step and per epoch end');
      assert.deepEqual(a.losses, b.losses);
      assert.notDeepEqual(a.losses, plain.losses, 'augmentation changes what the model sees');
      assert.ok(
        a.statuses.some((s) => /augment: crop pad 4, flip, normalize \(auto\) mean \[0\.1\d+\] std \[0\.3\d+\]/.test(s)),
        a.statuses.join('\n'),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
