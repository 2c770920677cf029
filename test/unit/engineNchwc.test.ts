/**
 * Convolutions on onnxruntime's NCHWc CPU kernels (OnnxNodeContext.nchwcBlock): which convs the
 * emitter puts there (ungrouped, output channels in whole blocks, input channels in whole blocks or a
 * first layer under one block; depthwise with channels a multiple of 4), that models for anything
 * else (exports, other providers) hold standard ONNX only, which forms a depthwise VJP takes for a
 * graph built for an executor with NCHWc (GraphTarget.nchwcBlock), and that conv nets' outputs and
 * gradients on the blocked kernels equal those of the standard Conv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Graph,
  OrtExecutor,
  Value,
  conv,
  gradients,
  mul,
  probeNchwcBlock,
  reduceSum,
  relu,
  toOnnxModel,
  type GraphTarget,
} from '../../server/engine';
import { onnx } from 'onnx-proto';
import type { HostTensor } from '../../server/engine/types';
import { NCHWC_DOMAIN } from '../../server/engine/onnxContext';
import { assertSameOutputs, normalFeeds } from '../helpers/engineFeeds';

/** Conv node domains of a one-conv graph, x [N, c, 6, 6] * w [o, c / groups, 3, 3]. */
function convNodes(c: number, o: number, block: number, groups = 1) {
  const g = new Graph('one-conv');
  const x = g.input('x', 'float32', ['N', c, 6, 6]);
  const w = g.input('w', 'float32', [o, c / groups, 3, 3]);
  const model = toOnnxModel(g, [conv(x, w, { pads: [1, 1, 1, 1], groups })], { outputNames: ['y'], nchwcBlock: block });
  const nodes = model.graph!.node!.map((n) => `${n.domain ? `${n.domain}.` : ''}${n.opType}`);
  const blockedGroups = model
    .graph!.node!.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv')
    .map((n) => n.attribute?.find((a) => a.name === 'group')?.i);
  return { nodes, domains: model.opsetImport!.map((d) => d.domain), groups: blockedGroups };
}

test('the emitter puts exactly the convs whose channels fit onnxruntime NCHWc blocks there', () => {
  const blocked = [`${NCHWC_DOMAIN}.ReorderInput`, `${NCHWC_DOMAIN}.Conv`, `${NCHWC_DOMAIN}.ReorderOutput`];
  const fit = convNodes(16, 16, 8);
  for (const n of blocked) assert.ok(fit.nodes.includes(n), `${n} in ${fit.nodes}`);
  assert.ok(!fit.nodes.includes('Conv'), `no standard Conv left: ${fit.nodes}`);
  assert.deepEqual(fit.domains, ['', NCHWC_DOMAIN]);
  // a first layer (3 channels, under one block) reads NCHW directly: no ReorderInput
  const first = convNodes(3, 16, 8);
  assert.ok(first.nodes.includes(`${NCHWC_DOMAIN}.Conv`) && first.nodes.includes(`${NCHWC_DOMAIN}.ReorderOutput`), `${first.nodes}`);
  assert.ok(!first.nodes.includes(`${NCHWC_DOMAIN}.ReorderInput`), `${first.nodes}`);
  assert.ok(!first.nodes.includes('Pad'), `${first.nodes}`);
  // grown widths padded with zero filters up to whole blocks when that adds at most 12.5 % work:
  // 124 -> 124 on 128 x 128 (6.6 %), a first layer 3 -> 60 on 64 outputs (6.7 %)
  for (const [c, o] of [
    [124, 124],
    [3, 60],
  ]) {
    const padded = convNodes(c, o, 8);
    assert.ok(padded.nodes.includes(`${NCHWC_DOMAIN}.Conv`) && padded.nodes.includes('Pad'), `${c} -> ${o}: ${padded.nodes}`);
    assert.ok(!padded.nodes.includes('Conv'), `${c} -> ${o}: ${padded.nodes}`);
  }
  // more padding than that (12 -> 16 and 16 -> 12 on 16 x 16: 33 %; 8 -> 8 with blocks of 16: 100 %;
  // 20 -> 16 with blocks of 16: 60 %), inputs not a multiple of 4 (62), grouped convs, and no block
  // at all: the standard Conv only
  for (const [c, o, block, groups] of [
    [12, 16, 8, 1],
    [16, 12, 8, 1],
    [20, 16, 16, 1],
    [62, 64, 8, 1],
    [16, 16, 8, 2],
    [16, 16, 0, 1],
    [8, 8, 16, 1],
  ]) {
    const plain = convNodes(c, o, block, groups);
    assert.deepEqual(plain.domains, [''], `${c} -> ${o}, block ${block}, groups ${groups}`);
    assert.ok(plain.nodes.includes('Conv'), `${plain.nodes}`);
  }
});

test('depthwise convs with channels a multiple of 4 run on the NCHWc depthwise kernel, their groups padded to whole blocks', () => {
  // 16 channels in blocks of 8 or 16; 8 channels padded to one block of 16 (zero filters), 12 to 16 in blocks of 8
  for (const [c, block, padded] of [
    [16, 8, 16],
    [16, 16, 16],
    [8, 16, 16],
    [12, 8, 16],
  ]) {
    const dw = convNodes(c, c, block, c);
    assert.ok(
      dw.nodes.includes(`${NCHWC_DOMAIN}.ReorderInput`) && !dw.nodes.includes('Conv'),
      `${c} channels, block ${block}: ${dw.nodes}`,
    );
    assert.deepEqual(dw.groups, [padded], `${c} channels, block ${block}: the NCHWc Conv's groups`);
    assert.equal(dw.nodes.includes('Pad'), padded > c, `${c} channels, block ${block}: zero filters only when padded`);
  }
  // 6 channels (not a multiple of 4), a depthwise multiplier of 2 (12 outputs of 6), no block: standard ONNX
  for (const [c, o, block] of [
    [6, 6, 8],
    [6, 12, 8],
    [16, 16, 0],
  ]) {
    const plain = convNodes(c, o, block, c);
    assert.deepEqual(plain.domains, [''], `${c} -> ${o} depthwise, block ${block}`);
  }
});

/** The ops of a depthwise conv's gradient graph (dX and dW), x [N, c, h, h], built for `target`. */
function depthwiseVjpOps(c: number, h: number, stride: number, target?: Partial<GraphTarget>): string[] {
  const g = new Graph('dw-vjp', target);
  const x = g.input('x', 'float32', ['N', c, h, h]);
  const w = g.input('w', 'float32', [c, 1, 3, 3]);
  const y = conv(x, w, { pads: [1, 1, 1, 1], strides: [stride, stride], groups: c });
  const before = g.nodes.length;
  gradients(reduceSum(y, [0, 1, 2, 3]), [x, w]);
  return g.nodes.slice(before).map((n) => n.op);
}

test('a depthwise VJP built for an executor with NCHWc takes a blocked convolution for the stride-1 dX, else its matrix products', () => {
  // 8x8: small enough for the matrix products. For a graph without the target, dX and dW both by them
  const plain = depthwiseVjpOps(16, 8, 1);
  assert.ok(!plain.includes('Conv') && plain.filter((op) => op === 'MatMul').length >= 3, `${plain}`);
  // built for NCHWc blocks of 16: dX a depthwise Conv of the cotangent, dW still by the products
  const blocked = depthwiseVjpOps(16, 8, 1, { nchwcBlock: 16 });
  assert.equal(blocked.filter((op) => op === 'Conv').length, 1, `${blocked}`);
  assert.ok(blocked.includes('MatMul'), `${blocked}`);
  // stride 2 (the general dX would zero-fill the cotangent) and 6 channels (not on the kernel): the matrix products
  for (const ops of [depthwiseVjpOps(16, 8, 2, { nchwcBlock: 16 }), depthwiseVjpOps(6, 8, 1, { nchwcBlock: 16 })])
    assert.ok(!ops.includes('Conv'), `${ops}`);
});

/** Outputs and gradients of a depthwise-separable net (c -> depthwise -> depthwise stride 2 -> pointwise 2c) on an executor. */
async function depthwiseNet(ex: OrtExecutor, c: number, target?: GraphTarget) {
  const g = new Graph('dw-net', target);
  const x = g.input('x', 'float32', ['N', c, 10, 10]);
  const shapes = [
    [c, 1, 3, 3],
    [c, 1, 3, 3],
    [2 * c, c, 1, 1],
  ];
  const ws: Value[] = shapes.map((s, i) => g.input(`w${i + 1}`, 'float32', s));
  const cot = g.input('c', 'float32', ['N', 2 * c, 5, 5]);
  const h1 = relu(conv(x, ws[0], { pads: [1, 1, 1, 1], groups: c }));
  const h2 = relu(conv(h1, ws[1], { strides: [2, 2], pads: [1, 1, 1, 1], groups: c }));
  const y = conv(h2, ws[2]);
  const grads = gradients(reduceSum(mul(y, cot), [0, 1, 2, 3]), [x, ...ws]);
  const outputs = { y, dx: grads[0], dw1: grads[1], dw2: grads[2], dw3: grads[3] };
  const feed = normalFeeds(7);
  const feeds = { x: feed([3, c, 10, 10]), w1: feed(shapes[0]), w2: feed(shapes[1]), w3: feed(shapes[2]), c: feed([3, 2 * c, 5, 5]) };
  const grouped = (n: onnx.INodeProto) => !!n.attribute?.some((at) => at.name === 'group');
  const { out, names, count } = await runCounting(ex, g, outputs, feeds, grouped);
  return { out, names, depthwiseBlocked: count };
}

test('depthwise nets give the same outputs and gradients on the NCHWc kernels as on the standard forms', async (t) => {
  const block = await probeNchwcBlock();
  if (!block) return t.skip('this onnxruntime build or CPU has no NCHWc kernels (probeNchwcBlock: 0)');
  const blocked = await OrtExecutor.create({ threads: 1, nchwc: true, native: false });
  const standard = await OrtExecutor.create({ threads: 1, nchwc: false, native: false });
  // whole blocks and channels padded to a block (half a block, 4): the two depthwise forwards and the
  // stride-1 layer's dX on the depthwise kernel (the strided layer's VJP stays on the matrix products)
  for (const c of [block, block / 2, 4]) {
    const a = await depthwiseNet(blocked, c, blocked);
    const b = await depthwiseNet(standard, c);
    assert.equal(a.depthwiseBlocked, 3, `${c} channels: depthwise convs on the NCHWc kernel`);
    assert.equal(b.depthwiseBlocked, 0);
    assertSameOutputs(a.out, b.out, a.names, 1e-5, `${c} channels, `);
  }
});

/** Outputs and gradients of a three-conv net (3 -> w1, w1 -> w2 stride 2, w2 -> w3 pointwise) on an executor. */
async function convNet(ex: OrtExecutor, [w1, w2, w3]: number[]) {
  const g = new Graph('nchwc-net');
  const x = g.input('x', 'float32', ['N', 3, 9, 9]);
  const shapes = [
    [w1, 3, 3, 3],
    [w2, w1, 3, 3],
    [w3, w2, 1, 1],
  ];
  const ws: Value[] = shapes.map((s, i) => g.input(`w${i + 1}`, 'float32', s));
  const c = g.input('c', 'float32', ['N', w3, 5, 5]);
  const h1 = relu(conv(x, ws[0], { pads: [1, 1, 1, 1] }));
  const h2 = relu(conv(h1, ws[1], { strides: [2, 2], pads: [1, 1, 1, 1] }));
  const y = conv(h2, ws[2]);
  const grads = gradients(reduceSum(mul(y, c), [0, 1, 2, 3]), [x, ...ws]);
  const outputs = { y, dx: grads[0], dw1: grads[1], dw2: grads[2], dw3: grads[3] };
  const feed = normalFeeds(5);
  const feeds = { x: feed([2, 3, 9, 9]), w1: feed(shapes[0]), w2: feed(shapes[1]), w3: feed(shapes[2]), c: feed([2, w3, 5, 5]) };
  const { out, names, count } = await runCounting(ex, g, outputs, feeds, () => true);
  return { out, names, blockedConvs: count };
}

/** Runs `outputs` of g once on ex, and counts the NCHWc Convs of its model that `counted` picks. */
async function runCounting(
  ex: OrtExecutor,
  g: Graph,
  outputs: Record<string, Value>,
  feeds: Record<string, HostTensor>,
  counted: (n: onnx.INodeProto) => boolean,
) {
  const model = toOnnxModel(g, Object.values(outputs), { outputNames: Object.keys(outputs), nchwcBlock: ex.nchwcBlock });
  const count = model.graph!.node!.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv' && counted(n)).length;
  const compiled = await ex.compile(g, outputs);
  try {
    return { out: await compiled.run(feeds), names: Object.keys(outputs), count };
  } finally {
    await compiled.dispose();
  }
}

test('conv nets give the same outputs and gradients on the NCHWc kernels as on the standard Conv', async (t) => {
  const block = await probeNchwcBlock();
  if (!block) return t.skip('this onnxruntime build or CPU has no NCHWc kernels (probeNchwcBlock: 0)');
  const blocked = await OrtExecutor.create({ threads: 1, nchwc: true });
  const standard = await OrtExecutor.create({ threads: 1, nchwc: false });
  assert.equal(blocked.nchwcBlock, block);
  assert.equal(standard.nchwcBlock, 0);
  // NCHWc convs: whole blocks (3 -> B first layer, B -> B stride 2, B -> 2B pointwise): the three forwards and
  // the pointwise dX (2B -> B; the strided dX is a ConvTranspose, the first layer's dX has 3 outputs);
  // grown widths (3 -> 8B-4 -> 8B-2 -> B): the first two forwards padded up to 8B channels, and the
  // pointwise dX (B -> 8B-2, padded); not the pointwise forward (8B-2 inputs, not a multiple of 4)
  for (const [widths, convs] of [
    [[block, block, 2 * block], 4],
    [[8 * block - 4, 8 * block - 2, block], 3],
  ] as [number[], number][]) {
    const a = await convNet(blocked, widths);
    const b = await convNet(standard, widths);
    assert.equal(a.blockedConvs, convs, `NCHWc convs (forward and dX) for widths ${widths}`);
    assertSameOutputs(a.out, b.out, a.names, 1e-5, `widths ${widths}, `);
  }
});
