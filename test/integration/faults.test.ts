import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Methods, MetricsParams, RunEvent, RunSummary } from '../../common/protocol';
import { BackendClient } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-faults-'));
const clients: BackendClient[] = [];
after(() => {
  clients.forEach((c) => c.kill());
  fs.rmSync(work, { recursive: true, force: true });
});
async function backend(): Promise<BackendClient> {
  const c = new BackendClient();
  clients.push(c);
  await c.initialize(work);
  return c;
}

test('a backend killed mid-epoch: the run resumes from its last checkpoint with the same step numbering', async () => {
  const a = await backend();
  const config = {
    dataset: { name: 'mnist', trainSize: 20000, testSize: 300 },
    model: { layers: [{ type: 'dense', units: 32, activation: 'relu' }] },
    training: { epochs: 5, batchSize: 100 },
  };
  const perEpoch = 200;
  const { runId } = await a.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
  // wait for the end of epoch 2 (its checkpoint), then kill during epoch 3
  await a.until(() => a.metrics.find((m) => m.runId === runId && m.epoch === 2 && m.testAccuracy !== undefined), 60000, 'epoch 2');
  await a.until(() => a.metrics.find((m) => m.runId === runId && m.epoch === 3), 60000, 'epoch 3 under way');
  a.proc.kill('SIGKILL');
  await new Promise((r) => a.proc.once('exit', r));
  // a torn last line, as a crash in the middle of a write would leave
  const events = path.join(work, '.growth-lab', 'runs', runId, 'events.jsonl');
  fs.appendFileSync(events, '{"type":"metrics","runId":"' + runId + '","epo');

  const b = await backend();
  const listed = (await b.conn.sendRequest<RunSummary[]>(Methods.listRuns, {})).find((r) => r.runId === runId)!;
  assert.equal(listed.status, 'failed');
  assert.equal(listed.stale, true);
  const before = await b.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  const ckpts = before.filter((e) => e.type === 'checkpoint') as { epoch: number; step: number; file: string }[];
  const last = ckpts[ckpts.length - 1];
  assert.ok(last.epoch >= 2 && last.epoch < 5, `killed during training (last checkpoint at epoch ${last.epoch})`);
  assert.equal(last.step, perEpoch * last.epoch);

  await b.conn.sendRequest(Methods.resumeRun, { runId });
  const resumedStatus = await b.until(
    () => b.statuses.find((s) => s.runId === runId && s.status === 'running' && /resumed from/.test(s.message ?? '')),
    30000,
    'resumed',
  );
  assert.match(
    resumedStatus.message!,
    new RegExp(`resumed from ${last.file.replace('.', '\\.')} \\(epoch ${last.epoch + 1}, step ${last.step}\\)`),
  );
  await b.until(() => b.statusOf(runId, 'completed') || b.statusOf(runId, 'failed'), 60000, 'completion');
  assert.ok(b.statusOf(runId, 'completed'));
  const after: MetricsParams[] = b.metrics.filter((m) => m.runId === runId);
  assert.ok(
    after[0].step > last.step && after[0].epoch === last.epoch + 1,
    `first metrics after resume: epoch ${after[0].epoch} step ${after[0].step}`,
  );
  const ends = after.filter((m) => m.testAccuracy !== undefined);
  const expected = [];
  for (let e = last.epoch + 1; e <= 5; e++) expected.push([e, perEpoch * e]);
  assert.deepEqual(
    ends.map((m) => [m.epoch, m.step]),
    expected,
  );
  const arch = await b.conn.sendRequest<any>(Methods.getArchitecture, { runId });
  assert.deepEqual(
    arch.layers.map((l: any) => l.width),
    [32, 10],
  );
  const history = await b.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  assert.equal(history.filter((e) => e.type === 'start').length, 1);
  await assert.rejects(b.conn.sendRequest(Methods.resumeRun, { runId }), /has completed/);
  assert.equal(await b.shutdown(), 0);
});

test('two runs train at once without mixing events; a third is refused by maxConcurrentRuns', async () => {
  const c = await backend();
  const config = (units: number) => ({
    dataset: { name: 'mnist', trainSize: 3000, testSize: 300 },
    model: { layers: [{ type: 'dense', units, activation: 'relu' }] },
    training: { epochs: 3, batchSize: 100 },
  });
  const r1 = await c.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config: config(16) });
  const r2 = await c.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config: config(24) });
  await assert.rejects(
    c.conn.sendRequest(Methods.startExperiment, { config: config(8) }),
    /2 runs are already active .* growthLab\.maxConcurrentRuns is 2/,
  );
  for (const { runId } of [r1, r2])
    await c.until(() => c.statusOf(runId, 'completed') || c.statusOf(runId, 'failed'), 60000, `run ${runId}`);
  for (const [{ runId }, units] of [
    [r1, 16],
    [r2, 24],
  ] as const) {
    assert.ok(c.statusOf(runId, 'completed'));
    const history = await c.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
    assert.ok(
      history.every((e) => (e as { runId: string }).runId === runId),
      "only this run's events",
    );
    const params = 784 * units + units + units * 10 + 10;
    assert.ok(c.metrics.filter((m) => m.runId === runId).every((m) => m.params === params));
    const ends = c.metrics.filter((m) => m.runId === runId && m.testAccuracy !== undefined);
    assert.deepEqual(
      ends.map((m) => m.step),
      [30, 60, 90],
    );
  }
  // both finished: a new run is accepted again
  const r3 = await c.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config: { ...config(8), training: { epochs: 1 } } });
  await c.until(() => c.statusOf(r3.runId, 'completed'), 60000, 'third run');
  assert.equal(await c.shutdown(), 0);
});

test('a model larger than growthLab.maxParams is refused with a clear message', async () => {
  const c = new BackendClient();
  clients.push(c);
  await c.initialize(work, { maxParams: 100000 });
  const { runId } = await c.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
    config: { dataset: { name: 'mnist', trainSize: 100, testSize: 100 } },
  });
  const s = await c.until(() => c.statusOf(runId, 'failed'), 30000, 'refusal');
  assert.match(s.message!, /203,530 parameters, more than growthLab\.maxParams \(100,000\)/);
  assert.equal(await c.shutdown(), 0);
});
