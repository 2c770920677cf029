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
import { RunStore } from '../../server/runs';
import { Trainer } from '../../server/trainer/trainer';
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

  test('training.labelSmoothing: validated in [0, 1]; absent stays absent', () => {
    assert.equal(resolveExperiment({ dataset: { name: 'mnist' } }).training.labelSmoothing, undefined);
    assert.equal(resolveExperiment({ dataset: { name: 'mnist' }, training: { labelSmoothing: 0.1 } }).training.labelSmoothing, 0.1);
    const r = validateExperiment({ dataset: { name: 'mnist' }, training: { labelSmoothing: 1.2 } });
    assert.deepEqual(r.ok ? [] : r.errors.map((e) => e.message), ['training.labelSmoothing must be <= 1, got 1.2']);
  });
});
