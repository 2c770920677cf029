/** Training for vision workloads (issue 20): learning-rate schedules, afterGrow, label smoothing, augmentation. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { LrScheduleConfig, MetricsParams } from '../../common/protocol';
import { resolveExperiment, validateExperiment } from '../../server/config/validate';
import { RunStore } from '../../server/runs';
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
