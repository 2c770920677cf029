/**
 * Two forms of a convolution's kernel gradient chosen per shape: strided convs by the input's stride
 * phases (CONV_DW_LIMITS.stridedFolded), and stride-1 convs on small maps by row bands of the input
 * (CONV_DW_LIMITS.rows). Which convs take them, and that the gradients equal those of the other forms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONV_DW_LIMITS, Graph, OrtExecutor, Value, conv, gradients, mul, reduceSum, relu, toOnnxModel } from '../../server/engine';
import { assertSameOutputs, normalFeeds } from '../helpers/engineFeeds';

/** Op types of the kernel gradient graph of one conv x [N, c, h, h] * w [o, c, k, k] with pad 1. */
function kernelGradientOps(c: number, o: number, h: number, { k = 3, stride = 2 } = {}): string[] {
  const g = new Graph('one-conv-dw');
  const x = g.input('x', 'float32', ['N', c, h, h]);
  const w = g.input('w', 'float32', [o, c, k, k]);
  const [dw] = gradients(reduceSum(conv(x, w, { pads: [1, 1, 1, 1], strides: [stride, stride] }), [0, 1, 2, 3]), [w]);
  return toOnnxModel(g, [dw], { outputNames: ['dw'] }).graph!.node!.map((n) => n.opType!);
}

test('a strided conv takes the stride-phases kernel gradient from 16 inputs, 32 outputs and a 4x4 output map', () => {
  const phases = (ops: string[]) => ops.filter((t) => t === 'SpaceToDepth').length;
  // ResNet-20's 16 -> 32 on 32x32 and 32 -> 64 on 16x16; a grown depth net's 244 -> 132 on 14x14 and 132 -> 187 on 7x7
  for (const [c, o, h] of [
    [16, 32, 32],
    [32, 64, 16],
    [244, 132, 14],
    [132, 187, 7],
  ]) {
    const ops = kernelGradientOps(c, o, h);
    assert.equal(phases(ops), 1, `${c} -> ${o} on ${h}x${h}: ${ops}`);
    assert.equal(ops.filter((t) => t === 'Gemm').length, 9, `${c} -> ${o}: one product per tap`);
  }
  // 3 or 1 inputs (a first layer), 16 outputs, a 2x2 output map, stride 1: the convolution of xᵀ with gᵀ or the stride-1 forms
  for (const [c, o, h, stride] of [
    [3, 32, 32, 2],
    [16, 16, 32, 2],
    [187, 181, 4, 2],
    [32, 64, 16, 1],
  ])
    assert.equal(phases(kernelGradientOps(c, o, h, { stride })), 0, `${c} -> ${o} on ${h}x${h}, stride ${stride}`);
  const saved = CONV_DW_LIMITS.stridedFolded;
  CONV_DW_LIMITS.stridedFolded = { ...saved, inputs: Infinity };
  try {
    assert.equal(phases(kernelGradientOps(32, 64, 16)), 0, 'turned off');
  } finally {
    CONV_DW_LIMITS.stridedFolded = saved;
  }
});

/**
 * A strided chain on an executor, x [2, 16, 9, 9] -> 32 (3x3 stride 2 pad 1: 5x5, the phases padded
 * below) -> relu -> 32 (3x3 stride 2, pads [1, 0, 0, 1]: 2x2) -> relu -> 32 (2x2 stride 2: 1x1):
 * y and the gradients of Σ y·c for x and the three kernels, with the stride-phases form allowed on
 * every strided conv or on none.
 */
async function stridedNet(ex: OrtExecutor, phases: boolean) {
  const saved = CONV_DW_LIMITS.stridedFolded;
  CONV_DW_LIMITS.stridedFolded = phases ? { inputs: 1, outputs: 1, map: 1 } : { ...saved, inputs: Infinity };
  try {
    const g = new Graph('strided-net');
    const x = g.input('x', 'float32', ['N', 16, 9, 9]);
    const shapes = [
      [32, 16, 3, 3],
      [32, 32, 3, 3],
      [32, 32, 2, 2],
    ];
    const ws: Value[] = shapes.map((s, i) => g.input(`w${i + 1}`, 'float32', s));
    const h1 = relu(conv(x, ws[0], { pads: [1, 1, 1, 1], strides: [2, 2] })); // 5x5
    const h2 = relu(conv(h1, ws[1], { pads: [1, 0, 0, 1], strides: [2, 2] })); // 2x2
    const y = conv(h2, ws[2], { pads: [0, 0, 0, 0], strides: [2, 2] }); // 1x1
    const c = g.input('c', 'float32', ['N', 32, 1, 1]);
    const grads = gradients(reduceSum(mul(y, c), [0, 1, 2, 3]), [x, ...ws]);
    const outputs = { y, dx: grads[0], dw1: grads[1], dw2: grads[2], dw3: grads[3] };
    const feed = normalFeeds(5);
    const feeds = { x: feed([2, 16, 9, 9]), w1: feed(shapes[0]), w2: feed(shapes[1]), w3: feed(shapes[2]), c: feed([2, 32, 1, 1]) };
    const nodes = toOnnxModel(g, Object.values(outputs), { outputNames: Object.keys(outputs) }).graph!.node!;
    const compiled = await ex.compile(g, outputs);
    try {
      return {
        out: await compiled.run(feeds),
        names: Object.keys(outputs),
        phases: nodes.filter((n) => n.opType === 'SpaceToDepth').length,
      };
    } finally {
      await compiled.dispose();
    }
  } finally {
    CONV_DW_LIMITS.stridedFolded = saved;
  }
}

test('a strided conv chain gives the same outputs and gradients with the stride-phases kernel gradient as with the convolution of xᵀ with gᵀ', async () => {
  const ex = await OrtExecutor.create({ threads: 1 });
  const fast = await stridedNet(ex, true);
  const standard = await stridedNet(ex, false);
  assert.equal(fast.phases, 3);
  assert.equal(standard.phases, 0);
  assertSameOutputs(fast.out, standard.out, fast.names, 1e-5);
  assert.equal(ex.liveSessions(), 0);
});

test('a stride-1 conv takes the row bands on an 8x8 or wider output map with at most 64 channels each side', () => {
  // the row bands: kh band Slices of the input and kw shifts of the cotangent's rows; the windows: kh·kw Slices
  const slices = (c: number, o: number, h: number) => kernelGradientOps(c, o, h, { stride: 1 }).filter((t) => t === 'Slice').length;
  assert.equal(slices(64, 64, 8), 6, "ResNet-20's 64-channel 8x8 convs");
  assert.equal(slices(32, 64, 8), 6);
  assert.equal(slices(64, 64, 4), 9, 'a 4x4 map: the windows');
  assert.equal(slices(128, 128, 8), 9, 'more than 64 channels: the windows');
  const saved = CONV_DW_LIMITS.rows;
  CONV_DW_LIMITS.rows = { ...saved, minWidth: Infinity };
  try {
    assert.equal(slices(64, 64, 8), 9, 'turned off');
  } finally {
    CONV_DW_LIMITS.rows = saved;
  }
});

test('a 64-channel 8x8 conv gives the same kernel gradient by row bands as by shifted windows', async () => {
  const ex = await OrtExecutor.create({ threads: 1 });
  const run = async (rows: boolean) => {
    const saved = CONV_DW_LIMITS.rows;
    CONV_DW_LIMITS.rows = rows ? saved : { ...saved, minWidth: Infinity };
    try {
      const g = new Graph('rows');
      const x = g.input('x', 'float32', ['N', 64, 8, 8]);
      const w = g.input('w', 'float32', [64, 64, 3, 3]);
      const c = g.input('c', 'float32', ['N', 64, 8, 8]);
      const [dx, dw] = gradients(reduceSum(mul(conv(x, w, { pads: [1, 1, 1, 1] }), c), [0, 1, 2, 3]), [x, w]);
      const feed = normalFeeds(9);
      const compiled = await ex.compile(g, { dx, dw });
      try {
        return await compiled.run({ x: feed([3, 64, 8, 8]), w: feed([64, 64, 3, 3]), c: feed([3, 64, 8, 8]) });
      } finally {
        await compiled.dispose();
      }
    } finally {
      CONV_DW_LIMITS.rows = saved;
    }
  };
  assertSameOutputs(await run(true), await run(false), ['dx', 'dw'], 1e-5);
  assert.equal(ex.liveSessions(), 0);
});
