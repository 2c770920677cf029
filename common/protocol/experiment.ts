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
export type LayerConfig =
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
}

export type InitMethod = 'he' | 'glorot';
/** Start from an exported model: a Growth Lab TF.js `model.json` or `architecture.json` (relative to the experiment file). */
export interface ModelInitFrom {
  from: string;
}

export interface ModelConfig {
  /** Hidden layers; the output layer (dense, one unit per class or target) is appended by the backend. Ignored with `init: {from}`. */
  layers: LayerConfig[];
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
}

export type ContinualStreamName = 'split-mnist' | 'split-fashion-mnist' | 'permuted-mnist' | 'custom';
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
  /** permuted-mnist: number of tasks. */
  tasks?: number;
  /** custom: one dataset per task. */
  datasets?: DatasetConfig[];
  /** split-mnist / split-fashion-mnist: which classes make each task. */
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
