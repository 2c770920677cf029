// scripts/reproDepth.ts's flags: the final retrain's cosine (exact values), the default methods and
// NASH's stop, and the errors that name a bad flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LR, finalRate, parseArgs, rateAt } from '../../scripts/reproDepth';

test('finalRate: constant keeps the rate; cosine runs from lr towards 0 over the final minibatches', () => {
  assert.equal(finalRate('constant', 0.002, 37, 94), 0.002);
  assert.equal(finalRate('cosine', 0.002, 0, 94), 0.002);
  // (1 + cos(π s / T)) / 2: a half at the middle, a quarter at three quarters
  assert.ok(Math.abs(finalRate('cosine', 0.002, 47, 94) - 0.001) < 1e-15);
  assert.ok(Math.abs(finalRate('cosine', 0.002, 75, 100) - (0.002 * (1 - Math.SQRT1_2)) / 2) < 1e-15);
  // the last minibatch still moves the weights, as PyTorch's CosineAnnealingLR with T_max = 94
  const last = finalRate('cosine', 0.002, 93, 94);
  assert.ok(last > 0 && Math.abs(last - (0.002 * (1 + Math.cos((Math.PI * 93) / 94))) / 2) < 1e-18, String(last));
  // one minibatch: the base rate
  assert.equal(finalRate('cosine', 0.003, 0, 1), 0.003);
});

test("rateAt: lr until the last `final` minibatches, then the final retrain's cosine over them", () => {
  const args = { lr: 0.002, finalSchedule: 'cosine' as const };
  // scratch: 10 minibatches ending in 4 final ones
  assert.deepEqual(
    Array.from({ length: 10 }, (_, s) => rateAt(args, s, 10, 4)),
    [0.002, 0.002, 0.002, 0.002, 0.002, 0.002, ...[0, 1, 2, 3].map((k) => finalRate('cosine', 0.002, k, 4))],
  );
  // the middle of the final part: half the rate
  assert.ok(Math.abs(rateAt(args, 8, 10, 4) - 0.001) < 1e-15);
  // fine-tuning (no final part) and a final retrain that is the whole run
  assert.equal(rateAt(args, 5, 6, 0), 0.002);
  assert.equal(rateAt(args, 3, 6, 6), finalRate('cosine', 0.002, 3, 6));
  assert.equal(rateAt({ ...args, finalSchedule: 'constant' }, 9, 10, 4), 0.002);
});

test('parseArgs: --lr and --final-schedule, with defaults and errors that name the flag', () => {
  const d = parseArgs(['--dataset', 'mnist']);
  assert.equal(d.lr, DEFAULT_LR);
  const a = parseArgs(['--dataset', 'fashion-mnist', '--lr', '0.002', '--final-schedule', 'cosine']);
  assert.equal(a.lr, 0.002);
  assert.equal(a.finalSchedule, 'cosine');
  assert.throws(() => parseArgs(['--dataset', 'mnist', '--lr', '0']), /--lr needs a number > 0, got 0/);
  assert.throws(() => parseArgs(['--dataset', 'mnist', '--lr', 'fast']), /--lr needs a number > 0, got fast/);
  assert.throws(
    () => parseArgs(['--dataset', 'mnist', '--final-schedule', 'step']),
    /--final-schedule must be constant or cosine, got step/,
  );
  assert.throws(() => parseArgs(['--dataset', 'mnist', '--final-schedule']), /--final-schedule needs a value/);
});

test('parseArgs: the default run is Firefly then NASH grown to its parameters; --nash-stop steps grows NASH all the steps', () => {
  const d = parseArgs(['--dataset', 'mnist']);
  assert.deepEqual(d.methods, ['firefly', 'nash']);
  assert.equal(d.nashStop, 'firefly-params');
  assert.equal(parseArgs(['--dataset', 'mnist', '--nash-stop', 'steps']).nashStop, 'steps');
  assert.deepEqual(parseArgs(['--dataset', 'mnist', '--methods', 'firefly,nash,scratch']).methods, ['firefly', 'nash', 'scratch']);
  assert.throws(
    () => parseArgs(['--dataset', 'mnist', '--nash-stop', 'params']),
    /--nash-stop must be firefly-params or steps, got params/,
  );
  assert.throws(() => parseArgs(['--dataset', 'mnist', '--nash-stop']), /--nash-stop needs a value/);
});
