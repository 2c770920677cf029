/**
 * Matrix product of two rank-2 tensors (the dense layers; ORT fuses MatMul + Add into Gemm), or a
 * batch of products of two rank-3 tensors with the same leading (batch) dimension.
 */
import { defineOp } from '../registry';
import { matmul, mul, reduceSum, reshape, swapLast } from './builders';

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

/**
 * The product of x [A, ...R] and y [B, ...R] over all their trailing axes: z[a, b] = Σ_r x[a, r]·y[b, r],
 * one GEMM with the trailing axes (the batch among them) folded into the inner dimension. A
 * convolution's kernel gradient on small maps is this product of the transposed cotangent and input
 * (ops/nn.ts): one large GEMM instead of a product per example, its [N, O, C] results and their sum.
 */
defineOp({
  name: 'FoldedMatMul',
  infer([x, y]) {
    if (x.rank < 2 || x.rank !== y.rank) throw new Error('operands must have the same rank, at least 2');
    if (x.dtype !== y.dtype) throw new Error(`operand types differ: ${x.dtype} and ${y.dtype}`);
    if (x.shape.slice(1).some((d, i) => d !== y.shape[i + 1])) {
      throw new Error(`trailing dimensions differ: [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`);
    }
    if (x.shape[0] === 'N' || y.shape[0] === 'N') throw new Error('the leading dimensions must be static');
    return [{ dtype: x.dtype, shape: [x.shape[0], y.shape[0]] }];
  },
  onnx(ctx, node) {
    const [x, y] = node.inputs;
    const [x2, y2] = [ctx.temp('x2'), ctx.temp('y2')];
    ctx.emit('Reshape', [ctx.input(0), ctx.int64s([x.shape[0] as number, -1])], [x2]);
    ctx.emit('Reshape', [ctx.input(1), ctx.int64s([y.shape[0] as number, -1])], [y2]);
    ctx.emit('Gemm', [x2, y2], [ctx.output(0)], { transB: { i: 1 } });
  },
  // dx[a, r] = Σ_b G[a, b]·y[b, r], dy[b, r] = Σ_a G[a, b]·x[a, r] (broadcast products: only the
  // gradient of a gradient goes through here, never a training step)
  vjp: (n, [g]) => {
    if (!g) return [undefined, undefined];
    const [x, y] = n.inputs;
    const ones = new Array<number>(x.rank - 1).fill(1);
    const [a, b] = [x.shape[0] as number, y.shape[0] as number];
    const dx = reduceSum(mul(reshape(g, [a, b, ...ones]), reshape(y, [1, ...y.shape])), [1]);
    const dy = reduceSum(mul(reshape(g, [a, b, ...ones]), reshape(x, [a, 1, ...x.shape.slice(1)])), [0]);
    return [dx, dy];
  },
  tfjs: (tf, [x, y]) => [tf.matMul(tf.reshape(x, [x.shape[0], -1]), tf.reshape(y, [y.shape[0], -1]), false, true)],
});
