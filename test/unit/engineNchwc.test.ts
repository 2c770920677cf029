/**
 * Convolutions on onnxruntime's NCHWc CPU kernels (OnnxNodeContext.nchwcBlock): which convs the
 * emitter puts there (ungrouped, output channels in whole blocks, input channels in whole blocks or a
 * first layer under one block), that models for anything else (exports, other providers) hold
 * standard ONNX only, and that a conv net's outputs and gradients on the blocked kernels equal those
 * of the standard Conv.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Graph,
  HostTensor,
  OrtExecutor,
  Value,
  conv,
  gradients,
  hostTensor,
  mul,
  probeNchwcBlock,
  reduceSum,
  relu,
  toNumbers,
  toOnnxModel,
} from '../../server/engine';
import { NCHWC_DOMAIN } from '../../server/engine/onnxContext';
import { Rng } from '../../server/random';

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
  // channels outside whole blocks, grouped convs, and no block at all: the standard Conv only
  for (const [c, o, block, groups] of [
    [12, 16, 8, 1],
    [16, 12, 8, 1],
    [16, 16, 8, 2],
    [16, 16, 0, 1],
    [8, 8, 16, 1],
  ]) {
    const plain = convNodes(c, o, block, groups);
    assert.deepEqual(plain.domains, [''], `${c} -> ${o}, block ${block}, groups ${groups}`);
    assert.ok(plain.nodes.includes('Conv'), `${plain.nodes}`);
  }
});

test('a conv net trains to the same outputs and gradients on the NCHWc kernels as on the standard Conv', async (t) => {
  const block = await probeNchwcBlock();
  if (!block) return t.skip('this onnxruntime build or CPU has no NCHWc kernels (probeNchwcBlock: 0)');
  const blocked = await OrtExecutor.create({ threads: 1, nchwc: true });
  const standard = await OrtExecutor.create({ threads: 1, nchwc: false });
  assert.equal(blocked.nchwcBlock, block);
  assert.equal(standard.nchwcBlock, 0);
  // 3 -> B (first layer), B -> B stride 2, B -> 2B pointwise: every NCHWc reorder of the weights
  const g = new Graph('nchwc-net');
  const x = g.input('x', 'float32', ['N', 3, 9, 9]);
  const ws: Value[] = [
    g.input('w1', 'float32', [block, 3, 3, 3]),
    g.input('w2', 'float32', [block, block, 3, 3]),
    g.input('w3', 'float32', [2 * block, block, 1, 1]),
  ];
  const c = g.input('c', 'float32', ['N', 2 * block, 5, 5]);
  const h1 = relu(conv(x, ws[0], { pads: [1, 1, 1, 1] }));
  const h2 = relu(conv(h1, ws[1], { strides: [2, 2], pads: [1, 1, 1, 1] }));
  const y = conv(h2, ws[2]);
  const loss = reduceSum(mul(y, c), [0, 1, 2, 3]);
  const grads = gradients(loss, [x, ...ws]);
  const outputs = { y, dx: grads[0], dw1: grads[1], dw2: grads[2], dw3: grads[3] };
  const rng = new Rng(5);
  const feed = (shape: number[]) =>
    hostTensor(
      'float32',
      shape,
      Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    );
  const feeds = {
    x: feed([2, 3, 9, 9]),
    w1: feed([block, 3, 3, 3]),
    w2: feed([block, block, 3, 3]),
    w3: feed([2 * block, block, 1, 1]),
    c: feed([2, 2 * block, 5, 5]),
  };
  const runs: Record<string, HostTensor>[] = [];
  for (const ex of [blocked, standard]) {
    const compiled = await ex.compile(g, outputs);
    try {
      runs.push(await compiled.run(feeds));
    } finally {
      await compiled.dispose();
    }
  }
  for (const name of Object.keys(outputs)) {
    const [a, b]: number[][] = [toNumbers(runs[0][name]), toNumbers(runs[1][name])];
    assert.equal(a.length, b.length, name);
    const scale = Math.max(...b.map(Math.abs));
    const err = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    assert.ok(scale > 0 && err <= 1e-5 * scale, `${name}: max |difference| ${err} against max |value| ${scale}`);
  }
});
