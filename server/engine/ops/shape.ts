/** Shape manipulation: Reshape, Transpose, Concat, Slice, Pad, StridePhases, Gather, Expand, Shape. Builders: ./builders. */
import { defineOp } from '../registry';
import { Value } from '../graph';
import { broadcastShapes, normAxis, staticSize } from '../shapes';
import { Dim, Shape, hostTensor } from '../types';
import { cast, equal, matmul, pad, reshape, slice, sumToShape, transpose } from './builders';

const staticPart = (s: Shape) => staticSize(s.filter((d) => d !== 'N'));
const countN = (s: Shape) => s.filter((d) => d === 'N').length;

defineOp({
  name: 'Reshape',
  infer([x], attrs) {
    const shape = attrs.shape as Shape;
    if (countN(shape) !== countN(x.shape) || staticPart(shape) !== staticPart(x.shape)) {
      throw new Error(`cannot reshape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
    }
    return [{ dtype: x.dtype, shape }];
  },
  onnx(ctx, node) {
    const shape = (node.attrs.shape as Shape).map((d) => (d === 'N' ? -1 : d));
    ctx.emit('Reshape', [ctx.input(0), ctx.int64s(shape)], [ctx.output(0)]);
  },
  vjp: (n, [g]) => [g && reshape(g, n.inputs[0].shape)],
  tfjs: (tf, [x], attrs) => [
    tf.reshape(
      x,
      (attrs.shape as Shape).map((d) => (d === 'N' ? -1 : d)),
    ),
  ],
});

defineOp({
  name: 'Transpose',
  infer([x], attrs) {
    const perm = attrs.perm as number[];
    if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) throw new Error(`bad permutation [${perm.join(', ')}]`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  onnx(ctx, node) {
    ctx.emit('Transpose', [ctx.input(0)], [ctx.output(0)], { perm: { ints: node.attrs.perm as number[] } });
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const perm = n.attrs.perm as number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(g, inv)];
  },
  tfjs: (tf, [x], attrs) => [tf.transpose(x, attrs.perm as number[])],
});

defineOp({
  name: 'Concat',
  infer(xs, attrs) {
    const axis = attrs.axis as number;
    const first = xs[0];
    let total = 0;
    for (const x of xs) {
      if (x.dtype !== first.dtype || x.rank !== first.rank) throw new Error('operands differ in type or rank');
      x.shape.forEach((d, i) => {
        if (i !== axis && d !== first.shape[i]) throw new Error(`operands differ on axis ${i}`);
      });
      const d = x.shape[axis];
      if (d === 'N') throw new Error('cannot concatenate along the batch axis');
      total += d;
    }
    const shape = [...first.shape];
    shape[axis] = total;
    return [{ dtype: first.dtype, shape }];
  },
  onnx(ctx, node) {
    ctx.emit(
      'Concat',
      node.inputs.map((_, i) => ctx.input(i)),
      [ctx.output(0)],
      { axis: { i: node.attrs.axis as number } },
    );
  },
  vjp: (n, [g]) => {
    if (!g) return n.inputs.map(() => undefined);
    const axis = n.attrs.axis as number;
    let start = 0;
    return n.inputs.map((x) => {
      const len = x.shape[axis] as number;
      const piece = slice(g, [start], [start + len], [axis]);
      start += len;
      return piece;
    });
  },
  tfjs: (tf, xs, attrs) => [tf.concat(xs, attrs.axis as number)],
});

defineOp({
  name: 'Slice',
  infer([x], attrs) {
    const starts = attrs.starts as number[],
      ends = attrs.ends as number[],
      axes = attrs.axes as number[];
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const d = x.shape[a];
      if (d === 'N') throw new Error('cannot slice the batch axis');
      if (starts[i] < 0 || ends[i] > d || starts[i] >= ends[i])
        throw new Error(`slice [${starts[i]}, ${ends[i]}) out of range for axis ${a} of size ${d}`);
      shape[a] = ends[i] - starts[i];
    });
    return [{ dtype: x.dtype, shape }];
  },
  onnx(ctx, node) {
    const a = node.attrs;
    ctx.emit(
      'Slice',
      [ctx.input(0), ctx.int64s(a.starts as number[]), ctx.int64s(a.ends as number[]), ctx.int64s(a.axes as number[])],
      [ctx.output(0)],
    );
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const x = n.inputs[0];
    const pads = new Array<number>(2 * x.rank).fill(0);
    (n.attrs.axes as number[]).forEach((a, i) => {
      pads[a] = (n.attrs.starts as number[])[i];
      pads[x.rank + a] = (x.shape[a] as number) - (n.attrs.ends as number[])[i];
    });
    return [pad(g, pads, 0)];
  },
  tfjs: (tf, [x], attrs) => {
    const begin = x.shape.map(() => 0),
      size = x.shape.map(() => -1);
    (attrs.axes as number[]).forEach((a, i) => {
      begin[a] = (attrs.starts as number[])[i];
      size[a] = (attrs.ends as number[])[i] - (attrs.starts as number[])[i];
    });
    return [tf.slice(x, begin, size)];
  },
});

/**
 * The stride phases of a map: x [A, B, H, W] -> y [A, b, b, B, H/b, W/b] with
 * y[a, p, q, c, u, v] = x[a, c, u·b + p, v·b + q]. Phase (p, q) is then a contiguous [B, H/b, W/b]
 * block, so a strided window (a strided conv's tap) is a plain Slice of one phase. One ONNX
 * SpaceToDepth (whose depth index is (p·b + q)·B + c) and a Reshape: onnxruntime's Transpose with
 * the same permutation, or Slices with steps, copy element by element (measured, docs/engine.md).
 */
defineOp({
  name: 'StridePhases',
  infer([x], attrs) {
    const b = attrs.block as number;
    if (x.rank !== 4) throw new Error('input must be rank 4');
    if (!Number.isInteger(b) || b < 2) throw new Error(`block must be an integer >= 2, got ${b}`);
    const [a, c, h, w] = x.shape;
    if (h === 'N' || w === 'N' || h % b || w % b) throw new Error(`map ${h}x${w} does not split into ${b}x${b} phases`);
    return [{ dtype: x.dtype, shape: [a, b, b, c, h / b, w / b] }];
  },
  onnx(ctx, node) {
    const b = node.attrs.block as number;
    const depth = ctx.temp('depth');
    ctx.emit('SpaceToDepth', [ctx.input(0)], [depth], { blocksize: { i: b } });
    const shape = node.outputs[0].shape.map((d) => (d === 'N' ? -1 : d));
    ctx.emit('Reshape', [depth, ctx.int64s(shape)], [ctx.output(0)]);
  },
  vjp: (n, [g]) => {
    // [A, b, b, B, h, w] -> [A, B, h, b, w, b] -> [A, B, H, W]
    return [g && reshape(transpose(g, [0, 3, 4, 1, 5, 2]), n.inputs[0].shape)];
  },
  tfjs: (tf, [x], attrs) => {
    const b = attrs.block as number;
    const [a, c, h, w] = x.shape;
    return [tf.transpose(tf.reshape(x, [a, c, h / b, b, w / b, b]), [0, 3, 5, 1, 2, 4])];
  },
});

defineOp({
  name: 'Pad',
  infer([x], attrs) {
    const pads = attrs.pads as number[];
    if (pads.length !== 2 * x.rank || pads.some((p) => p < 0))
      throw new Error(`pads [${pads.join(', ')}] must be ${2 * x.rank} non-negative numbers`);
    return [
      {
        dtype: x.dtype,
        shape: x.shape.map((d, i): Dim => (d === 'N' ? (pads[i] || pads[x.rank + i] ? fail() : 'N') : d + pads[i] + pads[x.rank + i])),
      },
    ];
  },
  onnx(ctx, node) {
    ctx.emit(
      'Pad',
      [ctx.input(0), ctx.int64s(node.attrs.pads as number[]), ctx.scalar(node.attrs.value as number, node.inputs[0].dtype)],
      [ctx.output(0)],
      { mode: { s: 'constant' } },
    );
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const x = n.inputs[0];
    const pads = n.attrs.pads as number[];
    const axes: number[] = [],
      starts: number[] = [],
      ends: number[] = [];
    x.shape.forEach((d, i) => {
      if (pads[i] || pads[x.rank + i]) {
        axes.push(i);
        starts.push(pads[i]);
        ends.push(pads[i] + (d as number));
      }
    });
    return [axes.length ? slice(g, starts, ends, axes) : g];
  },
  tfjs: (tf, [x], attrs) => {
    const pads = attrs.pads as number[];
    return [
      tf.pad(
        x,
        x.shape.map((_, i) => [pads[i], pads[x.rank + i]] as [number, number]),
        attrs.value as number,
      ),
    ];
  },
});
function fail(): never {
  throw new Error('cannot pad the batch axis');
}

defineOp({
  name: 'Shape',
  infer([x]) {
    return [{ dtype: 'int64', shape: [x.rank] }];
  },
  onnx(ctx) {
    ctx.emit('Shape', [ctx.input(0)], [ctx.output(0)]);
  },
  vjp: null,
  tfjs: (tf, [x]) => [tf.tensor1d(x.shape, 'int32')],
});

defineOp({
  name: 'Gather',
  infer([data, indices], attrs) {
    if (indices.dtype !== 'int64') throw new Error(`indices must be int64, got ${indices.dtype}`);
    const axis = attrs.axis as number;
    return [{ dtype: data.dtype, shape: [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)] }];
  },
  onnx(ctx, node) {
    ctx.emit('Gather', [ctx.input(0), ctx.input(1)], [ctx.output(0)], { axis: { i: node.attrs.axis as number } });
  },
  // Gather along a static axis of a float tensor: the cotangent is scattered back with a one-hot
  // matrix product (repeated indices accumulate), built from Equal, Cast, Transpose and MatMul.
  vjp: (n, [g]) => {
    if (!g) return [undefined, undefined];
    const [data, indices] = n.inputs;
    const axis = n.attrs.axis as number;
    if (data.shape.includes('N') || indices.rank !== 1 || indices.shape[0] === 'N') {
      throw new Error('Gather: the gradient needs a static data shape and 1-D static indices');
    }
    const d = data.shape[axis] as number,
      k = indices.shape[0] as number;
    const range = data.graph.constant(
      hostTensor(
        'int64',
        [1, d],
        Array.from({ length: d }, (_, i) => i),
      ),
    );
    const oneHot = cast(equal(reshape(indices, [k, 1]), range), g.dtype); // [k, d]
    const others = g.shape.map((_, i) => i).filter((i) => i !== axis);
    const perm = [...others, axis];
    const rows = staticSize(others.map((i) => g.shape[i]));
    const scattered = matmul(reshape(transpose(g, perm), [rows, k]), oneHot); // [rows, d]
    const back = reshape(scattered, [...others.map((i) => g.shape[i]), d]);
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(back, inv), undefined];
  },
  tfjs: (tf, [data, indices], attrs) => [tf.gather(data, tf.cast(indices, 'int32'), attrs.axis as number)],
});

defineOp({
  name: 'Expand',
  infer([x, s], attrs) {
    if (s.dtype !== 'int64') throw new Error(`shape must be int64, got ${s.dtype}`);
    return [{ dtype: x.dtype, shape: broadcastShapes(x.shape, attrs.to as Shape) }];
  },
  onnx(ctx) {
    ctx.emit('Expand', [ctx.input(0), ctx.input(1)], [ctx.output(0)]);
  },
  vjp: (n, [g]) => [g && sumToShape(g, n.inputs[0].shape), undefined],
  tfjs: (tf, [x, s]) => {
    const target = Array.from(s.dataSync());
    const shape = broadcastShapes(x.shape, target) as number[];
    return [tf.broadcastTo(x, shape)];
  },
});
