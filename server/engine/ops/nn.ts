/** Neural-network ops: softmax, convolutions, pooling, batch norm (NCHW, as ONNX). Builders: ./builders. */
import { defineOp, Attrs, Tf, TfTensor } from '../registry';
import { Node, Value } from '../graph';
import { NCHWC_DOMAIN, type OnnxAttr, type OnnxNodeContext } from '../onnxContext';
import { normAxis, windowOut } from '../shapes';
import { Dim, hostTensor, isFloat } from '../types';
import { onnxDataType } from './logic';
import {
  ConvAttrs,
  ConvTAttrs,
  add,
  avgPool,
  cast,
  channelAffine,
  concat,
  conv,
  convTranspose,
  convWeightGradient,
  div,
  equal,
  exp,
  expandAs,
  foldedMatmul,
  gather,
  matmul,
  mul,
  neg,
  pad,
  reduceSum,
  reshape,
  scalarLike,
  shapeOf,
  slice,
  sqrt,
  stridePhases,
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
    const g = a.groups ?? 1;
    if (x.shape[1] !== (g === 1 ? w.shape[1] : (w.shape[1] as number) * g))
      throw new Error(`input has ${x.shape[1]} channels, kernel expects ${w.shape[1]} x ${g} groups`);
    if (g > 1 && (w.shape[0] as number) % g) throw new Error(`${w.shape[0]} output channels do not split into ${g} groups`);
    if (g > 1 && a.dilations.some((d) => d !== 1)) throw new Error('grouped Conv supports dilation 1 only');
    const [h, wd] = staticSpatial(x, 'Conv input');
    const [kh, kw] = staticSpatial(w, 'Conv kernel');
    const oh = windowOut(h, kh, a.strides[0], a.pads[0], a.pads[2], a.dilations[0]);
    const ow = windowOut(wd, kw, a.strides[1], a.pads[1], a.pads[3], a.dilations[1]);
    if (oh < 1 || ow < 1) throw new Error('kernel larger than the padded input');
    return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[0], oh, ow] }];
  },
  onnx(ctx, node) {
    const a = convAttrs(node.attrs);
    const nchwc = nchwcPlan(ctx.nchwcBlock, node, a);
    if (!nchwc && !ctx.portable && depthwiseMatrixForward(node.inputs[0], node.inputs[1], node.outputs[0], a))
      return emitDepthwiseMatrix(ctx, node, a);
    if (nchwc) return emitNchwcConv(ctx, node, a, nchwc);
    if (!ctx.portable && tapSumFits(node, a)) return emitTapSumConv(ctx, node, a);
    ctx.emit('Conv', [ctx.input(0), ctx.input(1)], [ctx.output(0)], {
      ...onnxConvAttrs(a),
      ...(a.groups ? { group: { i: a.groups } } : {}),
    });
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined, undefined];
    const [x, w] = n.inputs;
    const a = convAttrs(n.attrs);
    if ((a.groups ?? 1) > 1) return groupedConvVjp(x, w, g, a);
    const [h, wd] = staticSpatial(x, 'Conv input');
    const [kh, kw] = staticSpatial(w, 'Conv kernel');
    const [oh, ow] = staticSpatial(g, 'Conv cotangent');
    if ([...a.strides, ...a.dilations].every((v) => v === 1)) {
      // Stride 1: dX is the full convolution of g with the flipped, transposed kernel (the same
      // product as a ConvTranspose, and 3-4x faster in onnxruntime), and dW is one batched matrix
      // product of g with the input's patches (im2col), summed over the batch.
      const flipped = transpose(gather(gather(w, descending(kh), 2), descending(kw), 3), [1, 0, 2, 3]);
      const dx = conv(g, flipped, { pads: [kh - 1 - a.pads[0], kw - 1 - a.pads[1], kh - 1 - a.pads[2], kw - 1 - a.pads[3]] });
      if (hostWeightGradientFits(x, w)) return [dx, convWeightGradient(x, g, [kh, kw], a.pads)];
      return [dx, kernelGradient1(x, g, w, a.pads)];
    }
    // dX: the adjoint of the convolution is a transposed convolution with the same kernel.
    const fullH = (oh - 1) * a.strides[0] - a.pads[0] - a.pads[2] + (kh - 1) * a.dilations[0] + 1;
    const fullW = (ow - 1) * a.strides[1] - a.pads[1] - a.pads[3] + (kw - 1) * a.dilations[1] + 1;
    const dx = convTranspose(g, w, { ...a, outputPadding: [h - fullH, wd - fullW] });
    // A strided 1x1 convolution (ResNet's projection shortcut): one batched product with the strided
    // input, 2x faster than the convolution below (measured on 16 -> 32 channels, 32x32 -> 16x16; for
    // 3x3 kernels the strided patches were 1.4x slower than it).
    const [o, c] = [w.shape[0] as number, x.shape[1] as number];
    if (kh * kw === 1 && a.dilations.every((d) => d === 1) && c * oh * ow <= CONV_DW_LIMITS.smallPatches) {
      const cols = patches(x, kh, kw, a.pads, oh, ow, [a.strides[0], a.strides[1]]); // [N, C·kh·kw, P]
      const perExample = matmul(reshape(g, [x.shape[0], w.shape[0], oh * ow]), swapLast(cols));
      return [dx, reshape(reduceSum(perExample, [0]), w.shape)];
    }
    if (stridedFoldedFits(o, c, oh, ow, a)) return [dx, stridedFoldedGradient(x, g, [o, c, kh, kw], a.pads, a.strides[0])];
    // dW[o,c,i,j] = Σ_n,y,x g[n,o,y,x] X[n,c,y·s+i·d-p, ...]: a convolution of Xᵀ (channels ↔ batch)
    // with gᵀ as the kernel, stride and dilation swapped.
    const dw = kernelGradient(transpose(x, [1, 0, 2, 3]), transpose(g, [1, 0, 2, 3]), a, kh, kw);
    return [dx, transpose(dw, [1, 0, 2, 3])];
  },
  tfjs: (tf, [x, w], attrs) => {
    const a = convAttrs(attrs);
    if ((a.groups ?? 1) > 1) return [groupedConvTfjs(tf, x, w, a)];
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

/**
 * Whether a stride-1 convolution's dW is left to the executor's host kernel (Graph.hostKernels):
 * float32, a kernel larger than 1x1 and at least CONV_DW_LIMITS.host.minChannels channels on each
 * side. Measured (docs/engine.md): the kernel, which reads the input's shifted windows in place, 1.4-3.8x
 * faster than the per-tap forms here on ResNet-20's and VGG's 3x3 shapes (dW alone, batch 128), and
 * whole steps 1.07-1.13x faster; with MobileNet's 1x1 convolutions on it too the step was 0.84x as fast
 * (handing their inputs out of onnxruntime costs more than their small products).
 */
function hostWeightGradientFits(x: Value, w: Value): boolean {
  const [o, c, kh, kw] = w.shape as number[];
  const min = CONV_DW_LIMITS.host.minChannels;
  return x.graph.hostKernels.has('ConvWeightGradient') && x.dtype === 'float32' && kh * kw > 1 && o >= min && c >= min;
}

/**
 * dW[o, c, i, j] = Σ_n,y,x g[n, o, y, x] · xpad[n, c, y + i, x + j] for a stride-1, dilation-1,
 * ungrouped convolution (xpad: x zero-padded by `pads`, top, left, bottom, right). An executor may run
 * it on a kernel of its own (OrtExecutor's native kernel reads the shifted windows in place); as ONNX
 * it is the convolution of xᵀ (batch ↔ channels) with gᵀ as the kernel. Bilinear in x and g, so its
 * VJP is the convolution's: dg = conv(x, G), dx = the stride-1 dX of a convolution with kernel G.
 */
defineOp({
  name: 'ConvWeightGradient',
  infer([x, g], attrs) {
    const { kernel, pads } = attrs as { kernel: number[]; pads: number[] };
    if (x.rank !== 4 || g.rank !== 4) throw new Error('input and cotangent must be rank 4 (NCHW)');
    if (x.shape[0] !== g.shape[0]) throw new Error(`batch ${x.shape[0]} of the input against ${g.shape[0]} of the cotangent`);
    if (kernel.length !== 2 || kernel.some((k) => !Number.isInteger(k) || k < 1)) throw new Error(`bad kernel [${kernel.join(', ')}]`);
    if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`bad pads [${pads.join(', ')}]`);
    const [h, wd] = staticSpatial(x, 'ConvWeightGradient input');
    const [oh, ow] = staticSpatial(g, 'ConvWeightGradient cotangent');
    const [eh, ew] = [h + pads[0] + pads[2] - kernel[0] + 1, wd + pads[1] + pads[3] - kernel[1] + 1];
    if (oh !== eh || ow !== ew) throw new Error(`cotangent map ${oh}x${ow}, the convolution gives ${eh}x${ew}`);
    return [{ dtype: x.dtype, shape: [g.shape[1], x.shape[1], kernel[0], kernel[1]] }];
  },
  onnx(ctx, node) {
    const { pads } = node.attrs as { pads: number[] };
    const [xT, gT, dwT] = [ctx.temp('xT'), ctx.temp('gT'), ctx.temp('dwT')];
    ctx.emit('Transpose', [ctx.input(0)], [xT], { perm: { ints: [1, 0, 2, 3] } });
    ctx.emit('Transpose', [ctx.input(1)], [gT], { perm: { ints: [1, 0, 2, 3] } });
    ctx.emit('Conv', [xT, gT], [dwT], { pads: { ints: pads } });
    ctx.emit('Transpose', [dwT], [ctx.output(0)], { perm: { ints: [1, 0, 2, 3] } });
  },
  vjp: (n, [G]) => {
    if (!G) return [undefined, undefined];
    const [x, g] = n.inputs;
    const { kernel, pads } = n.attrs as { kernel: number[]; pads: number[] };
    const [kh, kw] = kernel;
    const flipped = transpose(gather(gather(G, descending(kh), 2), descending(kw), 3), [1, 0, 2, 3]);
    const dx = conv(g, flipped, { pads: [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]] });
    return [dx, conv(x, G, { pads })];
  },
  tfjs: (tf, [x, g], attrs) => {
    const { pads } = attrs as { pads: number[] };
    // xᵀ as NHWC with the channels as the batch, gᵀ as the filter [OH, OW, N, O]: out [C, kh, kw, O].
    const dw = tf.conv2d(tf.transpose(x, [1, 2, 3, 0]) as any, tf.transpose(g, [2, 3, 0, 1]) as any, 1, [
      [0, 0],
      [pads[0], pads[2]],
      [pads[1], pads[3]],
      [0, 0],
    ]);
    return [tf.transpose(dw, [3, 0, 1, 2])];
  },
});

/**
 * VJP of a grouped convolution (dilation 1). dX: the stride-1 convolution of the cotangent, zeros
 * inserted between its entries for stride > 1, with each group's kernel flipped and transposed, in
 * the same groups. dW: per group, the products of the cotangent with the input's strided patches,
 * summed over the batch and positions (for depthwise, the patches' size: no larger than im2col).
 * Depthwise convolutions choose per part (depthwiseConvVjp).
 */
function groupedConvVjp(x: Value, w: Value, g: Value, a: ConvAttrs): [Value, Value] {
  if (isDepthwise(x, w, a)) return depthwiseConvVjp(x, w, g, a);
  return [groupedInputGradient(x, w, g, a), groupedPatchesWeightGradient(x, w, g, a)];
}

/** dX of a grouped convolution: the cotangent (zeros between its entries for stride > 1) convolved with the flipped kernels. */
function groupedInputGradient(x: Value, w: Value, g: Value, a: ConvAttrs): Value {
  const G = a.groups as number;
  const [nb, c, h, wd] = x.shape as [Dim, number, number, number];
  const [o, cg, kh, kw] = w.shape as number[];
  const [oh, ow] = staticSpatial(g, 'Conv cotangent');
  const [sh, sw] = a.strides;
  const flipped = gather(gather(w, descending(kh), 2), descending(kw), 3);
  const kT = reshape(transpose(reshape(flipped, [G, o / G, cg, kh, kw]), [0, 2, 1, 3, 4]), [c, o / G, kh, kw]);
  let gd = g;
  if (sh > 1 || sw > 1) {
    const z = pad(reshape(g, [nb, o, oh, 1, ow, 1]), [0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1], 0);
    gd = reshape(z, [nb, o, oh * sh, ow * sw]);
  }
  // Output length L + pb + pe - k + 1 must be the input's: pe = H - L + p0; a negative pe drops trailing zeros.
  const [pb0, pb1] = [kh - 1 - a.pads[0], kw - 1 - a.pads[1]];
  const [pe0, pe1] = [h - oh * sh + a.pads[0], wd - ow * sw + a.pads[1]];
  if (pe0 < 0 || pe1 < 0) gd = slice(gd, [0, 0], [oh * sh + Math.min(pe0, 0), ow * sw + Math.min(pe1, 0)], [2, 3]);
  return conv(gd, kT, { pads: [pb0, pb1, Math.max(pe0, 0), Math.max(pe1, 0)], groups: G });
}

/** dW of a grouped convolution from the input's patches: per group, cotangent times patches, summed over batch and positions. */
function groupedPatchesWeightGradient(x: Value, w: Value, g: Value, a: ConvAttrs): Value {
  const G = a.groups as number;
  const nb = x.shape[0];
  const [o, cg, kh, kw] = w.shape as number[];
  const [oh, ow] = staticSpatial(g, 'Conv cotangent');
  const cols = reshape(patches(x, kh, kw, a.pads, oh, ow, [a.strides[0], a.strides[1]]), [nb, G, 1, cg * kh * kw, oh * ow]);
  const prod = mul(reshape(g, [nb, G, o / G, 1, oh * ow]), cols); // [N, G, O/G, cg·kh·kw, P]
  return reshape(reduceSum(prod, [0, 4]), [o, cg, kh, kw]);
}

/**
 * VJP of a depthwise convolution (MobileNet's 3x3 layers). Where the graph's executor runs depthwise
 * convolutions on onnxruntime's NCHWc kernels (GraphTarget.nchwcBlock, depthwiseBlockFits), the input
 * gradient of a stride-1 one is the depthwise convolution of the cotangent with the flipped kernel,
 * which runs there (MobileNetV1 0.25's step 1.01-1.09x faster, docs/engine.md). Elsewhere, and for
 * strided ones (whose zero-filled cotangent costs a single-threaded Pad and four times the work),
 * small maps take the matrix products for dX and dW, larger ones the grouped rule; dW of a stride-1
 * one on a small map keeps its matrix products too.
 */
function depthwiseConvVjp(x: Value, w: Value, g: Value, a: ConvAttrs): [Value, Value] {
  const [, , h, wd] = x.shape as [Dim, number, number, number];
  const [oh, ow] = staticSpatial(g, 'Conv cotangent');
  const matrix = h * wd * oh * ow <= DEPTHWISE_MATRIX_MAX;
  const blockedDx = a.strides.every((s) => s === 1) && depthwiseBlockFits(x.graph.nchwcBlock, x);
  if (!blockedDx) {
    if (!matrix) return [groupedInputGradient(x, w, g, a), groupedPatchesWeightGradient(x, w, g, a)];
    const both = depthwiseMatrixVjp(x, w, g, a, { dx: true, dw: true });
    return [both.dx!, both.dw!];
  }
  const dw = matrix ? depthwiseMatrixVjp(x, w, g, a, { dw: true }).dw! : groupedPatchesWeightGradient(x, w, g, a);
  return [groupedInputGradient(x, w, g, a), dw];
}

/**
 * Largest (input pixels) x (output pixels) of a depthwise map for which its VJP is built from matrix
 * products (16x16 -> 16x16, 32x32 -> 16x16): measured on MobileNetV1 0.25 faster than the patches there
 * (docs/engine.md); larger maps (32x32 -> 32x32) keep the grouped formulation above, as the matrices
 * grow with the map squared and the work of a 3x3 kernel with the map.
 */
export const DEPTHWISE_MATRIX_MAX = 262144;

/**
 * VJP of a depthwise convolution (one input and one output channel per group) on a small map. Each
 * channel's convolution is one matrix, y_c = x_c·M_c with x_c [N, H·W], y_c [N, OH·OW] and
 * M_c = Σ_k w[c, k]·S_k, where the constant 0/1 matrix S_k marks the input pixel that kernel tap k
 * reads for each output pixel (stride and padding included). Then dX_c = g_c·M_cᵀ and
 * dW[c, k] = Σ (x_cᵀ·g_c) ⊙ S_k: batched matrix products over the channels, which onnxruntime runs
 * multi-threaded, instead of its per-(example, group) loops and the patch Slices of the general rule.
 * Builds the parts asked for (depthwiseConvVjp may take dX elsewhere).
 */
function depthwiseMatrixVjp(x: Value, w: Value, g: Value, a: ConvAttrs, parts: { dx?: boolean; dw?: boolean }): { dx?: Value; dw?: Value } {
  const [nb, c, h, wd] = x.shape as [Dim, number, number, number];
  const [, , kh, kw] = w.shape as number[];
  const [oh, ow] = staticSpatial(g, 'Conv cotangent');
  const [P, Q, K] = [h * wd, oh * ow, kh * kw];
  const { taps, tapsT } = depthwiseTaps([h, wd], [kh, kw], [oh, ow], a);
  // (built in the order of the form that always made both: the emitted graph is unchanged)
  const S = parts.dx ? x.graph.constant(hostTensor(x.dtype, [K, P * Q], taps)) : undefined;
  const ST = parts.dw ? x.graph.constant(hostTensor(x.dtype, [P * Q, K], tapsT)) : undefined;
  const m = S && reshape(matmul(reshape(w, [c, K]), S), [c, P, Q]);
  const xc = ST && transpose(reshape(x, [nb, c, P]), [1, 0, 2]); // [C, N, P]
  const gc = transpose(reshape(g, [nb, c, Q]), [1, 0, 2]); // [C, N, Q]
  return {
    dx: m && reshape(transpose(matmul(gc, swapLast(m)), [1, 0, 2]), [nb, c, h, wd]),
    dw: xc && ST && reshape(matmul(reshape(matmul(swapLast(xc), gc), [c, P * Q]), ST), [c, 1, kh, kw]),
  };
}

/** The 0/1 tap matrices of a depthwise map: S [K, H·W·OH·OW] (tap k reads input pixel p for output pixel q) and Sᵀ. */
function depthwiseTaps([h, wd]: number[], [kh, kw]: number[], [oh, ow]: number[], a: ConvAttrs) {
  const [P, Q, K] = [h * wd, oh * ow, kh * kw];
  const taps = new Float64Array(K * P * Q);
  const tapsT = new Float64Array(K * P * Q);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const k = i * kw + j;
      for (let y = 0; y < oh; y++) {
        const iy = y * a.strides[0] - a.pads[0] + i;
        if (iy < 0 || iy >= h) continue;
        for (let xo = 0; xo < ow; xo++) {
          const ix = xo * a.strides[1] - a.pads[1] + j;
          if (ix < 0 || ix >= wd) continue;
          const pq = (iy * wd + ix) * Q + y * ow + xo;
          taps[k * P * Q + pq] = 1;
          tapsT[pq * K + k] = 1;
        }
      }
    }
  }
  return { taps, tapsT };
}

/**
 * Largest (input pixels) x (output pixels) for which a depthwise convolution's forward pass is emitted
 * as the matrix products of depthwiseMatrixVjp (up to 8x8 -> 8x8: onnxruntime's grouped Conv loops
 * over every (example, channel) and costs more there than the products; from 16x16 on its Conv is
 * the faster forward).
 */
export const DEPTHWISE_MATRIX_FORWARD_MAX = 4096;

function isDepthwise(x: Value, w: Value, a: ConvAttrs): boolean {
  return (a.groups ?? 1) > 1 && w.shape[1] === 1 && w.shape[0] === x.shape[1] && a.dilations.every((d) => d === 1);
}

function depthwiseMatrixForward(x: Value, w: Value, y: Value, a: ConvAttrs): boolean {
  if (!isDepthwise(x, w, a)) return false;
  const [h, wd, oh, ow] = [...x.shape.slice(2), ...y.shape.slice(2)] as number[];
  return h * wd * oh * ow <= DEPTHWISE_MATRIX_FORWARD_MAX;
}

/** y_c = x_c·M_c with M_c = Σ_k w[c, k]·S_k, channels as the batch of the products (see depthwiseMatrixVjp). */
function emitDepthwiseMatrix(ctx: OnnxNodeContext, node: Node, a: ConvAttrs): void {
  const [x, w] = node.inputs;
  const [, c, h, wd] = x.shape as number[];
  const [, , kh, kw] = w.shape as number[];
  const [oh, ow] = node.outputs[0].shape.slice(2) as number[];
  const [P, Q, K] = [h * wd, oh * ow, kh * kw];
  const S = ctx.tensor(hostTensor(x.dtype, [K, P * Q], depthwiseTaps([h, wd], [kh, kw], [oh, ow], a).taps), 'taps');
  const [wk, mFlat, m, x3, xc, yc, yt] = ['w_taps', 'm_flat', 'm', 'x3', 'xc', 'yc', 'yt'].map((t) => ctx.temp(t));
  ctx.emit('Reshape', [ctx.input(1), ctx.int64s([c, K])], [wk]);
  ctx.emit('MatMul', [wk, S], [mFlat]);
  ctx.emit('Reshape', [mFlat, ctx.int64s([c, P, Q])], [m]);
  ctx.emit('Reshape', [ctx.input(0), ctx.int64s([-1, c, P])], [x3]);
  ctx.emit('Transpose', [x3], [xc], { perm: { ints: [1, 0, 2] } });
  ctx.emit('MatMul', [xc, m], [yc]);
  ctx.emit('Transpose', [yc], [yt], { perm: { ints: [1, 0, 2] } });
  ctx.emit('Reshape', [yt, ctx.int64s([-1, c, oh, ow])], [ctx.output(0)]);
}

/**
 * Most extra work (padded channels: O'·C' over O·C) for which a conv still runs on the NCHWc kernels
 * with its channels padded up to whole blocks: they measured 1.4-1.5x faster than Conv on whole blocks
 * with AVX-512 but only 1.05-1.13x with AVX2 (docs/engine.md), so only a little padding pays everywhere.
 */
export const NCHWC_MAX_PADDED_WORK = 1.125;

const roundUp = (n: number, b: number) => Math.ceil(n / b) * b;

/** An NCHWc convolution's padded channel counts (outputs, inputs), whether x is reordered, and whether it is depthwise. */
interface NchwcPlan {
  op: number;
  cp: number;
  blockedIn: boolean;
  depthwise?: boolean;
}

/**
 * Whether a depthwise convolution of x runs on onnxruntime's NCHWc depthwise kernel (block B > 0):
 * float32 and channels a multiple of 4 (ReorderInput's condition), padded with zero channels up to
 * whole blocks whatever that costs: the kernel measured 1.6-7.6x faster than onnxruntime's grouped Conv
 * on MobileNetV1 0.25's layers with AVX-512, 8 channels padded to 16 included (docs/engine.md).
 */
function depthwiseBlockFits(block: number, x: Value): boolean {
  return block >= 2 && x.dtype === 'float32' && (x.shape[1] as number) % 4 === 0;
}

/**
 * How a convolution runs as onnxruntime's NCHWc Conv (ctx.nchwcBlock), or undefined where it does not.
 * Depthwise: depthwiseBlockFits. Otherwise ungrouped float32; input channels fewer than a block (a
 * first layer, read as NCHW: `blockedIn` false) or a multiple of 4 (ReorderInput's condition; it
 * zero-fills them up to whole blocks); filters zero-padded to `op` x `cp` channels (whole blocks;
 * ReorderOutput cuts the extra outputs off again), at most NCHWC_MAX_PADDED_WORK times the work.
 */
function nchwcPlan(block: number, node: Node, a: ConvAttrs): NchwcPlan | undefined {
  const [x, w] = node.inputs;
  if (isDepthwise(x, w, a)) {
    if (!depthwiseBlockFits(block, x)) return undefined;
    const cp = roundUp(x.shape[1] as number, block);
    return { op: cp, cp, blockedIn: true, depthwise: true };
  }
  if (block < 2 || (a.groups ?? 1) > 1) return undefined;
  const [o, c] = w.shape;
  if (x.dtype !== 'float32' || typeof c !== 'number' || typeof o !== 'number') return undefined;
  const blockedIn = c >= block;
  if (blockedIn && c % 4 !== 0) return undefined;
  const [op, cp] = [roundUp(o, block), blockedIn ? roundUp(c, block) : c];
  return (op * cp) / (o * c) <= NCHWC_MAX_PADDED_WORK ? { op, cp, blockedIn } : undefined;
}

/**
 * The convolution in onnxruntime's blocked layout (`plan` from nchwcPlan): x reordered to NCHWc
 * (channels in blocks of B innermost), the kernel zero-padded to whole blocks and reordered to
 * OIHWBiBo ([O'/B, C'/B, kh, kw, B_in, B_out]; OIHWBo, [O'/B, C, kh, kw, B_out], for an NCHW input
 * with C < B and for a depthwise kernel, whose C is 1 and whose groups are its O' channels), NCHWc
 * Conv, and the result reordered back to NCHW with its O channels. Its direct kernels measured 1.5-1.7x faster
 * than Conv's im2col + GEMM on the 16-64 channel 3x3 convs of the CIFAR nets with AVX-512 (docs/engine.md).
 */
function emitNchwcConv(ctx: OnnxNodeContext, node: Node, a: ConvAttrs, { op, cp, blockedIn, depthwise }: NchwcPlan): void {
  const B = ctx.nchwcBlock;
  const [o, c, kh, kw] = node.inputs[1].shape as number[]; // depthwise: c = 1
  const filterIn = depthwise ? 1 : cp;
  const [xb, wp, wr, wt, wb, yb] = ['x_nchwc', 'w_padded', 'w_blocks', 'w_blocked_t', 'w_nchwc', 'y_nchwc'].map((t) => ctx.temp(t));
  if (blockedIn) ctx.emit('ReorderInput', [ctx.input(0)], [xb], {}, NCHWC_DOMAIN);
  let w = ctx.input(1);
  if (op > o || filterIn > c) {
    ctx.emit('Pad', [w, ctx.int64s([0, 0, 0, 0, op - o, filterIn - c, 0, 0]), ctx.scalar(0, 'float32')], [wp], { mode: { s: 'constant' } });
    w = wp;
  }
  if (blockedIn && !depthwise) {
    ctx.emit('Reshape', [w, ctx.int64s([op / B, B, cp / B, B, kh, kw])], [wr]);
    ctx.emit('Transpose', [wr], [wt], { perm: { ints: [0, 2, 4, 5, 3, 1] } });
  } else {
    ctx.emit('Reshape', [w, ctx.int64s([op / B, B, filterIn, kh, kw])], [wr]);
    ctx.emit('Transpose', [wr], [wt], { perm: { ints: [0, 2, 3, 4, 1] } });
  }
  ctx.emit('Reshape', [wt, ctx.int64s([op, filterIn, kh, kw])], [wb]);
  const attrs: Record<string, OnnxAttr> = { ...onnxConvAttrs(a), kernel_shape: { ints: [kh, kw] } };
  if (depthwise) attrs.group = { i: op };
  ctx.emit('Conv', [blockedIn ? xb : ctx.input(0), wb], [yb], attrs, NCHWC_DOMAIN);
  ctx.emit('ReorderOutput', [yb], [ctx.output(0)], { channels: { i: o } }, NCHWC_DOMAIN);
}

/**
 * Largest share of output to input channels (O/C) for which a stride-1 kh x kw convolution runs as
 * the sum of its taps (emitTapSumConv) instead of onnxruntime's Conv, whose im2col buffer holds C·kh·kw
 * rows per example however few the outputs: a Firefly-grown layer of 215 channels into 2 wrote 9x its
 * input to produce 1/100 of it. Mutable for the tests, which compare both forms.
 */
export const CONV_TAP_SUM = { maxOutputShare: 0.25 };

/** Whether a convolution takes emitTapSumConv: ungrouped, stride and dilation 1, a kernel larger than 1x1, few outputs for its inputs. */
function tapSumFits(node: Node, a: ConvAttrs): boolean {
  const [o, c, kh, kw] = node.inputs[1].shape;
  if ((a.groups ?? 1) > 1 || [...a.strides, ...a.dilations].some((v) => v !== 1)) return false;
  if ([o, c, kh, kw].some((d) => typeof d !== 'number') || (kh as number) * (kw as number) === 1) return false;
  return (o as number) <= CONV_TAP_SUM.maxOutputShare * (c as number);
}

/**
 * y = Σ over taps (i, j) of z(i, j) shifted by (i, j), with z = all kh·kw·O tap filters applied to x at
 * once as a 1x1 convolution ([N, kh·kw·O, H, W], one GEMM without im2col), padded as the convolution
 * pads x: y[:, o, h, w] = Σ_ij Σ_c W[o, c, i, j]·x_padded[:, c, h + i, w + j]. The copies are of z
 * (kh·kw·O channels), not of x's C channels kh·kw times.
 */
function emitTapSumConv(ctx: OnnxNodeContext, node: Node, a: ConvAttrs): void {
  const [o, c, kh, kw] = node.inputs[1].shape as number[];
  const [oh, ow] = node.outputs[0].shape.slice(2) as number[];
  const [wt, w1, z, zp] = ['w_taps_t', 'w_taps', 'z_taps', 'z_padded'].map((t) => ctx.temp(t));
  ctx.emit('Transpose', [ctx.input(1)], [wt], { perm: { ints: [2, 3, 0, 1] } }); // [kh, kw, O, C]
  ctx.emit('Reshape', [wt, ctx.int64s([kh * kw * o, c, 1, 1])], [w1]);
  ctx.emit('Conv', [ctx.input(0), w1], [z], { kernel_shape: { ints: [1, 1] } });
  const p = a.pads;
  const padded = p.some((v) => v > 0);
  if (padded)
    ctx.emit('Pad', [z, ctx.int64s([0, 0, p[0], p[1], 0, 0, p[2], p[3]]), ctx.scalar(0, node.inputs[0].dtype)], [zp], {
      mode: { s: 'constant' },
    });
  const taps: string[] = [];
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const t = i * kw + j;
      const tap = ctx.temp(`tap_${i}_${j}`);
      ctx.emit(
        'Slice',
        [padded ? zp : z, ctx.int64s([t * o, i, j]), ctx.int64s([(t + 1) * o, i + oh, j + ow]), ctx.int64s([1, 2, 3])],
        [tap],
      );
      taps.push(tap);
    }
  ctx.emit('Sum', taps, [ctx.output(0)]);
}

/** tfjs has no grouped conv2d: depthwise (one input channel per group) or one conv2d per group. */
function groupedConvTfjs(tf: Tf, x: TfTensor, w: TfTensor, a: ConvAttrs): TfTensor {
  const G = a.groups as number;
  const [o, cg, kh, kw] = w.shape;
  const padded = tf.pad(toNHWC(tf, x), [
    [0, 0],
    [a.pads[0], a.pads[2]],
    [a.pads[1], a.pads[3]],
    [0, 0],
  ]) as any;
  const strides: [number, number] = [a.strides[0], a.strides[1]];
  if (cg === 1) {
    const k = tf.transpose(tf.reshape(w, [G, o / G, kh, kw]), [2, 3, 0, 1]) as any;
    return toNCHW(tf, tf.depthwiseConv2d(padded, k, strides, 'valid'));
  }
  const xs = tf.split(padded, G, 3),
    ws = tf.split(tf.transpose(w, [2, 3, 1, 0]), G, 3);
  return toNCHW(
    tf,
    tf.concat(
      xs.map((xi, i) => tf.conv2d(xi as any, ws[i] as any, strides, 'valid')),
      3,
    ),
  );
}

const descending = (k: number) => Array.from({ length: k }, (_, i) => k - 1 - i);

/**
 * Largest im2col patches per example (C·kh·kw·OH·OW floats, 16 MB at batch 128) for which a stride-1
 * convolution's dW stays one batched product with the patches: a network's first layer (3 channels on
 * 32x32: 27,648), where it measured 1.3-1.4x faster than the per-tap forms below; from 16 channels on
 * 16x16 (36,864) the per-tap forms measured 1.07-1.2x faster (dW with its forward conv, batch 128, in
 * isolation). Mutable for the tests, which check the per-tap forms on small shapes.
 */
export const CONV_DW_LIMITS = {
  smallPatches: 32768,
  stackedTaps: true,
  /** Smallest input and output channels and output map side for `stridedFoldedGradient` (Infinity: never). */
  stridedFolded: { inputs: 16, outputs: 32, map: 4 },
  /**
   * The folded dW by row bands (`rowsGradient`): from an output map this wide, while both channel
   * counts are at most `maxChannels` (minWidth Infinity: never). Measured (onnxruntime's profiler,
   * docs/engine.md): ResNet-20's 64-channel 8x8 convs gain; VGG's 128 channels on 16x16 and 256 on 8x8
   * do not (their products are compute-bound, and the bands' 1.125-1.25x entries cost what the
   * windows' copies saved).
   */
  rows: { minWidth: 8, maxChannels: 64 },
  /** Fewest input and output channels for the host kernel's dW (hostWeightGradientFits; Infinity: never). */
  host: { minChannels: 16 },
};

/**
 * Whether a strided convolution's dW takes the stride phases and folded per-tap GEMMs
 * (`stridedFoldedGradient`) instead of the convolution of xᵀ with gᵀ: equal strides, dilation 1, and
 * (CONV_DW_LIMITS.stridedFolded) at least 16 inputs, 32 outputs and a 4x4 output map. Measured (dW
 * alone, batch 128, 3x3 stride 2, docs/engine.md): 1.12-1.54x on 16 → 32 at 32x32, 32 → 64 at 16x16, 64 → 128 at 8x8 and a grown
 * depth net's 244 → 132 at 14x14 and 132 → 187 at 7x7; slower on 1 or 3 inputs (0.25-0.43x),
 * 16 → 16 (0.88x) and a 2x2 output map (187 → 181 at 4x4, 0.88x).
 */
function stridedFoldedFits(o: number, c: number, oh: number, ow: number, a: ConvAttrs): boolean {
  const min = CONV_DW_LIMITS.stridedFolded;
  return (
    a.strides[0] === a.strides[1] && a.dilations.every((d) => d === 1) && c >= min.inputs && o >= min.outputs && Math.min(oh, ow) >= min.map
  );
}

/**
 * Whether a convolution's dW takes the folded per-tap GEMMs (small maps, many channels): when the
 * per-example [N, O, C] products of every tap would outgrow the input and the cotangent,
 * O·C·kh·kw > C·H'·W' + O·OH·OW (H'·W' the padded map).
 */
function foldedFits(o: number, c: number, kh: number, kw: number, x: Value, pads: number[], P: number): boolean {
  const [h, wd] = staticSpatial(x, 'Conv input');
  return o * c * kh * kw > c * (h + pads[0] + pads[2]) * (wd + pads[1] + pads[3]) + o * P;
}

/**
 * dW of a stride-1 convolution, one kernel tap at a time: dW[:, :, i, j] = Σ_n g_n·X_n(i, j)ᵀ with
 * X(i, j) the input under tap (i, j) ([N, C, OH·OW]). The shifted inputs are never concatenated into
 * im2col patches ([N, C·kh·kw, OH·OW]: 288 MB for 64 channels on 32x32 at batch 128, on top of its
 * nine Slices, the peak of a VGG step; docs/engine.md). Per shape:
 * - large maps: a batched product per example and tap ([N, O, C] each), stacked and summed over the batch;
 * - small maps with many channels, where those per-example [N, O, C] products outgrow the input
 *   (N·O·C·kh·kw > N·(C·H'·W' + O·OH·OW), H'·W' the padded map): g and the padded input transposed
 *   once to channels-first ([O, N, ...], [C, N, ...]), then per tap one GEMM with the batch and the
 *   map folded into the inner dimension (FoldedMatMul), [O, C] each;
 * - otherwise, while the patches are small (CONV_DW_LIMITS): one product with the im2col patches.
 */
function kernelGradient1(x: Value, g: Value, w: Value, pads: number[]): Value {
  const [nb, c, h, wd] = x.shape as [Dim, number, number, number];
  const [o, , kh, kw] = w.shape as number[];
  const [oh, ow] = staticSpatial(g, 'Conv cotangent');
  const P = oh * ow;
  if (foldedFits(o, c, kh, kw, x, pads, P)) {
    const xp = pads.some((p) => p > 0) ? pad(x, [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]], 0) : x;
    const xT = transpose(xp, [1, 0, 2, 3]); // [C, N, H', W']
    const gT = transpose(g, [1, 0, 2, 3]); // [O, N, OH, OW]
    const rows = CONV_DW_LIMITS.rows;
    if (kw > 1 && ow >= rows.minWidth && Math.max(o, c) <= rows.maxChannels) return rowsGradient(xT, gT, [o, c, kh, kw]);
    const perTap: Value[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = kh === 1 && kw === 1 && xp === x ? xT : slice(xT, [i, j], [i + oh, j + ow], [2, 3]);
        perTap.push(foldedMatmul(gT, tap));
      }
    }
    return tapsAsKernel(perTap, [o, c, kh, kw]);
  }
  const g3 = reshape(g, [nb, o, P]);
  if (c * kh * kw * P <= CONV_DW_LIMITS.smallPatches) {
    const cols = patches(x, kh, kw, pads, oh, ow); // [N, C·kh·kw, P]
    return reshape(reduceSum(matmul(g3, swapLast(cols)), [0]), [o, c, kh, kw]);
  }
  if (CONV_DW_LIMITS.stackedTaps && kh * kw > 1 && Math.min(o, c) * kh * kw <= Math.max(o, c))
    return stackedTapsGradient(x, g, [o, c, kh, kw], pads);
  const taps = shiftedInputs(x, kh, kw, pads, oh, ow);
  if (taps.length === 1) return reshape(reduceSum(matmul(g3, swapLast(taps[0])), [0]), [o, c, kh, kw]);
  const perTap = taps.map((t) => reshape(matmul(g3, swapLast(t)), [nb, 1, o, c])); // [N, 1, O, C] each
  return reshape(transpose(reduceSum(concat(perTap, 1), [0]), [1, 2, 0]), [o, c, kh, kw]); // [K, O, C] -> [O, C, K]
}

/**
 * The folded stride-1 dW without the input's kh·kw shifted windows (their rows of OW floats copy
 * slowly on small maps): the padded input xT [C, N, H', W'] cut into kh row bands [C, N, OH, W']
 * (long runs), the cotangent laid into rows of W' (zeros in its last kw − 1 columns) and shifted by
 * j along the flattened rows, so that band i against shift j is tap (i, j):
 * Σ g[o, n, y, x]·xT[c, n, y + i, x + j] = Σ_q G_j[o, n, q]·X_i[c, n, q], q over OH·W' (the
 * shifted-in entries are the zero columns). Products over W'/OW more entries (1.25x at 8x8 with pad 1).
 */
function rowsGradient(xT: Value, gT: Value, [o, c, kh, kw]: number[]): Value {
  const [, nb, hp, wp] = xT.shape as [number, Dim, number, number];
  const [oh, ow] = staticSpatial(gT, 'Conv cotangent');
  const L = oh * wp;
  const rows = reshape(pad(gT, [0, 0, 0, 0, 0, 0, 0, wp - ow], 0), [o, nb, L]); // [O, N, OH·W']
  const front = pad(rows, [0, 0, kw - 1, 0, 0, 0], 0); // [O, N, kw − 1 + OH·W']
  const shifted = Array.from({ length: kw }, (_, j) => slice(front, [kw - 1 - j], [kw - 1 - j + L], [2]));
  const perTap: Value[] = [];
  for (let i = 0; i < kh; i++) {
    const band = reshape(oh === hp ? xT : slice(xT, [i], [i + oh], [2]), [c, nb, L]); // [C, N, OH·W']
    for (let j = 0; j < kw; j++) perTap.push(foldedMatmul(shifted[j], band));
  }
  return tapsAsKernel(perTap, [o, c, kh, kw]);
}

/**
 * dW of a strided convolution with equal strides s (dilation 1): the padded input's stride phases,
 * channels first ([C, s, s, N, H'/s, W'/s], `stridePhases`), make tap (i, j) a plain window of phase
 * (i mod s, j mod s) at offset (⌊i/s⌋, ⌊j/s⌋); per tap one GEMM with the cotangent, the batch and the
 * map folded into the inner dimension (FoldedMatMul), [O, C] each. It replaces the convolution of xᵀ
 * with gᵀ, whose im2col rows are the batch times the output map with only kh·kw columns. Where it
 * pays (`stridedFoldedFits`): measured per shape in docs/engine.md.
 */
function stridedFoldedGradient(x: Value, g: Value, [o, c, kh, kw]: number[], pads: number[], s: number): Value {
  const [nb, , h, wd] = x.shape as [Dim, number, number, number];
  const [oh, ow] = staticSpatial(g, 'Conv cotangent');
  // Rows the taps read: up to (kh − 1) + (OH − 1)·s; pad below/right to whole phases of that.
  const [ph, pw] = [Math.ceil((kh + (oh - 1) * s) / s), Math.ceil((kw + (ow - 1) * s) / s)];
  const [bottom, right] = [ph * s - h - pads[0], pw * s - wd - pads[1]];
  // Below the conv's own pads: rows and columns it never reads, cut off.
  const cut = bottom < 0 || right < 0 ? slice(x, [0, 0], [h + Math.min(0, bottom), wd + Math.min(0, right)], [2, 3]) : x;
  const [bp, rp] = [Math.max(0, bottom), Math.max(0, right)];
  const xp = pads[0] || pads[1] || bp || rp ? pad(cut, [0, 0, pads[0], pads[1], 0, 0, bp, rp], 0) : cut;
  const phases = stridePhases(transpose(xp, [1, 0, 2, 3]), s); // [C, s, s, N, ph, pw]
  const gT = transpose(g, [1, 0, 2, 3]); // [O, N, OH, OW]
  const perTap: Value[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const [ri, rj] = [Math.floor(i / s), Math.floor(j / s)];
      const tap = slice(phases, [i % s, j % s, ri, rj], [(i % s) + 1, (j % s) + 1, ri + oh, rj + ow], [1, 2, 4, 5]);
      perTap.push(foldedMatmul(gT, reshape(tap, [c, nb, oh, ow])));
    }
  }
  return tapsAsKernel(perTap, [o, c, kh, kw]);
}

/** The per-tap [O, C] products of a folded dW, taps (i, j) in row-major order, as the kernel gradient [O, C, kh, kw]. */
function tapsAsKernel(perTap: Value[], [o, c, kh, kw]: number[]): Value {
  const columns = perTap.map((p) => reshape(p, [o, c, 1]));
  return reshape(columns.length === 1 ? columns[0] : concat(columns, 2), [o, c, kh, kw]);
}

/**
 * dW of a stride-1 convolution between many and few channels (kh·kw·min(O, C) ≤ max(O, C): a
 * Firefly-grown net's narrow new layers, 215 channels into 2 and back): the kh·kw shifted copies of
 * the narrow side stacked ([kh·kw·min, N, ...], channels first) and one GEMM with the wide side, the
 * batch and the map folded into the inner dimension (FoldedMatMul). Copies of the narrow side only,
 * the wide side read once.
 * - O < C: shift the cotangent. dW[:, :, i, j] = Σ G(i, j)·Xᵀ over the batch and the input's map, with
 *   G(i, j)[y, x] = g[y + p0 − i, x + p1 − j] (zero outside g): a window of g padded by kernel − 1 − pads.
 * - O ≥ C: shift the input, as the patches do: dW[:, :, i, j] = Σ g·X(i, j)ᵀ.
 */
function stackedTapsGradient(x: Value, g: Value, [o, c, kh, kw]: number[], pads: number[]): Value {
  const [h, wd] = staticSpatial(x, 'Conv input');
  const [oh, ow] = staticSpatial(g, 'Conv cotangent');
  const chFirst = (v: Value) => transpose(v, [1, 0, 2, 3]);
  const stack = (v: Value, window: (i: number, j: number) => [number, number], [sh, sw]: number[]) => {
    const taps: Value[] = [];
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        const [a, b] = window(i, j);
        taps.push(slice(v, [a, b], [a + sh, b + sw], [2, 3]));
      }
    return concat(taps, 0);
  };
  const padTo = (v: Value, p: number[]) => (p.some((q) => q !== 0) ? pad(v, [0, 0, p[0], p[1], 0, 0, p[2], p[3]], 0) : v);
  const gPads = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]];
  if (o < c && gPads.every((p) => p >= 0)) {
    const G = stack(chFirst(padTo(g, gPads)), (i, j) => [kh - 1 - i, kw - 1 - j], [h, wd]); // [K·O, N, H, W]
    return transpose(reshape(foldedMatmul(G, chFirst(x)), [kh, kw, o, c]), [2, 3, 0, 1]);
  }
  const X = stack(chFirst(padTo(x, pads)), (i, j) => [i, j], [oh, ow]); // [K·C, N, OH, OW]
  return transpose(reshape(foldedMatmul(chFirst(g), X), [o, kh, kw, c]), [0, 3, 1, 2]);
}

/** The kh x kw patches under a kernel (stride 1 by default): [N, C·kh·kw, OH·OW], in the kernel's (c, i, j) order. */
function patches(x: Value, kh: number, kw: number, pads: number[], oh: number, ow: number, strides: [number, number] = [1, 1]): Value {
  const [nb, c] = x.shape as [Dim, number];
  const shifted = shiftedInputs(x, kh, kw, pads, oh, ow, strides).map((t) => reshape(t, [nb, c, 1, oh * ow]));
  const stacked = shifted.length === 1 ? shifted[0] : concat(shifted, 2); // [N, C, kh·kw, P]
  return reshape(stacked, [nb, c * kh * kw, oh * ow]);
}

/** The input under each kernel tap (i, j), in row-major tap order: kh·kw values [N, C, OH·OW]. */
function shiftedInputs(x: Value, kh: number, kw: number, pads: number[], oh: number, ow: number, [sh, sw] = [1, 1]): Value[] {
  const [nb, c, h, wd] = x.shape as [Dim, number, number, number];
  // Strided: room for oh·sh rows from the last kernel row, then every sh-th row (reshape, keep index 0).
  const [eh, ew] = [Math.max(0, kh - 1 + oh * sh - (h + pads[0] + pads[2])), Math.max(0, kw - 1 + ow * sw - (wd + pads[1] + pads[3]))];
  const strided = sh > 1 || sw > 1;
  const xp = pads.some((p) => p > 0) || eh || ew ? pad(x, [0, 0, pads[0], pads[1], 0, 0, pads[2] + eh, pads[3] + ew], 0) : x;
  const take = (i: number, j: number) => {
    if (!strided) return slice(xp, [i, j], [i + oh, j + ow], [2, 3]);
    const s = reshape(slice(xp, [i, j], [i + oh * sh, j + ow * sw], [2, 3]), [nb, c, oh, sh, ow, sw]);
    return slice(s, [0, 0], [1, 1], [3, 5]);
  };
  const shifted: Value[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) shifted.push(reshape(take(i, j), [nb, c, oh * ow]));
  }
  return shifted;
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

// ---- Batch normalisation, training mode ------------------------------------------------------------
const bnAxes = (x: Value) => (x.rank === 2 ? [0] : [0, 2, 3]);
const bnChannelShape = (x: Value) => (x.rank === 2 ? [1, x.shape[1]] : [1, x.shape[1], 1, 1]) as number[];

/** Elements per channel that the statistics average over: a number, or a run-time scalar with the batch size. */
function perChannelCount(x: Value): Value | number {
  let n = 1;
  for (const a of bnAxes(x)) if (x.shape[a] !== 'N') n *= x.shape[a] as number;
  return x.shape[0] === 'N' ? mul(cast(gather(shapeOf(x), [0]), x.dtype), n) : n;
}
/** Elements per channel when every axis it counts is static. */
function staticCount(x: Value): number | undefined {
  let n = 1;
  for (const a of bnAxes(x)) {
    const d = x.shape[a];
    if (d === 'N') return undefined;
    n *= d;
  }
  return n;
}
const overCount = (v: Value, m: Value | number) => (typeof m === 'number' ? mul(v, 1 / m) : div(v, m));

/**
 * y = x·s + t per channel: inputs x ([N, C] or NCHW), s and t ([C]). Emitted as onnxruntime's
 * inference-mode BatchNormalization with mean 0, variance 1 and epsilon 0 (one multi-threaded pass,
 * the same arithmetic as Mul then Add), it carries batch norm's backward: dx = gy·a + (x − μ)·b − k.
 */
defineOp({
  name: 'ChannelAffine',
  infer([x, s, t]) {
    if (!isFloat(x.dtype)) throw new Error(`needs a float input, got ${x.dtype}`);
    if (x.rank !== 2 && x.rank !== 4) throw new Error('input must be [N, C] or NCHW');
    const c = x.shape[1];
    if (c === 'N') throw new Error('the channel axis must be static');
    for (const [v, what] of [
      [s, 'scale'],
      [t, 'shift'],
    ] as const) {
      if (v.dtype !== x.dtype || v.rank !== 1 || v.shape[0] !== c) throw new Error(`${what} must be ${x.dtype}[${c}]`);
    }
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  onnx(ctx, node) {
    const x = node.inputs[0];
    const c = x.shape[1] as number;
    const zeros = ctx.tensor(hostTensor(x.dtype, [c], new Array<number>(c).fill(0)), 'zeros');
    const ones = ctx.tensor(hostTensor(x.dtype, [c], new Array<number>(c).fill(1)), 'ones');
    ctx.emit('BatchNormalization', [ctx.input(0), ctx.input(1), ctx.input(2), zeros, ones], [ctx.output(0)], {
      epsilon: { f: 0 },
    });
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined, undefined, undefined];
    const [x, s] = n.inputs;
    const axes = bnAxes(x),
      c = x.shape[1] as number;
    return [mul(g, reshape(s, bnChannelShape(x))), reshape(reduceSum(mul(g, x), axes), [c]), reshape(reduceSum(g, axes), [c])];
  },
  tfjs: (tf, [x, s, t], _a, node) => {
    const ks = bnChannelShape(node.inputs[0]);
    return [tf.add(tf.mul(x, tf.reshape(s, ks)), tf.reshape(t, ks))];
  },
});

/**
 * y = gamma·x̂ + beta with x̂ = (x − μ)/√(σ² + ε), μ and the biased σ² over the batch (and the spatial
 * axes for NCHW), per channel (Ioffe & Szegedy 2015, Algorithm 1). Inputs x ([N, C] or NCHW), gamma
 * and beta ([C]); outputs y, μ and σ² ([C], for the running statistics). Its VJP is the closed form
 * (ibid., section 3) instead of differentiating the composite: fewer, per-channel ops.
 */
defineOp({
  name: 'BatchNormTrain',
  infer([x, gamma, beta]) {
    if (!isFloat(x.dtype)) throw new Error(`needs a float input, got ${x.dtype}`);
    if (x.rank !== 2 && x.rank !== 4) throw new Error('input must be [N, C] or NCHW');
    const c = x.shape[1];
    if (c === 'N') throw new Error('the channel axis must be static');
    for (const [v, what] of [
      [gamma, 'gamma'],
      [beta, 'beta'],
    ] as const) {
      if (v.dtype !== x.dtype || v.rank !== 1 || v.shape[0] !== c) throw new Error(`${what} must be ${x.dtype}[${c}]`);
    }
    if (x.rank === 4) staticSpatial(x, 'BatchNormTrain input');
    return [
      { dtype: x.dtype, shape: x.shape },
      { dtype: x.dtype, shape: [c] },
      { dtype: x.dtype, shape: [c] },
    ];
  },
  // μ = ReduceMean(x), σ² = ReduceSumSquare(x − μ)/M (two passes over x and one full-size temporary,
  // the centred input), then y by onnxruntime's inference-mode BatchNormalization with these
  // statistics: one fused pass x·s + t with s = gamma/√(σ²+ε), t = beta − μ·s per channel.
  onnx(ctx, node) {
    const x = node.inputs[0];
    const axes = { ints: bnAxes(x) },
      keep = { i: 1 };
    const [meanK, d, ssq, varK] = ['mean', 'centred', 'sumsq', 'var'].map((h) => ctx.temp(h));
    ctx.emit('ReduceMean', [ctx.input(0)], [meanK], { axes, keepdims: keep });
    ctx.emit('Sub', [ctx.input(0), meanK], [d]);
    ctx.emit('ReduceSumSquare', [d], [ssq], { axes, keepdims: keep });
    const m = staticCount(x);
    if (m !== undefined) ctx.emit('Div', [ssq, ctx.scalar(m, x.dtype)], [varK]);
    else {
      const [shape, dims, prod] = ['shape', 'dims', 'prod'].map((h) => ctx.temp(h));
      ctx.emit('Shape', [ctx.input(0)], [shape]);
      ctx.emit('Gather', [shape, ctx.int64s(bnAxes(x))], [dims], { axis: { i: 0 } });
      ctx.emit('ReduceProd', [dims], [prod], { keepdims: { i: 0 } });
      const mf = ctx.temp('m');
      ctx.emit('Cast', [prod], [mf], { to: { i: onnxDataType(x.dtype) } });
      ctx.emit('Div', [ssq, mf], [varK]);
    }
    const c = ctx.int64s([x.shape[1] as number]);
    ctx.emit('Reshape', [meanK, c], [ctx.output(1)]);
    ctx.emit('Reshape', [varK, c], [ctx.output(2)]);
    ctx.emit('BatchNormalization', [ctx.input(0), ctx.input(1), ctx.input(2), ctx.output(1), ctx.output(2)], [ctx.output(0)], {
      epsilon: { f: node.attrs.epsilon as number },
    });
  },
  // With d = x − μ, inv = 1/√(σ²+ε), x̂ = d·inv, M elements per channel:
  //   dx = gamma·inv·(g − mean(g) − x̂·mean(g·x̂)), dgamma = Σ g·x̂, dbeta = Σ g;
  // μ and σ² add gμ/M and 2·gσ²·d/M. Written as dx = g·a + d·b − c with per-channel a, b, c.
  vjp: (n, [gy, gMean, gVar]) => {
    const [x, gamma] = n.inputs;
    const axes = bnAxes(x),
      ks = bnChannelShape(x),
      c = ks[1];
    const m = perChannelCount(x);
    const inv = div(scalarLike(x, 1), sqrt(add(reshape(n.outputs[2], ks), n.attrs.epsilon as number)));
    const d = sub(x, reshape(n.outputs[1], ks));
    let a: Value | undefined, b: Value | undefined, k: Value | undefined;
    let dgamma: Value | undefined, dbeta: Value | undefined;
    if (gy) {
      const sg = reduceSum(gy, axes, true);
      const sgd = reduceSum(mul(gy, d), axes, true);
      dbeta = reshape(sg, [c]);
      dgamma = reshape(mul(sgd, inv), [c]);
      a = mul(reshape(gamma, ks), inv);
      b = neg(overCount(mul(mul(a, mul(inv, inv)), sgd), m));
      k = overCount(mul(a, sg), m);
    }
    if (gMean) {
      const t = overCount(reshape(gMean, ks), m);
      k = k ? sub(k, t) : neg(t);
    }
    if (gVar) {
      const t = overCount(mul(reshape(gVar, ks), 2), m);
      b = b ? add(b, t) : t;
    }
    // d·b − k as one per-channel affine pass (ChannelAffine), then + gy·a
    let dx: Value | undefined;
    if (b) dx = channelAffine(d, reshape(b, [c]), reshape(k ? neg(k) : mul(b, 0), [c]));
    else if (k) dx = a ? undefined : expandAs(neg(k), x);
    if (a) {
      const ga = mul(gy as Value, a);
      dx = dx ? add(ga, dx) : k ? sub(ga, k) : ga;
    }
    return [dx, dgamma, dbeta];
  },
  tfjs: (tf, [x, gamma, beta], attrs, node) => {
    const v = node.inputs[0];
    const ks = bnChannelShape(v);
    const { mean, variance } = tf.moments(x, bnAxes(v), true);
    const y = tf.add(
      tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, attrs.epsilon as number))), tf.reshape(gamma, ks)),
      tf.reshape(beta, ks),
    );
    return [y, tf.reshape(mean, [ks[1]]), tf.reshape(variance, [ks[1]])];
  },
});
