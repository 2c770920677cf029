/**
 * Which tensors change, and along which axis, when the neurons (channels) of one hidden layer are
 * rebuilt: the bookkeeping shared by resizing, function-preserving splits, pruning and the growth
 * methods' candidate networks.
 */
import type { Fill } from './init';
import { LayerSpec, ModelSpec, ModelSpecError, convGroups, hasProjection, layerShapes, layerWidth } from './spec';

/** A depthwise conv (one input channel per group, multiplier 1): its channels follow its input's. */
export function isDepthwise(l: LayerSpec, input: number[]): boolean {
  return l.type === 'conv2d' && convGroups(l) > 1 && convGroups(l) === input[0] && l.filters === input[0];
}

/**
 * - `in`: the layer's own incoming weights and bias (one slice per neuron);
 * - `state`: per-channel batch-norm parameters and statistics downstream;
 * - `through`: residual blocks downstream whose output width follows (their output weights and bias);
 * - `out`: fan-in rows of a layer that reads the neurons (a residual block's input weights, and the
 *   consuming dense/conv/output layer); `group` rows per neuron where channels are flattened.
 */
export type EditRole = 'in' | 'state' | 'through' | 'out';

export interface WidthEdit {
  name: string;
  axis: number;
  group: number;
  role: EditRole;
  /** How a brand-new neuron's slice starts. */
  fill: Fill;
}

/** Layers whose own width follows the edited one: depthwise convs and resblocks joined by an identity shortcut. */
export function widthFollowers(spec: ModelSpec, edits: WidthEdit[]): LayerSpec[] {
  const through = new Set(edits.filter((e) => e.role === 'through').map((e) => e.name));
  return spec.layers.filter(
    (l) => (l.type === 'conv2d' && through.has(`${l.id}/W`)) || (l.type === 'resblock' && through.has(`${l.id}/W2`)),
  );
}

/**
 * What a width change acts on: a hidden layer's neurons (by layer id or index), or, for a resblock
 * with a projection shortcut, its output channels (`<block id>/out`: the residual stream the block
 * starts, which the identity blocks after it share).
 */
export interface WidthTarget {
  index: number;
  layer: LayerSpec;
  /** The block's output channels rather than its hidden ones. */
  output: boolean;
}

export const OUTPUT_SUFFIX = '/out';

export function widthTarget(spec: ModelSpec, at: number | string): WidthTarget {
  if (typeof at === 'number') return { index: at, layer: spec.layers[at], output: false };
  const output = at.endsWith(OUTPUT_SUFFIX);
  const id = output ? at.slice(0, -OUTPUT_SUFFIX.length) : at;
  const index = spec.layers.findIndex((l) => l.id === id);
  if (index < 0) throw new ModelSpecError(`no layer "${id}" (layers: ${spec.layers.map((l) => l.id).join(', ')})`);
  const layer = spec.layers[index];
  if (output && layer.type !== 'resblock')
    throw new ModelSpecError(`"${at}": only a resblock has output channels apart from its width; "${id}" is a ${layer.type} layer`);
  return { index, layer, output };
}

/** The number of neurons (channels) a width target has. */
export function targetWidth(spec: ModelSpec, at: number | string): number | undefined {
  const t = widthTarget(spec, at);
  return t.output && t.layer.type === 'resblock' ? t.layer.filters : layerWidth(t.layer);
}

/** Why the width of hidden layer `index` (or a target id) cannot change, or undefined when it can. */
export function widthBlocker(spec: ModelSpec, index: number | string): string | undefined {
  try {
    widthEdits(spec, index);
    return undefined;
  } catch (e) {
    if (e instanceof ModelSpecError) return e.message;
    throw e;
  }
}

const e = (name: string, axis: number, role: EditRole, fill: Fill, group = 1): WidthEdit => ({ name, axis, group, role, fill });
const bnEdits = (prefix: string, suffix: string, role: EditRole, group = 1) => [
  e(`${prefix}/gamma${suffix}`, 0, role, 'one', group),
  e(`${prefix}/beta${suffix}`, 0, role, 'zero', group),
  e(`${prefix}/mean${suffix}`, 0, role, 'zero', group),
  e(`${prefix}/var${suffix}`, 0, role, 'one', group),
];

export function widthEdits(spec: ModelSpec, at: number | string): WidthEdit[] {
  const { index, layer, output } = widthTarget(spec, at);
  const shapes = layerShapes(spec);
  const id = layer.id;
  if (layer.type === 'resblock' && output) {
    if (!hasProjection(layer, shapes.inputs[index]))
      throw new ModelSpecError(
        `resblock "${id}" has an identity shortcut: its output channels are its input's; widen the layer that starts its stage (the projection block or conv2d before it)`,
      );
    // The stream this block starts: both paths into the sum grow together (conv2 + BN2 rows and the
    // projection conv + BN rows, a split channel copied in both, so the sum is copied too), then every
    // identity block after it follows, up to the next consumer.
    const edits = [
      e(`${id}/W2`, 0, 'in', 'kernel'),
      ...bnEdits(id, '2', 'state'),
      e(`${id}/Ws`, 0, 'in', 'kernel'),
      ...bnEdits(id, 's', 'state'),
    ];
    return downstream(spec, index, edits);
  }
  if (layer.type === 'resblock') {
    // The hidden channels between the block's two convolutions (its output is tied to its shortcut).
    return [e(`${id}/W1`, 0, 'in', 'kernel'), ...bnEdits(id, '1', 'state'), e(`${id}/W2`, 1, 'out', 'zero')];
  }
  if (layer.type === 'conv2d' && convGroups(layer) > 1) {
    throw new ModelSpecError(
      `layer "${id}" is a grouped conv2d (groups ${convGroups(layer)}): its channels are tied to its input's groups, so they cannot be split or added on their own; widen the layer before it`,
    );
  }
  if (layer.type === 'residual') {
    const image = shapes.inputs[index].length === 3;
    return [e(`${id}/W1`, image ? 0 : 1, 'in', 'kernel'), e(`${id}/b1`, 0, 'in', 'zero'), e(`${id}/W2`, image ? 1 : 0, 'out', 'zero')];
  }
  if (layer.type !== 'dense' && layer.type !== 'conv2d') throw new ModelSpecError(`layer "${id}" (${layer.type}) has no width to change`);
  const edits = [e(`${id}/W`, layer.type === 'dense' ? 1 : 0, 'in', 'kernel'), e(`${id}/b`, 0, 'in', 'zero')];
  if (layer.type === 'conv2d' && layer.batchNorm) edits.push(...bnEdits(id, '', 'state'));
  return downstream(spec, index, edits);
}

/** The edits after layer `index` whose output channels change: followers up to and including the consumer. */
function downstream(spec: ModelSpec, index: number, edits: WidthEdit[]): WidthEdit[] {
  const id = spec.layers[index].id;
  const shapes = layerShapes(spec);
  let group = 1;
  for (let k = index + 1; k < spec.layers.length; k++) {
    const l = spec.layers[k];
    const input = shapes.inputs[k];
    const image = input.length === 3;
    switch (l.type) {
      case 'batchnorm':
        edits.push(e(`${l.id}/gamma`, 0, 'state', 'one', group), e(`${l.id}/beta`, 0, 'state', 'zero', group));
        edits.push(e(`${l.id}/mean`, 0, 'state', 'zero', group), e(`${l.id}/var`, 0, 'state', 'one', group));
        continue;
      case 'maxpool':
      case 'avgpool':
      case 'globalavgpool':
        continue;
      case 'flatten':
        if (image) group *= input[1] * input[2];
        continue;
      case 'residual':
        edits.push(e(`${l.id}/W1`, image ? 1 : 0, 'out', 'zero', group));
        edits.push(e(`${l.id}/W2`, image ? 0 : 1, 'through', 'zero', group), e(`${l.id}/b2`, 0, 'through', 'zero', group));
        continue;
      case 'dense':
        edits.push(e(`${l.id}/W`, 0, 'out', 'zero', image ? group * input[1] * input[2] : group));
        return edits;
      case 'conv2d':
        if (isDepthwise(l, input)) {
          // Each channel has its own depthwise filter: copies copy it, new channels draw one.
          edits.push(e(`${l.id}/W`, 0, 'through', 'kernel', group), e(`${l.id}/b`, 0, 'through', 'zero', group));
          if (l.batchNorm) edits.push(...bnEdits(l.id, '', 'state', group));
          continue;
        }
        if (convGroups(l) > 1)
          throw new ModelSpecError(
            `layer "${id}" feeds the grouped conv2d "${l.id}" (groups ${convGroups(l)}), whose groups fix its input channels`,
          );
        edits.push(e(`${l.id}/W`, 1, 'out', 'zero', group));
        return edits;
      case 'resblock':
        if (!hasProjection(l, input)) {
          // An identity shortcut joins the channels: the block's output channels grow with them (its
          // second conv's rows and BN follow, copied or drawn), its first conv reads them (fan-in).
          edits.push(
            e(`${l.id}/W1`, 1, 'out', 'zero', group),
            e(`${l.id}/W2`, 0, 'through', 'kernel', group),
            ...bnEdits(l.id, '2', 'state', group),
          );
          continue;
        }
        edits.push(e(`${l.id}/Ws`, 1, 'out', 'zero', group), e(`${l.id}/W1`, 1, 'out', 'zero', group));
        return edits;
    }
  }
  const last = shapes.outputs[shapes.outputs.length - 1] ?? spec.inputShape;
  edits.push(e('output/W', 0, 'out', 'zero', last.length === 3 ? group * last[1] * last[2] : group));
  return edits;
}
