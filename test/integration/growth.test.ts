import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, GrowEventParams, Methods, RunEvent } from '../../common/protocol';
import { BackendClient, ROOT } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-grow-'));
const client = new BackendClient();
after(() => {
  client.kill();
  fs.rmSync(work, { recursive: true, force: true });
});

test('grow and prune requests work while paused and while training; the run continues', async () => {
  await client.initialize(work);
  const config = {
    dataset: { name: 'mnist', trainSize: 5000, testSize: 500 },
    model: { layers: [{ type: 'dense', units: 16, activation: 'relu' }] },
    training: { epochs: 200, batchSize: 100 },
  };
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
  await client.until(() => client.metrics.find((m) => m.runId === runId), 30000, 'first metrics');
  await client.conn.sendRequest(Methods.pauseExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'paused'), 5000, 'paused');

  const grown = await client.conn.sendRequest<GrowEventParams>(Methods.grow, { runId, method: 'net2net-wider', options: { neurons: 8 } });
  assert.equal(grown.kind, 'grow');
  assert.equal(grown.method, 'net2net-wider');
  assert.deepEqual(
    grown.before.layers.map((l) => l.width),
    [16, 10],
  );
  assert.deepEqual(
    grown.after.layers.map((l) => l.width),
    [24, 10],
  );
  assert.equal(grown.after.params, 784 * 24 + 24 + 24 * 10 + 10);
  assert.equal(grown.diff[0].split.length, 16, 'eight parents, each now two replicas');
  assert.ok(grown.maxOutputChange < 1e-5, `Net2Net keeps the function: ${grown.maxOutputChange}`);
  assert.ok(Math.abs(grown.lossAfter - grown.lossBefore) < 1e-5);
  assert.equal(client.statusOf(runId, 'paused')?.status, 'paused', 'still paused after the grow');
  await client.until(() => client.growEvents.find((e) => e.runId === runId), 5000, 'growEvent notification');

  await client.conn.sendRequest(Methods.resumeExperiment, { runId });
  await client.until(
    () => client.metrics.find((m) => m.runId === runId && m.params === grown.after.params),
    20000,
    'metrics with the grown parameter count',
  );
  const pruned = await client.conn.sendRequest<GrowEventParams>(Methods.prune, { runId, options: { method: 'prune-taylor', neurons: 4 } });
  assert.equal(pruned.kind, 'prune');
  assert.deepEqual(
    pruned.after.layers.map((l) => l.width),
    [20, 10],
  );
  assert.equal(pruned.diff[0].removed.length, 4);

  await assert.rejects(
    client.conn.sendRequest(Methods.grow, { runId, method: 'no-such-method' }),
    (e: any) => e.code === ErrorCodes.growthFailed && /unknown growth method "no-such-method"/.test(e.message),
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.grow, { runId, method: 'prune-taylor' }),
    (e: any) => e.code === ErrorCodes.growthFailed && /prune method/.test(e.message),
  );

  await client.conn.sendRequest(Methods.stopExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'stopped'), 10000, 'stopped');
  await assert.rejects(client.conn.sendRequest(Methods.grow, { runId }), (e: any) => e.code === ErrorCodes.invalidState);

  const history = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  const grows = history.filter((e) => e.type === 'grow');
  assert.deepEqual(
    grows.map((e) => (e as GrowEventParams).kind),
    ['grow', 'prune'],
  );
  const ckpts = fs.readdirSync(path.join(work, '.growth-lab', 'runs', runId, 'checkpoints'));
  assert.ok(ckpts.includes('grow-0001.ckpt') && ckpts.includes('grow-0002.ckpt'), ckpts.join(', '));
  const arch = await client.conn.sendRequest<any>(Methods.getArchitecture, { runId });
  assert.deepEqual(
    arch.layers.map((l: any) => l.width),
    [20, 10],
  );
  assert.equal(await client.shutdown(), 0);
});

test('a scheduled growth run (every epoch, maxGrowSteps 2) reports its grow events in the CLI summary', () => {
  const f = path.join(work, 'sched.growth.json');
  fs.writeFileSync(
    f,
    JSON.stringify({
      dataset: { name: 'mnist', trainSize: 2000, testSize: 300 },
      model: { layers: [{ type: 'dense', units: 8, activation: 'relu' }] },
      training: { epochs: 4, batchSize: 100 },
      growth: { method: 'net2net-wider', schedule: { every: 1 }, maxGrowSteps: 2, options: { neurons: 4 } },
    }),
  );
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'growth-lab.js'), 'run', f, '--json', '--out', path.join(work, 'cli')], {
    encoding: 'utf8',
    timeout: 120000,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const grows = lines.filter((l) => l.type === 'grow');
  assert.deepEqual(
    grows.map((g) => g.epoch),
    [1, 2],
  );
  assert.deepEqual(
    grows.map((g) => g.after.layers[0].width),
    [12, 16],
  );
  const s = lines[lines.length - 1];
  assert.equal(s.growEvents, 2);
  assert.equal(s.architecture.layers[0].width, 16);
  assert.equal(s.params, 784 * 16 + 16 + 170);
});
