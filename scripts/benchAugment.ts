/**
 * npm run bench:augment: does augmentation (crop pad 4 + flip) lengthen a training step?
 *
 * A CIFAR-shaped task (3x32x32 floats, generated), batch 128, a small conv net, trained with the
 * real Trainer as the epoch loop does, in three modes taken in turns (rounds) so drifts of the shared
 * machine hit all alike:
 *   none:   no augmentation;
 *   inline: each batch cropped and flipped on the JavaScript thread before its step (on the critical path);
 *   worker: batch k+1 gathered, cropped and flipped by the worker while step k runs (AugmentPipeline,
 *           double-buffered), as runs do.
 * Prints JSON: median and first-quartile ms per step of each mode, the ratios to `none`, the median
 * ms each step waited for its batch (the part of preparation on the critical path: the robust figure
 * on a noisy machine), and the time augmentRows alone takes per batch. `--quick` for fewer steps. Ratios are the figure; absolute times depend on the machine.
 */
import type { LayerConfig } from '../common/protocol';
import type { Dataset } from '../server/datasets/types';
import { OrtExecutor } from '../server/engine';
import { GrowableModel } from '../server/model/growable';
import { specFromConfig } from '../server/model/spec';
import { Rng } from '../server/random';
import { augmentRows, epochDraws } from '../server/trainer/augment';
import { AugmentPipeline } from '../server/trainer/augmentPipeline';
import { Trainer } from '../server/trainer/trainer';
import { trainingConfig } from '../test/unit/fixtures';

const quick = process.argv.includes('--quick');
const BATCH = 128;
/** Short epochs, many rounds, the modes' order rotating: the shared machine's drift spreads over all three. */
const N = 1024;
const ROUNDS = quick ? 3 : 12;
const shape = { c: 3, h: 32, w: 32 };
const F = 3 * 32 * 32;
const AUG = { pad: 4, flip: true };

const training = trainingConfig({ batchSize: BATCH, learningRate: 0.01 });

const layers: LayerConfig[] = [
  { type: 'conv2d', filters: 16, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
  { type: 'maxpool', size: 2 },
  { type: 'conv2d', filters: 32, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
  { type: 'maxpool', size: 2 },
  { type: 'dense', units: 64, activation: 'relu' },
];

function dataset(): Dataset {
  const rng = new Rng(1);
  const split = (n: number) => ({
    x: Float32Array.from({ length: n * F }, () => rng.next()),
    y: Float32Array.from({ length: n }, () => rng.int(10)),
    n,
  });
  return {
    name: 'csv',
    task: 'classification',
    inputShape: [3, 32, 32],
    numClasses: 10,
    targetSize: 1,
    train: split(N),
    test: split(256),
    description: 'generated 3x32x32',
  };
}

type Mode = 'none' | 'inline' | 'worker';
const MODES: readonly Mode[] = ['none', 'inline', 'worker'];

/**
 * One epoch in `mode`: the ms of each step (batch preparation on the JS thread included) and of the
 * preparation alone (what the step waits for before session.run: augmenting, or taking the worker's batch and asking for the next).
 */
async function epoch(
  trainer: Trainer,
  mode: Mode,
  worker: AugmentPipeline,
  inlineOut: Float32Array,
  e: number,
): Promise<{ ms: number[]; prep: number[] }> {
  const data = trainer.data;
  const order = new Rng(e).permutation(N);
  const draws = epochDraws(1, e, N, AUG);
  const ms: number[] = [],
    prep: number[] = [];
  const pipeline = mode === 'worker' ? worker : undefined;
  let next = pipeline?.batch(order, 0, BATCH, draws, 0);
  for (let start = 0, b = 0; start < N; start += BATCH, b++) {
    const m = Math.min(BATCH, N - start);
    const t0 = performance.now();
    let x: Float32Array | undefined;
    if (mode === 'inline') {
      x = inlineOut.subarray(0, m * F);
      const rows = Int32Array.from({ length: m }, (_, i) => order[start + i]);
      augmentRows(data.train.x, null, rows, m, 3, 32, 32, AUG.pad, new Float32Array(3), draws.dx, draws.dy, draws.flip, start, x);
    } else if (pipeline) {
      x = await next!;
      const after = start + BATCH;
      next = after < N ? pipeline.batch(order, after, Math.min(BATCH, N - after), draws, ((b + 1) % 2) as 0 | 1) : undefined;
    }
    prep.push(performance.now() - t0);
    await trainer.step(order, start, m, training.learningRate, x);
    ms.push(performance.now() - t0);
  }
  return { ms, prep };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length * q)];
};
const median = (xs: number[]) => quantile(xs, 0.5);

async function main() {
  const data = dataset();
  const spec = specFromConfig({ layers, init: 'he' }, data.inputShape, 'classification', 10);
  const trainer = new Trainer(GrowableModel.create(spec, 1, ['momentum']), data, training, await OrtExecutor.create());
  const pipeline = new AugmentPipeline({ src: data.train.x, shape, augment: AUG, fill: new Float32Array(3), maxBatch: BATCH });
  const inlineOut = new Float32Array(BATCH * F);
  for (const mode of MODES) await epoch(trainer, mode, pipeline, inlineOut, 0); // warm-up: compile, JIT
  const steps = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
  const preps = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
  for (let r = 0; r < ROUNDS; r++)
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(r + k) % MODES.length];
      const { ms, prep } = await epoch(trainer, mode, pipeline, inlineOut, r + 1);
      steps[mode].push(...ms);
      preps[mode].push(...prep);
    }
  // augmentRows alone, per batch of 128
  const rows = Int32Array.from({ length: BATCH }, (_, i) => i);
  const draws = epochDraws(1, 99, BATCH, AUG);
  const aug: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    augmentRows(data.train.x, null, rows, BATCH, 3, 32, 32, AUG.pad, new Float32Array(3), draws.dx, draws.dy, draws.flip, 0, inlineOut);
    aug.push(performance.now() - t0);
  }
  await pipeline.dispose();
  await trainer.dispose();
  const round = (v: number) => Number(v.toFixed(3));
  const per = (f: (m: Mode) => number) => Object.fromEntries(MODES.map((m) => [m, round(f(m))]));
  const none = median(steps.none);
  console.log(
    JSON.stringify(
      {
        task: `generated 3x32x32, ${N} examples, batch ${BATCH}, conv16-pool-conv32-pool-dense64, crop pad 4 + flip`,
        stepsPerMode: steps.none.length,
        medianStepMs: per((m) => median(steps[m])),
        ratioToNone: per((m) => median(steps[m]) / none),
        firstQuartileStepMs: per((m) => quantile(steps[m], 0.25)),
        medianPrepMsOnCriticalPath: per((m) => median(preps[m])),
        augmentRowsMsPerBatch: round(median(aug)),
      },
      null,
      2,
    ),
  );
}

void main();
