/**
 * Forward values of every registered op on small inputs against hand-computed values (exact where
 * the arithmetic is exact in float32), with the OrtExecutor and the TfjsExecutor agreeing within
 * 1e-5; shape-rule errors that name the op; and the error for an op without a gradient rule.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  DType,
  Graph,
  HostTensor,
  OrtExecutor,
  Shape,
  TfjsExecutor,
  Value,
  concreteShape,
  conv,
  gather,
  gradients,
  hostTensor,
  matmul,
  mul,
  reduceSum,
  registeredOps,
  relu,
  toNumbers,
} from '../../server/engine';
import { defineOp } from '../../server/engine/registry';

interface In {
  shape: Shape;
  values: number[];
  dtype?: DType;
}
interface Case {
  name: string;
  op: string;
  inputs: In[];
  attrs?: Record<string, unknown>;
  expect: { dtype?: DType; shape: number[]; values: number[] };
  /** Absolute tolerance against the hand-computed values (default 0: exact). */
  tol?: number;
  /** Concrete batch for 'N' (default 2). */
  batch?: number;
}

const iota = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);
const LN3 = Math.log(3);
const c1 = (values: number[], shape: Shape = [values.length]): In => ({ shape, values });

const CASES: Case[] = [
  {
    name: 'Add [N,3]+[3]',
    op: 'Add',
    inputs: [c1(iota(6), ['N', 3]), c1([10, 20, 30])],
    expect: { shape: [2, 3], values: [11, 22, 33, 14, 25, 36] },
  },
  {
    name: 'Sub [2,1]-[3]',
    op: 'Sub',
    inputs: [c1([1, 2], [2, 1]), c1([1, 2, 3])],
    expect: { shape: [2, 3], values: [0, -1, -2, 1, 0, -1] },
  },
  { name: 'Mul [2,2]*[]', op: 'Mul', inputs: [c1(iota(4), [2, 2]), c1([2], [])], expect: { shape: [2, 2], values: [2, 4, 6, 8] } },
  { name: 'Div', op: 'Div', inputs: [c1([1, 2, 3, 4]), c1([2, 4, -1, 8])], expect: { shape: [4], values: [0.5, 0.5, -3, 0.5] } },
  { name: 'Pow', op: 'Pow', inputs: [c1([2, 3, 4]), c1([3, 2, 0.5])], expect: { shape: [3], values: [8, 9, 2] }, tol: 1e-6 },
  { name: 'Neg', op: 'Neg', inputs: [c1([-1, 0, 2])], expect: { shape: [3], values: [1, 0, -2] } },
  { name: 'Relu', op: 'Relu', inputs: [c1([-1, 0, 2])], expect: { shape: [3], values: [0, 0, 2] } },
  { name: 'LeakyRelu', op: 'LeakyRelu', attrs: { alpha: 0.25 }, inputs: [c1([-2, 0, 3])], expect: { shape: [3], values: [-0.5, 0, 3] } },
  { name: 'Tanh', op: 'Tanh', inputs: [c1([0, LN3, -LN3])], expect: { shape: [3], values: [0, 0.8, -0.8] }, tol: 1e-6 },
  { name: 'Sigmoid', op: 'Sigmoid', inputs: [c1([0, LN3, -LN3])], expect: { shape: [3], values: [0.5, 0.75, 0.25] }, tol: 1e-6 },
  { name: 'Exp', op: 'Exp', inputs: [c1([0, 1, Math.LN2])], expect: { shape: [3], values: [1, Math.E, 2] }, tol: 1e-6 },
  { name: 'Log', op: 'Log', inputs: [c1([1, Math.E, 0.5])], expect: { shape: [3], values: [0, 1, -Math.LN2] }, tol: 1e-6 },
  { name: 'Sqrt', op: 'Sqrt', inputs: [c1([4, 9, 0.25])], expect: { shape: [3], values: [2, 3, 0.5] } },
  { name: 'Greater', op: 'Greater', inputs: [c1([1, 2, 3]), c1([2], [1])], expect: { dtype: 'bool', shape: [3], values: [0, 0, 1] } },
  {
    name: 'Equal',
    op: 'Equal',
    inputs: [c1([1, 2, 3], [1, 3]), c1([2, 3], [2, 1])],
    expect: { dtype: 'bool', shape: [2, 3], values: [0, 1, 0, 0, 0, 1] },
  },
  {
    name: 'Where',
    op: 'Where',
    inputs: [{ shape: [3], values: [1, 0, 1], dtype: 'bool' }, c1([1, 2, 3, 4, 5, 6], [2, 3]), c1([10], [1])],
    expect: { shape: [2, 3], values: [1, 10, 3, 4, 10, 6] },
  },
  {
    name: 'Cast float->int64 truncates',
    op: 'Cast',
    attrs: { to: 'int64' },
    inputs: [c1([1.7, -1.7, 2])],
    expect: { dtype: 'int64', shape: [3], values: [1, -1, 2] },
  },
  {
    name: 'Cast float->bool',
    op: 'Cast',
    attrs: { to: 'bool' },
    inputs: [c1([0, 0.5, -2])],
    expect: { dtype: 'bool', shape: [3], values: [0, 1, 1] },
  },
  {
    name: 'Cast int64->float32',
    op: 'Cast',
    attrs: { to: 'float32' },
    inputs: [{ shape: [2], values: [3, -4], dtype: 'int64' }],
    expect: { dtype: 'float32', shape: [2], values: [3, -4] },
  },
  {
    name: 'MatMul',
    op: 'MatMul',
    inputs: [c1([1, 2, 3, 4], [2, 2]), c1([5, 6, 7, 8], [2, 2])],
    expect: { shape: [2, 2], values: [19, 22, 43, 50] },
  },
  {
    name: 'MatMul [N,3]x[3,1]',
    op: 'MatMul',
    inputs: [c1(iota(6), ['N', 3]), c1([1, 0, -1], [3, 1])],
    expect: { shape: [2, 1], values: [-2, -2] },
  },
  {
    // z[a, b] = Σ over n and the last axis of x[a, n, r]·y[b, n, r]
    name: 'FoldedMatMul [2,N,2]x[1,N,2]',
    op: 'FoldedMatMul',
    inputs: [c1(iota(8), [2, 'N', 2]), c1([1, 0, 0, 2], [1, 'N', 2])],
    expect: { shape: [2, 1], values: [1 + 2 * 4, 5 + 2 * 8] },
  },
  {
    name: 'ReduceSum axis N',
    op: 'ReduceSum',
    attrs: { axes: [0], keepdims: false },
    inputs: [c1(iota(6), ['N', 3])],
    expect: { shape: [3], values: [5, 7, 9] },
  },
  {
    name: 'ReduceSum axis 1 keepdims',
    op: 'ReduceSum',
    attrs: { axes: [1], keepdims: true },
    inputs: [c1(iota(6), [2, 3])],
    expect: { shape: [2, 1], values: [6, 15] },
  },
  {
    name: 'ReduceMean axis 1',
    op: 'ReduceMean',
    attrs: { axes: [1], keepdims: false },
    inputs: [c1(iota(6), [2, 3])],
    expect: { shape: [2], values: [2, 5] },
  },
  {
    name: 'ReduceMean axes [0,2] keepdims',
    op: 'ReduceMean',
    attrs: { axes: [0, 2], keepdims: true },
    inputs: [c1(iota(8), ['N', 2, 2])],
    expect: { shape: [1, 2, 1], values: [3.5, 5.5] },
  },
  {
    name: 'Reshape [N,2,2]->[N,4]',
    op: 'Reshape',
    attrs: { shape: ['N', 4] },
    inputs: [c1(iota(8), ['N', 2, 2])],
    expect: { shape: [2, 4], values: iota(8) },
  },
  {
    name: 'Transpose',
    op: 'Transpose',
    attrs: { perm: [1, 0] },
    inputs: [c1(iota(6), [2, 3])],
    expect: { shape: [3, 2], values: [1, 4, 2, 5, 3, 6] },
  },
  {
    name: 'Concat axis 1',
    op: 'Concat',
    attrs: { axis: 1 },
    inputs: [c1([1, 2], [2, 1]), c1([3, 4, 5, 6], [2, 2])],
    expect: { shape: [2, 3], values: [1, 3, 4, 2, 5, 6] },
  },
  {
    name: 'Slice',
    op: 'Slice',
    attrs: { starts: [1], ends: [3], axes: [1] },
    inputs: [c1(iota(6), [2, 3])],
    expect: { shape: [2, 2], values: [2, 3, 5, 6] },
  },
  {
    name: 'Pad',
    op: 'Pad',
    attrs: { pads: [1, 0, 0, 1], value: 9 },
    inputs: [c1(iota(4), [2, 2])],
    expect: { shape: [3, 3], values: [9, 9, 9, 1, 2, 9, 3, 4, 9] },
  },
  {
    // y[a, p, q, c, u, v] = x[a, c, 2u + p, 2v + q]: channel 0 rows 1-4, 5-8; channel 1 rows 9-12, 13-16
    name: 'StridePhases block 2',
    op: 'StridePhases',
    attrs: { block: 2 },
    inputs: [c1(iota(16), [1, 2, 2, 4])],
    expect: { shape: [1, 2, 2, 2, 1, 2], values: [1, 3, 9, 11, 2, 4, 10, 12, 5, 7, 13, 15, 6, 8, 14, 16] },
  },
  { name: 'Shape of [N,3]', op: 'Shape', inputs: [c1(iota(6), ['N', 3])], expect: { dtype: 'int64', shape: [2], values: [2, 3] } },
  {
    name: 'Gather axis 0',
    op: 'Gather',
    attrs: { axis: 0 },
    inputs: [c1(iota(6), [3, 2]), { shape: [3], values: [2, 0, 2], dtype: 'int64' }],
    expect: { shape: [3, 2], values: [5, 6, 1, 2, 5, 6] },
  },
  {
    name: 'Gather axis 1',
    op: 'Gather',
    attrs: { axis: 1 },
    inputs: [c1(iota(6), ['N', 3]), { shape: [2], values: [2, 1], dtype: 'int64' }],
    expect: { shape: [2, 2], values: [3, 2, 6, 5] },
  },
  {
    name: 'Expand [3,1]->[2,3,2]',
    op: 'Expand',
    attrs: { to: [2, 3, 2] },
    inputs: [c1([1, 2, 3], [3, 1]), { shape: [3], values: [2, 3, 2], dtype: 'int64' }],
    expect: { shape: [2, 3, 2], values: [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3] },
  },
  {
    name: 'Softmax axis 1',
    op: 'Softmax',
    attrs: { axis: 1 },
    inputs: [c1([0, LN3, 1, 1], [2, 2])],
    expect: { shape: [2, 2], values: [0.25, 0.75, 0.5, 0.5] },
    tol: 1e-6,
  },
  {
    name: 'Softmax axis 0',
    op: 'Softmax',
    attrs: { axis: 0 },
    inputs: [c1([0, 1, LN3, 1], [2, 2])],
    expect: { shape: [2, 2], values: [0.25, 0.5, 0.75, 0.5] },
    tol: 1e-6,
  },
  {
    name: 'LogSoftmax axis 1',
    op: 'LogSoftmax',
    attrs: { axis: 1 },
    inputs: [c1([0, LN3], [1, 2])],
    expect: { shape: [1, 2], values: [Math.log(0.25), Math.log(0.75)] },
    tol: 1e-6,
  },
  {
    name: 'LogSoftmax axis 0',
    op: 'LogSoftmax',
    attrs: { axis: 0 },
    inputs: [c1([0, LN3], [2, 1])],
    expect: { shape: [2, 1], values: [Math.log(0.25), Math.log(0.75)] },
    tol: 1e-6,
  },
  {
    name: 'Conv 2x2 valid',
    op: 'Conv',
    attrs: { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
    inputs: [c1(iota(9), [1, 1, 3, 3]), c1([1, 2, 3, 4], [1, 1, 2, 2])],
    expect: { shape: [1, 1, 2, 2], values: [37, 47, 67, 77] },
  },
  {
    // dW[o] = Σ_n g[n, o] · x[n]: 1·x0 + 0·x1 and 0·x0 + 1·x1
    name: 'ConvWeightGradient 2x2 valid, batch 2',
    op: 'ConvWeightGradient',
    attrs: { kernel: [2, 2], pads: [0, 0, 0, 0] },
    inputs: [c1(iota(8), ['N', 1, 2, 2]), c1([1, 0, 0, 1], ['N', 2, 1, 1])],
    expect: { shape: [2, 1, 2, 2], values: [1, 2, 3, 4, 5, 6, 7, 8] },
  },
  {
    // xpad = [[0,0,0],[0,1,2],[0,3,4]] (pads top 1, left 1), g all ones on 2x2: dW[i][j] = Σ xpad[i..i+1][j..j+1]
    name: 'ConvWeightGradient 2x2 pads [1,1,0,0]',
    op: 'ConvWeightGradient',
    attrs: { kernel: [2, 2], pads: [1, 1, 0, 0] },
    inputs: [c1(iota(4), [1, 1, 2, 2]), c1([1, 1, 1, 1], [1, 1, 2, 2])],
    expect: { shape: [1, 1, 2, 2], values: [1, 3, 4, 10] },
  },
  {
    name: 'Conv 2x2 stride 2 pad 1',
    op: 'Conv',
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] },
    inputs: [c1(iota(9), [1, 1, 3, 3]), c1([1, 1, 1, 1], [1, 1, 2, 2])],
    expect: { shape: [1, 1, 2, 2], values: [1, 5, 11, 28] },
  },
  {
    name: 'Conv 2 channels in, 2 out',
    op: 'Conv',
    attrs: { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
    // out0 = in0 + in1, out1 = in0 - in1 (1x1 kernels)
    inputs: [c1([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]), c1([1, 1, 1, -1], [2, 2, 1, 1])],
    expect: { shape: [1, 2, 2, 2], values: [11, 22, 33, 44, -9, -18, -27, -36] },
  },
  {
    name: 'ConvTranspose stride 1',
    op: 'ConvTranspose',
    attrs: { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], outputPadding: [0, 0] },
    inputs: [c1([1, 2, 3, 4], [1, 1, 2, 2]), c1([1, 2, 3, 4], [1, 1, 2, 2])],
    expect: { shape: [1, 1, 3, 3], values: [1, 4, 4, 6, 20, 16, 9, 24, 16] },
  },
  {
    name: 'ConvTranspose stride 2',
    op: 'ConvTranspose',
    attrs: { strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], outputPadding: [0, 0] },
    inputs: [c1([1, 2, 3, 4], [1, 1, 2, 2]), c1([1, 1, 1, 1], [1, 1, 2, 2])],
    expect: { shape: [1, 1, 4, 4], values: [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4] },
  },
  {
    name: 'ConvTranspose stride 2 pad 1 outpad 1',
    op: 'ConvTranspose',
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], outputPadding: [1, 1] },
    // full 6x6 output: x[i,j] * w[a,b] at (2i+a, 2j+b) with w 3x3 of ones; cropped to rows/cols 1..4
    inputs: [c1([1, 2, 3, 4], [1, 1, 2, 2]), c1(new Array(9).fill(1), [1, 1, 3, 3])],
    expect: { shape: [1, 1, 4, 4], values: [1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4] },
  },
  {
    name: 'MaxPool 2 on 4x4',
    op: 'MaxPool',
    attrs: { kernel: 2 },
    inputs: [c1(iota(16), [1, 1, 4, 4])],
    expect: { shape: [1, 1, 2, 2], values: [6, 8, 14, 16] },
  },
  {
    name: 'MaxPool 2 on 5x5',
    op: 'MaxPool',
    attrs: { kernel: 2 },
    inputs: [c1(iota(25).reverse(), [1, 1, 5, 5])],
    expect: { shape: [1, 1, 2, 2], values: [25, 23, 15, 13] },
  },
  {
    name: 'AveragePool 2 on 4x4',
    op: 'AveragePool',
    attrs: { kernel: 2 },
    inputs: [c1(iota(16), [1, 1, 4, 4])],
    expect: { shape: [1, 1, 2, 2], values: [3.5, 5.5, 11.5, 13.5] },
  },
  {
    name: 'AveragePool 2 on 5x5',
    op: 'AveragePool',
    attrs: { kernel: 2 },
    inputs: [c1(iota(25), [1, 1, 5, 5])],
    expect: { shape: [1, 1, 2, 2], values: [4, 6, 14, 16] },
  },
  {
    name: 'GlobalAveragePool',
    op: 'GlobalAveragePool',
    inputs: [c1(iota(8), ['N', 2, 1, 2])],
    batch: 2,
    expect: { shape: [2, 2, 1, 1], values: [1.5, 3.5, 5.5, 7.5] },
  },
  {
    name: 'Upsample x2',
    op: 'Upsample',
    attrs: { scale: 2 },
    inputs: [c1([1, 2, 3, 4], [1, 1, 2, 2])],
    expect: { shape: [1, 1, 4, 4], values: [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4] },
  },
  {
    // x·s + t per channel: channel 0 ·2 + 1, channel 1 ·(−3) + 0.5
    name: 'ChannelAffine NCHW',
    op: 'ChannelAffine',
    inputs: [c1([1, 2, 3, 4, 5, 6, 7, 8], ['N', 2, 1, 2]), c1([2, -3], [2]), c1([1, 0.5], [2])],
    batch: 2,
    expect: { shape: [2, 2, 1, 2], values: [3, 5, -8.5, -11.5, 11, 13, -20.5, -23.5] },
  },
  {
    // channel 0: 1, 3 (mean 2, variance 1), gamma 2; channel 1: 0, 4 (mean 2, variance 4), beta 1
    name: 'BatchNormTrain [N, C], epsilon 0',
    op: 'BatchNormTrain',
    attrs: { epsilon: 0 },
    inputs: [c1([1, 0, 3, 4], ['N', 2]), c1([2, 1], [2]), c1([0, 1], [2])],
    batch: 2,
    expect: { shape: [2, 2], values: [-2, 0, 2, 2] },
  },
];

let ort: OrtExecutor;
let tfx: TfjsExecutor;
/** tfjs backend of the oracle: cpu by default; ENGINE_TEST_TFJS=wasm checks the wasm kernels instead. */
const TFJS_BACKEND = process.env.ENGINE_TEST_TFJS === 'wasm' ? 'wasm' : 'cpu';
before(async () => {
  ort = await OrtExecutor.create({ threads: 1 });
  tfx = await TfjsExecutor.create(TFJS_BACKEND);
  assert.equal(tfx.provider, TFJS_BACKEND);
});

const THROWAWAY = `TestOpWithoutVjp_${process.pid}`;

test('every registered op has a forward-value case', () => {
  const covered = new Set(CASES.map((c) => c.op));
  const missing = registeredOps().filter((op) => op !== THROWAWAY && !covered.has(op));
  assert.deepEqual(missing, [], `registered ops without a forward case: ${missing.join(', ')}`);
});

for (const c of CASES) {
  test(`forward ${c.name}`, async () => {
    const batch = c.batch ?? 2;
    const g = new Graph(c.name);
    const feeds: Record<string, HostTensor> = {};
    const ins = c.inputs.map((s, k) => {
      const v = g.input(`in${k}`, s.dtype ?? 'float32', s.shape);
      feeds[v.name] = hostTensor(v.dtype, concreteShape(s.shape, batch), s.values);
      return v;
    });
    const y = g.apply1(c.op, ins, c.attrs ?? {});
    assert.equal(y.dtype, c.expect.dtype ?? 'float32', 'output dtype');
    assert.deepEqual(concreteShape(y.shape, batch), c.expect.shape, 'inferred shape');
    const results: HostTensor[] = [];
    for (const ex of [ort, tfx]) {
      const compiled = await ex.compile(g, { y });
      try {
        const out = (await compiled.run(feeds)).y;
        assert.deepEqual(out.shape, c.expect.shape, `${ex.engine}: shape`);
        assert.equal(out.dtype, y.dtype, `${ex.engine}: dtype`);
        const got = toNumbers(out);
        const tol = c.tol ?? 0;
        got.forEach((v, i) => {
          assert.ok(
            Math.abs(v - c.expect.values[i]) <= tol,
            `${ex.engine}: ${c.name}[${i}] = ${v}, expected ${c.expect.values[i]} (tol ${tol})\ngot ${got}`,
          );
        });
        results.push(out);
      } finally {
        await compiled.dispose();
      }
    }
    const [a, b] = results.map(toNumbers);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-5, `executors differ at ${i}: ${v} vs ${b[i]}`));
  });
}

test('forward values agree in float64 on the OrtExecutor', async () => {
  // A few ops with double kernels, fed values that float32 cannot hold exactly.
  const g = new Graph('f64');
  const x = g.input('x', 'float64', [1, 3]);
  const w = g.input('w', 'float64', [3, 1]);
  const y = reduceSum(matmul(relu(x), w), [0, 1]);
  const compiled = await ort.compile(g, { y });
  try {
    const out = await compiled.run({
      x: hostTensor('float64', [1, 3], [1 + 2 ** -40, -1, 3]),
      w: hostTensor('float64', [3, 1], [1, 1, 1]),
    });
    assert.equal(out.y.dtype, 'float64');
    assert.equal(toNumbers(out.y)[0], 4 + 2 ** -40);
  } finally {
    await compiled.dispose();
  }
});

// ---- errors -------------------------------------------------------------------------------------
function shapeError(build: (g: Graph) => unknown, ...fragments: string[]) {
  const g = new Graph('errors');
  assert.throws(
    () => build(g),
    (e: Error) => {
      for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" should contain "${f}"`);
      return true;
    },
  );
}

test('shape-rule errors name the op and the problem', () => {
  shapeError(
    (g) => matmul(g.input('a', 'float32', [2, 3]), g.input('b', 'float32', [4, 5])),
    'MatMul',
    'inner dimensions',
    '[2, 3]',
    '[4, 5]',
  );
  shapeError((g) => g.apply1('Add', [g.input('a', 'float32', [2, 3]), g.input('b', 'float32', [4])]), 'Add', 'do not broadcast');
  shapeError(
    (g) => g.apply1('FoldedMatMul', [g.input('a', 'float32', [2, 'N', 3]), g.input('b', 'float32', [4, 'N', 2])]),
    'FoldedMatMul',
    'trailing dimensions differ',
  );
  shapeError((g) => g.apply1('Mul', [g.input('a', 'float32', [2]), g.input('b', 'float64', [2])]), 'Mul', 'types differ');
  shapeError((g) => conv(g.input('x', 'float32', ['N', 3, 5, 5]), g.input('w', 'float32', [4, 2, 3, 3])), 'Conv', 'channels');
  shapeError((g) => conv(g.input('x', 'float32', ['N', 1, 2, 2]), g.input('w', 'float32', [1, 1, 3, 3])), 'Conv', 'kernel larger');
  shapeError((g) => g.apply1('Reshape', [g.input('x', 'float32', ['N', 6])], { shape: ['N', 4] }), 'Reshape', 'cannot reshape');
  shapeError(
    (g) => g.apply1('Concat', [g.input('a', 'float32', ['N', 2]), g.input('b', 'float32', ['N', 2])], { axis: 0 }),
    'Concat',
    'batch axis',
  );
  shapeError((g) => g.apply1('Slice', [g.input('x', 'float32', [2, 3])], { starts: [1], ends: [4], axes: [1] }), 'Slice', 'out of range');
  shapeError((g) => g.apply1('Transpose', [g.input('x', 'float32', [2, 3])], { perm: [0, 0] }), 'Transpose', 'permutation');
  shapeError((g) => g.apply1('StridePhases', [g.input('x', 'float32', ['N', 2, 3, 4])], { block: 2 }), 'StridePhases', 'does not split');
  shapeError((g) => g.apply1('Gather', [g.input('x', 'float32', [2, 3]), g.input('i', 'float32', [1])], { axis: 0 }), 'Gather', 'int64');
  shapeError(
    (g) => g.apply1('Where', [g.input('c', 'float32', [2]), g.input('a', 'float32', [2]), g.input('b', 'float32', [2])]),
    'Where',
    'bool',
  );
  shapeError((g) => g.apply1('Pad', [g.input('x', 'float32', ['N', 2])], { pads: [1, 0, 0, 0], value: 0 }), 'Pad', 'batch axis');
  shapeError((g) => g.apply1('MaxPool', [g.input('x', 'float32', ['N', 1, 1, 3])], { kernel: 2 }), 'MaxPool', 'larger than the input');
  shapeError((g) => g.apply1('Relu', [g.input('x', 'int64', [2])]), 'Relu', 'float');
  shapeError((g) => g.apply1('Frobnicate', [g.input('x', 'float32', [2])]), 'Frobnicate', 'not registered');
});

test('an op without a VJP rule used in gradients() throws an error naming it', () => {
  defineOp({
    name: THROWAWAY,
    infer: ([x]) => [{ dtype: x.dtype, shape: x.shape }],
    onnx: (ctx) => ctx.emit('Identity', [ctx.input(0)], [ctx.output(0)]),
    vjp: undefined,
    tfjs: (tf, [x]) => [tf.clone(x)],
  });
  const g = new Graph('novjp');
  const x = g.input('x', 'float32', ['N', 3]);
  const w = g.input('w', 'float32', [3, 2]);
  const loss = reduceSum(g.apply1(THROWAWAY, [matmul(x, w)]), [0, 1]);
  assert.throws(
    () => gradients(loss, [w]),
    (e: Error) => e.message.includes(THROWAWAY) && /gradient/.test(e.message),
  );
  // An op off the path from the loss to the wrt values needs no rule.
  const b = g.input('b', 'float32', [3]);
  const loss2 = reduceSum(mul(g.apply1(THROWAWAY, [x]), b), [0, 1]);
  assert.doesNotThrow(() => gradients(loss2, [b]));
});

test('an error inside a gradient rule names the op', () => {
  const g = new Graph('gather-grad');
  const x = g.input('x', 'float32', ['N', 4]);
  const loss = reduceSum(gather(x, [1, 3], 1), [0, 1]);
  assert.throws(
    () => gradients(loss, [x]),
    (e: Error) => e.message.includes('Gather'),
  );
});

test('gradients() rejects a non-scalar loss without a seed and a non-float loss', () => {
  const g = new Graph('loss-checks');
  const x = g.input('x', 'float32', ['N', 3]);
  assert.throws(() => gradients(relu(x), [x]), /scalar/);
  assert.throws(() => gradients(g.apply1('Shape', [x]), [x], g.input('s', 'int64', [2])), /float/);
});

// ---- autodiff mechanics -------------------------------------------------------------------------
async function runBoth(g: Graph, outputs: Record<string, Value>, feeds: Record<string, HostTensor>): Promise<Record<string, number[]>> {
  const res: Record<string, number[]>[] = [];
  for (const ex of [ort, tfx]) {
    const c = await ex.compile(g, outputs);
    try {
      const out = await c.run(feeds);
      res.push(Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toNumbers(t)])));
    } finally {
      await c.dispose();
    }
  }
  for (const k of Object.keys(outputs))
    res[1][k].forEach((v, i) => assert.ok(Math.abs(v - res[0][k][i]) <= 1e-5, `${k}[${i}]: executors differ`));
  return res[0];
}

test('autodiff: fan-out accumulates, intermediate wrt values, explicit seed, unused inputs get zeros', async () => {
  const g = new Graph('mechanics');
  const x = g.input('x', 'float32', ['N', 2]);
  const w = g.input('w', 'float32', [2, 2]);
  const unusedN = g.input('u', 'float32', ['N', 2]);
  const unused = g.input('v', 'float32', [3]);
  const h = matmul(x, w);
  const y = mul(h, h); // h used twice: dL/dh = 2h
  const loss = reduceSum(y, [0, 1]);
  const [gx, gw, gh, gu, gv] = gradients(loss, [x, w, h, unusedN, unused]);
  const seed = g.input('seed', 'float32', ['N', 2]);
  const [gxSeed] = gradients(y, [x], seed); // vector-Jacobian product of y itself
  const feeds = {
    x: hostTensor('float32', [1, 2], [1, 2]),
    w: hostTensor('float32', [2, 2], [1, 0, 1, 1]),
    u: hostTensor('float32', [1, 2], [5, 5]),
    v: hostTensor('float32', [3], [1, 2, 3]),
    seed: hostTensor('float32', [1, 2], [1, 0]),
  };
  // h = [3, 2]; dL/dh = 2h = [6, 4]; dL/dx = dL/dh wᵀ = [6, 10]; dL/dw = xᵀ dL/dh = [[6, 4], [12, 8]]
  const out = await runBoth(g, { gx, gw, gh, gu, gv, gxSeed }, feeds);
  assert.deepEqual(out.gh, [6, 4]);
  assert.deepEqual(out.gx, [6, 10]);
  assert.deepEqual(out.gw, [6, 4, 12, 8]);
  assert.deepEqual(out.gu, [0, 0]);
  assert.deepEqual(out.gv, [0, 0, 0]);
  // seed [1, 0]: d(h0²)/dx = 2 h0 w[:, 0] = [6, 6]
  assert.deepEqual(out.gxSeed, [6, 6]);
});
