/**
 * Pure helpers for the Grow network / Prune network / New experiment commands (no VS Code imports,
 * unit-tested): method quick-pick items, budget parsing, the new experiment file's text.
 */
import {
  PRUNE_METHODS,
  type ContinualStreamName,
  type DatasetName,
  type GrowthMethodInfo,
  type RunSummary,
} from '../common/protocol';

/** One-line descriptions used when the backend does not send them (older backends). */
export const FALLBACK_METHOD_DESCRIPTIONS: Record<string, string> = {
  firefly: 'Firefly wider: split neurons and add brand-new ones, picked by integrated gradients',
  'firefly-split': 'Firefly with splitting only: split neurons picked by integrated gradients',
  'firefly-deeper': 'Firefly deeper: insert new residual layers, their neurons picked by integrated gradients',
  splitting: 'Splitting steepest descent: split neurons along the splitting matrix eigenvector',
  'net2net-wider': 'Net2WiderNet: widen layers by replicating random neurons',
  'net2net-deeper': 'Net2DeeperNet: insert an identity-initialised layer',
  'gauss-newton': 'Learned split and prune morphisms scored with a Gauss-Newton approximation',
  'random-split': 'RandSearch (split): best of k random splits after fine-tuning',
  'random-split-new': 'RandSearch (split+new): best of k random splits or new neurons after fine-tuning',
  'prune-taylor': 'Prune the neurons with the smallest first-order Taylor score',
  'prune-gauss-newton': 'Prune the neurons whose removal the Gauss-Newton approximation says costs least',
};

/** Friendly labels for the quick pick. */
export const METHOD_LABELS: Record<string, string> = {
  firefly: 'Firefly wider',
  'firefly-split': 'Firefly split',
  'firefly-deeper': 'Firefly deeper',
  splitting: 'Splitting',
  'net2net-wider': 'Net2Net wider',
  'net2net-deeper': 'Net2Net deeper',
  'gauss-newton': 'Gauss-Newton',
  'random-split': 'Random split',
  'random-split-new': 'Random split + new',
  'prune-taylor': 'Taylor pruning',
  'prune-gauss-newton': 'Gauss-Newton pruning',
};

export interface MethodPickItem {
  label: string;
  description: string;
  detail: string;
  method: string;
}

/**
 * Quick-pick items for grow (or prune) methods: from the backend's method details when present,
 * else from its method names (grow) or the protocol's prune methods, with the fallback descriptions.
 * `preferred` (e.g. the experiment's configured method) goes first.
 */
export function methodPickItems(
  kind: 'grow' | 'prune',
  caps: { growthMethods?: readonly string[]; growthMethodDetails?: readonly GrowthMethodInfo[] } | undefined,
  preferred?: string,
): MethodPickItem[] {
  let infos: { name: string; description: string }[];
  if (caps?.growthMethodDetails?.length) {
    infos = caps.growthMethodDetails.filter((m) => m.kind === kind).map((m) => ({ name: m.name, description: m.description }));
  } else {
    const names = kind === 'grow' ? (caps?.growthMethods ?? Object.keys(FALLBACK_METHOD_DESCRIPTIONS).filter((n) => !n.startsWith('prune-'))) : PRUNE_METHODS;
    infos = names.filter((n) => n !== 'none').map((name) => ({ name, description: FALLBACK_METHOD_DESCRIPTIONS[name] ?? '' }));
  }
  const items = infos.map((m) => ({
    label: METHOD_LABELS[m.name] ?? m.name,
    description: m.name,
    detail: firstLine(m.description),
    method: m.name,
  }));
  if (preferred) items.sort((a, b) => Number(b.method === preferred) - Number(a.method === preferred));
  return items;
}

function firstLine(s: string): string {
  const line = s.split('\n')[0].trim();
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}

export type Budget = { ratio: number } | { neurons: number };
export type BudgetParse = { ok: true; budget: Budget | undefined } | { ok: false; message: string };

/**
 * Parses the budget input: empty → the method's default; `50%` or a fraction such as `0.5` → a
 * growth (or prune) ratio; a whole number ≥ 1 such as `32` → a neuron count.
 * Prune ratios must be below 1 (100%); grow ratios at most 10 (1000%).
 */
export function parseBudget(input: string, kind: 'grow' | 'prune'): BudgetParse {
  const s = input.trim();
  if (s === '') return { ok: true, budget: undefined };
  const maxRatio = kind === 'prune' ? 1 : 10;
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(s);
  if (pct) {
    const ratio = Number(pct[1]) / 100;
    if (!(ratio > 0) || ratio > maxRatio || (kind === 'prune' && ratio >= 1)) return { ok: false, message: ratioRange(kind) };
    return { ok: true, budget: { ratio } };
  }
  if (!/^\d+(?:\.\d+)?$|^\.\d+$/.test(s)) {
    return { ok: false, message: 'Enter a ratio (e.g. 0.5 or 50%) or a neuron count (e.g. 32).' };
  }
  const n = Number(s);
  if (Number.isInteger(n) && !s.includes('.')) {
    if (n < 1) return { ok: false, message: 'The neuron count must be at least 1.' };
    if (n > 1_000_000) return { ok: false, message: 'The neuron count must be at most 1,000,000.' };
    return { ok: true, budget: { neurons: n } };
  }
  if (!(n > 0) || n > maxRatio || (kind === 'prune' && n >= 1)) return { ok: false, message: ratioRange(kind) };
  return { ok: true, budget: { ratio: n } };
}

function ratioRange(kind: 'grow' | 'prune'): string {
  return kind === 'prune'
    ? 'The prune ratio must be above 0 and below 1 (100%).'
    : 'The growth ratio must be above 0 and at most 10 (1000%).';
}

/** Runs a grow/prune may act on: live (running or paused) and not stale, newest first. */
export function growableRuns(summaries: readonly RunSummary[]): RunSummary[] {
  return summaries
    .filter((s) => (s.status === 'running' || s.status === 'paused') && !s.stale)
    .sort((a, b) => (b.startedAt > a.startedAt ? 1 : b.startedAt < a.startedAt ? -1 : 0));
}

/** Runs that `growthLab/resumeRun` can continue: failed or stopped (or stale), newest first. */
export function resumableRuns(summaries: readonly RunSummary[]): RunSummary[] {
  return summaries
    .filter((s) => s.status === 'failed' || s.status === 'stopped' || (s.stale && s.status !== 'completed'))
    .sort((a, b) => (b.startedAt > a.startedAt ? 1 : b.startedAt < a.startedAt ? -1 : 0));
}

// ---------------------------------------------------------------------------------------------
// New experiment
// ---------------------------------------------------------------------------------------------

export interface StartingModel {
  id: string;
  label: string;
  detail: string;
  /** Hidden layers as written in the file. */
  layers: Record<string, unknown>[];
}

export const STARTING_MODELS: readonly StartingModel[] = [
  { id: 'mlp-small', label: 'Small MLP', detail: 'one dense layer of 16 ReLU neurons (room to grow)', layers: [{ type: 'dense', units: 16, activation: 'relu' }] },
  { id: 'mlp', label: 'MLP', detail: 'two dense layers of 64 ReLU neurons', layers: [{ type: 'dense', units: 64, activation: 'relu' }, { type: 'dense', units: 64, activation: 'relu' }] },
  { id: 'mlp-tanh', label: 'Tanh MLP', detail: 'one dense layer of 16 tanh neurons (splitting methods need smooth activations)', layers: [{ type: 'dense', units: 16, activation: 'tanh' }] },
  { id: 'rbf', label: 'RBF network', detail: 'one dense layer of 10 RBF neurons (the Firefly paper toy network)', layers: [{ type: 'dense', units: 10, activation: 'rbf' }] },
  {
    id: 'cnn', label: 'Small CNN', detail: 'conv 8 → maxpool → conv 16 → maxpool → dense 32 (image datasets)',
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
};

export interface NewExperimentChoice {
  name: string;
  dataset: DatasetName;
  model: StartingModel;
  /** 'none': no scheduled growth. */
  method: string;
  /** Value of "$schema". */
  schemaUrl: string;
}

/** The text of a new `*.growth.json` (2-space JSON, trailing newline). */
export function newExperimentText(c: NewExperimentChoice): string {
  const dataset: Record<string, unknown> = { name: c.dataset };
  if (c.dataset === 'csv') { dataset.path = 'data.csv'; dataset.task = 'classification'; }
  const image = c.dataset === 'mnist' || c.dataset === 'fashion-mnist';
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

/** Continual-learning streams New Experiment offers (a custom stream needs its files: written by hand). */
export const CONTINUAL_STREAM_CHOICES: readonly { stream: Exclude<ContinualStreamName, 'custom'>; detail: string }[] = [
  { stream: 'split-mnist', detail: 'Continual learning: MNIST in 5 tasks of 2 digits; Firefly CL against fine-tuning, EWC, Progressive Networks, Individual' },
  { stream: 'split-fashion-mnist', detail: 'Continual learning: Fashion-MNIST in 5 tasks of 2 classes; the same five methods' },
  { stream: 'permuted-mnist', detail: 'Continual learning: 5 tasks of MNIST under seeded pixel permutations; the same five methods' },
];

/** The text of a new continual-learning `*.growth.json`: the stream and every method, other fields at their defaults. */
export function newContinualExperimentText(c: { name: string; stream: Exclude<ContinualStreamName, 'custom'>; schemaUrl: string }): string {
  const doc = {
    $schema: c.schemaUrl,
    name: c.name,
    continual: { stream: c.stream, methods: ['firefly-cl', 'finetune', 'ewc', 'progressive', 'individual'], trainPerTask: 4000, testPerTask: 1000, epochs: 4 },
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
