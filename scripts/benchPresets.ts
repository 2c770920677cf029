/**
 * The presets' training speed: per preset on generated CIFAR-shaped data (3x32x32, 10 classes,
 * batch 128), the training step's samples/s and the process's RSS after its steps, and for VGG-19 at
 * 16 channels the time of one Firefly grow step against the time of one CIFAR-10 training epoch
 * (50,000 examples at the measured rate). Prints JSON. Ratios are the targets (machines are shared).
 *
 *   node --expose-gc --import tsx scripts/benchPresets.ts [--steps=N]
 */
import { OrtExecutor, optimizerSlots } from '../server/engine';
import type { LayerConfig, ModelConfig } from '../common/protocol';
import { GrowableModel } from '../server/model/growable';
import { specFromConfig } from '../server/model/spec';
import { Trainer, optimizerSettings } from '../server/trainer/trainer';
import { growContext } from '../server/growth/context';
import { runGrowStep } from '../server/growth/step';
import { firefly } from '../server/growth/firefly';
import { Rng } from '../server/random';
import { randomDataset, trainingConfig } from '../test/unit/fixtures';

const steps = Number(process.argv.find((a) => a.startsWith('--steps='))?.slice(8) ?? 3);
const BATCH = 128;
const CIFAR_TRAIN = 50_000;

const vggLayer = (filters: number): LayerConfig =>
  filters === 0
    ? { type: 'maxpool', size: 2 }
    : { type: 'conv2d', filters, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu', batchNorm: true };

const presets: [string, Partial<ModelConfig>][] = [
  ['vgg19 (channels 16)', { preset: 'vgg19', channels: 16 }],
  // issue 20's VGG-style step: conv 64-64-pool-128-128-pool-256-256-pool-dense, with batch norm
  ['vgg-style 64-64-128-128-256-256', { layers: [64, 64, 0, 128, 128, 0, 256, 256, 0].map(vggLayer) }],
  ['resnet20', { preset: 'resnet20' }],
  ['mobilenetv1 (x0.25)', { preset: 'mobilenetv1', widthMultiplier: 0.25 }],
];

async function main(): Promise<void> {
  const ex = await OrtExecutor.create();
  const training = trainingConfig({ batchSize: BATCH });
  const data = randomDataset([3, 32, 32], 10, 4 * BATCH, 1);
  const order = new Rng(1).permutation(data.train.n);
  const out: Record<string, unknown> = {};
  for (const [name, m] of presets) {
    const spec = specFromConfig({ layers: [], init: 'he', ...m }, [3, 32, 32], 'classification', 10);
    const model = GrowableModel.create(spec, 1, optimizerSlots(optimizerSettings(training)));
    const trainer = new Trainer(model, data, training, ex);
    await trainer.step(order, 0, BATCH); // compiles
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await trainer.step(order, (i % 4) * BATCH, BATCH);
    const ms = (performance.now() - t0) / steps;
    const row: Record<string, number> = {
      params: model.paramCount(),
      msPerStep: Math.round(ms),
      samplesPerSec: Math.round((BATCH * 1000) / ms),
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
    if (name.startsWith('vgg19')) {
      const g0 = performance.now();
      await runGrowStep(growContext(trainer, 1), firefly, {}, { runId: 'bench', step: 0, epoch: 0 });
      const growMs = performance.now() - g0;
      const epochMs = (CIFAR_TRAIN / BATCH) * ms;
      Object.assign(row, {
        fireflyGrowMs: Math.round(growMs),
        cifarEpochMs: Math.round(epochMs),
        growOverEpoch: +(growMs / epochMs).toFixed(3),
      });
    }
    out[name] = row;
    await trainer.dispose();
  }
  console.log(JSON.stringify(out, null, 1));
}

void main();
