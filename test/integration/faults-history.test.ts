/**
 * getRunHistory pages through a long run (300,000 metrics events, ~50 MB of events.jsonl) through the
 * real backend: exact slices, the unpaged call refused with a message that says to page, bad paging
 * params refused, the backend's peak RSS bounded, and listRuns answered while a big page is read.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, HISTORY_PAGE_MAX, Methods, RunEvent, RunSummary } from '../../common/protocol';
import { BackendClient } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-paging-'));
const runsDir = path.join(work, '.growth-lab', 'runs');
const client = new BackendClient();
const BIG = 'run-big';
const SMALL = 'run-small';
const N = 300_000;
after(() => {
  client.kill();
  fs.rmSync(work, { recursive: true, force: true });
});

function writeRun(runId: string, metrics: number): void {
  const dir = path.join(runsDir, runId);
  fs.mkdirSync(dir, { recursive: true });
  const config = { name: runId, dataset: { name: 'mnist' }, model: { layers: [{ type: 'dense', units: 8 }] }, training: { epochs: 1 } };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const time = '2026-01-01T00:00:00.000Z';
  const arch = { params: 100, layers: [] };
  const fd = fs.openSync(path.join(dir, 'events.jsonl'), 'w');
  fs.writeSync(fd, JSON.stringify({ type: 'start', time, runId, config, architecture: arch }) + '\n');
  let buf: string[] = [];
  for (let step = 1; step <= metrics; step++) {
    buf.push(JSON.stringify({ type: 'metrics', time, runId, epoch: 1, step, params: 100, trainLoss: 1 / step, trainAccuracy: 0.5 }));
    if (buf.length === 10_000) {
      fs.writeSync(fd, buf.join('\n') + '\n');
      buf = [];
    }
  }
  if (buf.length) fs.writeSync(fd, buf.join('\n') + '\n');
  fs.writeSync(fd, JSON.stringify({ type: 'status', time, runId, status: 'stopped' }) + '\n');
  fs.closeSync(fd);
}

function vm(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${client.proc.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const page = (offset?: number, limit?: number) =>
  client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, {
    runId: BIG,
    ...(offset === undefined ? {} : { offset }),
    ...(limit === undefined ? {} : { limit }),
  });
const steps = (events: RunEvent[]) => events.map((e) => (e.type === 'metrics' ? e.step : e.type));

before(async () => {
  writeRun(BIG, N);
  writeRun(SMALL, 10);
  await client.initialize(work);
});

test('getRunHistory without paging params answers as before for a run under the cap', async () => {
  const all = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId: SMALL });
  assert.deepEqual(steps(all), ['start', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 'status']);
  assert.deepEqual(await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId: SMALL, offset: 0 }), all);
  assert.deepEqual(
    await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId: SMALL, offset: 3, limit: 2 }),
    all.slice(3, 5),
  );
  assert.deepEqual(await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId: SMALL, offset: 50 }), []);
});

test('bad paging params are invalidParams', async () => {
  for (const bad of [{ offset: -1 }, { offset: 1.5 }, { offset: '3' }, { limit: HISTORY_PAGE_MAX + 1 }, { limit: null }, { limit: true }]) {
    await assert.rejects(client.conn.sendRequest(Methods.getRunHistory, { runId: SMALL, ...bad }), (err: any) => {
      assert.equal(err.code, ErrorCodes.invalidParams, JSON.stringify(bad));
      assert.match(err.message, /(offset|limit) must be a non-negative integer/);
      return true;
    });
  }
});

test('a 300,000-event run: exact pages, the unpaged call refused telling to page, peak RSS bounded, listRuns answered meanwhile', async () => {
  const rssStart = vm('VmHWM');
  const first = await client.conn.sendRequest<RunSummary[]>(Methods.listRuns, {}); // warms the summary cache
  assert.ok(first.some((r) => r.runId === BIG));
  const rssListed = vm('VmHWM');

  await assert.rejects(page(), (err: any) => {
    assert.equal(err.code, ErrorCodes.invalidParams);
    assert.match(
      err.message,
      new RegExp(`run ${BIG} has more than ${HISTORY_PAGE_MAX} events from offset 0; page through them with \\{offset, limit\\}`),
    );
    return true;
  });
  const head = await page(0, 5);
  assert.deepEqual(steps(head), ['start', 1, 2, 3, 4]);
  const mid = await page(150_000, 3);
  assert.deepEqual(steps(mid), [150_000, 150_001, 150_002]);
  const tail = await page(N - 1, 10);
  assert.deepEqual(steps(tail), [N - 1, N, 'status']);
  assert.deepEqual(await page(N + 2, 10), []);
  const rest = await page(N + 2 - 1000); // without limit, under the cap from this offset: works
  assert.equal(rest.length, 1000);
  assert.deepEqual(steps(rest.slice(-2)), [N, 'status']);

  // A full page (100,000 events) while listRuns is asked every 20 ms: listRuns keeps being answered.
  const latencies: number[] = [];
  let reading = true;
  const t0 = Date.now();
  const big = page(200_001, HISTORY_PAGE_MAX).finally(() => (reading = false));
  while (reading) {
    const s = Date.now();
    await client.conn.sendRequest(Methods.listRuns, {});
    latencies.push(Date.now() - s);
    await new Promise((r) => setTimeout(r, 20));
  }
  const events = await big;
  const pageMs = Date.now() - t0;
  assert.equal(events.length, HISTORY_PAGE_MAX);
  assert.deepEqual(steps([events[0], events[events.length - 1]]), [200_001, N]);
  const peak = vm('VmHWM');
  const maxLatency = Math.max(...latencies);
  console.log(
    `paging: page of ${HISTORY_PAGE_MAX} in ${pageMs} ms; listRuns answered ${latencies.length}x meanwhile, max ${maxLatency} ms; VmHWM ${rssStart.toFixed(0)} at start, ${rssListed.toFixed(0)} after the first listRuns, ${peak.toFixed(0)} MiB at the end (VmRSS now ${vm('VmRSS').toFixed(0)} MiB); events.jsonl ${(fs.statSync(path.join(runsDir, BIG, 'events.jsonl')).size / 2 ** 20).toFixed(0)} MiB`,
  );
  assert.ok(latencies.length >= 2, `listRuns answered while the page was read (${latencies.length}x in ${pageMs} ms)`);
  // no wall-clock bound (the machines are shared): no listRuns waited as long as the whole page read took
  assert.ok(maxLatency < pageMs, `listRuns waited at most ${maxLatency} ms, the page took ${pageMs} ms`);
  // 512 MiB: the backend idles near 80 MiB; a page of 100,000 metrics events is ~15 MB of JSON and about
  // 100 MB as objects, its answer one ~15 MB string; reading the whole 47 MB file as one string plus
  // 300,000 objects (what an unpaged read would hold) is what must not happen here again and again.
  assert.ok(peak < 512, `peak RSS ${peak.toFixed(0)} MiB`);
});
