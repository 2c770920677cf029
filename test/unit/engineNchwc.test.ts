/**
 * Convolutions on onnxruntime's NCHWc CPU kernels (OnnxNodeContext.nchwcBlock): which convs the
 * emitter puts there (ungrouped, output channels in whole blocks, input channels in whole blocks or a
 * first layer under one block), that models for anything else (exports, other providers) hold
 * standard ONNX only, and that a conv net's outputs and gradients on the blocked kernels equal those
 * of the standard Conv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, OrtExecutor, Value, conv, gradients, mul, probeNchwcBlock, reduceSum, relu, toOnnxModel } from '../../server/engine';
import { NCHWC_DOMAIN } from '../../server/engine/onnxContext';
import { assertSameOutputs, normalFeeds } from '../helpers/engineFeeds';

/** Conv node domains of a one-conv graph, x [N, c, 6, 6] * w [o, c / groups, 3, 3]. */
function convNodes(c: number, o: number, block: number, groups = 1) {
  const g = new Graph('one-conv');
  const x = g.input('x', 'float32', ['N', c, 6, 6]);
  const w = g.input('w', 'float32', [o, c / groups, 3, 3]);
  const model = toOnnxModel(g, [conv(x, w, { pads: [1, 1, 1, 1], groups })], { outputNames: ['y'], nchwcBlock: block });
  const nodes = model.graph!.node!.map((n) => `${n.domain ? `${n.domain}.` : ''}${n.opType}`);
  return { nodes, domains: model.opsetImport!.map((d) => d.domain) };
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

/** Outputs and gradients of a three-conv net (3 -> w1, w1 -> w2 stride 2, w2 -> w3 pointwise) on an executor. */
async function convNet(ex: OrtExecutor, [w1, w2, w3]: number[], nchwcBlock = 0) {
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
  const model = toOnnxModel(g, Object.values(outputs), { outputNames: Object.keys(outputs), nchwcBlock });
  const blockedConvs = model.graph!.node!.filter((n) => n.domain === NCHWC_DOMAIN && n.opType === 'Conv').length;
  const compiled = await ex.compile(g, outputs);
  try {
    return { out: await compiled.run(feeds), names: Object.keys(outputs), blockedConvs };
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
    const a = await convNet(blocked, widths, block);
    const b = await convNet(standard, widths);
    assert.equal(a.blockedConvs, convs, `NCHWc convs (forward and dX) for widths ${widths}`);
    assertSameOutputs(a.out, b.out, a.names, 1e-5, `widths ${widths}, `);
  }
});
