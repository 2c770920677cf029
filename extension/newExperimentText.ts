/**
 * Pure helpers of the New Experiment command (no VS Code imports, unit-tested): the starting models,
 * datasets and continual-learning streams it offers, the new `*.growth.json`'s text and a free file name.
 */
import type { ContinualStreamName, DatasetName } from '../common/protocol';

export interface StartingModel {
  id: string;
  label: string;
  detail: string;
  /** Hidden layers as written in the file. */
  layers: Record<string, unknown>[];
}

export const STARTING_MODELS: readonly StartingModel[] = [
  {
    id: 'mlp-small',
    label: 'Small MLP',
    detail: 'one dense layer of 16 ReLU neurons (room to grow)',
    layers: [{ type: 'dense', units: 16, activation: 'relu' }],
  },
  {
    id: 'mlp',
    label: 'MLP',
    detail: 'two dense layers of 64 ReLU neurons',
    layers: [
      { type: 'dense', units: 64, activation: 'relu' },
      { type: 'dense', units: 64, activation: 'relu' },
    ],
  },
  {
    id: 'mlp-tanh',
    label: 'Tanh MLP',
    detail: 'one dense layer of 16 tanh neurons (splitting methods need smooth activations)',
    layers: [{ type: 'dense', units: 16, activation: 'tanh' }],
  },
  {
    id: 'rbf',
    label: 'RBF network',
    detail: 'one dense layer of 10 RBF neurons (the Firefly paper toy network)',
    layers: [{ type: 'dense', units: 10, activation: 'rbf' }],
  },
  {
    id: 'cnn',
    label: 'Small CNN',
    detail: 'conv 8 → maxpool → conv 16 → maxpool → dense 32 (image datasets)',
    layers: [
      { type: 'conv2d', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'dense', units: 32, activation: 'relu' },
    ],
  },
];

export const DATASET_DESCRIPTIONS: Record<DatasetName, string> = {
  mnist: 'MNIST handwritten digits (28×28, 10 classes)',
  'fashion-mnist': 'Fashion-MNIST clothing images (28×28, 10 classes)',
  'rbf-toy': 'The Firefly paper toy regression/classification set (small, fast)',
  csv: 'A CSV file of your own (features and a label column)',
  'cifar-10': 'CIFAR-10 from its binary files on your disk (32×32 colour, 10 classes)',
  'cifar-100': 'CIFAR-100 from its binary files on your disk (32×32 colour, 100 classes)',
  svhn: 'SVHN digits from the official .mat files on your disk (32×32 colour, 10 classes)',
  npz: 'A NumPy .npz file of your own (arrays x: images, y: labels)',
  'image-folder': 'A folder of your own images, one subfolder per class',
};

/** dataset.path a new experiment starts with, for the datasets read from the user's disk. */
export const DATASET_PATH_PLACEHOLDERS: Partial<Record<DatasetName, string>> = {
  'cifar-10': 'cifar-10-batches-bin',
  'cifar-100': 'cifar-100-binary',
  svhn: 'svhn',
  npz: 'data.npz',
  'image-folder': 'images',
};

export interface NewExperimentChoice {
  name: string;
  dataset: DatasetName;
  model: StartingModel;
  /** 'none': no scheduled growth. */
  method: string;
  /** Value of "$schema". */
  schemaUrl: string;
  /** dataset.path when known (e.g. where the backend found the official files); else a placeholder. */
  datasetPath?: string;
}

/** The text of a new `*.growth.json` (2-space JSON, trailing newline). */
export function newExperimentText(c: NewExperimentChoice): string {
  const dataset: Record<string, unknown> = { name: c.dataset };
  if (c.dataset === 'csv') {
    dataset.path = 'data.csv';
    dataset.task = 'classification';
  }
  const placeholder = c.datasetPath ?? DATASET_PATH_PLACEHOLDERS[c.dataset];
  if (placeholder) dataset.path = placeholder;
  const image = c.dataset !== 'csv' && c.dataset !== 'rbf-toy';
  const doc: Record<string, unknown> = {
    $schema: c.schemaUrl,
    name: c.name,
    dataset,
    model: { layers: c.model.layers },
    training: image
      ? { epochs: 10, batchSize: 128, optimizer: 'adam', learningRate: 0.001 }
      : { epochs: 100, batchSize: 100, optimizer: 'adam', learningRate: 0.01 },
  };
  if (c.method !== 'none') {
    doc.growth = { method: c.method, schedule: { every: image ? 2 : 20 }, maxGrowSteps: 3, options: { ratio: 0.5 } };
  }
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * A stream New Experiment can write with no files of the user's: custom needs one dataset per task and
 * split-cifar-100 the CIFAR-100 folder (continual.path), both written by hand.
 */
export type BuiltInContinualStream = Exclude<ContinualStreamName, 'custom' | 'split-cifar-100'>;

/** Continual-learning streams New Experiment offers. */
export const CONTINUAL_STREAM_CHOICES: readonly { stream: BuiltInContinualStream; detail: string }[] = [
  {
    stream: 'split-mnist',
    detail: 'Continual learning: MNIST in 5 tasks of 2 digits; Firefly CL against fine-tuning, EWC, Progressive Networks, Individual',
  },
  { stream: 'split-fashion-mnist', detail: 'Continual learning: Fashion-MNIST in 5 tasks of 2 classes; the same five methods' },
  { stream: 'permuted-mnist', detail: 'Continual learning: 5 tasks of MNIST under seeded pixel permutations; the same five methods' },
];

/** The text of a new continual-learning `*.growth.json`: the stream and every method, other fields at their defaults. */
export function newContinualExperimentText(c: { name: string; stream: BuiltInContinualStream; schemaUrl: string }): string {
  const doc = {
    $schema: c.schemaUrl,
    name: c.name,
    continual: {
      stream: c.stream,
      methods: ['firefly-cl', 'finetune', 'ewc', 'progressive', 'individual'],
      trainPerTask: 4000,
      testPerTask: 1000,
      epochs: 4,
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** `base.growth.json`, else `base-2.growth.json`, … : the first name `exists` says is free. */
export function freeExperimentFileName(base: string, exists: (fileName: string) => boolean): string {
  const clean = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'experiment';
  for (let i = 1; ; i++) {
    const name = `${clean}${i === 1 ? '' : `-${i}`}.growth.json`;
    if (!exists(name)) return name;
  }
}
