import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../server/random';

test('Rng: same seed gives the same stream, different seeds differ', () => {
  const a = new Rng(7),
    b = new Rng(7),
    c = new Rng(8);
  const sa = Array.from({ length: 5 }, () => a.next());
  const sb = Array.from({ length: 5 }, () => b.next());
  const sc = Array.from({ length: 5 }, () => c.next());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('Rng: normal has mean ~0 and std ~1', () => {
  const r = new Rng(1);
  let s = 0,
    s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.03);
  assert.ok(Math.abs(Math.sqrt(s2 / n - (s / n) ** 2) - 1) < 0.03);
});

test('Rng: permutation holds every index once', () => {
  const p = new Rng(3).permutation(100);
  assert.deepEqual(
    [...p].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('Rng snapshot/restore continues the same stream (including a spare normal); bad states are refused', () => {
  const a = new Rng(123);
  for (let i = 0; i < 17; i++) a.next();
  a.normal(); // leaves a spare
  const b = Rng.restore(JSON.parse(JSON.stringify(a.snapshot())));
  const seqA = [a.normal(), a.next(), a.normal(), a.int(1000)];
  const seqB = [b.normal(), b.next(), b.normal(), b.int(1000)];
  assert.deepEqual(seqB, seqA);
  assert.throws(() => Rng.restore({ state: -1 }), /random state/);
  assert.throws(() => Rng.restore({ state: 1.5 }), /random state/);
});
