/**
 * The ReLU VJP's mask, g·[y > 0], three ways in onnxruntime on one full-size tensor (y ≥ 0 as a ReLU
 * output, g random): Greater + Cast + Mul (the engine's form), Greater + Where, Sign(y)·g. Checks the
 * three agree exactly, then times them interleaved (15 rounds of 5 runs) and prints the medians and
 * the median per-round ratios to the first.
 *
 *   node --import tsx scripts/benchReluMask.ts [N,C,H,W]
 */
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../server/engine';
import { median } from './stats';

const shape = (process.argv[2] ?? '128,16,32,32').split(',').map(Number);
const n = shape.reduce((a, b) => a * b, 1);
const T = onnx.AttributeProto.AttributeType;
const vi = (name: string) => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
});
const zero = { name: 'zero', dims: [], dataType: 1, floatData: [0] };
const KINDS = ['greater-cast-mul', 'greater-where', 'sign-mul'] as const;

function model(kind: (typeof KINDS)[number]): Uint8Array {
  const nodes: onnx.INodeProto[] = [];
  if (kind === 'greater-cast-mul') {
    nodes.push({ opType: 'Greater', input: ['y', 'zero'], output: ['m'] });
    nodes.push({ opType: 'Cast', input: ['m'], output: ['mf'], attribute: [{ name: 'to', type: T.INT, i: 1 }] });
    nodes.push({ opType: 'Mul', input: ['g', 'mf'], output: ['o'] });
  } else if (kind === 'greater-where') {
    nodes.push({ opType: 'Greater', input: ['y', 'zero'], output: ['m'] });
    nodes.push({ opType: 'Where', input: ['m', 'g', 'zero'], output: ['o'] });
  } else {
    nodes.push({ opType: 'Sign', input: ['y'], output: ['s'] });
    nodes.push({ opType: 'Mul', input: ['g', 's'], output: ['o'] });
  }
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'mask', node: nodes, input: [vi('y'), vi('g')], output: [vi('o')], initializer: kind === 'sign-mul' ? [] : [zero] },
  });
  return onnx.ModelProto.encode(m).finish();
}

const opts = { ...sessionOptions('cpu', 2) };

async function main() {
  const sessions = await Promise.all(KINDS.map((k) => ort.InferenceSession.create(model(k), opts)));
  const y = Float32Array.from({ length: n }, () => Math.max(0, Math.random() * 2 - 1));
  const g = Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  const feeds = { y: new ort.Tensor('float32', y, shape), g: new ort.Tensor('float32', g, shape) };
  const outs = await Promise.all(sessions.map((s) => s.run(feeds)));
  const ref = outs[0].o.data as Float32Array;
  for (const o of outs) {
    const d = o.o.data as Float32Array;
    for (let i = 0; i < n; i++) if (d[i] !== ref[i]) throw new Error(`the forms differ at ${i}`);
  }
  const t: number[][] = KINDS.map(() => []);
  for (let r = 0; r < 15; r++) {
    for (let k = 0; k < KINDS.length; k++) {
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) await sessions[k].run(feeds);
      t[k].push((performance.now() - t0) / 5);
    }
  }
  console.log(
    JSON.stringify({
      shape,
      ms: Object.fromEntries(KINDS.map((k, i) => [k, +median(t[i]).toFixed(2)])),
      ratioToFirst: Object.fromEntries(KINDS.map((k, i) => [k, +median(t[i].map((x, j) => x / t[0][j])).toFixed(3)])),
    }),
  );
}

void main();
