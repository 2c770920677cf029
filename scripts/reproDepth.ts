/**
 * Depth growth, the Firefly paper's Table 3 / App. B.2 (Wu et al. 2020): grow the `firefly-depth` net
 * (4 blocks of 3x3 convolutions, the first of each at stride 2, 16 channels, global average pool) from
 * 1-1-1-1 on MNIST or Fashion-MNIST, and compare
 *  - Firefly: each grow step is `firefly-deeper` with App. B.2's options: split every neuron and add
 *    m' = 20 new ones to the existing layers (25 % of the total width), and 11 identity candidates per
 *    block (at most 12 layers a block) with m' = 20 new neurons each, a candidate kept only with ≥ 2
 *    selected neurons; step one ("train the network for 1 epoch before calculating the score") runs one
 *    epoch's worth of minibatches on ε and δ; fine-tuning between steps, a final retrain;
 *  - NASH (`nash` with perBlock): 8 neighbours per step, each widened by 25 % and deepened by one identity
 *    layer per block, each trained 17 epochs (App. B.2), the best kept; fine-tuning and retrain as Firefly.
 *    Its parameters nearly double each step (every layer 25 % wider, a full-width layer per block), so by
 *    default (--nash-stop firefly-params) it stops after the first step that reaches the parameters of
 *    Firefly's final net (same seed, Firefly run first), where the paper's NASH row also is (2.0M against
 *    Firefly's 1.9M); --nash-stop steps grows it all --grow-steps;
 *  - Scratch: Firefly's final architecture (same layers and widths), freshly initialised and trained for
 *    Firefly's total training epochs;
 *  - AutoGrow: the paper's numbers (Table 3), quoted, not run.
 *
 *   npm run repro:depth -- --dataset mnist|fashion-mnist [--seeds N] [--scale S] [--seed K] [--grow-steps 11]
 *       [--candidates 11] [--nash-epochs 17] [--fine-tune-epochs 40] [--final-epochs 200] [--train N] [--test N]
 *       [--methods firefly,nash] [--nash-stop firefly-params|steps] [--lr 0.001] [--final-schedule cosine|constant]
 *       [--threads 2] [--out FILE]
 *
 * --scale S multiplies every epoch count of the protocol below (in minibatches of 128 of the training
 * set: round(S · epochs · N / 128), at least 1). At S = 1 it is App. B.2's schedule: 1 epoch of step one
 * per Firefly part (width, depth) per step, 40 epochs of fine-tuning after each step, 200 epochs of
 * final retrain, NASH neighbours 17 epochs each; plus 1 epoch before the first grow (ours: the paper gives
 * none). The epoch counts have flags for shorter schedules. The default S = 0.003 (DEFAULT_SCALE) brings
 * a dataset's default run (Firefly, then NASH to Firefly's parameters) inside 45 minutes on 2 cores (33
 * on MNIST); scratch (--methods firefly,nash,scratch, or firefly,scratch) adds about 20 (docs/results.md
 * has what was measured). --train / --test take
 * seeded subsets (defaults: the whole splits). Adam, lr 0.001 (--lr), batch 128, no augmentation; the
 * final retrain's rate falls from lr towards 0 on a cosine (--final-schedule; App. B.2 names neither
 * optimiser nor schedule; the cosine measured +0.8 points on MNIST at S = 0.001 against a constant rate,
 * docs/results.md). Scratch's last minibatches, as many as the final retrain's, follow the same cosine.
 *
 * Prints a table and writes the JSON (settings, per method and seed: structure a-b-c-d, parameters,
 * test accuracy, wall time, time per grow step, the test loss just before and after each grow step, the
 * final architecture as a model spec (`finalSpec`);
 * the means; the paper's Table 3) to --out
 * (default test-results/repro-depth/<dataset>.json).
 */
import * as fs from 'fs';
import * as path from 'path';
import { OrtExecutor, optimizerSlots } from '../server/engine';
import { loadDataset } from '../server/datasets';
import type { Dataset } from '../server/datasets/types';
import { GrowableModel } from '../server/model/growable';
import { ModelSpec, specFromConfig } from '../server/model/spec';
import type { TrainingConfig } from '../common/protocol';
import { Rng } from '../server/random';
import { Trainer, optimizerSettings } from '../server/trainer/trainer';
import { growContext } from '../server/growth/context';
import { runGrowStep } from '../server/growth/step';
import { growthMethod } from '../server/growth';
import type { GrowOptions } from '../server/growth/types';
import { depthLayer } from '../server/growth/fireflyDeeper';
import { round2, round4 } from './round';

export const DATASETS = ['mnist', 'fashion-mnist'] as const;
export type DepthDataset = (typeof DATASETS)[number];
export const METHODS = ['firefly', 'nash', 'scratch'] as const;
type Method = (typeof METHODS)[number];
/** The default run: Firefly, then NASH grown to Firefly's parameters (scratch on request: about 20 minutes more). */
export const DEFAULT_METHODS: Method[] = ['firefly', 'nash'];
/** When NASH stops growing: at Firefly's final parameters (same seed), or after all grow steps. */
export const NASH_STOPS = ['firefly-params', 'steps'] as const;
export type NashStop = (typeof NASH_STOPS)[number];

export interface DepthArgs {
  dataset: DepthDataset;
  seeds: number;
  seed: number;
  scale: number;
  growSteps: number;
  nashEpochs: number;
  fineTuneEpochs: number;
  finalEpochs: number;
  /** Identity candidates per block (App. B.2: 11); blocks stop at 1 + this many layers. */
  candidates: number;
  train?: number;
  test?: number;
  methods: Method[];
  nashStop: NashStop;
  /** Adam's learning rate (App. B.2 gives none). */
  lr: number;
  /** The final retrain's rate: constant, or cosine from `lr` to 0 over its minibatches. */
  finalSchedule: FinalSchedule;
  threads: number;
  out: string;
}

export const FINAL_SCHEDULES = ['constant', 'cosine'] as const;
export type FinalSchedule = (typeof FINAL_SCHEDULES)[number];

/**
 * S = 0.003 turns App. B.2's epochs into minibatches of 128 on 60,000 images as: fine-tuning 56 per step,
 * final retrain 281, NASH neighbours 24 each, step one and the first training 1 (842 minibatches of
 * training in all, 1.8 epochs). On MNIST the default run (Firefly and NASH) took 33 minutes, Firefly and
 * scratch 36 (2026-12-07).
 */
export const DEFAULT_SCALE = 0.003;
const BATCH = 128;
/** App. B.2: "we grow 11 steps and finetune 40 epochs after each grow step", "retrain the searched network for 200 epochs". */
export const PAPER_FINE_TUNE_EPOCHS = 40;
export const PAPER_FINAL_EPOCHS = 200;
/** App. B.2: NASH samples 8 neighbours and trains "each of them for 17 epochs". */
export const PAPER_NASH_EPOCHS = 17;
/** Epochs at scale 1 that App. B.2 fixes without a flag: step one's "1 epoch before calculating the score"; 1 before the first grow (ours). */
const EPOCHS = { initial: 1, stepOne: 1 };

/** Table 3 of the paper (parameters in millions, test accuracy in %). */
export const PAPER: Record<DepthDataset, { method: string; structure: string; millions: number; accuracy: number }[]> = {
  mnist: [
    { method: 'AutoGrow', structure: '13-12-12-12', millions: 2.3, accuracy: 99.57 },
    { method: 'NASH', structure: '12-12-12-12', millions: 2.0, accuracy: 99.5 },
    { method: 'Firefly', structure: '12-12-12-12', millions: 1.9, accuracy: 99.59 },
  ],
  'fashion-mnist': [
    { method: 'AutoGrow', structure: '13-13-13-13', millions: 2.3, accuracy: 94.47 },
    { method: 'NASH', structure: '12-12-12-12', millions: 2.2, accuracy: 94.34 },
    { method: 'Firefly', structure: '12-12-12-12', millions: 2.1, accuracy: 94.48 },
  ],
};

/** App. B.2 names no optimiser for growing deeper: Adam at this rate, batch 128. */
export const DEFAULT_LR = 0.001;
export const DEFAULT_FINAL_SCHEDULE: FinalSchedule = 'cosine';

const TRAIN: TrainingConfig = {
  epochs: 1,
  batchSize: BATCH,
  optimizer: 'adam',
  learningRate: DEFAULT_LR,
  momentum: 0,
  nesterov: false,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
  evalEvery: 1,
  shuffle: true,
};

export function parseArgs(argv: string[]): DepthArgs {
  const a: Partial<DepthArgs> & { methods: Method[] } = {
    seeds: 1,
    seed: 1,
    scale: DEFAULT_SCALE,
    growSteps: 11,
    nashEpochs: PAPER_NASH_EPOCHS,
    fineTuneEpochs: PAPER_FINE_TUNE_EPOCHS,
    finalEpochs: PAPER_FINAL_EPOCHS,
    candidates: 11,
    methods: [...DEFAULT_METHODS],
    nashStop: 'firefly-params',
    lr: DEFAULT_LR,
    finalSchedule: DEFAULT_FINAL_SCHEDULE,
    threads: 2,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--') continue;
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value`);
    const int = (min: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${k} needs an integer ≥ ${min}, got ${v}`);
      return n;
    };
    if (k === '--dataset') {
      if (!DATASETS.includes(v as DepthDataset)) throw new Error(`--dataset must be ${DATASETS.join(' or ')}, got ${v}`);
      a.dataset = v as DepthDataset;
    } else if (k === '--seeds') a.seeds = int(1);
    else if (k === '--seed') a.seed = int(0);
    else if (k === '--scale') {
      const s = Number(v);
      if (!(s > 0) || !Number.isFinite(s)) throw new Error(`--scale needs a number > 0, got ${v}`);
      a.scale = s;
    } else if (k === '--grow-steps') a.growSteps = int(1);
    else if (k === '--nash-epochs') a.nashEpochs = int(0);
    else if (k === '--fine-tune-epochs') a.fineTuneEpochs = int(1);
    else if (k === '--final-epochs') a.finalEpochs = int(1);
    else if (k === '--candidates') a.candidates = int(1);
    else if (k === '--train') a.train = int(1);
    else if (k === '--test') a.test = int(1);
    else if (k === '--threads') a.threads = int(1);
    else if (k === '--lr') {
      const r = Number(v);
      if (!(r > 0) || !Number.isFinite(r)) throw new Error(`--lr needs a number > 0, got ${v}`);
      a.lr = r;
    } else if (k === '--final-schedule') {
      if (!FINAL_SCHEDULES.includes(v as FinalSchedule))
        throw new Error(`--final-schedule must be ${FINAL_SCHEDULES.join(' or ')}, got ${v}`);
      a.finalSchedule = v as FinalSchedule;
    } else if (k === '--nash-stop') {
      if (!NASH_STOPS.includes(v as NashStop)) throw new Error(`--nash-stop must be ${NASH_STOPS.join(' or ')}, got ${v}`);
      a.nashStop = v as NashStop;
    } else if (k === '--out') a.out = v;
    else if (k === '--methods') {
      const ms = v.split(',');
      const bad = ms.filter((m) => !METHODS.includes(m as Method));
      if (bad.length) throw new Error(`--methods: unknown ${bad.join(', ')} (known: ${METHODS.join(', ')})`);
      if (ms.includes('scratch') && !ms.includes('firefly'))
        throw new Error("--methods: scratch trains Firefly's final architecture, so it needs firefly");
      a.methods = ms as Method[];
    } else
      throw new Error(
        `unknown argument ${k} (known: --dataset, --seeds, --seed, --scale, --grow-steps, --nash-epochs, --fine-tune-epochs, --final-epochs, --candidates, --train, --test, --methods, --nash-stop, --lr, --final-schedule, --threads, --out)`,
      );
  }
  if (!a.dataset) throw new Error(`--dataset is required: ${DATASETS.join(' or ')}`);
  return { ...a, out: a.out ?? `test-results/repro-depth/${a.dataset}.json` } as DepthArgs;
}

/** Minibatches of `epochs` epochs at this scale (at least 1). */
export const batchesFor = (epochs: number, scale: number, n: number): number => Math.max(1, Math.round((scale * epochs * n) / BATCH));

/** `a-b-c-d`: conv2d and residual layers per block. */
export function structure(spec: ModelSpec): string {
  return ['block1', 'block2', 'block3', 'block4'].map((b) => spec.layers.filter((l) => l.block === b && depthLayer(l)).length).join('-');
}

const convWidths = (spec: ModelSpec): number[] => spec.layers.flatMap((l) => (l.type === 'conv2d' ? [l.filters] : []));

/**
 * The rate of minibatch `s` (from 0) of the final retrain's `batches`: `lr`, or SGDR's cosine without
 * restarts (Loshchilov & Hutter 2017, eq. 5, per minibatch, T_max = batches, as PyTorch's
 * CosineAnnealingLR) from `lr` towards 0.
 */
export function finalRate(schedule: FinalSchedule, lr: number, s: number, batches: number): number {
  if (schedule === 'constant') return lr;
  return (lr * (1 + Math.cos((Math.PI * s) / batches))) / 2;
}

/**
 * The rate of minibatch `s` of a run of `batches` whose last `final` minibatches are the final retrain:
 * `lr` before them, `finalRate` over them (Firefly's fine-tuning has none, its final retrain is all of
 * them; scratch trains as many minibatches as Firefly and ends with as many final ones).
 */
export function rateAt(args: Pick<DepthArgs, 'lr' | 'finalSchedule'>, s: number, batches: number, final: number): number {
  const head = Math.max(0, batches - final);
  return s < head ? args.lr : finalRate(args.finalSchedule, args.lr, s - head, batches - head);
}

/** Trains `batches` minibatches, reshuffling after each pass (order from rng); `rate(s)` sets minibatch s's rate. */
async function train(tr: Trainer, batches: number, rng: Rng, rate: (s: number) => number): Promise<void> {
  const n = tr.data.train.n;
  const bs = Math.min(BATCH, n);
  let order = rng.permutation(n);
  let start = 0;
  for (let s = 0; s < batches; s++) {
    if (start + bs > n) {
      order = rng.permutation(n);
      start = 0;
    }
    await tr.step(order, start, bs, rate(s));
    start += bs;
  }
}

export interface MethodRun {
  method: string;
  seed: number;
  structure: string;
  parameters: number;
  testAccuracy: number;
  /** Seconds of wall time of the whole run (training and growth). */
  seconds: number;
  /** Seconds per grow step (the grow step alone, not the fine-tuning after it). */
  growStepSeconds: number[];
  meanGrowStepSeconds: number | null;
  /** Minibatches of 128 the weights were trained for (growth's own training not counted). */
  trainBatches: number;
  /**
   * After each grow step and its fine-tuning; lossBeforeGrow / lossAfterGrow: the test loss on the grow
   * step's fixed examples (runGrowStep's) just before and just after the step, before the fine-tuning.
   */
  history: {
    step: number;
    structure: string;
    parameters: number;
    widths: number[];
    testAccuracy: number;
    lossBeforeGrow: number;
    lossAfterGrow: number;
  }[];
  finalSpec?: ModelSpec;
}

const trainConfig = (args: DepthArgs): TrainingConfig => ({ ...TRAIN, learningRate: args.lr });

function newModel(data: Dataset, seed: number, spec?: ModelSpec): GrowableModel {
  const s =
    spec ??
    specFromConfig({ layers: [], init: 'he', preset: 'firefly-depth', channels: 16 }, data.inputShape, 'classification', data.numClasses);
  return GrowableModel.create(s, seed, optimizerSlots(optimizerSettings(TRAIN)));
}

async function accuracy(tr: Trainer): Promise<number> {
  return Math.round(10000 * (await tr.evaluate(tr.data.test)).accuracy!) / 100;
}

export function growOptions(method: 'firefly' | 'nash', args: DepthArgs, n: number): { name: string; options: GrowOptions } {
  if (method === 'firefly')
    return {
      name: 'firefly-deeper',
      options: {
        wider: true,
        candidatesPerBlock: args.candidates,
        maxBlockLayers: args.candidates + 1,
        newNeurons: 20,
        minNeuronsPerLayer: 2,
        ratio: 0.25,
        steps: batchesFor(EPOCHS.stepOne, args.scale, n),
        scoreBatch: BATCH,
      },
    };
  return {
    name: 'nash',
    options: {
      perBlock: true,
      neighbours: 8,
      widenRatio: 0.25,
      fineTuneSteps: args.nashEpochs === 0 ? 0 : batchesFor(args.nashEpochs, args.scale, n),
      scoreBatch: 512,
    },
  };
}

/**
 * Grows from 1-1-1-1 for args.growSteps steps, or fewer where `maxParams` is given: the step that
 * reaches it is the last (its fine-tuning is the final retrain).
 */
async function growRun(
  method: 'firefly' | 'nash',
  data: Dataset,
  ex: OrtExecutor,
  seed: number,
  args: DepthArgs,
  maxParams = Infinity,
): Promise<MethodRun> {
  const t0 = performance.now();
  const n = data.train.n;
  const tr = new Trainer(newModel(data, seed), data, trainConfig(args), ex);
  const rng = new Rng(seed * 7919 + 1);
  const { name, options } = growOptions(method, args, n);
  const grow = growthMethod(name);
  const fine = batchesFor(args.fineTuneEpochs, args.scale, n);
  let trained = batchesFor(EPOCHS.initial, args.scale, n);
  const stepSeconds: number[] = [];
  const history: MethodRun['history'] = [];
  try {
    await train(tr, trained, rng, () => args.lr);
    for (let g = 1; g <= args.growSteps; g++) {
      const ev = await runGrowStep(growContext(tr, seed * 1000 + g), grow, options, { runId: 'repro-depth', step: g, epoch: 0 });
      stepSeconds.push(ev.durationMs / 1000);
      const last = g === args.growSteps || tr.model.paramCount() >= maxParams;
      const fineTune = last ? batchesFor(args.finalEpochs, args.scale, n) : fine;
      await train(tr, fineTune, rng, (s) => rateAt(args, s, fineTune, last ? fineTune : 0));
      trained += fineTune;
      const spec = tr.model.spec;
      history.push({
        step: g,
        structure: structure(spec),
        parameters: tr.model.paramCount(),
        widths: convWidths(spec),
        testAccuracy: await accuracy(tr),
        lossBeforeGrow: round4(ev.lossBefore),
        lossAfterGrow: round4(ev.lossAfter),
      });
      process.stderr.write(
        `  ${method} seed ${seed} step ${g}: ${history[g - 1].structure}, ${history[g - 1].parameters} parameters, ${history[g - 1].testAccuracy}% (grow ${stepSeconds[g - 1].toFixed(1)} s)\n`,
      );
      if (last) break;
    }
    const spec = tr.model.spec;
    return {
      method: method === 'firefly' ? 'Firefly' : 'NASH',
      seed,
      structure: structure(spec),
      parameters: tr.model.paramCount(),
      testAccuracy: await accuracy(tr),
      seconds: round2((performance.now() - t0) / 1000),
      growStepSeconds: stepSeconds.map(round2),
      meanGrowStepSeconds: round2(stepSeconds.reduce((a, b) => a + b, 0) / stepSeconds.length),
      trainBatches: trained,
      history,
      finalSpec: structuredClone(spec),
    };
  } finally {
    await tr.dispose();
  }
}

/** Firefly's final net from scratch for its `batches`, the last `final` of them on the final retrain's rates. */
async function scratchRun(
  spec: ModelSpec,
  batches: number,
  final: number,
  data: Dataset,
  ex: OrtExecutor,
  seed: number,
  args: DepthArgs,
): Promise<MethodRun> {
  const t0 = performance.now();
  const tr = new Trainer(newModel(data, seed + 5000, spec), data, trainConfig(args), ex);
  try {
    await train(tr, batches, new Rng(seed * 7919 + 2), (s) => rateAt(args, s, batches, final));
    return {
      method: 'Scratch (Firefly architecture)',
      seed,
      structure: structure(spec),
      parameters: tr.model.paramCount(),
      testAccuracy: await accuracy(tr),
      seconds: round2((performance.now() - t0) / 1000),
      growStepSeconds: [],
      meanGrowStepSeconds: null,
      trainBatches: batches,
      history: [],
    };
  } finally {
    await tr.dispose();
  }
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * Runs every method and seed; `onProgress` gets the report so far after each method's run (so a long run
 * stopped part-way keeps what finished), the returned report has `complete: true`.
 */
export async function runDepthRepro(args: DepthArgs, onProgress?: (report: DepthReport) => void): Promise<DepthReport> {
  const ex = await OrtExecutor.create({ threads: args.threads });
  const runs: MethodRun[] = [];
  let dataDescription = '';
  let sizes = { train: 0, test: 0 };
  for (let s = 0; s < args.seeds; s++) {
    const seed = args.seed + s;
    const data = await loadDataset({ name: args.dataset, trainSize: args.train, testSize: args.test }, { seed });
    dataDescription = data.description;
    sizes = { train: data.train.n, test: data.test.n };
    let firefly: MethodRun | undefined;
    for (const m of args.methods) {
      process.stderr.write(`${args.dataset} seed ${seed}: ${m}\n`);
      if (m === 'scratch') {
        const final = batchesFor(args.finalEpochs, args.scale, data.train.n);
        runs.push(await scratchRun(firefly!.finalSpec!, firefly!.trainBatches, final, data, ex, seed, args));
      } else {
        const cap = m === 'nash' && args.nashStop === 'firefly-params' && firefly ? firefly.parameters : Infinity;
        const r = await growRun(m, data, ex, seed, args, cap);
        if (m === 'firefly') firefly = r;
        runs.push(r);
      }
      onProgress?.(depthReport(args, runs, dataDescription, sizes, false));
    }
  }
  return depthReport(args, runs, dataDescription, sizes, true);
}

export type DepthReport = ReturnType<typeof depthReport>;

function depthReport(
  args: DepthArgs,
  runs: MethodRun[],
  dataDescription: string,
  sizes: { train: number; test: number },
  complete: boolean,
) {
  const methods = [...new Set(runs.map((r) => r.method))];
  const table = methods.map((method) => {
    const rs = runs.filter((r) => r.method === method);
    const steps = rs.flatMap((r) => r.growStepSeconds);
    return {
      method,
      structure: rs.map((r) => r.structure).join(' / '),
      parameters: Math.round(mean(rs.map((r) => r.parameters))),
      testAccuracy: round2(mean(rs.map((r) => r.testAccuracy))),
      seconds: round2(mean(rs.map((r) => r.seconds))),
      meanGrowStepSeconds: steps.length ? round2(mean(steps)) : null,
    };
  });
  const n = sizes.train;
  return {
    command:
      `npm run repro:depth -- --dataset ${args.dataset} --seeds ${args.seeds} --seed ${args.seed} --scale ${args.scale}` +
      ` --grow-steps ${args.growSteps} --nash-epochs ${args.nashEpochs} --fine-tune-epochs ${args.fineTuneEpochs}` +
      ` --final-epochs ${args.finalEpochs} --candidates ${args.candidates}` +
      (args.train !== undefined ? ` --train ${args.train}` : '') +
      (args.test !== undefined ? ` --test ${args.test}` : '') +
      ` --methods ${args.methods.join(',')} --nash-stop ${args.nashStop} --lr ${args.lr} --final-schedule ${args.finalSchedule} --threads ${args.threads}`,
    dataset: args.dataset,
    /** false while the run is still going (the file is rewritten after each method's run). */
    complete,
    data: { description: dataDescription, ...sizes },
    settings: {
      scale: args.scale,
      growSteps: args.growSteps,
      nashStop: args.nashStop,
      batchSize: BATCH,
      optimizer: `adam, lr ${args.lr}`,
      finalSchedule: args.finalSchedule,
      epochsAtScale1: {
        ...EPOCHS,
        fineTune: args.fineTuneEpochs,
        final: args.finalEpochs,
        nashNeighbour: args.nashEpochs,
        paper: { fineTune: PAPER_FINE_TUNE_EPOCHS, final: PAPER_FINAL_EPOCHS, nashNeighbour: PAPER_NASH_EPOCHS },
      },
      batches: {
        initial: batchesFor(EPOCHS.initial, args.scale, n),
        fireflyStepOne: batchesFor(EPOCHS.stepOne, args.scale, n),
        fineTune: batchesFor(args.fineTuneEpochs, args.scale, n),
        final: batchesFor(args.finalEpochs, args.scale, n),
        nashNeighbour: args.nashEpochs === 0 ? 0 : batchesFor(args.nashEpochs, args.scale, n),
      },
      firefly: growOptions('firefly', args, n),
      nash: growOptions('nash', args, n),
    },
    units: 'testAccuracy in %, seconds of wall time, parameters counted with biases and the output layer',
    table,
    runs,
    paper: PAPER[args.dataset].map((p) => ({
      ...p,
      note: p.method === 'AutoGrow' ? 'quoted from the paper (Table 3), not run' : 'paper, Table 3',
    })),
  };
}

export function printTable(report: DepthReport): string {
  const rows = [
    ['method', 'structure', 'parameters', 'test acc. %', 'wall s', 's / grow step'],
    ...report.table.map((r) => [
      r.method,
      r.structure,
      String(r.parameters),
      r.testAccuracy.toFixed(2),
      r.seconds.toFixed(1),
      r.meanGrowStepSeconds?.toFixed(1) ?? '-',
    ]),
    ...report.paper.map((p) => [`${p.method} (paper)`, p.structure, `${p.millions}M`, p.accuracy.toFixed(2), '-', '-']),
  ];
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((x, c) => x.padEnd(w[c])).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
  // Written through a temporary file and renamed: a stop mid-write never leaves a torn JSON.
  const write = (r: DepthReport) => {
    fs.writeFileSync(args.out + '.tmp', JSON.stringify(r, null, 1) + '\n');
    fs.renameSync(args.out + '.tmp', args.out);
  };
  const report = await runDepthRepro(args, write);
  write(report);
  console.log(printTable(report));
  console.log(`\n${report.command}\nJSON: ${args.out}`);
}

if (require.main === module)
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
