/** Comparisons, selection and casts. Comparisons carry no gradient (vjp: null). Builders: ./builders. */
import { defineOp } from '../registry';
import { Value } from '../graph';
import { broadcastShapes } from '../shapes';
import { DType } from '../types';
import { cast, scalarLike, sumToShape, where } from './builders';

const ONNX_TYPE: Record<DType, number> = { float32: 1, int64: 7, bool: 9, float64: 11 };
export const onnxDataType = (d: DType): number => ONNX_TYPE[d];

function defineComparison(name: 'Greater' | 'Equal', tfName: 'greater' | 'equal') {
  defineOp({
    name,
    infer([a, b]) {
      if (a.dtype !== b.dtype) throw new Error(`operand types differ: ${a.dtype} and ${b.dtype}`);
      return [{ dtype: 'bool', shape: broadcastShapes(a.shape, b.shape) }];
    },
    onnx(ctx) {
      ctx.emit(name, [ctx.input(0), ctx.input(1)], [ctx.output(0)]);
    },
    vjp: null,
    tfjs: (tf, [a, b]) => [tf[tfName](a, b)],
  });
}

defineComparison('Greater', 'greater');
defineComparison('Equal', 'equal');

defineOp({
  name: 'Where',
  infer([c, a, b]) {
    if (c.dtype !== 'bool') throw new Error(`condition must be bool, got ${c.dtype}`);
    if (a.dtype !== b.dtype) throw new Error(`branch types differ: ${a.dtype} and ${b.dtype}`);
    return [{ dtype: a.dtype, shape: broadcastShapes(c.shape, broadcastShapes(a.shape, b.shape)) }];
  },
  onnx(ctx) {
    ctx.emit('Where', [ctx.input(0), ctx.input(1), ctx.input(2)], [ctx.output(0)]);
  },
  vjp: (n, [g]) => {
    if (!g) return [undefined, undefined, undefined];
    const [c, a, b] = n.inputs;
    const zero = scalarLike(g, 0);
    return [undefined, sumToShape(where(c, g, zero), a.shape), sumToShape(where(c, zero, g), b.shape)];
  },
  tfjs: (tf, [c, a, b]) => {
    const shape = broadcastShapes(broadcastShapes(c.shape, a.shape), b.shape) as number[];
    return [tf.where(tf.broadcastTo(c, shape), tf.broadcastTo(a, shape), tf.broadcastTo(b, shape))];
  },
});

defineOp({
  name: 'Cast',
  infer([x], attrs) {
    return [{ dtype: attrs.to as DType, shape: x.shape }];
  },
  onnx(ctx, node) {
    ctx.emit('Cast', [ctx.input(0)], [ctx.output(0)], { to: { i: onnxDataType(node.attrs.to as DType) } });
  },
  vjp: (n, [g]) => {
    const from = n.inputs[0].dtype;
    // Gradient flows between float types only; casts from int/bool are constants for autodiff.
    if (!g || (from !== 'float32' && from !== 'float64')) return [undefined];
    return [from === g.dtype ? g : cast(g, from)];
  },
  tfjs: (tf, [x], attrs) => {
    const to = attrs.to as DType;
    // x != 0 rather than tf.cast: the wasm backend's float->bool cast truncates (0.5 -> false).
    if (to === 'bool') return [tf.notEqual(x, tf.zerosLike(x))];
    return [tf.cast(x, to === 'int64' ? 'int32' : 'float32')];
  },
});
