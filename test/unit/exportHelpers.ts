/**
 * Shared by the export tests: test models with non-trivial weights, the live model's predictions
 * (the run's own eval graph on onnxruntime), predictions of exported files in fresh processes (TF.js,
 * onnxruntime, Python), and a NumPy stand-in for the part of the torch API that generated model.py uses.
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

/** A model with every tensor random and non-trivial (biases, batch-norm statistics, gammas). */
export function makeModel(t: TestModel, seed = 7): GrowableModel {
  const spec = specFromConfig({ layers: t.layers, init: 'he' }, t.inputShape, 'classification', t.outputs);
  const m = GrowableModel.create(spec, seed, ['m']);
  const rng = new Rng(seed + 1);
  for (const [name, v] of m.tensors) {
    const leaf = name.slice(name.lastIndexOf('/') + 1);
    for (let i = 0; i < v.length; i++) {
      if (leaf === 'var') v[i] = rng.uniform(0.5, 2);
      else if (leaf === 'gamma') v[i] = rng.uniform(0.5, 1.5);
      else if (leaf === 'mean' || leaf === 'beta' || leaf.startsWith('b')) v[i] = rng.normal(0, 0.3);
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
  return spawnSync('python3', args, {
    encoding: 'utf8',
    timeout: 120000,
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 << 20,
  });
}

export const hasPython = (): boolean => python(['-c', 'print(1)']).status === 0;
export const hasNumpy = (): boolean => python(['-c', 'import numpy']).status === 0;
export const hasTorch = (): boolean => python(['-c', 'import torch']).status === 0;

/**
 * A NumPy stand-in for the subset of torch that generated model.py files use (nn.Module with strict
 * load_state_dict, Linear, Conv2d, BatchNorm1d/2d in eval mode, F.relu/leaky_relu/pad/max_pool2d/
 * avg_pool2d, flatten, tanh, sigmoid), with torch's layouts and conventions. Used only where torch
 * itself is missing, so that the generated code still runs end to end.
 */
export function writeTorchStandIn(dir: string): string {
  const root = path.join(dir, 'torch_standin');
  fs.mkdirSync(path.join(root, 'torch', 'nn'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'torch', '__init__.py'),
    `
import contextlib
import numpy as np

STANDIN = True

class Tensor(np.ndarray):
    def mean(self, dim=None, axis=None, **kw):
        return np.asarray(np.ndarray.mean(np.asarray(self), axis=dim if dim is not None else axis, **kw)).view(Tensor)
    def numel(self):
        return int(self.size)

def _t(a):
    return np.asarray(a, dtype=a.dtype if hasattr(a, 'dtype') and a.dtype == np.int64 else np.float32).view(Tensor)

def from_numpy(a):
    return _t(a)

def zeros(*shape):
    if len(shape) == 1 and isinstance(shape[0], tuple):
        shape = shape[0]
    return _t(np.zeros(shape, dtype=np.float32))

def flatten(x, start_dim=0):
    return _t(np.asarray(x).reshape(x.shape[:start_dim] + (-1,)))

def tanh(x):
    return _t(np.tanh(np.asarray(x)))

def sigmoid(x):
    return _t(1 / (1 + np.exp(-np.asarray(x))))

def exp(x):
    return _t(np.exp(np.asarray(x)))

@contextlib.contextmanager
def no_grad():
    yield

from . import nn  # noqa: E402
`,
  );
  fs.writeFileSync(
    path.join(root, 'torch', 'nn', '__init__.py'),
    `
import numpy as np
from .. import _t
from . import functional as F

class Module:
    def __init__(self):
        object.__setattr__(self, '_entries', {})
    def __setattr__(self, name, value):
        if isinstance(value, Module) or (isinstance(value, np.ndarray) and name in getattr(self, '_tensors', ())):
            self._entries[name] = value
        object.__setattr__(self, name, value)
    def __call__(self, *a):
        return self.forward(*a)
    def eval(self):
        return self
    def _named(self, prefix=''):
        for k in getattr(self, '_tensors', ()):
            yield prefix + k, self, k
        for k, v in self._entries.items():
            if isinstance(v, Module):
                yield from v._named(prefix + k + '.')
    def state_dict(self):
        return {k: getattr(m, a) for k, m, a in self._named()}
    def parameters(self):
        return [getattr(m, a) for k, m, a in self._named() if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))]
    def load_state_dict(self, state):
        own = {k: (m, a) for k, m, a in self._named()}
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise RuntimeError('Error(s) in loading state_dict: missing %s, unexpected %s' % (missing, unexpected))
        for k, (m, a) in own.items():
            if tuple(getattr(m, a).shape) != tuple(state[k].shape):
                raise RuntimeError('size mismatch for %s: %s vs %s' % (k, state[k].shape, getattr(m, a).shape))
            object.__setattr__(m, a, _t(state[k]))

class Linear(Module):
    _tensors = ('weight', 'bias')
    def __init__(self, fin, fout):
        super().__init__()
        self.weight = _t(np.zeros((fout, fin), np.float32))
        self.bias = _t(np.zeros((fout,), np.float32))
    def forward(self, x):
        return _t(np.asarray(x) @ np.asarray(self.weight).T + np.asarray(self.bias))

class Conv2d(Module):
    _tensors = ('weight', 'bias')
    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.stride, self.padding, self.k = stride, padding, k
        self.weight = _t(np.zeros((cout, cin, k, k), np.float32))
        self.bias = _t(np.zeros((cout,), np.float32))
    def forward(self, x):
        x = np.asarray(x)
        p, s, k = self.padding, self.stride, self.k
        if p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        n, c, h, w = x.shape
        oh, ow = (h - k) // s + 1, (w - k) // s + 1
        cols = np.empty((n, c, k, k, oh, ow), np.float32)
        for i in range(k):
            for j in range(k):
                cols[:, :, i, j] = x[:, :, i:i + s * oh:s, j:j + s * ow:s]
        y = np.einsum('ncijhw,ocij->nohw', cols, np.asarray(self.weight))
        return _t(y + np.asarray(self.bias)[None, :, None, None])

class _BatchNorm(Module):
    _tensors = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
    def __init__(self, c, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps = eps
        self.weight = _t(np.ones((c,), np.float32))
        self.bias = _t(np.zeros((c,), np.float32))
        self.running_mean = _t(np.zeros((c,), np.float32))
        self.running_var = _t(np.ones((c,), np.float32))
        self.num_batches_tracked = np.zeros((), np.int64)
    def forward(self, x):
        x = np.asarray(x)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        r = lambda v: np.asarray(v).reshape(shape)
        return _t((x - r(self.running_mean)) / np.sqrt(r(self.running_var) + np.float32(self.eps)) * r(self.weight) + r(self.bias))

class BatchNorm1d(_BatchNorm):
    pass

class BatchNorm2d(_BatchNorm):
    pass
`,
  );
  fs.writeFileSync(
    path.join(root, 'torch', 'nn', 'functional.py'),
    `
import numpy as np

def _t(a):
    from .. import _t as t
    return t(a)

def relu(x):
    return _t(np.maximum(np.asarray(x), 0))

def leaky_relu(x, slope=0.01):
    x = np.asarray(x)
    return _t(np.where(x >= 0, x, x * np.float32(slope)))

def pad(x, p):
    l, r, t, b = p
    return _t(np.pad(np.asarray(x), ((0, 0), (0, 0), (t, b), (l, r))))

def _pool(x, k, f):
    x = np.asarray(x)
    n, c, h, w = x.shape
    oh, ow = h // k, w // k
    x = x[:, :, :oh * k, :ow * k].reshape(n, c, oh, k, ow, k)
    return _t(f(x, axis=(3, 5)))

def max_pool2d(x, k):
    return _pool(x, k, np.max)

def avg_pool2d(x, k):
    return _pool(x, k, np.mean)
`,
  );
  return root;
}
