// A vision workload end to end over stdio, as the extension drives it: a `resnet20` preset on a
// generated folder in CIFAR-10's official binary format, with crop/flip/normalise augmentation and a
// cosine schedule after a warmup, grows twice with Firefly, then exports to ONNX; the ONNX model in a fresh
// onnxruntime process gives the run's own outputs (its eval graph on the final checkpoint).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Methods, type ExportResult, type GrowEventParams, type MetricsParams } from '../../common/protocol';
import { sourceFromStore } from '../../server/export';
import { modelFromImport } from '../../server/export';
import { RunStore } from '../../server/runs';
import { BackendClient } from './backendClient';
import { writeCifar10 } from '../helpers/visionFiles';
import { livePredict, maxAbsDiff, onnxPredictFresh, randomInputs } from '../unit/exportHelpers';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-vision-it-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('resnet20 on a CIFAR-10-format folder, augmented, cosine schedule: two Firefly grows, then ONNX equal to the run', async () => {
  writeCifar10(path.join(work, 'cifar-10-batches-bin'), 16, 24);
  const client = new BackendClient();
  try {
    await client.initialize(work);
    const config = {
      name: 'resnet20-cifar',
      seed: 2,
      dataset: { name: 'cifar-10', path: 'cifar-10-batches-bin' },
      model: { preset: 'resnet20' },
      training: {
        epochs: 3,
        batchSize: 40,
        evalEvery: 1,
        optimizer: 'sgd',
        learningRate: 0.05,
        momentum: 0.9,
        weightDecay: 0.0005,
        lrSchedule: { type: 'cosine', warmupEpochs: 1, minLearningRate: 0.001 },
        augment: { crop: { pad: 4 }, flip: true, normalize: 'auto' },
      },
      // Firefly's step one shortened (3 steps, a 20-row sample) so the test stays small; the method is the same.
      growth: { method: 'firefly', schedule: { every: 1 }, maxGrowSteps: 2, options: { steps: 3, scoreBatch: 20 } },
    };
    const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
      config,
      configPath: path.join(work, 'x.growth.json'),
    });
    const end = await client.until(() => client.statusOf(runId, 'completed') || client.statusOf(runId, 'failed'), 600000, 'the run to end');
    assert.equal(end.status, 'completed', `${end.message}\n${client.stderr.slice(-2000)}`);

    // the metrics of each epoch's end (the ones with a test evaluation; others come during the epoch)
    const metrics = client.metrics.filter((m) => m.runId === runId && m.testLoss !== undefined) as (MetricsParams & {
      learningRate?: number;
    })[];
    assert.deepEqual(
      metrics.map((m) => m.epoch),
      [1, 2, 3],
    );
    assert.ok(metrics.every((m) => Number.isFinite(m.trainLoss)));
    // the cosine schedule: the rate of the last step of each epoch falls after the warmup
    const rates = metrics.map((m) => m.learningRate!);
    assert.ok(rates[0] > rates[1] && rates[1] > rates[2] && rates[2] >= 0.001, `rates ${rates.join(', ')}`);

    const grows = client.growEvents.filter((g) => g.runId === runId) as GrowEventParams[];
    assert.equal(grows.length, 2, 'grew twice');
    for (const g of grows) {
      assert.equal(g.method, 'firefly');
      assert.ok(g.after.params > g.before.params, `grew ${g.before.params} -> ${g.after.params}`);
    }

    const onnx = await client.conn.sendRequest<ExportResult>(Methods.export, { runId, format: 'onnx' });
    const store = new RunStore(path.join(work, '.growth-lab'));
    const src = sourceFromStore(store, runId);
    assert.equal(src.origin.kind, 'checkpoint');
    const model = modelFromImport(src.spec, new Map(src.tensors), 1, []);
    const n = 4;
    const x = randomInputs(src.spec, n, 9);
    const input = path.join(work, 'x.f32');
    fs.writeFileSync(input, x);
    const [fromOnnx] = onnxPredictFresh([{ file: onnx.files[0], input, n, inputShape: src.spec.inputShape }]);
    const ours = await livePredict(model, x, n);
    const diff = maxAbsDiff(fromOnnx.y, ours);
    assert.ok(diff < 1e-4, `ONNX vs the run's graph: ${diff}`);
    const t = (g: GrowEventParams) => g.durationMs;
    console.log(`# grow steps took ${grows.map(t).join(', ')} ms; run ${metrics[2].elapsedMs} ms`);
    await client.shutdown();
  } finally {
    client.kill();
  }
});
