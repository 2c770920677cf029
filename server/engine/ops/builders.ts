/**
 * The graph builders: one function per op that adds a node to a value's graph (`graph.apply1`),
 * and the helpers the VJP rules share. The ops' declarations (shape rule, ONNX emission, VJP,
 * tfjs interpretation: the defineOp blocks in the sibling modules) build their gradients from
 * these, so the op modules import this one and never each other. This module imports only the
 * graph and shape/type utilities: an op is looked up in the registry when a node is added, so the
 * op modules must have been loaded by then (ops/index.ts loads them all).
 */
import type { Value } from '../graph';
import { normAxis } from '../shapes';
import { DType, Shape, hostTensor } from '../types';

// ---- helpers shared by the VJP rules --------------------------------------------------------------

/** A scalar constant of x's dtype (broadcasts against anything). */
export function scalarLike(x: Value, v: number): Value {
  if (x.dtype === 'int64') return x.graph.constant({ dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(v)) });
  if (x.dtype === 'bool') throw new Error('scalarLike: no numeric scalar of type bool');
  return x.graph.constant(hostTensor(x.dtype, [], [v]));
}

/** Sum a broadcast cotangent back to an operand's shape. */
export function sumToShape(g: Value, shape: Shape): Value {
  const r = g.rank;
  const lead = r - shape.length;
  if (lead < 0) throw new Error(`sumToShape: cotangent rank ${r} below target rank ${shape.length}`);
  const axes: number[] = [];
  for (let i = 0; i < r; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
    else if (shape[i - lead] !== g.shape[i]) throw new Error(`sumToShape: cannot reduce [${g.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  if (axes.length === 0) return g;
  const summed = reduceSum(g, axes, true);
  return lead > 0 ? reshape(summed, shape) : summed;
}

// ---- element-wise (ops/elementwise.ts) ------------------------------------------------------------

/** A broadcasting binary op; a number operand becomes a scalar of the other's dtype. */
function binary(name: string) {
  return (a: Value, b: Value | number): Value => {
    const bv = typeof b === 'number' ? scalarLike(a, b) : b;
    return a.graph.apply1(name, [a, bv]);
  };
}

export const add = binary('Add');
export const sub = binary('Sub');
export const mul = binary('Mul');
export const div = binary('Div');
export const pow = binary('Pow');
export const neg = (x: Value): Value => x.graph.apply1('Neg', [x]);
export const relu = (x: Value): Value => x.graph.apply1('Relu', [x]);
export const leakyRelu = (x: Value, alpha = 0.01): Value => x.graph.apply1('LeakyRelu', [x], { alpha });
export const tanh = (x: Value): Value => x.graph.apply1('Tanh', [x]);
export const sigmoid = (x: Value): Value => x.graph.apply1('Sigmoid', [x]);
export const exp = (x: Value): Value => x.graph.apply1('Exp', [x]);
export const log = (x: Value): Value => x.graph.apply1('Log', [x]);
export const sqrt = (x: Value): Value => x.graph.apply1('Sqrt', [x]);

// ---- comparisons, selection, casts (ops/logic.ts) ----------------------------------------------

function comparison(name: 'Greater' | 'Equal') {
  return (a: Value, b: Value | number): Value => a.graph.apply1(name, [a, typeof b === 'number' ? scalarLike(a, b) : b]);
}

export const greater = comparison('Greater');
export const equal = comparison('Equal');
export const where = (c: Value, a: Value, b: Value): Value => c.graph.apply1('Where', [c, a, b]);
export const cast = (x: Value, to: DType): Value => (x.dtype === to ? x : x.graph.apply1('Cast', [x], { to }));

// ---- reductions (ops/reduce.ts) -------------------------------------------------------------------

function reduceBuilder(op: string) {
  return (x: Value, axes: number[], keepdims = false): Value =>
    x.graph.apply1(op, [x], { axes: [...new Set(axes.map((a) => normAxis(a, x.rank)))].sort((p, q) => p - q), keepdims });
}
export const reduceSum = reduceBuilder('ReduceSum');
export const reduceMean = reduceBuilder('ReduceMean');

// ---- shape manipulation (ops/shape.ts) ------------------------------------------------------------

export const reshape = (x: Value, shape: Shape): Value => x.graph.apply1('Reshape', [x], { shape: [...shape] });
export const transpose = (x: Value, perm: number[]): Value => x.graph.apply1('Transpose', [x], { perm });
export const concat = (xs: Value[], axis: number): Value => xs[0].graph.apply1('Concat', xs, { axis: normAxis(axis, xs[0].rank) });
export const slice = (x: Value, starts: number[], ends: number[], axes: number[]): Value =>
  x.graph.apply1('Slice', [x], { starts, ends, axes: axes.map((a) => normAxis(a, x.rank)) });
export const pad = (x: Value, pads: number[], value = 0): Value => x.graph.apply1('Pad', [x], { pads, value });
export const shapeOf = (x: Value): Value => x.graph.apply1('Shape', [x]);
/** x [A, B, H, W] -> [A, b, b, B, H/b, W/b]: the b x b stride phases of the map (ops/shape.ts). */
export const stridePhases = (x: Value, block: number): Value => x.graph.apply1('StridePhases', [x], { block });

/** Gather with constant indices (the common case in graphs: picking shape entries). */
export function gather(data: Value, indices: number[] | Value, axis = 0): Value {
  const idx = Array.isArray(indices) ? data.graph.constant(hostTensor('int64', [indices.length], indices)) : indices;
  return data.graph.apply1('Gather', [data, idx], { axis: normAxis(axis, data.rank) });
}

/** Broadcast x to ref's shape (ref may have the symbolic batch dimension). */
export function expandAs(x: Value, ref: Value): Value {
  return expandTo(x, ref.shape, ref);
}
/** Broadcast x to a shape; a symbolic batch dimension is read from `ref` at run time. */
export function expandTo(x: Value, shape: Shape, ref?: Value): Value {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  const dynamic = shape.includes('N');
  if (dynamic && !ref) throw new Error('expandTo: a shape with the batch dimension needs a reference value');
  const s = dynamic ? shapeOf(ref!) : x.graph.constant(hostTensor('int64', [shape.length], shape as number[]));
  return x.graph.apply1('Expand', [x, s], { to: [...shape] });
}

// ---- matrix products (ops/matmul.ts) --------------------------------------------------------------

export const matmul = (a: Value, b: Value): Value => a.graph.apply1('MatMul', [a, b]);
/** x [A, ...R] times y [B, ...R] over all trailing axes: [A, B] (one GEMM, the batch folded into the inner dimension). */
export const foldedMatmul = (x: Value, y: Value): Value => x.graph.apply1('FoldedMatMul', [x, y]);
/** Transpose of the last two axes (each matrix of a batch). */
export const swapLast = (x: Value): Value => transpose(x, x.rank === 2 ? [1, 0] : [0, 2, 1]);

// ---- neural-network ops (ops/nn.ts) -------------------------------------------------------------

export const softmax = (x: Value, axis = -1): Value => x.graph.apply1('Softmax', [x], { axis: normAxis(axis, x.rank) });
export const logSoftmax = (x: Value, axis = -1): Value => x.graph.apply1('LogSoftmax', [x], { axis: normAxis(axis, x.rank) });

/** Convolution attributes (NCHW, as ONNX): strides and dilations per spatial axis, pads [top, left, bottom, right]. */
export interface ConvAttrs {
  strides: number[];
  pads: number[];
  dilations: number[];
  /** Conv only: input and output channels in `groups` groups (depthwise: groups = channels); absent = 1. */
  groups?: number;
}
export interface ConvTAttrs extends ConvAttrs {
  outputPadding: number[];
}

export function conv(x: Value, w: Value, opts: Partial<ConvAttrs> = {}): Value {
  return x.graph.apply1('Conv', [x, w], {
    strides: opts.strides ?? [1, 1],
    pads: opts.pads ?? [0, 0, 0, 0],
    dilations: opts.dilations ?? [1, 1],
    ...((opts.groups ?? 1) > 1 ? { groups: opts.groups } : {}),
  });
}

/**
 * dW of a stride-1, dilation-1, ungrouped convolution of `x` [N, C, H, W] whose output cotangent is
 * `g` [N, O, OH, OW]: [O, C, kh, kw] (op ConvWeightGradient, which an executor may run on a host kernel).
 */
export function convWeightGradient(x: Value, g: Value, kernel: [number, number], pads: number[]): Value {
  return x.graph.apply1('ConvWeightGradient', [x, g], { kernel, pads });
}

export function convTranspose(x: Value, w: Value, opts: Partial<ConvTAttrs> = {}): Value {
  return x.graph.apply1('ConvTranspose', [x, w], {
    strides: opts.strides ?? [1, 1],
    pads: opts.pads ?? [0, 0, 0, 0],
    dilations: opts.dilations ?? [1, 1],
    outputPadding: opts.outputPadding ?? [0, 0],
  });
}

/** Nearest-neighbour upsampling by an integer factor on both spatial axes. */
export const upsampleNearest = (x: Value, k: number): Value => x.graph.apply1('Upsample', [x], { scale: k });
export const maxPool = (x: Value, k: number): Value => x.graph.apply1('MaxPool', [x], { kernel: k });
export const avgPool = (x: Value, k: number): Value => x.graph.apply1('AveragePool', [x], { kernel: k });
export const globalAvgPool = (x: Value): Value => x.graph.apply1('GlobalAveragePool', [x]);

/** x·s + t per channel (x [N, C] or NCHW, s and t [C]). */
export const channelAffine = (x: Value, s: Value, t: Value): Value => x.graph.apply1('ChannelAffine', [x, s, t]);

/** Batch norm in training mode: [y, batch mean, batch (biased) variance], the statistics per channel ([C]). */
export function batchNormTrain(x: Value, gamma: Value, beta: Value, epsilon: number): [Value, Value, Value] {
  const [y, mean, variance] = x.graph.apply('BatchNormTrain', [x, gamma, beta], { epsilon });
  return [y, mean, variance];
}
