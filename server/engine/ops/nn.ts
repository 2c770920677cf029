/** Neural-network ops: softmax, convolutions, pooling (NCHW, as ONNX). Builders: ./builders. */
import { defineOp, Attrs, Tf, TfTensor } from '../registry';
import { Value } from '../graph';
import { normAxis, windowOut } from '../shapes';
import { Dim, isFloat } from '../types';
import {
  ConvAttrs,
  ConvTAttrs,
  avgPool,
  cast,
  concat,
  conv,
  convTranspose,
  div,
  equal,
  exp,
  expandAs,
  gather,
  matmul,
  mul,
  pad,
  reduceSum,
  reshape,
  slice,
  sub,
  swapLast,
  transpose,
  upsampleNearest,
} from './builders';

// ---- Softmax / LogSoftmax over one axis --------------------------------------------------------
function softmaxInfer([x]: Value[]) {
  if (!isFloat(x.dtype)) throw new Error(`needs a float input, got ${x.dtype}`);
  return [{ dtype: x.dtype, shape: x.shape }];
}

/** tfjs (log-)softmax works on the last axis only: swap `axis` to the end and back. */
function onLastAxis(tf: Tf, x: TfTensor, axis: number, fn: (t: TfTensor) => TfTensor): TfTensor {
  const last = x.rank - 1;
  if (axis === last) return fn(x);
  const perm = x.shape.map((_, i) => (i === axis ? last : i === last ? axis : i));
  return tf.transpose(fn(tf.transpose(x, perm)), perm);
}

defineOp({
  name: 'Softmax',
  infer: softmaxInfer,
  onnx(ctx, node) {
    ctx.emit('Softmax', [ctx.input(0)], [ctx.output(0)], { axis: { i: node.attrs.axis as number } });
  },
  // y (g - Σ g y)
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const y = n.outputs[0];
    return [mul(y, sub(g, reduceSum(mul(g, y), [n.attrs.axis as number], true)))];
  },
  tfjs: (tf, [x], attrs) => [onLastAxis(tf, x, attrs.axis as number, (t) => tf.softmax(t))],
});

defineOp({
  name: 'LogSoftmax',
  infer: softmaxInfer,
  onnx(ctx, node) {
    ctx.emit('LogSoftmax', [ctx.input(0)], [ctx.output(0)], { axis: { i: node.attrs.axis as number } });
  },
  // g - softmax(x) Σ g
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const axis = n.attrs.axis as number;
    return [sub(g, mul(exp(n.outputs[0]), reduceSum(g, [axis], true)))];
  },
  tfjs: (tf, [x], attrs) => [onLastAxis(tf, x, attrs.axis as number, (t) => tf.logSoftmax(t))],
});

// ---- Convolution ----------------------------------------------------------------------------------
const convAttrs = (a: Attrs) => a as unknown as ConvAttrs;
const onnxConvAttrs = (a: ConvAttrs) => ({
  strides: { ints: a.strides },
  pads: { ints: a.pads },
  dilations: { ints: a.dilations },
});
const toNHWC = (tf: Tf, x: TfTensor) => tf.transpose(x, [0, 2, 3, 1]);
const toNCHW = (tf: Tf, x: TfTensor) => tf.transpose(x, [0, 3, 1, 2]);

function staticSpatial(v: Value, what: string): [number, number] {
  const [h, w] = [v.shape[2], v.shape[3]];
  if (h === 'N' || w === 'N') throw new Error(`${what} needs static spatial dimensions`);
  return [h, w];
}

defineOp({
  name: 'Conv',
  infer([x, w], attrs) {
    const a = convAttrs(attrs);
    if (x.rank !== 4 || w.rank !== 4) throw new Error('input and kernel must be rank 4 (NCHW, OIHW)');
    if (x.shape[1] !== w.shape[1]) throw new Error(`input has ${x.shape[1]} channels, kernel expects ${w.shape[1]}`);
    const [h, wd] = staticSpatial(x, 'Conv input');
    const [kh, kw] = staticSpatial(w, 'Conv kernel');
    const oh = windowOut(h, kh, a.strides[0], a.pads[0], a.pads[2], a.dilations[0]);
    const ow = windowOut(wd, kw, a.strides[1], a.pads[1], a.pads[3], a.dilations[1]);
    if (oh < 1 || ow < 1) throw new Error('kernel larger than the padded input');
    return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[0], oh, ow] }];
  },
  onnx(ctx, node) {
    ctx.emit('Conv', [ctx.input(0), ctx.input(1)], [ctx.output(0)], onnxConvAttrs(convAttrs(node.attrs)));
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined, undefined];
    const [x, w] = n.inputs;
    const a = convAttrs(n.attrs);
    const [h, wd] = staticSpatial(x, 'Conv input');
    const [kh, kw] = staticSpatial(w, 'Conv kernel');
    const [oh, ow] = staticSpatial(g, 'Conv cotangent');
    if ([...a.strides, ...a.dilations].every((v) => v === 1)) {
      // Stride 1: dX is the full convolution of g with the flipped, transposed kernel (the same
      // product as a ConvTranspose, and 3-4x faster in onnxruntime), and dW is one batched matrix
      // product of g with the input's patches (im2col), summed over the batch.
      const flipped = transpose(gather(gather(w, descending(kh), 2), descending(kw), 3), [1, 0, 2, 3]);
      const dx = conv(g, flipped, { pads: [kh - 1 - a.pads[0], kw - 1 - a.pads[1], kh - 1 - a.pads[2], kw - 1 - a.pads[3]] });
      const [nb, c] = x.shape;
      const o = w.shape[0];
      const cols = patches(x, kh, kw, a.pads, oh, ow); // [N, C·kh·kw, P]
      const perExample = matmul(reshape(g, [nb, o, oh * ow]), swapLast(cols)); // [N, O, C·kh·kw]
      const dw = reshape(reduceSum(perExample, [0]), [o, c, kh, kw]);
      return [dx, dw];
    }
    // dX: the adjoint of the convolution is a transposed convolution with the same kernel.
    const fullH = (oh - 1) * a.strides[0] - a.pads[0] - a.pads[2] + (kh - 1) * a.dilations[0] + 1;
    const fullW = (ow - 1) * a.strides[1] - a.pads[1] - a.pads[3] + (kw - 1) * a.dilations[1] + 1;
    const dx = convTranspose(g, w, { ...a, outputPadding: [h - fullH, wd - fullW] });
    // dW[o,c,i,j] = Σ_n,y,x g[n,o,y,x] X[n,c,y·s+i·d-p, ...]: a convolution of Xᵀ (channels ↔ batch)
    // with gᵀ as the kernel, stride and dilation swapped.
    const dw = kernelGradient(transpose(x, [1, 0, 2, 3]), transpose(g, [1, 0, 2, 3]), a, kh, kw);
    return [dx, transpose(dw, [1, 0, 2, 3])];
  },
  tfjs: (tf, [x, w], attrs) => {
    const a = convAttrs(attrs);
    const y = tf.conv2d(
      toNHWC(tf, x) as any,
      tf.transpose(w, [2, 3, 1, 0]) as any,
      [a.strides[0], a.strides[1]],
      [
        [0, 0],
        [a.pads[0], a.pads[2]],
        [a.pads[1], a.pads[3]],
        [0, 0],
      ],
      'NHWC',
      [a.dilations[0], a.dilations[1]],
    );
    return [toNCHW(tf, y)];
  },
});

const descending = (k: number) => Array.from({ length: k }, (_, i) => k - 1 - i);

/** The kh x kw patches under a stride-1 kernel: [N, C·kh·kw, OH·OW], in the kernel's (c, i, j) order. */
function patches(x: Value, kh: number, kw: number, pads: number[], oh: number, ow: number): Value {
  const [nb, c] = x.shape;
  const xp = pads.some((p) => p > 0) ? pad(x, [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]], 0) : x;
  const shifted: Value[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) shifted.push(reshape(slice(xp, [i, j], [i + oh, j + ow], [2, 3]), [nb, c, 1, oh * ow]));
  }
  const stacked = shifted.length === 1 ? shifted[0] : concat(shifted, 2); // [N, C, kh·kw, P]
  return reshape(stacked, [nb, (c as number) * kh * kw, oh * ow]);
}

/** Conv of `input` with `kernel` (stride and dilation of the forward conv swapped), cut to kh x kw. */
function kernelGradient(input: Value, kernel: Value, a: ConvAttrs, kh: number, kw: number): Value {
  const z = conv(input, kernel, { strides: a.dilations, dilations: a.strides, pads: a.pads });
  const [zh, zw] = staticSpatial(z, 'kernel gradient');
  return zh === kh && zw === kw ? z : slice(z, [0, 0], [kh, kw], [2, 3]);
}

defineOp({
  name: 'ConvTranspose',
  infer([x, w], attrs) {
    const a = attrs as unknown as ConvTAttrs;
    if (x.rank !== 4 || w.rank !== 4) throw new Error('input and kernel must be rank 4 (NCHW, IOHW)');
    if (x.shape[1] !== w.shape[0]) throw new Error(`input has ${x.shape[1]} channels, kernel expects ${w.shape[0]}`);
    const [h, wd] = staticSpatial(x, 'ConvTranspose input');
    const [kh, kw] = staticSpatial(w, 'ConvTranspose kernel');
    const oh = (h - 1) * a.strides[0] - a.pads[0] - a.pads[2] + (kh - 1) * a.dilations[0] + 1 + a.outputPadding[0];
    const ow = (wd - 1) * a.strides[1] - a.pads[1] - a.pads[3] + (kw - 1) * a.dilations[1] + 1 + a.outputPadding[1];
    if (a.outputPadding.some((p, i) => p < 0 || p >= Math.max(a.strides[i], a.dilations[i]))) {
      throw new Error(`output padding [${a.outputPadding.join(', ')}] must be below the stride`);
    }
    return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[1], oh, ow] }];
  },
  onnx(ctx, node) {
    const a = node.attrs as unknown as ConvTAttrs;
    ctx.emit('ConvTranspose', [ctx.input(0), ctx.input(1)], [ctx.output(0)], {
      ...onnxConvAttrs(a),
      output_padding: { ints: a.outputPadding },
    });
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined, undefined];
    const [x, w] = n.inputs;
    const a = n.attrs as unknown as ConvTAttrs;
    const [kh, kw] = staticSpatial(w, 'ConvTranspose kernel');
    // The adjoint of a transposed convolution is the convolution.
    const dx = conv(g, w, a);
    const dw = kernelGradient(transpose(g, [1, 0, 2, 3]), transpose(x, [1, 0, 2, 3]), a, kh, kw);
    return [dx, transpose(dw, [1, 0, 2, 3])];
  },
  tfjs: (tf, [x, w], attrs, node) => {
    const a = attrs as unknown as ConvTAttrs;
    if (a.dilations.some((d) => d !== 1)) throw new Error('ConvTranspose: the tfjs executor supports dilation 1 only');
    const [n, , h, wd] = x.shape;
    const [, cout, kh, kw] = w.shape;
    // Full (unpadded) transposed convolution, then crop the padding off.
    const fullH = (h - 1) * a.strides[0] + kh + a.outputPadding[0];
    const fullW = (wd - 1) * a.strides[1] + kw + a.outputPadding[1];
    const full = tf.conv2dTranspose(
      toNHWC(tf, x) as any,
      tf.transpose(w, [2, 3, 1, 0]) as any,
      [n, fullH, fullW, cout],
      [a.strides[0], a.strides[1]],
      'valid',
    );
    const [oh, ow] = node.outputs[0].shape.slice(2) as number[];
    return [toNCHW(tf, tf.slice(full, [0, a.pads[0], a.pads[1], 0], [n, oh, ow, cout]))];
  },
});

// ---- Pooling (non-overlapping windows: kernel = stride, no padding) -----------------------------
function poolInfer([x]: Value[], attrs: Attrs) {
  const k = attrs.kernel as number;
  if (x.rank !== 4) throw new Error('input must be rank 4 (NCHW)');
  const [h, w] = staticSpatial(x, 'pooling input');
  if (h < k || w < k) throw new Error(`window ${k} larger than the input ${h}x${w}`);
  return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], Math.floor(h / k), Math.floor(w / k)] as Dim[] }];
}
const poolAttrs = (k: number) => ({ kernel_shape: { ints: [k, k] }, strides: { ints: [k, k] } });

/** Repeat each element k x k times (nearest upsampling), zero-padded to `like`'s spatial size. */
function upsample(g: Value, k: number, like: Value): Value {
  const [, , oh, ow] = g.shape as number[];
  const up = upsampleNearest(g, k);
  const [h, w] = staticSpatial(like, 'pooling input');
  const extraH = h - oh * k,
    extraW = w - ow * k;
  return extraH || extraW ? pad(up, [0, 0, 0, 0, 0, 0, extraH, extraW], 0) : up;
}

defineOp({
  name: 'Upsample',
  infer([x], attrs) {
    const k = attrs.scale as number;
    if (x.rank !== 4) throw new Error('input must be rank 4 (NCHW)');
    const [h, w] = staticSpatial(x, 'Upsample input');
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], h * k, w * k] }];
  },
  // ONNX Resize, nearest with integer scales ('asymmetric' + 'floor' repeats each element exactly).
  onnx(ctx, node) {
    const k = node.attrs.scale as number;
    const scales = ctx.temp('scales');
    ctx.emit('Constant', [], [scales], { value_floats: { floats: [1, 1, k, k] } });
    ctx.emit('Resize', [ctx.input(0), '', scales], [ctx.output(0)], {
      mode: { s: 'nearest' },
      coordinate_transformation_mode: { s: 'asymmetric' },
      nearest_mode: { s: 'floor' },
    });
  },
  // Each input element fed k x k outputs: the cotangent is their sum (average pooling times k²).
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const k = n.attrs.scale as number;
    return [mul(avgPool(g, k), k * k)];
  },
  // Tiles of rank <= 4 (tfjs differentiates tile only up to rank 4; its resizeNearestNeighbor
  // gradient is wrong for batches > 1).
  tfjs: (tf, [x], attrs) => {
    const k = attrs.scale as number;
    const [nb, c, h, w] = x.shape;
    const wide = tf.reshape(tf.tile(tf.reshape(x, [-1, w, 1]), [1, 1, k]), [-1, h, 1, w * k]);
    return [tf.reshape(tf.tile(wide, [1, 1, k, 1]), [nb, c, h * k, w * k])];
  },
});

defineOp({
  name: 'MaxPool',
  infer: poolInfer,
  onnx(ctx, node) {
    ctx.emit('MaxPool', [ctx.input(0)], [ctx.output(0)], poolAttrs(node.attrs.kernel as number));
  },
  // The cotangent goes to the window's maximum; ties share it equally (a valid subgradient).
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const x = n.inputs[0];
    const k = n.attrs.kernel as number;
    const mask = cast(equal(x, upsample(n.outputs[0], k, x)), x.dtype);
    const ties = mul(avgPool(mask, k), k * k);
    return [mul(mask, upsample(div(g, ties), k, x))];
  },
  tfjs: (tf, [x], attrs) => {
    const k = attrs.kernel as number;
    return [toNCHW(tf, tf.maxPool(toNHWC(tf, x) as any, k, k, 'valid'))];
  },
});

defineOp({
  name: 'AveragePool',
  infer: poolInfer,
  onnx(ctx, node) {
    ctx.emit('AveragePool', [ctx.input(0)], [ctx.output(0)], poolAttrs(node.attrs.kernel as number));
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const k = n.attrs.kernel as number;
    return [upsample(mul(g, 1 / (k * k)), k, n.inputs[0])];
  },
  tfjs: (tf, [x], attrs) => {
    const k = attrs.kernel as number;
    return [toNCHW(tf, tf.avgPool(toNHWC(tf, x) as any, k, k, 'valid'))];
  },
});

defineOp({
  name: 'GlobalAveragePool',
  infer([x]) {
    if (x.rank !== 4) throw new Error('input must be rank 4 (NCHW)');
    staticSpatial(x, 'GlobalAveragePool input');
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], 1, 1] }];
  },
  onnx(ctx) {
    ctx.emit('GlobalAveragePool', [ctx.input(0)], [ctx.output(0)]);
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const x = n.inputs[0];
    const [h, w] = staticSpatial(x, 'GlobalAveragePool input');
    return [mul(expandAs(g, x), 1 / (h * w))];
  },
  tfjs: (tf, [x]) => [tf.mean(x, [2, 3], true)],
});
