import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrtExecutor, TfjsExecutor } from '../../server/engine';
import { growContext, growthMethod, runGrowStep } from '../../server/growth';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig } from '../../server/model/spec';
import { Rng } from '../../server/random';
import { Trainer } from '../../server/trainer/trainer';
import { randomDataset, trainingConfig } from './fixtures';

const training = trainingConfig({ optimizer: 'adam', learningRate: 0.01, momentum: 0 });

/** Twenty grow and prune steps by several methods, training between them. */
const PLAN: [string, Record<string, unknown>][] = [
  ['firefly', { neurons: 2, steps: 3 }],
  ['net2net-wider', { neurons: 2 }],
  ['prune-taylor', { neurons: 1 }],
  ['firefly-deeper', { neurons: 2, steps: 3 }],
  ['gauss-newton', { steps: 5 }],
];

for (const kind of ['onnxruntime', 'tfjs'] as const) {
  test(`no session or tensor leaks across 20 grow steps (${kind})`, async () => {
    const ex = kind === 'onnxruntime' ? await OrtExecutor.create() : await TfjsExecutor.create('cpu');
    const d = randomDataset([6], 3, 64, 5);
    const spec = specFromConfig(
      {
        layers: [
          { type: 'dense', units: 8, activation: 'tanh' },
          { type: 'dense', units: 6, activation: 'tanh' },
        ],
        init: 'he',
      },
      [6],
      'classification',
      3,
    );
    const model = GrowableModel.create(spec, 3, ['m', 'v']);
    const trainer = new Trainer(model, d, training, ex);
    const tf = kind === 'tfjs' ? (ex as TfjsExecutor).tf : undefined;
    const counts: { sessions: number; tensors?: number }[] = [];
    for (let i = 0; i < 20; i++) {
      const [name, options] = PLAN[i % PLAN.length];
      await runGrowStep(growContext(trainer, 100 + i), growthMethod(name), options, { runId: 'leaks', step: i, epoch: 0 });
      await trainer.step(new Rng(i).permutation(64), 0, 16);
      counts.push({ sessions: ex.liveSessions(), tensors: tf?.memory().numTensors });
    }
    assert.ok(
      counts.every((c) => c.sessions === 2),
      `live sessions: ${counts.map((c) => c.sessions).join(',')}`,
    );
    if (tf) assert.equal(counts[19].tensors, counts[4].tensors, `tfjs tensors: ${counts.map((c) => c.tensors).join(',')}`);
    await trainer.dispose();
    assert.equal(ex.liveSessions(), 0);
    assert.ok(model.paramCount() > 0);
  });
}
