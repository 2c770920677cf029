/** The explicit network description: input shape, hidden layers with ids, and the output layer. */
import type { Activation, Architecture, InitMethod, LayerConfig, LayerSummary, ModelConfig } from '../../common/protocol';
import { expandPreset } from './presets';

/** A hidden layer with its id; `block`: the preset block it belongs to (shown grouped by the monitor). */
export type LayerSpec = LayerConfig & { id: string; block?: string };

/** Batch norm inside conv2d (`batchNorm`) and resblock layers: PyTorch's BatchNorm2d defaults (ResNet, He et al. 2016). */
export const CONV_BN = { momentum: 0.9, epsilon: 1e-5 } as const;

/** Input channels per group of a conv2d (its kernel's second axis). */
export function convGroups(l: LayerSpec): number {
  return l.type === 'conv2d' ? (l.groups ?? 1) : 1;
}

/** A resblock's hidden channels. */
export const resUnits = (l: LayerSpec & { type: 'resblock' }): number => l.units ?? l.filters;
/** Whether a resblock's shortcut is a strided 1x1 projection (the shape changes) rather than the identity. */
export const hasProjection = (l: LayerSpec & { type: 'resblock' }, input: number[]): boolean => l.stride !== 1 || input[0] !== l.filters;
const BN_LEAVES = ['gamma', 'beta', 'mean', 'var'];
export interface OutputSpec {
  id: 'output';
  units: number;
}

export interface ModelSpec {
  /** Per-example input shape: [C, H, W] for images, [F] for feature vectors. */
  inputShape: number[];
  task: 'classification' | 'regression';
  layers: LayerSpec[];
  output: OutputSpec;
  /** How new weights are drawn (at the start, and for neurons added by growth). */
  init: InitMethod;
}

export class ModelSpecError extends Error {}

export function specFromConfig(model: ModelConfig, inputShape: number[], task: ModelSpec['task'], outputSize: number): ModelSpec {
  const counters: Record<string, number> = {};
  let source: (LayerConfig & { block?: string })[] = model.layers;
  if (model.preset) {
    try {
      source = expandPreset(model, inputShape);
    } catch (e) {
      throw new ModelSpecError(e instanceof Error ? e.message : String(e));
    }
  }
  const layers = source.map((l) => {
    counters[l.type] = (counters[l.type] ?? 0) + 1;
    return { ...l, id: `${l.type}_${counters[l.type]}` } as LayerSpec;
  });
  const spec: ModelSpec = {
    inputShape: [...inputShape],
    task,
    layers,
    output: { id: 'output', units: outputSize },
    init: typeof model.init === 'string' ? model.init : 'he',
  };
  layerShapes(spec); // validates
  return spec;
}

/** A fresh id for a new layer of a type, unique within the spec. */
export function freshLayerId(spec: ModelSpec, type: string): string {
  let i = 1;
  while (spec.layers.some((l) => l.id === `${type}_${i}`)) i++;
  return `${type}_${i}`;
}

export const flatSize = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function samePads(k: number): [number, number] {
  return [Math.floor((k - 1) / 2), Math.ceil((k - 1) / 2)];
}

/** Input shape a layer sees after the implicit flatten that dense layers apply to images. */
export function denseInput(shape: number[]): number {
  return flatSize(shape);
}

/** Output shape (per example) of one layer given its input shape; throws ModelSpecError on a mismatch. */
export function layerOutputShape(l: LayerSpec, s: number[]): number[] {
  switch (l.type) {
    case 'dense':
      return [l.units];
    case 'conv2d': {
      if (s.length !== 3) throw new ModelSpecError(`${l.id}: conv2d needs an image input [C, H, W], got [${s.join(', ')}]`);
      const g = convGroups(l);
      if (!Number.isInteger(g) || g < 1 || s[0] % g || l.filters % g)
        throw new ModelSpecError(`${l.id}: groups ${g} must divide its ${s[0]} input channels and its ${l.filters} filters`);
      const [pb, pe] = l.padding === 'same' ? samePads(l.kernelSize) : [0, 0];
      const out = (d: number) => Math.floor((d + pb + pe - l.kernelSize) / l.stride) + 1;
      const [h, w] = [out(s[1]), out(s[2])];
      if (h < 1 || w < 1) throw new ModelSpecError(`${l.id}: kernel ${l.kernelSize} is larger than its input ${s[1]}x${s[2]}`);
      return [l.filters, h, w];
    }
    case 'maxpool':
    case 'avgpool': {
      if (s.length !== 3) throw new ModelSpecError(`${l.id}: ${l.type} needs an image input [C, H, W], got [${s.join(', ')}]`);
      if (s[1] < l.size || s[2] < l.size) throw new ModelSpecError(`${l.id}: window ${l.size} is larger than its input ${s[1]}x${s[2]}`);
      return [s[0], Math.floor(s[1] / l.size), Math.floor(s[2] / l.size)];
    }
    case 'globalavgpool':
      if (s.length !== 3) throw new ModelSpecError(`${l.id}: globalavgpool needs an image input [C, H, W], got [${s.join(', ')}]`);
      return [s[0]];
    case 'flatten':
      return [flatSize(s)];
    case 'batchnorm':
    case 'residual':
      return [...s];
    case 'resblock': {
      if (s.length !== 3) throw new ModelSpecError(`${l.id}: resblock needs an image input [C, H, W], got [${s.join(', ')}]`);
      const out = (d: number) => Math.floor((d - 1) / l.stride) + 1; // 3x3, padding 1
      return [l.filters, out(s[1]), out(s[2])];
    }
  }
}

/** Input and output shapes of every hidden layer, then the output layer's input size. */
export function layerShapes(spec: ModelSpec): { inputs: number[][]; outputs: number[][]; outputInput: number } {
  const inputs: number[][] = [],
    outputs: number[][] = [];
  let s = spec.inputShape;
  for (const l of spec.layers) {
    inputs.push(s);
    s = layerOutputShape(l, s);
    outputs.push(s);
  }
  return { inputs, outputs, outputInput: flatSize(s) };
}

/** Number of neurons (dense, residual hidden) or channels (conv2d) of a layer; undefined if width-free. */
export function layerWidth(l: LayerSpec): number | undefined {
  if (l.type === 'dense' || l.type === 'residual') return l.units;
  if (l.type === 'resblock') return resUnits(l);
  if (l.type === 'conv2d') return l.filters;
  return undefined;
}

/** Parameter shapes of one layer (trainable ones, then state ones, flagged). */
export function layerParamShapes(l: LayerSpec, input: number[]): { name: string; shape: number[]; trainable: boolean }[] {
  const p = (n: string, shape: number[], trainable = true) => ({ name: `${l.id}/${n}`, shape, trainable });
  const bn = (c: number, suffix = '') => BN_LEAVES.map((leaf, i) => p(`${leaf}${suffix}`, [c], i < 2));
  switch (l.type) {
    case 'dense':
      return [p('W', [denseInput(input), l.units]), p('b', [l.units])];
    case 'conv2d': {
      const conv = [p('W', [l.filters, input[0] / convGroups(l), l.kernelSize, l.kernelSize]), p('b', [l.filters])];
      return l.batchNorm ? [...conv, ...bn(l.filters)] : conv;
    }
    case 'resblock': {
      const u = resUnits(l);
      const main = [p('W1', [u, input[0], 3, 3]), ...bn(u, '1'), p('W2', [l.filters, u, 3, 3]), ...bn(l.filters, '2')];
      return hasProjection(l, input) ? [...main, p('Ws', [l.filters, input[0], 1, 1]), ...bn(l.filters, 's')] : main;
    }
    case 'residual':
      if (input.length === 1) return [p('W1', [input[0], l.units]), p('b1', [l.units]), p('W2', [l.units, input[0]]), p('b2', [input[0]])];
      return [p('W1', [l.units, input[0], 3, 3]), p('b1', [l.units]), p('W2', [input[0], l.units, 3, 3]), p('b2', [input[0]])];
    case 'batchnorm':
      return [p('gamma', [input[0]]), p('beta', [input[0]]), p('mean', [input[0]], false), p('var', [input[0]], false)];
    default:
      return [];
  }
}

export function outputParamShapes(spec: ModelSpec, outputInput: number) {
  return [
    { name: 'output/W', shape: [outputInput, spec.output.units], trainable: true },
    { name: 'output/b', shape: [spec.output.units], trainable: true },
  ];
}

/** Every parameter of the model in a fixed order. */
export function allParamShapes(spec: ModelSpec): { name: string; shape: number[]; trainable: boolean }[] {
  const { inputs, outputInput } = layerShapes(spec);
  return [...spec.layers.flatMap((l, i) => layerParamShapes(l, inputs[i])), ...outputParamShapes(spec, outputInput)];
}

function layerFlops(l: LayerSpec, input: number[], output: number[]): number {
  switch (l.type) {
    case 'dense':
      return denseInput(input) * l.units;
    case 'conv2d':
      return (l.filters * input[0] * l.kernelSize * l.kernelSize * output[1] * output[2]) / convGroups(l);
    case 'resblock': {
      const p = output[1] * output[2];
      return 9 * p * resUnits(l) * (input[0] + l.filters) + (hasProjection(l, input) ? p * l.filters * input[0] : 0);
    }
    case 'residual':
      return input.length === 1 ? 2 * input[0] * l.units : 2 * 9 * input[0] * l.units * input[1] * input[2];
    case 'batchnorm':
      return 2 * flatSize(input);
    default:
      return 0;
  }
}

export function architectureOf(spec: ModelSpec): Architecture {
  const { inputs, outputs, outputInput } = layerShapes(spec);
  const layers: LayerSummary[] = spec.layers.map((l, i) => {
    const params = layerParamShapes(l, inputs[i])
      .filter((p) => p.trainable)
      .reduce((a, p) => a + flatSize(p.shape), 0);
    const activation = 'activation' in l ? (l.activation as Activation) : undefined;
    return {
      id: l.id,
      index: i,
      type: l.type,
      width: layerWidth(l),
      activation,
      inputShape: inputs[i],
      outputShape: outputs[i],
      params,
      flops: layerFlops(l, inputs[i], outputs[i]),
      ...(l.block ? { block: l.block } : {}),
    };
  });
  const outParams = outputInput * spec.output.units + spec.output.units;
  layers.push({
    id: 'output',
    index: spec.layers.length,
    type: 'output',
    width: spec.output.units,
    activation: 'linear',
    inputShape: [outputInput],
    outputShape: [spec.output.units],
    params: outParams,
    flops: outputInput * spec.output.units,
  });
  return {
    inputShape: [...spec.inputShape],
    outputSize: spec.output.units,
    layers,
    params: layers.reduce((a, l) => a + l.params, 0),
    flops: layers.reduce((a, l) => a + l.flops, 0),
  };
}

/**
 * Copies of each activation value held per example in a training step: forward value, pre-activation,
 * and their gradients, plus the engine's workspace and arena rounding. Measured: the peak RSS of an
 * MNIST run with one conv2d (64 filters, same, relu) grew 6.06 × (its output bytes) per extra example of
 * batch size (batch 64 → 1000: +1,138 MB); docs/reliability.md, "Activation memory".
 */
export const ACTIVATION_TRAIN_FACTOR = 6;
/** The same for an evaluation batch (forward only: pre-activation and activation). */
export const ACTIVATION_EVAL_FACTOR = 2;
/** Extra activation memory of a conv layer with batch norm (and of a resblock's BN convs), relative to without. */
export const BN_ACTIVATION_FACTOR = 1.6;

export interface ActivationEstimate {
  /** Estimated bytes of activations of the largest step (training at `batchSize` or evaluating at `evalBatch`). */
  bytes: number;
  /** The layer with the most activation bytes (`input` for the input batch, `output` for the logits). */
  largest: { id: string; bytes: number };
  /** Per layer, in order: input, hidden layers, output. */
  layers: { id: string; bytes: number }[];
}

/**
 * Activation memory of one step, from the architecture alone (no engine, no allocation): for every
 * layer its output elements × 4 bytes × max(batchSize × ACTIVATION_TRAIN_FACTOR, evalBatch ×
 * ACTIVATION_EVAL_FACTOR) (a residual block adds its hidden tensor, a flatten nothing); the input batch
 * counts once. Used to refuse runs and grows that cannot fit (growthLab.maxActivationMemoryMB) before the
 * OS kills the backend.
 */
export function estimateActivationMemory(spec: ModelSpec, batchSize: number, evalBatch = 0): ActivationEstimate {
  const { outputs } = layerShapes(spec);
  const copies = Math.max(batchSize * ACTIVATION_TRAIN_FACTOR, evalBatch * ACTIVATION_EVAL_FACTOR);
  const layers = [{ id: 'input', bytes: flatSize(spec.inputShape) * Math.max(batchSize, evalBatch) * 4 }];
  spec.layers.forEach((l, i) => {
    // flatten is a reshape (a view, no new buffer in either engine)
    let elements = l.type === 'flatten' ? 0 : flatSize(outputs[i]);
    if (l.type === 'residual') elements += outputs[i].length === 1 ? l.units : l.units * outputs[i][1] * outputs[i][2];
    if (l.type === 'resblock') elements += (2 * resUnits(l) + l.filters) * outputs[i][1] * outputs[i][2];
    // Batch norm keeps its centred and normalised copies for the backward pass: measured, a VGG-style
    // net (conv 64-64-pool-128-128-pool-256-256-pool, batch 128) peaked 1.59x higher with batchNorm
    // (2,694 MB vs 1,739 MB RSS; docs/architectures.md).
    if ((l.type === 'conv2d' && l.batchNorm) || l.type === 'resblock') elements = Math.ceil(elements * BN_ACTIVATION_FACTOR);
    layers.push({ id: l.id, bytes: elements * 4 * copies });
  });
  layers.push({ id: 'output', bytes: spec.output.units * 4 * copies });
  const largest = layers.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  return { bytes: layers.reduce((a, b) => a + b.bytes, 0), largest, layers };
}

/** growthLab.maxActivationMemoryMB when unset or 0: half of the machine's memory. */
export function defaultMaxActivationMemoryMB(totalMemBytes: number): number {
  return Math.floor(totalMemBytes / 2 / (1024 * 1024));
}

/** Why `spec` at `batchSize` does not fit in `limitMB` of activations, or undefined when it fits. */
export function activationMemoryProblem(spec: ModelSpec, batchSize: number, evalBatch: number, limitMB: number): string | undefined {
  const e = estimateActivationMemory(spec, batchSize, evalBatch);
  const mb = (b: number) => Math.ceil(b / (1024 * 1024)).toLocaleString('en-US');
  if (e.bytes <= limitMB * 1024 * 1024) return undefined;
  return `needs about ${mb(e.bytes)} MB of activations at batch size ${batchSize} (layer ${e.largest.id} alone ${mb(e.largest.bytes)} MB), more than growthLab.maxActivationMemoryMB (${limitMB.toLocaleString('en-US')} MB); lower training.batchSize, make the layer smaller, or raise the setting`;
}
