/**
 * The graph IR, ONNX emission and executor lifecycle: input names, node ordering, opset and the
 * symbolic batch dimension in the emitted model, Identity for outputs that are not node outputs,
 * session counting, and the fallback of an execution provider that cannot load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import {
  Graph,
  OPSET,
  OrtExecutor,
  TfjsExecutor,
  add,
  encodeModel,
  hostTensor,
  matmul,
  mul,
  probeProvider,
  relu,
  toNumbers,
  toOnnxModel,
} from '../../server/engine';
import type { ExecutionProviderName } from '../../common/protocol';

test('graph input names are unique', () => {
  const g = new Graph('names');
  g.input('x', 'float32', ['N', 3]);
  g.input('y', 'float32', [3]);
  assert.throws(
    () => g.input('x', 'float64', [2]),
    (e: Error) => e.message.includes('"x"') && e.message.includes('twice'),
  );
  assert.equal(g.inputs.length, 2);
  // Node output names never collide with input names in the emitted model either.
  const h = new Graph('names2');
  const a = h.input('relu_1_0', 'float32', [2]);
  const y = relu(relu(a));
  const model = toOnnxModel(h, [y], { outputNames: ['out'] });
  const produced = model.graph!.node!.flatMap((n) => n.output!);
  assert.equal(new Set(produced).size, produced.length);
  assert.ok(!produced.includes('relu_1_0'));
});

test('nodesFor returns exactly the needed nodes, in topological (creation) order', () => {
  const g = new Graph('order');
  const x = g.input('x', 'float32', ['N', 3]);
  const w = g.input('w', 'float32', [3, 3]);
  const unused = relu(w); // not needed for y
  const h = matmul(x, w);
  const side = mul(h, h); // not needed for y
  const y = add(relu(h), x);
  const nodes = g.nodesFor([y]);
  assert.deepEqual(
    nodes.map((n) => n.op),
    ['MatMul', 'Relu', 'Add'],
  );
  const seen = new Set<number>();
  for (const n of nodes) {
    for (const v of n.inputs) if (v.producer) assert.ok(seen.has(v.producer.id), `${n.op} before its input's producer`);
    seen.add(n.id);
  }
  assert.ok(!nodes.includes(unused.producer!) && !nodes.includes(side.producer!));
  assert.deepEqual(g.nodesFor([x]), []);
  // Several outputs: the union, still in creation order.
  assert.deepEqual(
    g.nodesFor([side, unused]).map((n) => n.op),
    ['Relu', 'MatMul', 'Mul'],
  );
});

test('ONNX emission declares opset 17 and the batch dimension as dimParam N', () => {
  assert.equal(OPSET, 17);
  const g = new Graph('emit');
  const x = g.input('x', 'float32', ['N', 4]);
  const w = g.input('w', 'float32', [4, 2]);
  const y = relu(matmul(x, w));
  const decoded = onnx.ModelProto.decode(encodeModel(toOnnxModel(g, [y], { outputNames: ['y'] })));
  assert.deepEqual(
    decoded.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]),
    [['', 17]],
  );
  const dims = (vi: onnx.IValueInfoProto) => vi.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
  const graph = decoded.graph!;
  const inputs = Object.fromEntries(graph.input!.map((i) => [i.name, dims(i)]));
  assert.deepEqual(inputs, { x: ['N', 4], w: [4, 2] });
  assert.deepEqual(
    graph.output!.map((o) => [o.name, dims(o)]),
    [['y', ['N', 2]]],
  );
  assert.deepEqual(
    graph.node!.map((n) => n.opType),
    ['MatMul', 'Relu'],
  );
});

test('an output that is a graph input (or repeated, or a constant) gets an Identity and runs', async () => {
  const g = new Graph('alias');
  const x = g.input('x', 'float32', ['N', 2]);
  const y = relu(x);
  const k = g.constant(hostTensor('float32', [2], [7, 8]));
  const model = toOnnxModel(g, [x, y, y, k], { outputNames: ['same', 'y', 'y2', 'k'] });
  const identities = model.graph!.node!.filter((n) => n.opType === 'Identity').map((n) => [n.input![0], n.output![0]]);
  assert.deepEqual(
    identities.find(([, o]) => o === 'same'),
    ['x', 'same'],
  );
  assert.deepEqual(
    identities.find(([, o]) => o === 'y2'),
    ['y', 'y2'],
  );
  assert.ok(identities.some(([, o]) => o === 'k'));
  assert.ok(!identities.some(([, o]) => o === 'y'), 'a node output takes the output name directly');

  const ort = await OrtExecutor.create({ threads: 1 });
  const compiled = await ort.compile(g, { same: x, y, y2: y, k });
  try {
    const out = await compiled.run({ x: hostTensor('float32', [2, 2], [-1, 2, 3, -4]) });
    assert.deepEqual(toNumbers(out.same), [-1, 2, 3, -4]);
    assert.deepEqual(toNumbers(out.y), [0, 2, 3, 0]);
    assert.deepEqual(toNumbers(out.y2), [0, 2, 3, 0]);
    assert.deepEqual(toNumbers(out.k), [7, 8]);
  } finally {
    await compiled.dispose();
  }
});

test('an output name already used by a graph input or another output is an error', () => {
  const g = new Graph('taken');
  const x = g.input('x', 'float32', [2]);
  g.input('z', 'float32', [2]);
  const y = relu(x);
  assert.throws(() => toOnnxModel(g, [y], { outputNames: ['z'] }), /"z" is already taken/);
  assert.throws(() => toOnnxModel(g, [x], { outputNames: ['x'] }), /"x" is already taken/);
  assert.throws(() => toOnnxModel(g, [y, x], { outputNames: ['a', 'a'] }), /"a" is already taken/);
  // An Identity's output name first, then a node output of the same name: still caught.
  assert.throws(() => toOnnxModel(g, [x, y], { outputNames: ['a', 'a'] }), /"a" is already taken/);
  // An Identity's output name that looks like a generated name does not clash with one.
  const h = new Graph('temps');
  const a = h.input('a', 'float32', [2]);
  const inner = relu(a);
  const model = toOnnxModel(h, [a, relu(inner)], { outputNames: [`${inner.name}_0`, 'out'] });
  const produced = model.graph!.node!.flatMap((n) => n.output!);
  assert.equal(new Set(produced).size, produced.length, `duplicate names in ${produced}`);
});

test('liveSessions counts compiled graphs: 20 compile/dispose cycles end at the start count', async () => {
  const g = new Graph('sessions');
  const x = g.input('x', 'float32', ['N', 3]);
  const y = relu(x);
  for (const ex of [await OrtExecutor.create({ threads: 1 }), await TfjsExecutor.create('cpu')]) {
    const start = ex.liveSessions();
    const held = await ex.compile(g, { y });
    assert.equal(ex.liveSessions(), start + 1, ex.engine);
    for (let i = 0; i < 20; i++) {
      const c = await ex.compile(g, { y });
      assert.equal(ex.liveSessions(), start + 2, `${ex.engine} cycle ${i}: after compile`);
      if (i % 5 === 0) await c.run({ x: hostTensor('float32', [1, 3], [1, -2, 3]) });
      await c.dispose();
      await c.dispose(); // a second dispose is a no-op
      assert.equal(ex.liveSessions(), start + 1, `${ex.engine} cycle ${i}: after dispose`);
      await assert.rejects(c.run({ x: hostTensor('float32', [1, 3], [1, -2, 3]) }), /disposed/);
    }
    await held.dispose();
    assert.equal(ex.liveSessions(), start, ex.engine);
  }
});

test('an execution provider that cannot load falls back to cpu with a warning and still runs', async () => {
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  const inBuild = ort.listSupportedBackends().map((b) => b.name);
  // Never loadable here: DirectML off Windows, CoreML off macOS; CUDA where its libraries are missing.
  const wanted: ExecutionProviderName[] = [];
  if (process.platform !== 'win32') wanted.push('dml');
  if (process.platform !== 'darwin') wanted.push('coreml');
  if (!(await probeProvider('cuda')).ok) wanted.push('cuda');
  assert.ok(wanted.length > 0);
  for (const provider of wanted) {
    const ex = await OrtExecutor.create({ provider, threads: 1 });
    assert.equal(ex.provider, 'cpu', provider);
    assert.equal(ex.warnings.length, 1, provider);
    assert.match(ex.warnings[0], new RegExp(`"${provider}".*using cpu`));
    if (!inBuild.includes(provider)) assert.match(ex.warnings[0], /not in this onnxruntime-node build/);
    const g = new Graph('fallback');
    const x = g.input('x', 'float32', ['N', 2]);
    const compiled = await ex.compile(g, { y: relu(x) });
    try {
      const out = await compiled.run({ x: hostTensor('float32', [1, 2], [-3, 3]) });
      assert.deepEqual(toNumbers(out.y), [0, 3]);
    } finally {
      await compiled.dispose();
    }
  }
  const cpu = await OrtExecutor.create({ threads: 1 });
  assert.equal(cpu.provider, 'cpu');
  assert.deepEqual(cpu.warnings, []);
});
