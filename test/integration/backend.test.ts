import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, Methods, RunEvent, RunSummary } from '../../common/protocol';
import { ParameterStructures } from 'vscode-jsonrpc/node';
import { BackendClient } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-it-'));
const client = new BackendClient();
after(() => client.kill());

const small = { dataset: { name: 'mnist', trainSize: 2000, testSize: 500 }, training: { epochs: 2, batchSize: 100 } };

test('initialize reports the growthLab capabilities', async () => {
  const r = await client.initialize(work);
  const gl = r.capabilities.experimental.growthLab;
  assert.equal(gl.engine, 'onnxruntime');
  assert.deepEqual(
    gl.engines.map((e: any) => [e.name, e.available]),
    [
      ['onnxruntime', true],
      ['tfjs', true],
    ],
  );
  const cpu = gl.executionProviders.find((p: any) => p.name === 'cpu');
  assert.equal(cpu.available, true);
  for (const p of gl.executionProviders.filter((p: any) => !p.available)) assert.ok(p.reason, `${p.name} says why it is unavailable`);
  assert.deepEqual(
    gl.datasets.map((d: any) => d.name),
    ['mnist', 'fashion-mnist', 'rbf-toy', 'csv', 'cifar-10', 'cifar-100', 'svhn', 'npz', 'image-folder'],
  );
});

test('a small MNIST run streams metrics, completes, is listed and has a history', async () => {
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config: small });
  await client.until(() => client.statusOf(runId, 'completed') || client.statusOf(runId, 'failed'), 60000, 'completion');
  assert.ok(client.statusOf(runId, 'completed'), JSON.stringify(client.statuses.filter((s) => s.runId === runId)));
  const ms = client.metrics.filter((m) => m.runId === runId);
  const epochEnds = ms.filter((m) => m.testAccuracy !== undefined);
  assert.deepEqual(
    epochEnds.map((m) => m.epoch),
    [1, 2],
  );
  assert.ok(epochEnds[1].testAccuracy! > 0.8, `test accuracy ${epochEnds[1].testAccuracy}`);
  assert.equal(epochEnds[1].step, 40);
  assert.equal(epochEnds[1].params, 784 * 256 + 256 + 2570);
  assert.equal(epochEnds[1].engine, 'onnxruntime');
  const runs = await client.conn.sendRequest<RunSummary[]>(Methods.listRuns, {});
  const mine = runs.find((r) => r.runId === runId)!;
  assert.equal(mine.status, 'completed');
  assert.equal(mine.epochsDone, 2);
  const history = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  assert.deepEqual([...new Set(history.map((e) => e.type))].sort(), ['checkpoint', 'metrics', 'start', 'status']);
  assert.equal(history.filter((e) => e.type === 'metrics').length, ms.length, 'every streamed metric is in the history');
  const arch = await client.conn.sendRequest<any>(Methods.getArchitecture, { runId });
  assert.deepEqual(
    arch.layers.map((l: any) => l.width),
    [256, 10],
  );
  assert.ok(fs.existsSync(path.join(work, '.growth-lab', 'runs', runId, 'checkpoints', 'epoch-0002.ckpt')));
});

test('an invalid experiment is refused with an error naming the field, value and rule', async () => {
  await assert.rejects(
    client.conn.sendRequest(Methods.startExperiment, { config: { dataset: { name: 'mnist' }, training: { learningRate: -1 } } }),
    (e: any) => e.code === ErrorCodes.invalidExperiment && /training\.learningRate must be > 0, got -1/.test(e.message),
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.getRunHistory, { runId: '../../etc' }),
    (e: any) => e.code === ErrorCodes.unknownRun && /invalid run id/.test(e.message),
  );
  await assert.rejects(client.conn.sendRequest(Methods.stopExperiment, { runId: 'nope' }), (e: any) => e.code === ErrorCodes.unknownRun);
});

test('params of the wrong type, positional or missing get invalidParams (-32602) naming the field', async () => {
  const invalidParams = (pattern: RegExp) => (e: any) =>
    e.code === -32602 && e.code === ErrorCodes.invalidParams && pattern.test(e.message);
  await assert.rejects(client.conn.sendRequest(Methods.stopExperiment, { runId: 5 }), invalidParams(/runId must be a string, got 5/));
  await assert.rejects(
    client.conn.sendRequest(Methods.export, { runId: 'nope', format: 7 }),
    invalidParams(/format must be a string, got 7/),
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.grow, { runId: 'nope', options: 'x' }),
    invalidParams(/options must be an object, got "x"/),
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.commitProposal, { runId: 'nope', proposalId: 1 }),
    invalidParams(/proposalId must be a string, got 1/),
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.startExperiment, { config: small, outDir: false }),
    invalidParams(/outDir must be a non-empty path string/),
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.getRunHistory, ParameterStructures.byPosition, { runId: 'nope' }),
    invalidParams(/params must be an object \{runId, offset\?, limit\?\}/),
  );
  await assert.rejects(client.conn.sendRequest(Methods.pauseExperiment), invalidParams(/needs params \{runId\}, got none/));
  // a list needs no params; the backend is unharmed and logged no failure
  assert.ok(Array.isArray(await client.conn.sendRequest<RunSummary[]>(Methods.listRuns)));
  assert.doesNotMatch(client.stderr, /failed:/);
});

test('pause, resume and stop take effect within one batch; stop is answered', async () => {
  const cfg = { dataset: { name: 'mnist' }, training: { epochs: 50, batchSize: 64 } };
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config: cfg });
  await client.until(() => client.metrics.find((m) => m.runId === runId), 30000, 'first metrics');
  await client.conn.sendRequest(Methods.pauseExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'paused'), 5000, 'paused');
  const stepAtPause = Math.max(...client.metrics.filter((m) => m.runId === runId).map((m) => m.step));
  const countAtPause = client.metrics.filter((m) => m.runId === runId).length;
  // An observation window for a negative check (nothing may arrive), not a wait for something.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(client.metrics.filter((m) => m.runId === runId).length, countAtPause, 'no metrics while paused');
  await client.conn.sendRequest(Methods.resumeExperiment, { runId });
  await client.until(() => client.metrics.find((m) => m.runId === runId && m.step > stepAtPause), 10000, 'metrics after resume');
  // How fast stop is answered is measured by `npm run bench` (stopLatencyMs), not asserted here.
  assert.deepEqual(await client.conn.sendRequest(Methods.stopExperiment, { runId }), { ok: true });
  await client.until(() => client.statusOf(runId, 'stopped'), 5000, 'stopped');
  await assert.rejects(
    client.conn.sendRequest(Methods.resumeExperiment, { runId }),
    (e: any) => e.code === ErrorCodes.invalidState && /stopped/.test(e.message),
  );
});

test('an execution provider that cannot load falls back to cpu with a warning, not a failed run', async () => {
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
    config: { ...small, training: { epochs: 1, batchSize: 100 }, executionProvider: 'coreml' },
  });
  const done = await client.until(() => client.statusOf(runId, 'completed') || client.statusOf(runId, 'failed'), 60000, 'completion');
  assert.equal(done.status, 'completed');
  assert.match((done.warnings ?? []).join(' '), /execution provider "coreml" could not be loaded.*using cpu/);
  assert.equal(client.metrics.find((m) => m.runId === runId)!.executionProvider, 'cpu');
});

test('the client settings (initializationOptions) choose the provider of experiments that do not', async () => {
  const other = new BackendClient();
  try {
    await other.initialize(work, { engine: 'onnxruntime', executionProvider: 'coreml' });
    const { runId } = await other.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
      config: { ...small, training: { epochs: 1, batchSize: 100 } },
    });
    const done = await other.until(() => other.statusOf(runId, 'completed') || other.statusOf(runId, 'failed'), 60000, 'completion');
    assert.match((done.warnings ?? []).join(' '), /"coreml" could not be loaded/);
    assert.equal(await other.shutdown(), 0);
  } finally {
    other.kill();
  }
});

test('diagnostics with ranges are published for open *.growth.json documents', async () => {
  const uri = 'file:///tmp/bad.growth.json';
  const text = '{\n  "dataset": { "name": "mnist" },\n  "training": { "epochs": 0 }\n}\n';
  await client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'json', version: 1, text } });
  const d = await client.until(() => client.diagnostics.find((x) => x.uri === uri), 5000, 'diagnostics');
  assert.equal(d.diagnostics.length, 1);
  assert.match(d.diagnostics[0].message, /training\.epochs must be >= 1, got 0/);
  assert.deepEqual(d.diagnostics[0].range, { start: { line: 2, character: 26 }, end: { line: 2, character: 27 } });
});

test('shutdown and exit end the process cleanly', async () => {
  assert.equal(await client.shutdown(), 0);
  fs.rmSync(work, { recursive: true, force: true });
});
