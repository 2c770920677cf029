/**
 * Prototype for issue 24's next step: onnxruntime's blocked NCHWc convolutions (the
 * `com.microsoft.nchwc` domain) with the weights as graph INPUTS, reordered each run to the blocked
 * filter layout by Reshape [O/B, B, C/B, B, 3, 3] -> Transpose [0, 2, 4, 5, 3, 1] -> Reshape [O, C, 3, 3]
 * (OIHWBiBo, block B: 8 on AVX2, 16 on AVX-512). Two 3x3 conv + ReLU layers, forward only, against the
 * plain NCHW Conv + Relu model on the same feeds: max |difference| of the outputs, and the median of 9
 * per-round time ratios, interleaved in one process. PER_CONV=1: reorder in and out around each conv
 * (an ordinary Relu between), as a per-op lowering in the engine would; else one blocked chain with
 * the ReLUs fused into the convs.
 *
 *   [PER_CONV=1] node --import tsx scripts/benchNchwc.ts [N,C,H] [block]
 */
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../server/engine';
const [N, C, H] = (process.argv[2] ?? '128,16,32').split(',').map(Number);
const sessionWarnings = { logSeverityLevel: 3 as const };
const B = Number(process.argv[3] ?? 8);
const T = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]) => ({ name, type: T.INTS, ints: v });
const int = (name: string, v: number) => ({ name, type: T.INT, i: v });
const str = (name: string, v: string) => ({ name, type: T.STRING, s: new TextEncoder().encode(v) });
const i64 = (name: string, v: number[]) => ({ name, dims: [v.length], dataType: 7, int64Data: v });
const vi = (name: string, shape: number[]) => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
});
function model(blocked: boolean, perConv = process.env.PER_CONV === '1') {
  const nodes: onnx.INodeProto[] = [];
  const inits = [i64('s6', [C / B, B, C / B, B, 3, 3]), i64('s4', [C, C, 3, 3])];
  if (!blocked) {
    nodes.push({
      opType: 'Conv',
      input: ['x', 'w1'],
      output: ['c1'],
      attribute: [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3])],
    });
    nodes.push({ opType: 'Relu', input: ['c1'], output: ['r1'] });
    nodes.push({
      opType: 'Conv',
      input: ['r1', 'w2'],
      output: ['c2'],
      attribute: [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3])],
    });
    nodes.push({ opType: 'Relu', input: ['c2'], output: ['y'] });
  } else {
    for (const w of ['w1', 'w2']) {
      nodes.push({ opType: 'Reshape', input: [w, 's6'], output: [w + '6'] });
      nodes.push({ opType: 'Transpose', input: [w + '6'], output: [w + 't'], attribute: [ints('perm', [0, 2, 4, 5, 3, 1])] });
      nodes.push({ opType: 'Reshape', input: [w + 't', 's4'], output: [w + 'b'] });
    }
    const nc = 'com.microsoft.nchwc';
    if (perConv) {
      // each conv on its own: NCHW in, reorder, blocked conv, reorder back, then an ordinary Relu
      let cur = 'x';
      for (const w of ['w1', 'w2']) {
        nodes.push({ opType: 'ReorderInput', domain: nc, input: [cur], output: [w + 'in'], attribute: [int('channels_last', 0)] });
        nodes.push({
          opType: 'Conv',
          domain: nc,
          input: [w + 'in', w + 'b'],
          output: [w + 'cb'],
          attribute: [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3])],
        });
        nodes.push({
          opType: 'ReorderOutput',
          domain: nc,
          input: [w + 'cb'],
          output: [w + 'c'],
          attribute: [int('channels', C), int('channels_last', 0)],
        });
        cur = w === 'w2' ? 'y' : w + 'r';
        nodes.push({ opType: 'Relu', input: [w + 'c'], output: [cur] });
      }
    } else {
      nodes.push({ opType: 'ReorderInput', domain: nc, input: ['x'], output: ['xb'], attribute: [int('channels_last', 0)] });
      nodes.push({
        opType: 'Conv',
        domain: nc,
        input: ['xb', 'w1b'],
        output: ['r1'],
        attribute: [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3]), str('activation', 'Relu')],
      });
      nodes.push({
        opType: 'Conv',
        domain: nc,
        input: ['r1', 'w2b'],
        output: ['r2'],
        attribute: [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3]), str('activation', 'Relu')],
      });
      nodes.push({
        opType: 'ReorderOutput',
        domain: nc,
        input: ['r2'],
        output: ['y'],
        attribute: [int('channels', C), int('channels_last', 0)],
      });
    }
  }
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft.nchwc', version: 1 },
    ],
    graph: {
      name: 'g',
      node: nodes,
      input: [vi('x', [N, C, H, H]), vi('w1', [C, C, 3, 3]), vi('w2', [C, C, 3, 3])],
      output: [vi('y', [N, C, H, H])],
      initializer: inits,
    },
  });
  return onnx.ModelProto.encode(m).finish();
}
const opts = { ...sessionOptions('cpu', 2), ...sessionWarnings };
async function main() {
  const a = await ort.InferenceSession.create(model(false), opts);
  const b = await ort.InferenceSession.create(model(true), opts);
  const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  const feeds = {
    x: new ort.Tensor('float32', rnd(N * C * H * H), [N, C, H, H]),
    w1: new ort.Tensor('float32', rnd(C * C * 9), [C, C, 3, 3]),
    w2: new ort.Tensor('float32', rnd(C * C * 9), [C, C, 3, 3]),
  };
  const ya = (await a.run(feeds)).y.data as Float32Array,
    yb = (await b.run(feeds)).y.data as Float32Array;
  let err = 0,
    mx = 0;
  for (let i = 0; i < ya.length; i++) {
    err = Math.max(err, Math.abs(ya[i] - yb[i]));
    mx = Math.max(mx, Math.abs(ya[i]));
  }
  const ta: number[] = [],
    tb: number[] = [];
  for (let r = 0; r < 9; r++) {
    let t = performance.now();
    for (let i = 0; i < 3; i++) await a.run(feeds);
    ta.push((performance.now() - t) / 3);
    t = performance.now();
    for (let i = 0; i < 3; i++) await b.run(feeds);
    tb.push((performance.now() - t) / 3);
  }
  const med = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1];
  console.log(
    JSON.stringify({
      shape: [N, C, H],
      block: B,
      perConv: process.env.PER_CONV === '1',
      maxAbsErr: err,
      maxAbs: mx,
      plainMs: med(ta).toFixed(1),
      nchwcMs: med(tb).toFixed(1),
      ratio: med(tb.map((x, i) => x / ta[i])).toFixed(3),
    }),
  );
}
void main();
