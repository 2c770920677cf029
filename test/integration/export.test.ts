// Export and import end to end: `growth-lab export` on finished runs, growthLab/export on a live
// (paused) run over stdio, and `model.init: {from}` continuing (and growing) an exported model.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, ExportResult, Methods, RunEvent } from '../../common/protocol';
import { BackendClient, ROOT } from './backendClient';
import { maxAbsDiff, onnxPredictFresh, tfjsPredictFresh } from '../unit/exportHelpers';

const BIN = path.join(ROOT, 'bin', 'growth-lab.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-export-it-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const out = path.join(work, 'out');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 120000 });
}
function write(name: string, body: unknown): string {
  const f = path.join(work, name);
  fs.writeFileSync(f, JSON.stringify(body, null, 2));
  return f;
}
function runJson(file: string) {
  const r = cli('run', file, '--json', '--out', out);
  const lines = r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return { r, summary: lines[lines.length - 1] };
}

const cnn = [
  { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
  { type: 'maxpool', size: 2 },
  { type: 'batchnorm' },
  { type: 'dense', units: 16, activation: 'relu' },
];
let runId = '';

test('CLI: export a finished run in every format; existing files need --force; bad arguments exit 2', () => {
  const f = write('cnn.growth.json', {
    name: 'cnn',
    dataset: { name: 'mnist', trainSize: 300, testSize: 100 },
    model: { layers: cnn },
    training: { epochs: 1, batchSize: 50 },
  });
  const { r, summary } = runJson(f);
  assert.equal(r.status, 0, r.stderr);
  runId = summary.runId;
  const exports = path.join(out, 'exports', runId);

  const t = cli('export', runId, '--format', 'tfjs', '--runs', out);
  assert.equal(t.status, 0, t.stderr);
  assert.match(
    t.stdout,
    new RegExp(
      `exported run ${runId} \\(checkpoint epoch-0001\\.ckpt, epoch 1\\) as tfjs to ${exports.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
    ),
  );
  assert.deepEqual(fs.readdirSync(exports).sort(), ['group1-shard1of1.bin', 'model.json']);

  const again = cli('export', runId, '--format', 'tfjs', '--runs', out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /files exist: .*model\.json, .*group1-shard1of1\.bin; add --force to overwrite/);
  const before = fs.statSync(path.join(exports, 'model.json')).mtimeMs;
  const forced = cli('export', runId, '--format', 'tfjs', '--runs', out, '--force', '--json');
  assert.equal(forced.status, 0, forced.stderr);
  const res = JSON.parse(forced.stdout);
  assert.equal(res.format, 'tfjs');
  assert.equal(res.dir, exports);
  assert.equal(res.source.kind, 'checkpoint');
  assert.ok(fs.statSync(path.join(exports, 'model.json')).mtimeMs >= before);

  // A run folder instead of an id, and --out.
  const runDir = path.join(out, 'runs', runId);
  const custom = path.join(work, 'custom');
  for (const format of ['onnx', 'pytorch', 'json']) {
    const x = cli('export', runDir, '--format', format, '--out', path.join(custom, format));
    assert.equal(x.status, 0, x.stderr);
  }
  assert.deepEqual(fs.readdirSync(path.join(custom, 'onnx')), ['model.onnx']);
  assert.deepEqual(fs.readdirSync(path.join(custom, 'pytorch')).sort(), ['architecture.json', 'model.py', 'weights.npz']);
  const arch = JSON.parse(fs.readFileSync(path.join(custom, 'json', 'architecture.json'), 'utf8'));
  assert.equal(arch.runId, runId);
  assert.deepEqual(
    arch.architecture.layers.map((l: any) => l.width),
    [4, undefined, undefined, 16, 10],
  );
  assert.equal(arch.weights, null);
  assert.deepEqual(arch.growHistory, []);

  assert.equal(cli('export', runId, '--runs', out).status, 2, 'no format');
  const badFormat = cli('export', runId, '--format', 'keras', '--runs', out);
  assert.equal(badFormat.status, 2);
  assert.match(badFormat.stderr, /unknown format "keras" \(formats: tfjs, onnx, pytorch, json, torchrun\)/);
  assert.equal(cli('export', 'no-such-run', '--format', 'onnx', '--runs', out).status, 1);
  assert.equal(cli('export', '../../etc', '--format', 'onnx', '--runs', out).status, 2);
});

test('import: model.init {from: model.json} starts from the exported weights and keeps growing; a mismatch fails clearly', () => {
  const modelJson = path.join(out, 'exports', runId, 'model.json');
  const f = write('continue.growth.json', {
    name: 'continued',
    dataset: { name: 'mnist', trainSize: 300, testSize: 100 },
    model: { init: { from: path.relative(work, modelJson) } },
    training: { epochs: 2, batchSize: 50 },
    growth: { method: 'net2net-wider', schedule: { every: 1 }, options: { ratio: 0.5 } },
  });
  const { r, summary } = runJson(f);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(summary.status, 'completed');
  assert.ok(summary.growEvents >= 1, 'grew after epoch 1');
  const events = fs
    .readFileSync(path.join(out, 'runs', summary.runId, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l)) as RunEvent[];
  const start = events.find((e) => e.type === 'start') as Extract<RunEvent, { type: 'start' }>;
  const exported = JSON.parse(fs.readFileSync(modelJson, 'utf8')).userDefinedMetadata.growthLab.spec;
  assert.deepEqual(
    start.architecture.layers.map((l) => [l.id, l.width]),
    [...exported.layers.map((l: any) => [l.id, l.units ?? l.filters]), ['output', 10]],
  );
  assert.ok(summary.params > start.architecture.params, `grew: ${start.architecture.params} -> ${summary.params}`);
  // The grown run's architecture.json carries its grow history.
  const j = cli('export', summary.runId, '--format', 'json', '--runs', out, '--json');
  assert.equal(j.status, 0, j.stderr);
  const doc = JSON.parse(fs.readFileSync(JSON.parse(j.stdout).files[0], 'utf8'));
  assert.equal(doc.growHistory.length, summary.growEvents);
  assert.equal(doc.growHistory[0].method, 'net2net-wider');
  assert.equal(doc.growHistory[0].before.params, start.architecture.params);
  assert.equal(doc.architecture.params, summary.params);

  const bad = write('mismatch.growth.json', {
    dataset: { name: 'rbf-toy' },
    model: { init: { from: modelJson } },
    training: { epochs: 1 },
  });
  const m = runJson(bad);
  assert.equal(m.r.status, 1);
  assert.match(
    m.summary.message,
    /model\.init\.from .*model\.json does not fit the dataset: it takes inputs of shape \[1, 28, 28\], the dataset has \[1\]; it has 10 outputs, the dataset needs 1/,
  );
  const missing = runJson(
    write('missing.growth.json', { dataset: { name: 'rbf-toy' }, model: { init: { from: 'nope/model.json' } }, training: { epochs: 1 } }),
  );
  assert.equal(missing.r.status, 1);
  assert.match(missing.summary.message, /cannot import .*nope\/model\.json: no such file/);
  const invalid = cli('run', write('invalid.growth.json', { dataset: { name: 'rbf-toy' }, model: { init: { form: 'x' } } }));
  assert.equal(invalid.status, 2);
  assert.match(invalid.stderr, /model\.init/);
});

test('protocol: growthLab/export of a live (paused) run writes its current weights; force, path rules, finished runs', async () => {
  const client = new BackendClient();
  try {
    const ws = path.join(work, 'ws');
    fs.mkdirSync(ws);
    await client.initialize(ws);
    const cfg = {
      dataset: { name: 'mnist', trainSize: 300, testSize: 100 },
      model: { layers: cnn },
      training: { epochs: 1000, batchSize: 20 },
    };
    const { runId: live } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config: cfg });
    // after the first epoch (so that a checkpoint exists for the export once the run has stopped)
    await client.until(() => client.metrics.some((m) => m.runId === live && m.testAccuracy !== undefined), 60000, 'an epoch');
    await client.conn.sendRequest(Methods.pauseExperiment, { runId: live });
    await client.until(() => client.statusOf(live, 'paused'), 30000, 'paused');

    const dflt = path.join(ws, '.growth-lab', 'exports', live);
    const tf = await client.conn.sendRequest<ExportResult>(Methods.export, { runId: live, format: 'tfjs' });
    assert.equal(tf.dir, dflt);
    assert.deepEqual(tf.files, [path.join(dflt, 'model.json'), path.join(dflt, 'group1-shard1of1.bin')]);
    const ox = await client.conn.sendRequest<ExportResult>(Methods.export, { runId: live, format: 'onnx' });
    const js = await client.conn.sendRequest<ExportResult>(Methods.export, { runId: live, format: 'json', path: 'mine/arch' });
    assert.equal(js.dir, path.join(ws, '.growth-lab', 'mine', 'arch'));
    const arch = JSON.parse(fs.readFileSync(js.files[0], 'utf8'));
    assert.equal(arch.source.kind, 'live');
    assert.ok(arch.source.step > 5);

    // The same live weights through TF.js and ONNX (two fresh processes) give the same predictions.
    const x = Float32Array.from({ length: 3 * 784 }, (_, i) => ((i * 7919) % 255) / 255);
    fs.writeFileSync(path.join(dflt, 'input.f32'), x);
    const [ptf] = tfjsPredictFresh([{ dir: dflt, n: 3, inputShape: [1, 28, 28] }]);
    const [pox] = onnxPredictFresh([{ file: ox.files[0], input: path.join(dflt, 'input.f32'), n: 3, inputShape: [1, 28, 28] }]);
    assert.ok(maxAbsDiff(ptf, pox.y) < 1e-4, `tfjs vs onnx of the live model: ${maxAbsDiff(ptf, pox.y)}`);

    await assert.rejects(
      client.conn.sendRequest(Methods.export, { runId: live, format: 'tfjs' }),
      (e: any) =>
        e.code === ErrorCodes.exportExists && e.message.includes(path.join(dflt, 'model.json')) && /set force to overwrite/.test(e.message),
    );
    const again = await client.conn.sendRequest<ExportResult>(Methods.export, { runId: live, format: 'tfjs', force: true });
    assert.equal(again.files.length, 2);
    await assert.rejects(
      client.conn.sendRequest(Methods.export, { runId: live, format: 'onnx', path: '../../escape' }),
      (e: any) => e.code === ErrorCodes.exportFailed && /leaves the folder/.test(e.message),
    );
    assert.ok(!fs.existsSync(path.join(ws, 'escape')) && !fs.existsSync(path.join(work, 'escape')));
    await assert.rejects(
      client.conn.sendRequest(Methods.export, { runId: live, format: 'caffe' }),
      (e: any) => e.code === ErrorCodes.exportFailed && /format must be one of/.test(e.message),
    );
    await assert.rejects(
      client.conn.sendRequest(Methods.export, { runId: 'nope', format: 'onnx' }),
      (e: any) => e.code === ErrorCodes.unknownRun,
    );

    await client.conn.sendRequest(Methods.stopExperiment, { runId: live });
    await client.until(() => client.statusOf(live, 'stopped'), 30000, 'stopped');
    const done = await client.conn.sendRequest<ExportResult>(Methods.export, {
      runId: live,
      format: 'json',
      path: path.join(work, 'abs-export'),
    });
    assert.equal(done.dir, path.join(work, 'abs-export'));
    assert.equal(JSON.parse(fs.readFileSync(done.files[0], 'utf8')).source.kind, 'checkpoint');
    assert.equal(await client.shutdown(), 0);
  } finally {
    client.kill();
  }
});
