/**
 * Convolutions between many and few channels (a Firefly-grown net's narrow layers, e.g. 215 channels
 * into 2 and back): the forward as the sum of its taps (CONV_TAP_SUM) where the outputs are few, and
 * dW by stacked shifts of the narrow side folded into one product (CONV_DW_LIMITS.stackedTaps). Which
 * convs take them, and that a net's outputs and gradients equal those of the standard forms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONV_DW_LIMITS,
  CONV_TAP_SUM,
  Graph,
  OrtExecutor,
  Value,
  conv,
  gradients,
  mul,
  reduceSum,
  relu,
  toOnnxModel,
} from '../../server/engine';
import { assertSameOutputs, normalFeeds } from '../helpers/engineFeeds';

/** Op types of a one-conv graph's model, x [N, c, 6, 6] * w [o, c / groups, k, k]. */
function convOps(c: number, o: number, { k = 3, stride = 1, groups = 1, portable = false } = {}): string[] {
  const g = new Graph('one-conv');
  const x = g.input('x', 'float32', ['N', c, 6, 6]);
  const w = g.input('w', 'float32', [o, c / groups, k, k]);
  const model = toOnnxModel(g, [conv(x, w, { pads: [1, 1, 1, 1], strides: [stride, stride], groups })], { outputNames: ['y'], portable });
  return model.graph!.node!.map(
    (n) => `${n.opType}${n.opType === 'Conv' ? `(${n.attribute!.find((a) => a.name === 'kernel_shape')?.ints?.join('x') ?? 'k'})` : ''}`,
  );
}

test('the forward runs as the sum of its taps exactly where the outputs are at most a quarter of the inputs, and never in a portable model', () => {
  // 24 -> 2 and 24 -> 6: one 1x1 Conv to all 9·O tap filters, one Pad, nine Slices, one Sum
  for (const o of [2, 6]) {
    const ops = convOps(24, o);
    assert.deepEqual(
      ops.filter((t) => t !== 'Slice'),
      ['Transpose', 'Reshape', 'Conv(1x1)', 'Pad', 'Sum'],
      `24 -> ${o}: ${ops}`,
    );
    assert.equal(ops.filter((t) => t === 'Slice').length, 9);
  }
  // more outputs (24 -> 7), stride 2, a 1x1 kernel, or the form turned off: onnxruntime's Conv
  for (const [ops, what] of [
    [convOps(24, 7), '24 -> 7'],
    [convOps(24, 2, { stride: 2 }), 'stride 2'],
    [convOps(24, 2, { k: 1 }), '1x1'],
  ] as const)
    assert.deepEqual(ops, ['Conv(k)'], what);
  // a file for others (an export, `portable`): the one Conv node, for the tap sum and for the depthwise
  // matrix form alike
  assert.deepEqual(convOps(24, 2, { portable: true }), ['Conv(k)']);
  assert.ok(convOps(8, 8, { groups: 8 }).includes('MatMul'), 'a small depthwise conv runs as matrix products');
  assert.deepEqual(convOps(8, 8, { groups: 8, portable: true }), ['Conv(k)']);
  const saved = CONV_TAP_SUM.maxOutputShare;
  CONV_TAP_SUM.maxOutputShare = 0;
  try {
    assert.deepEqual(convOps(24, 2), ['Conv(k)']);
  } finally {
    CONV_TAP_SUM.maxOutputShare = saved;
  }
});

/**
 * A narrow residual-style chain on an executor: x [2, 24, 7, 7] -> 24 -> 2 (3x3, pad 1) -> relu ->
 * 2 -> 24 (3x3, pads [0, 1, 2, 1]) -> relu -> 24 -> 3 (2x2, pads [0, 0, 1, 1]); outputs y and the
 * gradients of x and the three kernels; the count of tap-sum convs (Sum nodes) and of folded products (Gemm).
 */
async function narrowNet(ex: OrtExecutor, fast: boolean) {
  const saved = { ...CONV_DW_LIMITS, share: CONV_TAP_SUM.maxOutputShare };
  // the patches form would take these small maps: off, so dW takes the per-tap or the stacked form
  CONV_DW_LIMITS.smallPatches = 0;
  CONV_DW_LIMITS.stackedTaps = fast;
  CONV_TAP_SUM.maxOutputShare = fast ? saved.share : 0;
  try {
    const g = new Graph('narrow-net');
    const x = g.input('x', 'float32', ['N', 24, 7, 7]);
    const shapes = [
      [2, 24, 3, 3],
      [24, 2, 3, 3],
      [3, 24, 2, 2],
    ];
    const ws: Value[] = shapes.map((s, i) => g.input(`w${i + 1}`, 'float32', s));
    const c = g.input('c', 'float32', ['N', 3, 7, 7]);
    const h1 = relu(conv(x, ws[0], { pads: [1, 1, 1, 1] }));
    const h2 = relu(conv(h1, ws[1], { pads: [0, 1, 2, 1] }));
    const y = conv(h2, ws[2], { pads: [0, 0, 1, 1] });
    const grads = gradients(reduceSum(mul(y, c), [0, 1, 2, 3]), [x, ...ws]);
    const outputs = { y, dx: grads[0], dw1: grads[1], dw2: grads[2], dw3: grads[3] };
    const feed = normalFeeds(11);
    const feeds = { x: feed([2, 24, 7, 7]), w1: feed(shapes[0]), w2: feed(shapes[1]), w3: feed(shapes[2]), c: feed([2, 3, 7, 7]) };
    const nodes = toOnnxModel(g, Object.values(outputs), { outputNames: Object.keys(outputs) }).graph!.node!;
    const count = (op: string) => nodes.filter((n) => n.opType === op).length;
    const compiled = await ex.compile(g, outputs);
    try {
      return { out: await compiled.run(feeds), names: Object.keys(outputs), sums: count('Sum'), gemms: count('Gemm') };
    } finally {
      await compiled.dispose();
    }
  } finally {
    Object.assign(CONV_DW_LIMITS, { smallPatches: saved.smallPatches, stackedTaps: saved.stackedTaps });
    CONV_TAP_SUM.maxOutputShare = saved.share;
  }
}

test('a narrow conv chain gives the same outputs and gradients with the tap sums and stacked-taps dW as with the standard forms', async () => {
  const ex = await OrtExecutor.create({ threads: 1 });
  const fast = await narrowNet(ex, true);
  const standard = await narrowNet(ex, false);
  // tap sums: the forwards 24 -> 2 and 24 -> 3, and the dX of 2 -> 24 (a conv 24 -> 2); stacked dW: all three kernels
  assert.equal(fast.sums, 3);
  assert.equal(fast.gemms, 3);
  assert.equal(standard.sums, 0);
  assert.equal(standard.gemms, 0);
  assertSameOutputs(fast.out, standard.out, fast.names, 1e-5);
  assert.equal(ex.liveSessions(), 0);
});
