/** Reductions over static axes. ReduceSum takes its axes as an input (opset 13+), ReduceMean as an attribute (opset 17). Builders: ./builders. */
import { defineOp, Attrs, Tf, TfTensor } from '../registry';
import { Value } from '../graph';
import { Shape, isFloat } from '../types';
import { cast, div, expandAs, gather, mul, reshape, shapeOf } from './builders';

function reducedShape(shape: Shape, axes: number[], keepdims: boolean): Shape {
  const out: Shape = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function inferReduce([x]: Value[], attrs: Attrs) {
  if (!isFloat(x.dtype)) throw new Error(`needs a float input, got ${x.dtype}`);
  return [{ dtype: x.dtype, shape: reducedShape(x.shape, attrs.axes as number[], attrs.keepdims as boolean) }];
}

/** Cotangent of a reduction, broadcast back over the reduced axes. */
function spread(g: Value, x: Value, attrs: Attrs): Value {
  const kept = reshape(g, reducedShape(x.shape, attrs.axes as number[], true));
  return expandAs(kept, x);
}

function tfReduce(fn: 'sum' | 'mean') {
  return (tf: Tf, [x]: TfTensor[], attrs: Attrs) => [tf[fn](x, attrs.axes as number[], attrs.keepdims as boolean)];
}

defineOp({
  name: 'ReduceSum',
  infer: inferReduce,
  onnx(ctx, node) {
    ctx.emit('ReduceSum', [ctx.input(0), ctx.int64s(node.attrs.axes as number[])], [ctx.output(0)], {
      keepdims: { i: node.attrs.keepdims ? 1 : 0 },
    });
  },
  vjp: (n, [g]) => [g && spread(g, n.inputs[0], n.attrs)],
  tfjs: tfReduce('sum'),
});

defineOp({
  name: 'ReduceMean',
  infer: inferReduce,
  onnx(ctx, node) {
    ctx.emit('ReduceMean', [ctx.input(0)], [ctx.output(0)], {
      axes: { ints: node.attrs.axes as number[] },
      keepdims: { i: node.attrs.keepdims ? 1 : 0 },
    });
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined];
    const x = n.inputs[0];
    const axes = n.attrs.axes as number[];
    let count: Value | number = 1;
    let staticCount = 1;
    for (const a of axes) {
      const d = x.shape[a];
      if (d === 'N') count = cast(gather(shapeOf(x), [a]), x.dtype);
      else staticCount *= d;
    }
    const spreadG = spread(g, x, n.attrs);
    const scaled = typeof count === 'number' ? spreadG : div(spreadG, count);
    return [staticCount === 1 ? scaled : mul(scaled, 1 / staticCount)];
  },
  tfjs: tfReduce('mean'),
});
