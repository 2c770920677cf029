/**
 * Gradient checks of every registered op, from ONE table of cases.
 *
 * For each case: y = op(inputs); loss = ReduceSum(Mul(y, c)) with a random, non-uniform cotangent c
 * fed as a graph input; our VJP graph is `gradients(loss, floatInputs)`. It is checked
 *  (a) against central finite differences of the forward graph run on the OrtExecutor, in float64
 *      where onnxruntime's CPU provider has double kernels for the op and for its VJP graph, else
 *      in float32 with a larger step and a looser tolerance (the dtype and tolerance are per case);
 *  (b) against tfjs's own gradients (tf.grads of the tfjs interpretation of the same forward graph);
 *  (c) by running the VJP graph on both executors (OrtExecutor and TfjsExecutor) and comparing.
 * Ops whose rule is `vjp: null` (no gradient through comparisons and shapes) get a case asserting
 * that they carry none. A registered op without a case fails the coverage test.
 *
 * onnxruntime-node CPU provider, double kernels (probed with this package's version):
 *   yes: Add Sub Mul Div Pow Neg Relu LeakyRelu Tanh Sigmoid Exp Log Sqrt Greater Equal Where Cast
 *        MatMul ReduceSum ReduceMean Reshape Transpose Concat Slice Pad Shape Gather Expand Softmax
 *        LogSoftmax MaxPool
 *   no:  Conv ConvTranspose AveragePool GlobalAveragePool Upsample (its VJP is an AveragePool) ("Could not find an implementation");
 *        MaxPool's forward has one, but its VJP uses AveragePool, so its case runs in float32.
 *        A depthwise Conv on a small map is emitted as matrix products (forward and VJP), so its cases run in double.
 * A test below fails if a float32 case becomes runnable in double.
 *
 * Tolerances (max |error| / max |reference|): finite differences h = 1e-5, 1e-6 in float64;
 * h = 1e-2, 3e-3 in float32 (divided by the perturbation as stored in float32); tf.grads and the
 * tfjs run of our VJP graph (float32 arithmetic) 1e-4.
 * ENGINE_GRAD_REPORT=1 prints the errors seen per case; ENGINE_TEST_TFJS=wasm uses tfjs's wasm
 * backend as the second executor and oracle instead of its cpu backend.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONV_DW_LIMITS,
  CompiledGraph,
  add,
  batchNormTrain,
  DType,
  Graph,
  HostTensor,
  OrtExecutor,
  Shape,
  TfjsExecutor,
  Value,
  cast,
  concreteShape,
  getOp,
  gradients,
  hostTensor,
  interpret,
  isFloat,
  loadTfjs,
  mul,
  reduceSum,
  registeredOps,
  sizeOf,
} from '../../server/engine';
import type { Tf, TfTensor } from '../../server/engine/registry';
import { Rng } from '../../server/random';

type Float = 'float32' | 'float64';
type Gen = (rng: Rng, n: number, batch: number) => number[];

interface In {
  shape: Shape;
  /** Default: the case's float dtype. */
  dtype?: DType;
  /** Default: standard normal. */
  gen?: Gen;
}

interface Case {
  name: string;
  op: string;
  inputs: In[];
  attrs?: Record<string, unknown>;
  /** Float dtype of the float inputs: finite differences and the ORT VJP run in it. */
  dtype: Float;
  /** Concrete batch size for 'N' (default 3). */
  batch?: number;
  /** `vjp: null` op: its output is cast to float for the loss and its inputs must get zero gradients. */
  noGrad?: boolean;
  /** Skip finite differences (an op discontinuous at the chosen inputs). */
  noFd?: boolean;
  /** Skip tf.grads (tfjs registers no gradient for the op). */
  noTfGrad?: boolean;
  /** CONV_DW_LIMITS entries while the case runs (a form chosen on larger shapes). */
  dwLimits?: Partial<typeof CONV_DW_LIMITS>;
  /** Skip tf.grads on the wasm backend, whose own gradient is wrong here (ours matches finite differences). */
  wasmTfGradWrong?: boolean;
  /** Build the graph for the OrtExecutor (GraphTarget: its host kernels and NCHWc block), so that rules may choose them. */
  forExecutor?: boolean;
}

// ---- input generators -----------------------------------------------------------------------------
const normal: Gen = (r, n) => Array.from({ length: n }, () => r.normal());
/** Positive, away from 0 (Log, Sqrt, Pow's base, denominators). */
const positive: Gen = (r, n) => Array.from({ length: n }, () => r.uniform(0.5, 2));
/** Both signs, |x| >= 0.2: away from the kink of ReLU / LeakyRelu and from 0 for Div. */
const awayFromZero: Gen = (r, n) => Array.from({ length: n }, () => (r.next() < 0.5 ? -1 : 1) * r.uniform(0.2, 1.5));
/** Distinct values at least 0.1 apart (MaxPool: a unique maximum per window, no crossing under the step). */
const distinct: Gen = (r, n) => Array.from(r.permutation(n), (p) => (p - n / 2) * 0.1 + r.uniform(0, 0.02));
/** Small integers: Equal sees ties. */
const smallInts: Gen = (r, n) => Array.from({ length: n }, () => r.int(3));
const fixed =
  (values: number[] | ((batch: number) => number[])): Gen =>
  (_r, _n, b) =>
    typeof values === 'function' ? values(b) : values;
const bools: Gen = (r, n) => Array.from({ length: n }, () => (r.next() < 0.5 ? 1 : 0));

const f = (shape: Shape, gen: Gen = normal): In => ({ shape, gen });
const i64 = (shape: Shape, gen: Gen): In => ({ shape, dtype: 'int64', gen });

// ---- the table --------------------------------------------------------------------------------------
const F64 = 'float64' as const,
  F32 = 'float32' as const;
const CASES: Case[] = [
  // binary arithmetic, with broadcasting
  { name: 'Add [N,3]+[3]', op: 'Add', dtype: F64, inputs: [f(['N', 3]), f([3])] },
  { name: 'Add [2,1,4]+[3,1]', op: 'Add', dtype: F64, inputs: [f([2, 1, 4]), f([3, 1])] },
  { name: 'Sub [N,3]-[N,1]', op: 'Sub', dtype: F64, inputs: [f(['N', 3]), f(['N', 1])] },
  { name: 'Sub [3]-[2,3]', op: 'Sub', dtype: F64, inputs: [f([3]), f([2, 3])] },
  { name: 'Mul [2,1,4]*[3,1]', op: 'Mul', dtype: F64, inputs: [f([2, 1, 4]), f([3, 1])] },
  { name: 'Mul [N,3]*[]', op: 'Mul', dtype: F64, inputs: [f(['N', 3]), f([])] },
  { name: 'Div [N,3]/[3]', op: 'Div', dtype: F64, inputs: [f(['N', 3]), f([3], awayFromZero)] },
  { name: 'Div [1,4]/[N,1]', op: 'Div', dtype: F64, inputs: [f([1, 4]), f(['N', 1], awayFromZero)] },
  { name: 'Pow [N,3]^[3]', op: 'Pow', dtype: F64, inputs: [f(['N', 3], positive), f([3])] },
  { name: 'Pow [2,3]^[]', op: 'Pow', dtype: F64, inputs: [f([2, 3], positive), f([])] },
  // unary
  { name: 'Neg', op: 'Neg', dtype: F64, inputs: [f(['N', 4])] },
  { name: 'Relu', op: 'Relu', dtype: F64, inputs: [f(['N', 4], awayFromZero)] },
  { name: 'LeakyRelu alpha=0.1', op: 'LeakyRelu', dtype: F64, attrs: { alpha: 0.1 }, inputs: [f(['N', 4], awayFromZero)] },
  { name: 'Tanh', op: 'Tanh', dtype: F64, inputs: [f(['N', 4])] },
  { name: 'Sigmoid', op: 'Sigmoid', dtype: F64, inputs: [f(['N', 4])] },
  { name: 'Exp', op: 'Exp', dtype: F64, inputs: [f(['N', 4])] },
  { name: 'Log', op: 'Log', dtype: F64, inputs: [f(['N', 4], positive)] },
  { name: 'Sqrt', op: 'Sqrt', dtype: F64, inputs: [f(['N', 4], positive)] },
  // comparisons, selection, casts
  {
    name: 'Greater (no gradient)',
    op: 'Greater',
    dtype: F64,
    noGrad: true,
    noTfGrad: true,
    inputs: [f(['N', 3], awayFromZero), f([3], () => [0, 0, 0])],
  },
  {
    name: 'Equal (no gradient)',
    op: 'Equal',
    dtype: F64,
    noGrad: true,
    noTfGrad: true,
    noFd: true,
    inputs: [f(['N', 3], smallInts), f([3], smallInts)],
  },
  {
    name: 'Where bool[N,3] ? [N,3] : [3]',
    op: 'Where',
    dtype: F64,
    inputs: [{ shape: ['N', 3], dtype: 'bool', gen: bools }, f(['N', 3]), f([3])],
  },
  {
    name: 'Where bool[3] ? [2,1] : [2,3]',
    op: 'Where',
    dtype: F64,
    inputs: [{ shape: [3], dtype: 'bool', gen: fixed([1, 0, 1]) }, f([2, 1]), f([2, 3])],
  },
  { name: 'Cast float32->float64', op: 'Cast', dtype: F64, attrs: { to: 'float64' }, inputs: [{ shape: ['N', 3], dtype: 'float32' }] },
  { name: 'Cast float64->float32', op: 'Cast', dtype: F64, attrs: { to: 'float32' }, inputs: [f(['N', 3])] },
  // matmul
  { name: 'MatMul [N,3]x[3,4]', op: 'MatMul', dtype: F64, inputs: [f(['N', 3]), f([3, 4])] },
  { name: 'MatMul [4,3]x[3,2]', op: 'MatMul', dtype: F64, inputs: [f([4, 3]), f([3, 2])] },
  { name: 'FoldedMatMul [4,N,3]x[2,N,3]', op: 'FoldedMatMul', dtype: F64, inputs: [f([4, 'N', 3]), f([2, 'N', 3])] },
  { name: 'FoldedMatMul [3,5]x[2,5]', op: 'FoldedMatMul', dtype: F64, inputs: [f([3, 5]), f([2, 5])] },
  // reductions
  { name: 'ReduceSum axis N', op: 'ReduceSum', dtype: F64, attrs: { axes: [0], keepdims: false }, inputs: [f(['N', 3])] },
  { name: 'ReduceSum axes [1,2] keepdims', op: 'ReduceSum', dtype: F64, attrs: { axes: [1, 2], keepdims: true }, inputs: [f(['N', 3, 4])] },
  { name: 'ReduceSum axes [0,2]', op: 'ReduceSum', dtype: F64, attrs: { axes: [0, 2], keepdims: false }, inputs: [f(['N', 3, 4])] },
  { name: 'ReduceMean axis N keepdims', op: 'ReduceMean', dtype: F64, attrs: { axes: [0], keepdims: true }, inputs: [f(['N', 3])] },
  { name: 'ReduceMean axis N', op: 'ReduceMean', dtype: F64, attrs: { axes: [0], keepdims: false }, inputs: [f(['N', 3])] },
  { name: 'ReduceMean axis 1', op: 'ReduceMean', dtype: F64, attrs: { axes: [1], keepdims: false }, inputs: [f(['N', 3, 4])] },
  {
    name: 'ReduceMean axes [0,2] keepdims',
    op: 'ReduceMean',
    dtype: F64,
    attrs: { axes: [0, 2], keepdims: true },
    inputs: [f(['N', 3, 4])],
  },
  {
    name: 'ReduceMean axes [0,2,3] keepdims (batch norm)',
    op: 'ReduceMean',
    dtype: F64,
    attrs: { axes: [0, 2, 3], keepdims: true },
    inputs: [f(['N', 2, 3, 3])],
  },
  // shapes
  { name: 'Reshape [N,2,3]->[N,6]', op: 'Reshape', dtype: F64, attrs: { shape: ['N', 6] }, inputs: [f(['N', 2, 3])] },
  { name: 'Reshape [N,6]->[3,N,2]', op: 'Reshape', dtype: F64, attrs: { shape: [3, 'N', 2] }, inputs: [f(['N', 6])] },
  { name: 'Transpose [N,2,3] perm [2,0,1]', op: 'Transpose', dtype: F64, attrs: { perm: [2, 0, 1] }, inputs: [f(['N', 2, 3])] },
  { name: 'Concat axis 1', op: 'Concat', dtype: F64, attrs: { axis: 1 }, inputs: [f(['N', 2]), f(['N', 3]), f(['N', 1])] },
  { name: 'Concat axis 0', op: 'Concat', dtype: F64, attrs: { axis: 0 }, inputs: [f([2, 3]), f([1, 3])] },
  { name: 'Slice axes [1,2]', op: 'Slice', dtype: F64, attrs: { starts: [1, 0], ends: [4, 3], axes: [1, 2] }, inputs: [f(['N', 5, 4])] },
  { name: 'StridePhases block 2 on [N,3,4,6]', op: 'StridePhases', dtype: F64, attrs: { block: 2 }, inputs: [f(['N', 3, 4, 6])] },
  // the batch second, as a strided conv's dW uses it (channels first)
  { name: 'StridePhases block 3 on [2,N,6,3]', op: 'StridePhases', dtype: F64, attrs: { block: 3 }, inputs: [f([2, 'N', 6, 3])] },
  { name: 'Pad [N,2,3] value 0.5', op: 'Pad', dtype: F64, attrs: { pads: [0, 1, 0, 0, 2, 1], value: 0.5 }, inputs: [f(['N', 2, 3])] },
  { name: 'Shape (no gradient)', op: 'Shape', dtype: F64, noGrad: true, noTfGrad: true, inputs: [f(['N', 3])] },
  {
    name: 'Gather axis 0, repeated indices',
    op: 'Gather',
    dtype: F64,
    attrs: { axis: 0 },
    inputs: [f([5, 3]), i64([4], fixed([4, 0, 4, 2]))],
  },
  { name: 'Gather axis 1 of [2,4,3]', op: 'Gather', dtype: F64, attrs: { axis: 1 }, inputs: [f([2, 4, 3]), i64([3], fixed([3, 1, 3]))] },
  { name: 'Expand [3,1]->[2,3,4]', op: 'Expand', dtype: F64, attrs: { to: [2, 3, 4] }, inputs: [f([3, 1]), i64([3], fixed([2, 3, 4]))] },
  {
    name: 'Expand [1,3]->[N,3]',
    op: 'Expand',
    dtype: F64,
    attrs: { to: ['N', 3] },
    inputs: [
      f([1, 3]),
      i64(
        [2],
        fixed((b) => [b, 3]),
      ),
    ],
  },
  // nn
  { name: 'Softmax axis 1', op: 'Softmax', dtype: F64, attrs: { axis: 1 }, inputs: [f(['N', 4])] },
  { name: 'Softmax axis 0 (batch)', op: 'Softmax', dtype: F64, attrs: { axis: 0 }, inputs: [f(['N', 4])] },
  { name: 'LogSoftmax axis 1', op: 'LogSoftmax', dtype: F64, attrs: { axis: 1 }, inputs: [f(['N', 4])] },
  { name: 'LogSoftmax axis 0 (batch)', op: 'LogSoftmax', dtype: F64, attrs: { axis: 0 }, inputs: [f(['N', 4])] },
  {
    name: 'Conv 3x3 stride 1 pad 1',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 2, 5, 5]), f([3, 2, 3, 3])],
  },
  {
    // patches above the (lowered) limit, map larger than the channels: dW per tap and example
    name: 'Conv 3x3 stride 1 pad 1 on 5x5, 4 -> 3 channels (dW per tap)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { smallPatches: 0 },
    attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 4, 5, 5]), f([3, 4, 3, 3])],
  },
  {
    // more channels than map: dW by FoldedMatMul per tap (o·c·9 = 216 > c·4·4 + o·2·2 = 88)
    name: 'Conv 3x3 stride 1 pads [1,1,0,1] on 3x2, 4 -> 6 channels (folded dW)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [1, 1], pads: [1, 1, 0, 1], dilations: [1, 1] },
    inputs: [f(['N', 4, 3, 2]), f([6, 4, 3, 3])],
  },
  {
    // the same by row bands of the input and shifts of the cotangent laid into rows (its width limit lowered)
    name: 'Conv 3x3 stride 1 pads [1,1,0,1] on 3x2, 4 -> 6 channels (folded dW by row bands)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { rows: { minWidth: 1, maxChannels: 64 } },
    attrs: { strides: [1, 1], pads: [1, 1, 0, 1], dilations: [1, 1] },
    inputs: [f(['N', 4, 3, 2]), f([6, 4, 3, 3])],
  },
  {
    // a 2x3 kernel with asymmetric pads: 2 row bands, 3 shifts (o·c·6 = 210 > 5·4·6 + 7·3·4 = 204)
    name: 'Conv 2x3 stride 1 pads [0,1,1,1] on 3x4, 5 -> 7 channels (folded dW by row bands)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { rows: { minWidth: 1, maxChannels: 64 } },
    attrs: { strides: [1, 1], pads: [0, 1, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 5, 3, 4]), f([7, 5, 2, 3])],
  },
  {
    // a pointwise conv on a 2x2 map, 9 -> 10 channels: dW by one FoldedMatMul (90 > 9·4 + 10·4)
    name: 'Conv 1x1 stride 1 on 2x2, 9 -> 10 channels (folded dW)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
    inputs: [f(['N', 9, 2, 2]), f([10, 9, 1, 1])],
  },
  {
    // few outputs for many inputs (a Firefly-grown narrow layer): the forward as the sum of its taps
    // (2 <= 20 / 4), dW by stacked shifts of the cotangent and one folded product (2·9 <= 20)
    name: 'Conv 3x3 stride 1 pad 1 on 5x5, 20 -> 2 channels (tap-sum forward, stacked-taps dW)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { smallPatches: 0 },
    attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 20, 5, 5]), f([2, 20, 3, 3])],
  },
  {
    // and back (2 -> 20), asymmetric pads: dW by stacked shifts of the input; dX by the tap sum (20 -> 2)
    name: 'Conv 3x3 stride 1 pads [0,1,2,1] on 5x4, 2 -> 20 channels (stacked-taps dW, tap-sum dX)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { smallPatches: 0 },
    attrs: { strides: [1, 1], pads: [0, 1, 2, 1], dilations: [1, 1] },
    inputs: [f(['N', 2, 5, 4]), f([20, 2, 3, 3])],
  },
  {
    // an even kernel, the cotangent padded by [1, 1, 0, 0] for its shifts
    name: 'Conv 2x2 pads [0,0,1,1] on 4x4, 9 -> 2 channels (tap-sum forward, stacked-taps dW)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { smallPatches: 0 },
    attrs: { strides: [1, 1], pads: [0, 0, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 9, 4, 4]), f([2, 9, 2, 2])],
  },
  {
    // 16 channels: on onnxruntime's NCHWc kernels where the CPU has them (blocks of 8 or 16), forward and dX
    name: 'Conv 3x3 stride 1 pad 1 on 4x4, 16 -> 16 channels (NCHWc)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 16, 4, 4]), f([16, 16, 3, 3])],
  },
  {
    // a first layer: NCHWc Conv reading the NCHW input, stride 2
    name: 'Conv 3x3 stride 2 pad 1 on 5x5, 3 -> 16 channels (NCHWc from NCHW)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 3, 5, 5]), f([16, 3, 3, 3])],
  },
  {
    name: 'Conv 3x3 stride 2 pads [1,0,0,1] on 6x5',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 2], pads: [1, 0, 0, 1], dilations: [1, 1] },
    inputs: [f(['N', 2, 6, 5]), f([3, 2, 3, 3])],
  },
  {
    // strided dW by the input's stride phases (SpaceToDepth) and one FoldedMatMul per tap, its
    // thresholds lowered to this shape; the phases need an 8th row, padded below
    name: 'Conv 3x3 stride 2 pad 1 on 5x5, 6 -> 8 channels (stride-phases dW)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { stridedFolded: { inputs: 1, outputs: 1, map: 1 } },
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 6, 5, 5]), f([8, 6, 3, 3])],
  },
  {
    // asymmetric pads, stride 3 (nine phases, a kernel of 3 reads one row of each)
    name: 'Conv 3x3 stride 3 pads [1,0,0,1] on 7x6, 4 -> 5 channels (stride-phases dW)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { stridedFolded: { inputs: 1, outputs: 1, map: 1 } },
    attrs: { strides: [3, 3], pads: [1, 0, 0, 1], dilations: [1, 1] },
    inputs: [f(['N', 4, 7, 6]), f([5, 4, 3, 3])],
  },
  {
    // the last row and column are never read (2x2 stride 2 on 5x5): cut before the phases
    name: 'Conv 2x2 stride 2 on 5x5, 3 -> 4 channels (stride-phases dW, last row unread)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { stridedFolded: { inputs: 1, outputs: 1, map: 1 } },
    attrs: { strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] },
    inputs: [f(['N', 3, 5, 5]), f([4, 3, 2, 2])],
  },
  {
    // dW by the executor's host kernel where the native addon loads (its channel limit lowered),
    // else by the per-tap forms: either way against finite differences and tfjs
    name: 'Conv 3x3 stride 1 pads [1,2,0,1] on 4x5, 3 -> 2 channels (dW by the host kernel)',
    op: 'Conv',
    dtype: F32,
    batch: 3,
    forExecutor: true,
    dwLimits: { host: { minChannels: 1 } },
    attrs: { strides: [1, 1], pads: [1, 2, 0, 1], dilations: [1, 1] },
    inputs: [f(['N', 3, 4, 5]), f([2, 3, 3, 3])],
  },
  {
    // the op itself: x [N, C, H, W] and the cotangent g [N, O, OH, OW] in, dW out (its VJP: two convolutions)
    name: 'ConvWeightGradient 3x3 pads [1,0,1,2] on 4x3, 2 -> 3 channels',
    op: 'ConvWeightGradient',
    dtype: F32,
    batch: 2,
    attrs: { kernel: [3, 3], pads: [1, 0, 1, 2] },
    inputs: [f(['N', 2, 4, 3]), f(['N', 3, 4, 3])],
  },
  {
    name: 'ConvWeightGradient 2x1 no pads on 3x3, 1 -> 2 channels',
    op: 'ConvWeightGradient',
    dtype: F32,
    batch: 3,
    attrs: { kernel: [2, 1], pads: [0, 0, 0, 0] },
    inputs: [f(['N', 1, 3, 3]), f(['N', 2, 2, 3])],
  },
  {
    // patches above the (lowered) limit: dW as the convolution of xᵀ with gᵀ
    name: 'Conv 1x1 stride 2 on 5x6 (dW as a convolution)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    dwLimits: { smallPatches: 0 },
    attrs: { strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] },
    inputs: [f(['N', 2, 5, 6]), f([4, 2, 1, 1])],
  },
  {
    name: 'Conv 2x3 stride [2,1] no pad',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
    inputs: [f(['N', 1, 5, 4]), f([2, 1, 2, 3])],
  },
  {
    name: 'Conv 2x2 pads [0,0,1,1] (same, even kernel)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [1, 1], pads: [0, 0, 1, 1], dilations: [1, 1] },
    inputs: [f(['N', 2, 4, 4]), f([2, 2, 2, 2])],
  },
  {
    // the projection shortcut of a ResNet block whose stride and channel count change (He et al. 2016)
    name: 'Conv 1x1 stride 2 no pad (projection shortcut) on 5x6',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] },
    inputs: [f(['N', 2, 5, 6]), f([4, 2, 1, 1])],
  },
  {
    name: 'Conv depthwise 3x3 groups 3 stride 1 pad 1 (matrix form)',
    op: 'Conv',
    dtype: F64,
    batch: 2,
    attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 3 },
    inputs: [f(['N', 3, 5, 5]), f([3, 1, 3, 3])],
  },
  {
    // 81 x 81 pixel pairs: above DEPTHWISE_MATRIX_FORWARD_MAX (onnxruntime's Conv forward), within DEPTHWISE_MATRIX_MAX (matrix VJP)
    name: 'Conv depthwise 3x3 groups 2 stride 1 pad 1 on 9x9 (Conv forward, matrix VJP)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 2 },
    inputs: [f(['N', 2, 9, 9]), f([2, 1, 3, 3])],
  },
  {
    // 529 x 529 pixel pairs: above DEPTHWISE_MATRIX_MAX, so the grouped rule (patches)
    name: 'Conv depthwise 3x3 groups 2 stride 1 pad 1 on 23x23 (large map: patches)',
    op: 'Conv',
    dtype: F32,
    batch: 1,
    attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 2 },
    inputs: [f(['N', 2, 23, 23]), f([2, 1, 3, 3])],
  },
  {
    name: 'Conv depthwise 3x3 groups 3 stride 2 pads [1,0,0,1] on 6x5 (matrix form)',
    op: 'Conv',
    dtype: F64,
    batch: 2,
    attrs: { strides: [2, 2], pads: [1, 0, 0, 1], dilations: [1, 1], groups: 3 },
    inputs: [f(['N', 3, 6, 5]), f([3, 1, 3, 3])],
  },
  {
    name: 'Conv depthwise x2 3x3 groups 2 stride 2 pads [1,0,0,1] on 6x5',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 2], pads: [1, 0, 0, 1], dilations: [1, 1], groups: 2 },
    inputs: [f(['N', 2, 6, 5]), f([4, 1, 3, 3])],
  },
  {
    // for the OrtExecutor, whose NCHWc block (where the CPU has one) takes depthwise convs with channels
    // a multiple of 4: the forward and the stride-1 dX there (4 channels padded to a block), dW by the
    // matrix products (81 x 81 pixel pairs: the forward a Conv, so float32)
    name: 'Conv depthwise 3x3 groups 4 stride 1 pad 1 on 9x9 (NCHWc forward and dX)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    forExecutor: true,
    attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 4 },
    inputs: [f(['N', 4, 9, 9]), f([4, 1, 3, 3])],
  },
  {
    // 24 x 22 outputs of 23 x 23 inputs: above DEPTHWISE_MATRIX_MAX, so dW by the patches
    name: 'Conv depthwise 3x3 groups 8 stride 1 pads [1,0,2,1] on 23x23 (NCHWc forward and dX, patches)',
    op: 'Conv',
    dtype: F32,
    batch: 1,
    forExecutor: true,
    attrs: { strides: [1, 1], pads: [1, 0, 2, 1], dilations: [1, 1], groups: 8 },
    inputs: [f(['N', 8, 23, 23]), f([8, 1, 3, 3])],
  },
  {
    // 256 x 64 pixel pairs: the forward a Conv (NCHWc), the VJP the matrix products
    name: 'Conv depthwise 3x3 groups 16 stride 2 pad 1 on 16x16 (NCHWc forward, matrix VJP)',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    forExecutor: true,
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 16 },
    inputs: [f(['N', 16, 16, 16]), f([16, 1, 3, 3])],
  },
  {
    name: 'Conv grouped 2x3 groups 2 stride [2,1] pads [1,1,1,1] on 5x4',
    op: 'Conv',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 2 },
    inputs: [f(['N', 4, 5, 4]), f([6, 2, 2, 3])],
  },
  {
    name: 'ConvTranspose 3x3 stride 2 pad 1 outpad 1',
    op: 'ConvTranspose',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], outputPadding: [1, 1] },
    inputs: [f(['N', 3, 3, 3]), f([3, 2, 3, 3])],
  },
  {
    name: 'ConvTranspose 3x3 stride 2 pads [1,0,0,1] outpad [1,0]',
    op: 'ConvTranspose',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 2], pads: [1, 0, 0, 1], dilations: [1, 1], outputPadding: [1, 0] },
    inputs: [f(['N', 2, 3, 3]), f([2, 3, 3, 3])],
  },
  {
    name: 'ConvTranspose 2x2 stride 2',
    op: 'ConvTranspose',
    dtype: F32,
    batch: 2,
    attrs: { strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], outputPadding: [0, 0] },
    inputs: [f(['N', 2, 3, 2]), f([2, 3, 2, 2])],
  },
  { name: 'MaxPool 2x2 on 4x4', op: 'MaxPool', dtype: F32, attrs: { kernel: 2 }, inputs: [f(['N', 2, 4, 4], distinct)] },
  {
    name: 'MaxPool 2x2 on 5x5',
    op: 'MaxPool',
    dtype: F32,
    attrs: { kernel: 2 },
    wasmTfGradWrong: true,
    inputs: [f(['N', 1, 5, 5], distinct)],
  },
  { name: 'MaxPool 3x3 on 7x6', op: 'MaxPool', dtype: F32, batch: 2, attrs: { kernel: 3 }, inputs: [f(['N', 1, 7, 6], distinct)] },
  { name: 'AveragePool 2x2 on 5x5', op: 'AveragePool', dtype: F32, attrs: { kernel: 2 }, inputs: [f(['N', 2, 5, 5])] },
  { name: 'GlobalAveragePool', op: 'GlobalAveragePool', dtype: F32, inputs: [f(['N', 3, 3, 4])] },
  { name: 'Upsample x2 on 2x3', op: 'Upsample', dtype: F32, attrs: { scale: 2 }, inputs: [f(['N', 2, 2, 3])] },
  { name: 'Upsample x3 on 2x2', op: 'Upsample', dtype: F32, batch: 2, attrs: { scale: 3 }, inputs: [f(['N', 1, 2, 2])] },
  // batch norm in training mode: the closed-form VJP of y (the statistics outputs are checked below)
  {
    name: 'BatchNormTrain NCHW',
    op: 'BatchNormTrain',
    dtype: F64,
    attrs: { epsilon: 1e-5 },
    inputs: [f(['N', 3, 2, 3]), f([3], positive), f([3])],
  },
  { name: 'ChannelAffine NCHW', op: 'ChannelAffine', dtype: F64, inputs: [f(['N', 3, 2, 3]), f([3]), f([3])] },
  { name: 'ChannelAffine [N, C]', op: 'ChannelAffine', dtype: F64, batch: 4, inputs: [f(['N', 5]), f([5]), f([5])] },
  {
    name: 'BatchNormTrain [N, C]',
    op: 'BatchNormTrain',
    dtype: F64,
    batch: 4,
    attrs: { epsilon: 0.1 },
    inputs: [f(['N', 5]), f([5]), f([5])],
  },
];

/** Central-difference step and tolerances (max |error| / max |reference|). */
const STEP: Record<Float, number> = { float64: 1e-5, float32: 1e-2 };
const FD_TOL: Record<Float, number> = { float64: 1e-6, float32: 3e-3 };
/** tfjs computes in float32: its gradients and its run of our VJP graph agree with ORT to this. */
const TF_TOL = 1e-4;

// ---- harness --------------------------------------------------------------------------------------
let ort: OrtExecutor;
let tfx: TfjsExecutor;
/** tfjs backend of the oracle: cpu by default; ENGINE_TEST_TFJS=wasm checks the wasm kernels instead. */
const TFJS_BACKEND = process.env.ENGINE_TEST_TFJS === 'wasm' ? 'wasm' : 'cpu';
let tf: Tf;
let tensorsAtStart = 0;
const report: { name: string; op: string; dtype: string; fd: number; tfGrad: number; exec: number; ms: number }[] = [];

before(async () => {
  ort = await OrtExecutor.create({ threads: 1 });
  tfx = await TfjsExecutor.create(TFJS_BACKEND);
  tf = (await loadTfjs(TFJS_BACKEND)).tf;
  assert.equal(tfx.provider, TFJS_BACKEND);
  tensorsAtStart = tf.memory().numTensors;
});

after(() => {
  const fmt = (x: number) => (Number.isNaN(x) ? '-' : x.toExponential(1));
  const lines = report.map(
    (r) =>
      `${r.name.padEnd(44)} ${r.dtype.padEnd(8)} fd ${fmt(r.fd).padEnd(8)} tf.grads ${fmt(r.tfGrad).padEnd(8)} ort-vs-tfjs ${fmt(r.exec).padEnd(8)} ${r.ms} ms`,
  );
  if (process.env.ENGINE_GRAD_REPORT) console.log(lines.join('\n'));
});

const numbers = (t: HostTensor): number[] => Array.from(t.data as ArrayLike<number | bigint>, Number);
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
/** max |a - ref| relative to max |ref| (absolute where ref is ~0). */
function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(a.length, ref.length, 'length mismatch');
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - ref[i]));
  return e / Math.max(maxAbs(ref), 1e-3);
}

interface Built {
  graph: Graph;
  ins: Value[];
  cot: Value;
  loss: Value;
  wrt: Value[];
  grads: Value[];
}

function build(c: Case): Built {
  const graph = new Graph(c.name, c.forExecutor ? ort : undefined);
  const ins = c.inputs.map((s, k) => graph.input(`in${k}`, s.dtype ?? c.dtype, s.shape));
  let y = graph.apply1(c.op, ins, c.attrs ?? {});
  if (c.noGrad) y = cast(y, c.dtype);
  const cot = graph.input('cot', y.dtype, y.shape);
  const loss = reduceSum(
    mul(y, cot),
    y.shape.map((_, i) => i),
  );
  const wrt = ins.filter((v) => isFloat(v.dtype));
  return { graph, ins, cot, loss, wrt, grads: gradients(loss, wrt) };
}

function makeFeeds(c: Case, b: Built, rng: Rng): Record<string, HostTensor> {
  const batch = c.batch ?? 3;
  const feeds: Record<string, HostTensor> = {};
  b.ins.forEach((v, k) => {
    const shape = concreteShape(v.shape, batch);
    const n = sizeOf(shape);
    const gen = c.inputs[k].gen ?? (v.dtype === 'bool' ? bools : normal);
    feeds[v.name] = hostTensor(v.dtype, shape, gen(rng, n, batch));
  });
  // The cotangent: random and non-uniform (a plain sum would make e.g. softmax's gradient vanish).
  const cshape = concreteShape(b.cot.shape, batch);
  feeds[b.cot.name] = hostTensor(
    b.cot.dtype,
    cshape,
    Array.from({ length: sizeOf(cshape) }, () => rng.normal()),
  );
  return feeds;
}

async function finiteDifferences(fwd: CompiledGraph, feeds: Record<string, HostTensor>, v: Value, h: number): Promise<number[]> {
  const base = feeds[v.name];
  const out: number[] = [];
  const lossAt = async (data: HostTensor['data']) => Number((await fwd.run({ ...feeds, [v.name]: { ...base, data } })).loss.data[0]);
  for (let i = 0; i < base.data.length; i++) {
    const data = (base.data as Float64Array).slice();
    const x0 = data[i];
    data[i] = x0 + h;
    const xp = data[i]; // as stored: rounded to float32 for a float32 input
    const lp = await lossAt(data);
    data[i] = x0 - h;
    const xm = data[i];
    const lm = await lossAt(data);
    out.push((lp - lm) / (xp - xm));
  }
  return out;
}

function toTfTensor(t: HostTensor): TfTensor {
  if (t.dtype === 'int64') return tf.tensor(Int32Array.from(t.data as BigInt64Array, Number), t.shape, 'int32');
  if (t.dtype === 'bool') return tf.tensor(Uint8Array.from(t.data as Uint8Array), t.shape, 'bool');
  return tf.tensor(Float32Array.from(t.data as Float64Array), t.shape, 'float32');
}

/** tfjs's own gradients of the tfjs interpretation of the forward graph. */
function tfGradients(b: Built, feeds: Record<string, HostTensor>): number[][] {
  return tf.tidy(() => {
    const fixedFeeds = new Map<number, TfTensor>();
    for (const v of [...b.ins, b.cot]) if (!b.wrt.includes(v)) fixedFeeds.set(v.id, toTfTensor(feeds[v.name]));
    const lossOf = (...xs: TfTensor[]) => {
      const env = new Map(fixedFeeds);
      b.wrt.forEach((v, k) => env.set(v.id, xs[k]));
      return interpret(tf, b.graph, [b.loss], env)[0] as any;
    };
    const gs = tf.grads(lossOf)(b.wrt.map((v) => toTfTensor(feeds[v.name])) as any);
    return gs.map((g) => Array.from(g.dataSync()));
  });
}

async function checkCase(c: Case, seed: number): Promise<void> {
  const t0 = Date.now();
  const tensorsBefore = tf.memory().numTensors;
  const rng = new Rng(seed);
  const b = build(c);
  const feeds = makeFeeds(c, b, rng);
  const gradOutputs: Record<string, Value> = {};
  b.grads.forEach((g, k) => (gradOutputs[`grad_${b.wrt[k].name}`] = g));
  b.grads.forEach((g, k) => {
    assert.equal(g.dtype, b.wrt[k].dtype, `gradient dtype of ${b.wrt[k].name}`);
    assert.deepEqual(g.shape, b.wrt[k].shape, `gradient shape of ${b.wrt[k].name}`);
  });

  const fwd = await ort.compile(b.graph, { loss: b.loss });
  const vjpOrt = await ort.compile(b.graph, gradOutputs);
  const vjpTf = await tfx.compile(b.graph, gradOutputs);
  let fdErr = NaN,
    tfErr = NaN,
    execErr = 0,
    tfGradThrew = false;
  try {
    const ours = await vjpOrt.run(feeds);
    const oursTf = await vjpTf.run(feeds);
    // Finite differences run in float32 precision where the input or the loss is float32.
    const fdDtype = (v: Value): Float => (v.dtype === 'float32' || b.loss.dtype === 'float32' ? 'float32' : 'float64');
    const dtype = b.wrt.map(fdDtype).includes('float32') ? 'float32' : 'float64';

    // (c) the VJP graph on both executors
    for (const v of b.wrt) {
      const name = `grad_${v.name}`;
      assert.deepEqual(oursTf[name].shape, ours[name].shape, `${name} shape on tfjs`);
      const e = relErr(numbers(oursTf[name]), numbers(ours[name]));
      execErr = Math.max(execErr, e);
      assert.ok(e <= TF_TOL, `${c.name}: ${name} differs between OrtExecutor and TfjsExecutor: ${e.toExponential(2)} > ${TF_TOL}`);
    }

    if (c.noGrad) {
      assert.equal(getOp(c.op).vjp, null, `${c.op} should declare vjp: null`);
      for (const v of b.wrt) assert.equal(maxAbs(numbers(ours[`grad_${v.name}`])), 0, `${c.op} must carry no gradient to ${v.name}`);
    }

    // (a) central finite differences of the forward graph on the OrtExecutor
    if (!c.noFd) {
      fdErr = 0;
      for (const v of b.wrt) {
        const h = STEP[fdDtype(v)];
        const fd = await finiteDifferences(fwd, feeds, v, h);
        if (!c.noGrad) assert.ok(maxAbs(fd) > 1e-2, `${c.name}: gradient wrt ${v.name} is ~0; the case proves nothing`);
        const e = relErr(numbers(ours[`grad_${v.name}`]), fd);
        fdErr = Math.max(fdErr, e);
        const tol = FD_TOL[fdDtype(v)];
        assert.ok(
          e <= tol,
          `${c.name}: gradient wrt ${v.name} vs finite differences (${v.dtype}, h=${h}): ${e.toExponential(2)} > ${tol}\nours ${numbers(ours[`grad_${v.name}`]).slice(0, 12)}\nfd   ${fd.slice(0, 12)}`,
        );
      }
    }

    // (b) tfjs's own gradients of the same forward graph
    let tg: number[][] | undefined;
    if (!c.noTfGrad && !(TFJS_BACKEND === 'wasm' && c.wasmTfGradWrong)) {
      try {
        tg = tfGradients(b, feeds);
      } catch (e) {
        // The wasm backend lacks some gradient kernels (UnsortedSegmentSum, Conv2DBackpropFilter).
        if (!(TFJS_BACKEND === 'wasm' && /not registered for backend/.test((e as Error).message))) throw e;
        tfGradThrew = true; // tfjs leaves the tape's tensors behind when a gradient throws
      }
    }
    if (tg) {
      tfErr = 0;
      b.wrt.forEach((v, k) => {
        const e = relErr(numbers(ours[`grad_${v.name}`]), tg![k]);
        tfErr = Math.max(tfErr, e);
        assert.ok(
          e <= TF_TOL,
          `${c.name}: gradient wrt ${v.name} vs tf.grads: ${e.toExponential(2)} > ${TF_TOL}\nours ${numbers(ours[`grad_${v.name}`]).slice(0, 12)}\ntfjs ${tg![k].slice(0, 12)}`,
        );
      });
    }
    report.push({
      name: c.name,
      op: c.op,
      dtype: dtype + (c.noFd ? ' (no fd)' : ''),
      fd: fdErr,
      tfGrad: tfErr,
      exec: execErr,
      ms: Date.now() - t0,
    });
  } finally {
    await fwd.dispose();
    await vjpOrt.dispose();
    await vjpTf.dispose();
  }
  if (!tfGradThrew) assert.equal(tf.memory().numTensors, tensorsBefore, `${c.name}: tfjs tensors leaked`);
}

// ---- tests --------------------------------------------------------------------------------------------
test('every registered op has a gradient case; vjp: null ops have a no-gradient case', () => {
  const covered = new Set(CASES.map((c) => c.op));
  const missing = registeredOps().filter((op) => !covered.has(op));
  assert.deepEqual(missing, [], `registered ops without a gradient case: ${missing.join(', ')}`);
  for (const op of registeredOps()) {
    const rule = getOp(op).vjp;
    const cases = CASES.filter((c) => c.op === op);
    if (rule === null)
      assert.ok(
        cases.every((c) => c.noGrad),
        `${op} has vjp: null; its cases must assert no gradient`,
      );
    else {
      assert.equal(typeof rule, 'function', `${op} has no VJP rule`);
      assert.ok(
        cases.every((c) => !c.noGrad),
        `${op} has a VJP rule but a no-gradient case`,
      );
    }
  }
});

CASES.forEach((c, k) => {
  test(`gradient of ${c.name}`, async () => {
    const saved = { ...CONV_DW_LIMITS };
    Object.assign(CONV_DW_LIMITS, c.dwLimits);
    try {
      await checkCase(c, 1000 + k);
    } finally {
      Object.assign(CONV_DW_LIMITS, saved);
    }
  });
});

test('float32 cases are exactly those onnxruntime CPU cannot run in double (forward or VJP graph)', async () => {
  for (const c of CASES.filter((k) => k.dtype === 'float32')) {
    const b = build({ ...c, dtype: 'float64' });
    const outputs: Record<string, Value> = { loss: b.loss };
    b.grads.forEach((g, k) => (outputs[`g${k}`] = g));
    await assert.rejects(
      ort.compile(b.graph, outputs),
      /Could not find an implementation/,
      `${c.name}: onnxruntime now runs this in double; move the case to float64`,
    );
  }
});

test('BatchNormTrain: batch mean and biased variance outputs, and gradients through them, on both executors', async () => {
  const graph = new Graph('bn statistics');
  const x = graph.input('x', 'float64', ['N', 2, 3, 2]);
  const gamma = graph.input('gamma', 'float64', [2]);
  const beta = graph.input('beta', 'float64', [2]);
  const [y, mean, variance] = batchNormTrain(x, gamma, beta, 1e-3);
  const cs = [y, mean, variance].map((v, k) => graph.input(`c${k}`, 'float64', v.shape));
  const terms = [y, mean, variance].map((v, k) =>
    reduceSum(
      mul(v, cs[k]),
      v.shape.map((_, i) => i),
    ),
  );
  const loss = add(add(terms[0], terms[1]), terms[2]);
  const [gx] = gradients(loss, [x]);
  const rng = new Rng(7);
  const batch = 3;
  const feeds: Record<string, HostTensor> = {
    x: hostTensor(
      'float64',
      [batch, 2, 3, 2],
      Array.from({ length: batch * 12 }, () => 2 + rng.normal()),
    ),
    gamma: hostTensor('float64', [2], [0.7, -1.3]),
    beta: hostTensor('float64', [2], [0.1, 0.2]),
  };
  cs.forEach((c, k) => {
    const shape = concreteShape(c.shape, batch);
    feeds[`c${k}`] = hostTensor(
      'float64',
      shape,
      Array.from({ length: sizeOf(shape) }, () => rng.normal()),
    );
  });
  // Reference statistics: per channel over batch and spatial positions (NCHW), variance biased (÷M).
  const xs = numbers(feeds.x);
  const expMean: number[] = [],
    expVar: number[] = [];
  for (let ch = 0; ch < 2; ch++) {
    const vals = xs.filter((_, i) => Math.floor(i / 6) % 2 === ch);
    const mu = vals.reduce((p, q) => p + q, 0) / vals.length;
    expMean.push(mu);
    expVar.push(vals.reduce((p, q) => p + (q - mu) ** 2, 0) / vals.length);
  }
  const fwd = await ort.compile(graph, { loss });
  const stats = await ort.compile(graph, { mean, variance, gx });
  const statsTf = await tfx.compile(graph, { mean, variance, gx });
  try {
    const got = await stats.run(feeds);
    const gotTf = await statsTf.run(feeds);
    assert.ok(relErr(numbers(got.mean), expMean) < 1e-12);
    assert.ok(relErr(numbers(got.variance), expVar) < 1e-12);
    assert.ok(relErr(numbers(gotTf.mean), expMean) < TF_TOL);
    assert.ok(relErr(numbers(gotTf.variance), expVar) < TF_TOL);
    const fd = await finiteDifferences(fwd, feeds, x, STEP.float64);
    const e = relErr(numbers(got.gx), fd);
    assert.ok(e <= FD_TOL.float64, `gradient through y, mean and variance vs finite differences: ${e.toExponential(2)}`);
    assert.ok(relErr(numbers(gotTf.gx), numbers(got.gx)) <= TF_TOL);
  } finally {
    await fwd.dispose();
    await stats.dispose();
    await statsTf.dispose();
  }
});

test('executors leave no session open and tfjs no tensor behind', () => {
  assert.equal(ort.liveSessions(), 0);
  assert.equal(tfx.liveSessions(), 0);
  if (TFJS_BACKEND === 'cpu') assert.equal(tf.memory().numTensors, tensorsAtStart);
});
