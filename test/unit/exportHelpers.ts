/**
 * Shared by the export tests: test models with non-trivial weights, the live model's predictions
 * (the run's own eval graph on onnxruntime), predictions of exported files in fresh processes (TF.js,
 * onnxruntime, Python).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Executor, OrtExecutor, hostTensor } from '../../server/engine';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig, type ModelSpec } from '../../server/model/spec';
import type { LayerConfig } from '../../common/protocol';
import { Rng } from '../../server/random';
import { buildEvalGraph } from '../../server/trainer/graphs';
import type { ExportSource } from '../../server/export';
import { PY } from '../helpers/torch';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface TestModel {
  name: string;
  inputShape: number[];
  outputs: number;
  layers: LayerConfig[];
}

const relu = 'relu' as const;
/** dense, conv, residual and batch-norm models covering every layer type, activation and layout rule. */
export const TEST_MODELS: TestModel[] = [
  {
    name: 'dense',
    inputShape: [1, 5, 5],
    outputs: 3,
    layers: [
      { type: 'dense', units: 7, activation: 'leaky_relu' },
      { type: 'dense', units: 6, activation: 'tanh' },
      { type: 'dense', units: 4, activation: 'sigmoid' },
    ],
  },
  {
    name: 'conv',
    inputShape: [2, 9, 9],
    outputs: 3,
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: relu },
      { type: 'conv2d', filters: 3, kernelSize: 2, stride: 1, padding: 'same', activation: 'leaky_relu' },
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', filters: 5, kernelSize: 3, stride: 2, padding: 'same', activation: 'tanh' },
      { type: 'avgpool', size: 1 },
      { type: 'conv2d', filters: 3, kernelSize: 1, stride: 1, padding: 'valid', activation: 'sigmoid' },
      { type: 'dense', units: 6, activation: relu },
    ],
  },
  {
    name: 'residual',
    inputShape: [2, 6, 6],
    outputs: 4,
    layers: [
      { type: 'conv2d', filters: 3, kernelSize: 3, stride: 1, padding: 'valid', activation: relu },
      { type: 'residual', units: 4, activation: relu },
      { type: 'residual', units: 2, activation: 'leaky_relu' },
      { type: 'flatten' },
      { type: 'residual', units: 5, activation: 'tanh' },
      { type: 'dense', units: 6, activation: relu },
      { type: 'residual', units: 3, activation: relu },
    ],
  },
  {
    name: 'batchnorm',
    inputShape: [1, 6, 6],
    outputs: 3,
    layers: [
      { type: 'conv2d', filters: 3, kernelSize: 3, stride: 1, padding: 'valid', activation: relu },
      { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
      { type: 'flatten' },
      { type: 'batchnorm', momentum: 0.99, epsilon: 1e-5 },
      { type: 'dense', units: 8, activation: relu },
      { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
    ],
  },
  {
    name: 'vector-gap',
    inputShape: [3, 4, 4],
    outputs: 2,
    layers: [
      { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: relu },
      { type: 'globalavgpool' },
      { type: 'batchnorm', momentum: 0.9, epsilon: 1e-3 },
      { type: 'residual', units: 3, activation: 'sigmoid' },
    ],
  },
];

/** The conv nets of the presets (issue 20): VGG with BN, a ResNet with projection shortcuts, a MobileNet. ONNX and PyTorch only. */
export const CONV_NET_MODELS: TestModel[] = [
  {
    name: 'vgg-bn',
    inputShape: [3, 8, 8],
    outputs: 3,
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: relu, batchNorm: true },
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', filters: 5, kernelSize: 3, stride: 1, padding: 'same', activation: relu, batchNorm: true },
      { type: 'flatten' },
    ],
  },
  {
    name: 'resnet',
    inputShape: [3, 8, 8],
    outputs: 3,
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: relu, batchNorm: true },
      { type: 'resblock', filters: 4, stride: 1 },
      { type: 'resblock', filters: 6, stride: 2, units: 5 },
      { type: 'resblock', filters: 7, stride: 1 },
      { type: 'globalavgpool' },
    ],
  },
  {
    name: 'mobilenet',
    inputShape: [3, 8, 8],
    outputs: 3,
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: relu, batchNorm: true },
      { type: 'conv2d', filters: 4, kernelSize: 3, stride: 2, padding: 'same', activation: relu, batchNorm: true, groups: 4 },
      { type: 'conv2d', filters: 6, kernelSize: 1, stride: 1, padding: 'same', activation: relu, batchNorm: true },
      { type: 'conv2d', filters: 6, kernelSize: 3, stride: 1, padding: 'same', activation: relu, batchNorm: true, groups: 6 },
      { type: 'globalavgpool' },
    ],
  },
];

/** A model with every tensor random and non-trivial (biases, batch-norm statistics, gammas). */
export function makeModel(t: TestModel, seed = 7): GrowableModel {
  const spec = specFromConfig({ layers: t.layers, init: 'he' }, t.inputShape, 'classification', t.outputs);
  const m = GrowableModel.create(spec, seed, ['m']);
  const rng = new Rng(seed + 1);
  for (const [name, v] of m.tensors) {
    const leaf = name.slice(name.lastIndexOf('/') + 1);
    for (let i = 0; i < v.length; i++) {
      if (leaf.startsWith('var')) v[i] = rng.uniform(0.5, 2);
      else if (leaf.startsWith('gamma')) v[i] = rng.uniform(0.5, 1.5);
      else if (leaf.startsWith('mean') || leaf.startsWith('b')) v[i] = rng.normal(0, 0.3);
      else if (leaf === 'W2') v[i] = rng.normal(0, 0.3); // residual output weights (zero when inserted)
    }
  }
  return m;
}

export function sourceOf(m: GrowableModel, runId = 'test-run'): ExportSource {
  return { runId, name: runId, spec: structuredClone(m.spec), tensors: new Map(m.tensors), origin: { kind: 'live' }, events: [] };
}

export function randomInputs(spec: ModelSpec, n: number, seed = 3): Float32Array {
  const rng = new Rng(seed);
  const f = spec.inputShape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n * f }, () => rng.normal(0, 1));
}

let ort: Executor | undefined;
/** The live model's predictions: the run's eval graph (batch norm with running statistics) on onnxruntime. */
export async function livePredict(m: GrowableModel, x: Float32Array, n: number): Promise<Float32Array> {
  ort ??= await OrtExecutor.create({ threads: 1 });
  const { graph, outputs } = buildEvalGraph(m);
  const c = await ort.compile(graph, { pred: outputs.pred });
  try {
    const feeds: Record<string, ReturnType<typeof hostTensor>> = {};
    for (const p of m.params()) feeds[p.name] = { dtype: 'float32', shape: p.shape, data: m.tensors.get(p.name)! };
    feeds.x = hostTensor('float32', [n, ...m.spec.inputShape], x);
    feeds.y = hostTensor('float32', [n, m.spec.output.units]);
    return (await c.run(feeds)).pred.data as Float32Array;
  } finally {
    await c.dispose();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/**
 * Loads each TF.js model.json with tf.loadLayersModel in a fresh node process (cpu backend, an
 * IOHandler that reads the files) and predicts on `<dir>/input.f32` of shape `[n, ...inputShape]`.
 */
export function tfjsPredictFresh(jobs: { dir: string; n: number; inputShape: number[] }[]): Float32Array[] {
  const code = `
const tf = require('@tensorflow/tfjs');
const fs = require('fs');
const path = require('path');
(async () => {
  await tf.setBackend('cpu');
  const jobs = JSON.parse(process.argv[1]);
  const out = [];
  for (const job of jobs) {
    const json = JSON.parse(fs.readFileSync(path.join(job.dir, 'model.json'), 'utf8'));
    const handler = { load: async () => {
      const specs = [], buffers = [];
      for (const g of json.weightsManifest) {
        specs.push(...g.weights);
        for (const p of g.paths) { const b = fs.readFileSync(path.join(job.dir, p)); buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); }
      }
      return tf.io.getModelArtifactsForJSONSync(json, specs, tf.io.concatenateArrayBuffers(buffers));
    } };
    const model = await tf.loadLayersModel(handler);
    const b = fs.readFileSync(path.join(job.dir, 'input.f32'));
    const x = tf.tensor(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), [job.n, ...job.inputShape]);
    const y = model.predict(x);
    out.push({ className: model.getClassName(), layers: model.layers.map((l) => l.getClassName()), y: Array.from(y.dataSync()) });
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;
  const r = spawnSync(process.execPath, ['-e', code, JSON.stringify(jobs)], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`fresh tfjs process failed (${r.status}): ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as { className: string; layers: string[]; y: number[] }[];
  tfjsFreshInfo = parsed.map(({ className, layers }) => ({ className, layers }));
  return parsed.map((p) => Float32Array.from(p.y));
}
export let tfjsFreshInfo: { className: string; layers: string[] }[] = [];

/** Predictions of model.onnx files with onnxruntime-node in a fresh process. */
export function onnxPredictFresh(
  jobs: { file: string; input: string; n: number; inputShape: number[] }[],
): { opset: number; y: Float32Array }[] {
  const code = `
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const jobs = JSON.parse(process.argv[1]);
  const out = [];
  for (const job of jobs) {
    const s = await ort.InferenceSession.create(job.file);
    const b = fs.readFileSync(job.input);
    const x = new ort.Tensor('float32', new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), [job.n, ...job.inputShape]);
    const r = await s.run({ [s.inputNames[0]]: x });
    out.push({ inputs: s.inputNames, outputs: s.outputNames, y: Array.from(r[s.outputNames[0]].data) });
    await s.release();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;
  const r = spawnSync(process.execPath, ['-e', code, JSON.stringify(jobs)], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`fresh onnxruntime process failed (${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { y: number[] }[]).map((p) => ({ opset: 17, y: Float32Array.from(p.y) }));
}

export function python(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(PY, args, {
    encoding: 'utf8',
    timeout: 120000,
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 << 20,
  });
}

export const hasPython = (): boolean => python(['-c', 'print(1)']).status === 0;
export const hasNumpy = (): boolean => python(['-c', 'import numpy']).status === 0;
