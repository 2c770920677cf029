/**
 * Matrix product of two rank-2 tensors (the dense layers; ORT fuses MatMul + Add into Gemm), or a
 * batch of products of two rank-3 tensors with the same leading (batch) dimension.
 */
import { defineOp } from '../registry';
import { matmul, swapLast } from './builders';

defineOp({
  name: 'MatMul',
  infer([a, b]) {
    if (!((a.rank === 2 && b.rank === 2) || (a.rank === 3 && b.rank === 3))) throw new Error('operands must both be rank 2 or both rank 3');
    if (a.dtype !== b.dtype) throw new Error(`operand types differ: ${a.dtype} and ${b.dtype}`);
    const r = a.rank;
    if (r === 3 && a.shape[0] !== b.shape[0]) throw new Error(`batch dimensions differ: ${a.shape[0]} and ${b.shape[0]}`);
    if (a.shape[r - 1] !== b.shape[r - 2]) throw new Error(`inner dimensions differ: ${a.shape[r - 1]} and ${b.shape[r - 2]}`);
    return [{ dtype: a.dtype, shape: [...a.shape.slice(0, r - 1), b.shape[r - 1]] }];
  },
  onnx(ctx) {
    ctx.emit('MatMul', [ctx.input(0), ctx.input(1)], [ctx.output(0)]);
  },
  // d(AB) = dA B + A dB: dA = G Bᵀ, dB = Aᵀ G
  vjp: (n, [g]) => (g ? [matmul(g, swapLast(n.inputs[1])), matmul(swapLast(n.inputs[0]), g)] : [undefined, undefined]),
  tfjs: (tf, [a, b]) => [tf.matMul(a, b)],
});
