import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunEvent, RunHistoryParams } from '../../common/protocol';
import { readRunHistory } from '../../extension/runHistory';

/** A fake backend holding `n` events that answers pages as getRunHistory does, recording each call. */
function backendOf(n: number) {
  const all = Array.from(
    { length: n },
    (_, i) => ({ type: 'checkpoint', time: 't', runId: 'r', epoch: 0, step: i, file: `f${i}` }) as RunEvent,
  );
  const calls: RunHistoryParams[] = [];
  const read = async (p: RunHistoryParams) => {
    calls.push(p);
    const offset = p.offset ?? 0;
    return all.slice(offset, offset + (p.limit ?? n));
  };
  return { all, calls, read };
}

test('readRunHistory joins the pages of a long run in order', async () => {
  const b = backendOf(250);
  const events = await readRunHistory(b.read, 'r', 100);
  assert.deepEqual(events, b.all);
  assert.deepEqual(
    b.calls.map((c) => [c.runId, c.offset, c.limit]),
    [
      ['r', 0, 100],
      ['r', 100, 100],
      ['r', 200, 100],
    ],
  );
});

test('readRunHistory: a history of whole pages ends on the empty page after them; a short one takes one call', async () => {
  const whole = backendOf(200);
  assert.deepEqual(await readRunHistory(whole.read, 'r', 100), whole.all);
  assert.deepEqual(
    whole.calls.map((c) => c.offset),
    [0, 100, 200],
  );
  const short = backendOf(7);
  assert.deepEqual(await readRunHistory(short.read, 'r', 100), short.all);
  assert.equal(short.calls.length, 1);
});

test('readRunHistory: a backend that ignores paging and answers everything ends the read, never loops', async () => {
  const all = backendOf(250).all;
  let calls = 0;
  const events = await readRunHistory(
    async () => {
      calls++;
      return all.slice();
    },
    'r',
    100,
  );
  assert.deepEqual(events, all);
  assert.equal(calls, 1);
});
