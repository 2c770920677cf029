/**
 * Element-wise ops: broadcasting binary arithmetic and unary activations.
 * VJPs reduce cotangents back to each operand's shape (sumToShape) for broadcasting.
 * The builders (add, relu, ...) are in ./builders.
 */
import { defineOp, Tf, TfTensor } from '../registry';
import { Node, Value } from '../graph';
import { broadcastShapes } from '../shapes';
import { isFloat } from '../types';
import { add, cast, div, greater, log, mul, neg, pow, scalarLike, sub, sumToShape } from './builders';

function defineBinary(
  name: string,
  tfFn: (tf: Tf, a: TfTensor, b: TfTensor) => TfTensor,
  vjp: (n: Node, g: Value) => (Value | undefined)[],
) {
  defineOp({
    name,
    infer([a, b]) {
      if (a.dtype !== b.dtype) throw new Error(`operand types differ: ${a.dtype} and ${b.dtype}`);
      return [{ dtype: a.dtype, shape: broadcastShapes(a.shape, b.shape) }];
    },
    onnx(ctx) {
      ctx.emit(name, [ctx.input(0), ctx.input(1)], [ctx.output(0)]);
    },
    vjp: (n, [g]) => {
      if (!g) return [undefined, undefined];
      const [ga, gb] = vjp(n, g);
      return [ga && sumToShape(ga, n.inputs[0].shape), gb && sumToShape(gb, n.inputs[1].shape)];
    },
    tfjs: (tf, [a, b]) => [tfFn(tf, a, b)],
  });
}

function defineUnary(
  name: string,
  tfFn: (tf: Tf, x: TfTensor, node: Node) => TfTensor,
  vjp: (n: Node, g: Value) => Value,
  emitAttrs?: (n: Node) => Record<string, { f: number }>,
) {
  defineOp({
    name,
    infer([x]) {
      if (!isFloat(x.dtype)) throw new Error(`needs a float input, got ${x.dtype}`);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    onnx(ctx, node) {
      ctx.emit(name, [ctx.input(0)], [ctx.output(0)], emitAttrs?.(node));
    },
    vjp: (n, [g]) => [g && vjp(n, g)],
    tfjs: (tf, [x], _a, node) => [tfFn(tf, x, node)],
  });
}

defineBinary(
  'Add',
  (tf, a, b) => tf.add(a, b),
  (_n, g) => [g, g],
);
defineBinary(
  'Sub',
  (tf, a, b) => tf.sub(a, b),
  (_n, g) => [g, neg(g)],
);
defineBinary(
  'Mul',
  (tf, a, b) => tf.mul(a, b),
  (n, g) => [mul(g, n.inputs[1]), mul(g, n.inputs[0])],
);
defineBinary(
  'Div',
  (tf, a, b) => tf.div(a, b),
  (n, g) => {
    const [a, b] = n.inputs;
    // d(a/b)/db = -a / b^2 = -(a/b) / b
    return [div(g, b), neg(div(mul(g, n.outputs[0]), b))];
  },
);
defineBinary(
  'Pow',
  (tf, a, b) => tf.pow(a, b),
  (n, g) => {
    const [a, b] = n.inputs;
    const y = n.outputs[0];
    // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a (only defined for a > 0)
    return [mul(g, mul(b, pow(a, sub(b, 1)))), mul(g, mul(y, log(a)))];
  },
);

defineUnary(
  'Neg',
  (tf, x) => tf.neg(x),
  (_n, g) => neg(g),
);

defineUnary(
  'Relu',
  (tf, x) => tf.relu(x),
  // g·[y > 0]: the mask from the output (y > 0 exactly where x > 0), so the step keeps no
  // pre-activation tensor for the backward pass (onnxruntime's Where is slower than Cast and Mul here)
  (n, g) => mul(g, cast(greater(n.outputs[0], 0), g.dtype)),
);

defineUnary(
  'LeakyRelu',
  (tf, x, node) => tf.leakyRelu(x, node.attrs.alpha as number),
  (n, g) => {
    const alpha = n.attrs.alpha as number;
    // slope 1 where x > 0, alpha elsewhere: alpha + (1 - alpha) * [x > 0]
    const pos = cast(greater(n.inputs[0], 0), g.dtype);
    return mul(g, add(mul(pos, 1 - alpha), alpha));
  },
  (n) => ({ alpha: { f: n.attrs.alpha as number } }),
);

defineUnary(
  'Tanh',
  (tf, x) => tf.tanh(x),
  (n, g) => {
    const y = n.outputs[0];
    return mul(g, sub(scalarLike(y, 1), mul(y, y)));
  },
);

defineUnary(
  'Sigmoid',
  (tf, x) => tf.sigmoid(x),
  (n, g) => {
    const y = n.outputs[0];
    return mul(g, mul(y, sub(scalarLike(y, 1), y)));
  },
);

defineUnary(
  'Exp',
  (tf, x) => tf.exp(x),
  (n, g) => mul(g, n.outputs[0]),
);

defineUnary(
  'Log',
  (tf, x) => tf.log(x),
  (n, g) => div(g, n.inputs[0]),
);

defineUnary(
  'Sqrt',
  (tf, x) => tf.sqrt(x),
  (n, g) => div(mul(g, 0.5), n.outputs[0]),
);
