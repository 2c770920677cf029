/**
 * The defaults that depend on other fields. Every other default is a `default` in
 * experiment.schema.json; this table holds only what one `default` cannot say.
 */
import type { DatasetName, LayerConfig, OptimizerName } from '../../common/protocol';
import type { ConfigPath } from './format';
import { schemaAt } from './schema';

/** model.layers when absent, by dataset.name. */
export const DEFAULT_LAYERS_BY_DATASET: Readonly<Record<DatasetName, readonly LayerConfig[]>> = {
  mnist: [{ type: 'dense', units: 256, activation: 'relu' }],
  'fashion-mnist': [{ type: 'dense', units: 256, activation: 'relu' }],
  'rbf-toy': [{ type: 'dense', units: 10, activation: 'rbf' }],
  csv: [{ type: 'dense', units: 64, activation: 'relu' }],
  'cifar-10': [{ type: 'dense', units: 256, activation: 'relu' }],
  'cifar-100': [{ type: 'dense', units: 256, activation: 'relu' }],
  svhn: [{ type: 'dense', units: 256, activation: 'relu' }],
  npz: [{ type: 'dense', units: 256, activation: 'relu' }],
  'image-folder': [{ type: 'dense', units: 256, activation: 'relu' }],
};

/** training.learningRate when absent, by training.optimizer (others: the schema's default). */
export const DEFAULT_LEARNING_RATE_BY_OPTIMIZER: Readonly<Partial<Record<OptimizerName, number>>> = {
  adam: 0.001,
  adamw: 0.001,
};

interface DependentDefault {
  path: readonly string[];
  dependsOn: readonly string[];
  values: Readonly<Record<string, unknown>>;
}

const DEPENDENT_DEFAULTS: readonly DependentDefault[] = [
  { path: ['model', 'layers'], dependsOn: ['dataset', 'name'], values: DEFAULT_LAYERS_BY_DATASET },
  { path: ['training', 'learningRate'], dependsOn: ['training', 'optimizer'], values: DEFAULT_LEARNING_RATE_BY_OPTIMIZER },
];

/**
 * dataset when absent in a continual experiment: the stream's dataset (custom streams: the first
 * task's), so a continual experiment needs no dataset field of its own.
 */
export const DATASET_BY_CONTINUAL_STREAM: Readonly<Record<string, { name: DatasetName }>> = {
  'split-mnist': { name: 'mnist' },
  'permuted-mnist': { name: 'mnist' },
  'split-fashion-mnist': { name: 'fashion-mnist' },
  'split-cifar-100': { name: 'cifar-100' },
};

/**
 * continual.conv when model is conv and conv is absent: for split-cifar-100 the paper's thin VGG-16
 * (Firefly §3 "Continual Learning": VGG-16 without its fully connected layers; here its 13 conv layers
 * at a quarter of their widths, a 2×2 max pool after each block: thinVgg16([3, 32, 32], 0.25) in
 * server/continual/convTrunk.ts, which a test checks); for the other streams repro:cl's conv net 8-16.
 */
export const CONTINUAL_CONV_BY_STREAM: Readonly<Record<string, { channels: readonly number[]; pool: readonly boolean[] }>> = {
  'split-cifar-100': {
    channels: [16, 16, 32, 32, 64, 64, 64, 128, 128, 128, 128, 128, 128],
    pool: [false, true, false, true, false, false, true, false, false, true, false, false, true],
  },
};
/** continual.conv for a conv model on the other streams (repro:cl's conv net 8-16). */
export const DEFAULT_CONTINUAL_CONV = { channels: [8, 16], pool: [true, true] } as const;

/** continual.model / classOrder when absent, by continual.stream (others: the schema's defaults). */
const CONTINUAL_MODEL_BY_STREAM: Readonly<Record<string, string>> = { 'split-cifar-100': 'conv' };
const CONTINUAL_CLASS_ORDER_BY_STREAM: Readonly<Record<string, string>> = { 'split-cifar-100': 'shuffled' };

function continualDataset(input: unknown): unknown {
  const c = valueAt(input, ['continual']);
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return undefined;
  const stream = (c as Record<string, unknown>).stream;
  if (stream === 'custom') {
    const first = (c as Record<string, unknown>).datasets;
    return Array.isArray(first) && typeof first[0] === 'object' && first[0] !== null ? structuredClone(first[0]) : undefined;
  }
  if (stream === 'split-cifar-100') {
    // The stream's folder; without one (an error names continual.path) the dataset is left to its default.
    const p = (c as Record<string, unknown>).path;
    return typeof p === 'string' && p.trim() !== '' ? { name: 'cifar-100', path: p } : undefined;
  }
  return typeof stream === 'string' && hasOwn(DATASET_BY_CONTINUAL_STREAM, stream)
    ? structuredClone(DATASET_BY_CONTINUAL_STREAM[stream])
    : undefined;
}

/** Defaults inside `continual` that follow its stream (model, conv, classOrder) and conv.channels (conv.pool). */
function continualDefault(input: unknown, path: ConfigPath): unknown {
  const c = valueAt(input, ['continual']);
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return undefined;
  const cont = c as Record<string, unknown>;
  const stream = typeof cont.stream === 'string' ? cont.stream : '';
  if (samePath(path, ['continual', 'model']))
    return hasOwn(CONTINUAL_MODEL_BY_STREAM, stream) ? CONTINUAL_MODEL_BY_STREAM[stream] : undefined;
  if (samePath(path, ['continual', 'classOrder']))
    return hasOwn(CONTINUAL_CLASS_ORDER_BY_STREAM, stream) ? CONTINUAL_CLASS_ORDER_BY_STREAM[stream] : undefined;
  if (samePath(path, ['continual', 'conv'])) {
    const model =
      cont.model ??
      (hasOwn(CONTINUAL_MODEL_BY_STREAM, stream) ? CONTINUAL_MODEL_BY_STREAM[stream] : schemaAt(['continual', 'model'])?.default);
    if (model !== 'conv') return undefined;
    return structuredClone(hasOwn(CONTINUAL_CONV_BY_STREAM, stream) ? CONTINUAL_CONV_BY_STREAM[stream] : DEFAULT_CONTINUAL_CONV);
  }
  if (samePath(path, ['continual', 'conv', 'pool'])) {
    const channels = valueAt(input, ['continual', 'conv', 'channels']);
    return Array.isArray(channels) && channels.length > 0 ? channels.map(() => true) : undefined;
  }
  return undefined;
}

export interface DefaultOptions {
  /** Default experiment name, usually the file's base name (see experimentNameFromPath). */
  name?: string;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function valueAt(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const samePath = (a: ConfigPath, b: readonly string[]): boolean => a.length === b.length && a.every((s, i) => s === b[i]);

/**
 * The walker's `contextualDefault` for one input: the caller's name, and the table above (looking
 * the deciding field up in the input, or its schema default when absent).
 */
export function contextualDefaults(input: unknown, options: DefaultOptions = {}): (path: ConfigPath) => unknown {
  const dataset = valueAt(input, ['dataset']) === undefined ? continualDataset(input) : undefined;
  const effective = dataset !== undefined ? { ...(input as object), dataset } : input;
  return (path) => {
    if (samePath(path, ['name'])) return defaultName(options.name);
    if (samePath(path, ['dataset'])) return dataset;
    if (path[0] === 'continual') return continualDefault(input, path);
    for (const d of DEPENDENT_DEFAULTS) {
      if (!samePath(path, d.path)) continue;
      const key = valueAt(effective, d.dependsOn) ?? schemaAt(d.dependsOn)?.default;
      return typeof key === 'string' && hasOwn(d.values, key) ? structuredClone(d.values[key]) : undefined;
    }
    return undefined;
  };
}

/** The caller's name, cut to the schema's maxLength; undefined (the schema default) when unusable. */
function defaultName(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '') return undefined;
  const max = schemaAt(['name'])?.maxLength;
  return max !== undefined ? name.slice(0, max) : name;
}

/** `runs/mnist-mlp.growth.json` → `mnist-mlp` (also strips a plain `.json`); works on / and \ paths. */
export function experimentNameFromPath(filePath: string): string {
  const base = filePath.split(/[\\/]/).pop() ?? '';
  return base.replace(/\.growth\.json$/i, '').replace(/\.jsonc?$/i, '');
}
