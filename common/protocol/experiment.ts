/** The experiment configuration in its resolved form (after defaults; `*.growth.json` files are the input). */

import type { Activation, DatasetName, EngineName, ExecutionProviderName, GrowthMethodName, OptimizerName } from './names';

export interface DenseLayerConfig {
  type: 'dense';
  units: number;
  activation: Activation;
}
export interface Conv2dLayerConfig {
  type: 'conv2d';
  filters: number;
  kernelSize: number;
  stride: number;
  padding: 'same' | 'valid';
  activation: Activation;
  /** Channels in groups (depthwise: groups = input channels = filters); absent = 1. */
  groups?: number;
  /** Batch norm between the convolution and the activation (conv, BN, activation). */
  batchNorm?: boolean;
}
export interface MaxPoolLayerConfig {
  type: 'maxpool';
  size: number;
}
export interface AvgPoolLayerConfig {
  type: 'avgpool';
  size: number;
}
export interface GlobalAvgPoolLayerConfig {
  type: 'globalavgpool';
}
export interface BatchNormLayerConfig {
  type: 'batchnorm';
  momentum: number;
  epsilon: number;
}
export interface FlattenLayerConfig {
  type: 'flatten';
}
/** x + h(x) where h is a dense (or 1x1-free conv) block of `units` hidden neurons back to the input width. */
export interface ResidualLayerConfig {
  type: 'residual';
  units: number;
  activation: Activation;
}
/**
 * ResNet basic block (He et al. 2016): relu(BN(conv3x3(relu(BN(conv3x3_stride(x))))) + shortcut(x)), the
 * shortcut the identity, or a strided 1x1 conv + BN when the shape changes. `units`: the hidden
 * channels between the two convolutions (default `filters`; grows when the network is widened).
 */
export interface ResblockLayerConfig {
  type: 'resblock';
  filters: number;
  stride: number;
  units?: number;
}
export type LayerConfig =
  | ResblockLayerConfig
  | DenseLayerConfig
  | Conv2dLayerConfig
  | MaxPoolLayerConfig
  | AvgPoolLayerConfig
  | GlobalAvgPoolLayerConfig
  | BatchNormLayerConfig
  | FlattenLayerConfig
  | ResidualLayerConfig;
export type LayerType = LayerConfig['type'];

export interface DatasetConfig {
  name: DatasetName;
  /** csv: the file; cifar-10/-100, svhn: the folder; npz: the file; image-folder: the root (relative to the experiment file). */
  path?: string;
  /** csv: label column, by header name or 0-based index (default: the last column). */
  labelColumn?: string | number;
  /** csv: classification (integer labels) or regression. */
  task?: 'classification' | 'regression';
  /** csv, npz, image-folder: share of examples held out for testing when there is no test file or folder. */
  testFraction?: number;
  testPath?: string;
  trainSize?: number;
  testSize?: number;
  /** Scale pixel values to [0, 1] (image datasets). */
  normalize?: boolean;
  /** cifar-100: the 100 fine classes (default) or the 20 coarse ones. */
  label?: 'fine' | 'coarse';
  /** svhn: add extra_32x32.mat to the training set. */
  extra?: boolean;
  /** npz: how x's axes are ordered (default "nchw"). */
  layout?: 'nchw' | 'nhwc';
  /** image-folder: images are resized (shorter side) and centre-cropped to size x size (default 32). */
  size?: number;
  /** image-folder: 1 (grey) or 3 (sRGB, the default). */
  channels?: 1 | 3;
  /** mnist, fashion-mnist: zero pixels added on each side (2: 28x28 → 32x32, the CIFAR size); default 0. */
  pad?: number;
}

export type InitMethod = 'he' | 'glorot';
/** Start from an exported model: a Growth Lab TF.js `model.json` or `architecture.json` (relative to the experiment file). */
export interface ModelInitFrom {
  from: string;
}

export const MODEL_PRESETS = ['vgg11', 'vgg13', 'vgg16', 'vgg19', 'resnet20', 'resnet18', 'mobilenetv1', 'firefly-depth'] as const;
export type ModelPreset = (typeof MODEL_PRESETS)[number];

export interface ModelConfig {
  /** Hidden layers; the output layer (dense, one unit per class or target) is appended by the backend. Ignored with `init: {from}` or a `preset`. */
  layers: LayerConfig[];
  /** A named architecture expanded into ordinary layers (server/model/presets.ts); replaces `layers`. */
  preset?: ModelPreset;
  /** vgg*, firefly-depth: every conv layer's channels. */
  channels?: number;
  /** vgg*, resnet*, mobilenetv1: the standard channel counts times this (at least 1). */
  widthMultiplier?: number;
  /** firefly-depth: conv layers per block (4 blocks). */
  blocks?: number[];
  /** Batch norm after every conv (default: true, firefly-depth false). */
  batchNorm?: boolean;
  init: InitMethod | ModelInitFrom;
}

export interface TrainingConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Evaluate on the test set every k epochs (and always after the last). */
  evalEvery: number;
  shuffle: boolean;
  /** How the learning rate changes over the run (server/training/lrSchedule.ts); absent: constant. */
  lrSchedule?: LrScheduleConfig;
  /** Cross-entropy against (1 − labelSmoothing) · one-hot + labelSmoothing / classes; absent: 0 (plain one-hot). */
  labelSmoothing?: number;
  /** Data augmentation of training batches (absent: none). */
  augment?: AugmentConfig;
}

/** Experiment field `training.lrSchedule`: the rate over fractional epochs, after a linear warmup. */
export interface LrScheduleConfig {
  type: 'constant' | 'step' | 'cosine';
  /** step: epochs after which the rate is multiplied by gamma. */
  milestones: number[];
  gamma: number;
  /** cosine: the rate at the end of the run. */
  minLearningRate: number;
  /** Linear warmup from the first step to the base rate, in epochs (0: none). */
  warmupEpochs: number;
}

/** Experiment field `growth.afterGrow`: the learning rate after each grow step. */
export interface AfterGrowConfig {
  /** Restart the schedule from this rate (default training.learningRate when warmupEpochs is given). */
  learningRate?: number;
  /** Restart the schedule with this linear warmup (epochs). */
  warmupEpochs?: number;
  /** Multiply the rate by this after every grow (cumulative). */
  decay?: number;
}

/** Experiment field `training.augment`: seeded per run and epoch, training batches only. */
export interface AugmentConfig {
  /** Random crop after zero padding of `pad` pixels on each side (CIFAR's pad 4). */
  crop?: { pad: number };
  /** Horizontal flip with probability 1/2. */
  flip?: boolean;
  /** Per-channel (x − mean) / std, on training and test inputs; "auto": from the training set. */
  normalize?: { mean: number[]; std: number[] } | 'auto';
}

/** When to grow, and with what (experiment field `growth`). */
export interface GrowthConfig {
  /** Method for scheduled and manual grows (default firefly). */
  method: GrowthMethodName;
  schedule: {
    /** Grow after every k-th epoch. */
    every?: number;
    /** Grow when `metric` has not improved by `minDelta` for `patience` epochs. */
    plateau?: { metric: 'testLoss' | 'trainLoss'; patience: number; minDelta: number };
  };
  /** No scheduled grow once the model has this many parameters. */
  maxParams?: number;
  /** No scheduled grow after this many grow steps. */
  maxGrowSteps?: number;
  /** Options passed to the method (ratio, neurons, layers, newNeurons, epsilon, …). */
  options: Record<string, unknown>;
  /** Optimiser moments after a grow: kept for kept weights (new ones zero), or all reset. */
  optimizerState: 'keep' | 'reset';
  /** The learning rate after each grow step: restart and/or decay (absent: the schedule goes on). */
  afterGrow?: AfterGrowConfig;
}

export type ContinualStreamName = 'split-mnist' | 'split-fashion-mnist' | 'permuted-mnist' | 'split-cifar-100' | 'custom';
/** The networks every continual method uses: MLPs (`hidden`) or conv nets (`conv`). */
export type ContinualModelName = 'mlp' | 'conv';
/**
 * A continual conv net (server/continual/convTrunk.ts): 3×3 convolutions (padding 1, ReLU) with these
 * channels, a 2×2 max pool after the layers `pool` marks, a global average pool into each task's head.
 * Its input is the stream's image shape ([3, 32, 32] for split-cifar-100, [1, 28, 28] for the MNIST streams).
 */
export interface ContinualConvConfig {
  channels: number[];
  pool: boolean[];
}
export type ContinualMethodName = 'firefly-cl' | 'finetune' | 'ewc' | 'progressive' | 'individual';
/** uniform: U(±1/√fan-in) weights and biases (torch.nn.Linear's default); he-normal: N(0, 2/fan-in), zero biases. */
export type ContinualLayerInit = 'uniform' | 'he-normal';
/** Split streams: classes paired in order ({0,1}, {2,3}, …) or by a permutation drawn from the seed. */
export type SplitClassOrder = 'ordered' | 'shuffled';

/** Firefly CL's settings (Firefly Appendix A); absent fields keep FIREFLY_CL_DEFAULTS. */
export interface FireflyClSettings {
  initialWidth?: number[];
  targetAccuracy?: number;
  maxGrowRounds?: number;
  eta?: number;
  newCandidates?: number;
  epsilon?: number;
  stepOneIterations?: number;
  stepOneLearningRate?: number;
  maskEpochs?: number;
  maskSparsity?: number;
  maskInit?: number;
  maskLearningRate?: number;
  scoreExamples?: number;
}

/** Experiment field `continual`: a task stream learnt by each method in turn (defaults in experiment.schema.json). */
export interface ContinualConfig {
  stream: ContinualStreamName;
  methods: ContinualMethodName[];
  /** permuted-mnist: number of tasks; split-cifar-100: 10 or 20 (default 10); the others: keep the first tasks. */
  tasks?: number;
  /** split-cifar-100: the CIFAR-100 binary folder (train.bin, test.bin), relative to the experiment file's folder. */
  path?: string;
  /** MLPs of `hidden` widths, or conv nets of `conv` (default conv for split-cifar-100, else mlp). */
  model: ContinualModelName;
  /** model conv: the baselines' conv net (Firefly CL starts from firefly.initialWidth channels, default these). */
  conv?: ContinualConvConfig;
  /** custom: one dataset per task. */
  datasets?: DatasetConfig[];
  /** Split streams: which classes make each task (default shuffled for split-cifar-100, else ordered). */
  classOrder: SplitClassOrder;
  trainPerTask: number;
  testPerTask: number;
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** How every method initialises a fresh layer. */
  init: ContinualLayerInit;
  /** Fine-tuning and EWC: one optimiser through the stream, or a fresh one per task. */
  optimizerState: 'keep' | 'reset';
  ewcLambda: number;
  firefly: FireflyClSettings;
}

export interface ExperimentConfig {
  name: string;
  seed: number;
  dataset: DatasetConfig;
  model: ModelConfig;
  training: TrainingConfig;
  engine: EngineName;
  executionProvider: ExecutionProviderName;
  /** Growth schedule and method; absent: no scheduled growth (manual grows still work). */
  growth?: GrowthConfig;
  /** Continual learning: when set, the run learns this task stream with each method instead of training `model`. */
  continual?: ContinualConfig;
}
