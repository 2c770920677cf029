// A preset end to end over stdio: a ResNet-20 (x0.25) run grows twice with Firefly, its layers carry
// their blocks, and its ONNX and TF.js exports (fresh processes) give the run's own predictions.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { type Architecture, type ExportResult, Methods } from '../../common/protocol';
import { importModel, modelFromImport } from '../../server/export';
import { BackendClient } from './backendClient';
import { livePredict, maxAbsDiff, onnxPredictFresh, tfjsPredictFresh } from '../unit/exportHelpers';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-presets-it-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('protocol: a resnet20 preset run grows twice with Firefly and exports to ONNX and TF.js with the run’s predictions', async () => {
  const client = new BackendClient();
  try {
    await client.initialize(work);
    const config = {
      name: 'resnet-it',
      dataset: { name: 'mnist', trainSize: 128, testSize: 32 },
      model: { preset: 'resnet20', widthMultiplier: 0.25 },
      training: { epochs: 3, batchSize: 32 },
      growth: { method: 'firefly', schedule: { every: 1 }, maxGrowSteps: 2, options: { steps: 2, newNeurons: 2, ratio: 0.2 } },
    };
    const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
    await client.until(() => client.statusOf(runId, 'completed') ?? client.statusOf(runId, 'failed'), 300000, 'the run to end');
    assert.ok(client.statusOf(runId, 'completed'), JSON.stringify(client.statusOf(runId, 'failed')));
    const grows = client.growEvents.filter((g) => g.runId === runId);
    assert.equal(grows.length, 2);
    const arch = grows[1].after as Architecture;
    assert.ok(arch.params > (grows[0].before as Architecture).params);
    assert.deepEqual([...new Set(arch.layers.map((l) => l.block).filter(Boolean))], ['stem', 'stage1', 'stage2', 'stage3']);

    // The run's own eval graph on its exported weights (architecture.json + weights.npz) …
    const res = await client.conn.sendRequest<ExportResult>(Methods.export, { runId, format: 'pytorch' });
    const imported = importModel('architecture.json', res.dir);
    const model = modelFromImport(imported.spec, imported.tensors, 1, ['m']);
    const x = Float32Array.from({ length: 3 * 784 }, (_, i) => ((i * 7919) % 255) / 255);
    const live = await livePredict(model, x, 3);
    // … equals ONNX and TF.js in fresh processes.
    const ox = await client.conn.sendRequest<ExportResult>(Methods.export, { runId, format: 'onnx' });
    const tf = await client.conn.sendRequest<ExportResult>(Methods.export, { runId, format: 'tfjs' });
    fs.writeFileSync(path.join(tf.dir, 'input.f32'), x);
    const [pox] = onnxPredictFresh([{ file: ox.files[0], input: path.join(tf.dir, 'input.f32'), n: 3, inputShape: [1, 28, 28] }]);
    const [ptf] = tfjsPredictFresh([{ dir: tf.dir, n: 3, inputShape: [1, 28, 28] }]);
    assert.ok(maxAbsDiff(pox.y, live) < 1e-4, `onnx vs the run: ${maxAbsDiff(pox.y, live)}`);
    assert.ok(maxAbsDiff(ptf, live) < 1e-4, `tfjs vs the run: ${maxAbsDiff(ptf, live)}`);
  } finally {
    client.kill();
  }
});
