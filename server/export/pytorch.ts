/**
 * PyTorch export: a generated `model.py` (an nn.Module with the grown widths and our forward
 * semantics, NCHW like ours) and `weights.npz` (the module's state_dict as NumPy arrays, so that loading
 * needs only numpy and torch), plus `architecture.json` naming the weights file.
 */
import type { Activation } from '../../common/protocol';
import { LEAKY_RELU_ALPHA } from '../model/forward';
import {
  ModelSpec,
  architectureOf,
  flatSize,
  layerOutputShape,
  layerParamShapes,
  layerShapes,
  outputParamShapes,
  samePads,
} from '../model/spec';
import { buildArchitectureDocument, ARCHITECTURE_FILE } from './architecture';
import { ExportError, ExportFile } from './files';
import { transpose2d } from './layout';
import { NpyArray, encodeNpz } from './npz';
import { ExportSource, checkSource, tensorOf } from './source';

export const PYTORCH_MODEL_FILE = 'model.py';
export const NPZ_FILE = 'weights.npz';

/** One state_dict entry and the tensor of ours it holds. */
export interface TorchWeight {
  key: string;
  shape: number[];
  /** Our tensor and its shape; undefined for num_batches_tracked (an int64 counter). */
  ours?: string;
  oursShape?: number[];
  toTorch(t: Float32Array): Float32Array;
  fromTorch(t: Float32Array): Float32Array;
}

const PY_RESERVED = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield',
  'forward',
  'training',
  'eval',
  'train',
  'parameters',
  'modules',
  'children',
  'state_dict',
  'load_state_dict',
  'to',
  'cuda',
  'cpu',
  'type',
  'float',
  'double',
  'half',
  'apply',
  'zero_grad',
  'register_buffer',
]);

function checkIds(spec: ModelSpec): void {
  for (const l of spec.layers) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(l.id) || PY_RESERVED.has(l.id) || l.id.startsWith('_')) {
      throw new ExportError(`layer id ${JSON.stringify(l.id)} is not usable as a Python attribute name`, 'unsupported');
    }
  }
}

const copy = (t: Float32Array) => Float32Array.from(t);

/** The state_dict of the generated module, in order, with the mapping from and to our tensors. */
export function torchPlan(spec: ModelSpec): TorchWeight[] {
  checkIds(spec);
  const out: TorchWeight[] = [];
  const { inputs, outputInput } = layerShapes(spec);
  const linear = (key: string, W: { name: string; shape: number[] }, b: { name: string; shape: number[] }) => {
    const [fin, fout] = W.shape;
    out.push({
      key: `${key}.weight`,
      shape: [fout, fin],
      ours: W.name,
      oursShape: W.shape,
      toTorch: (t) => transpose2d(t, fin, fout),
      fromTorch: (t) => transpose2d(t, fout, fin),
    });
    out.push({ key: `${key}.bias`, shape: b.shape, ours: b.name, oursShape: b.shape, toTorch: copy, fromTorch: copy });
  };
  const conv = (key: string, W: { name: string; shape: number[] }, b: { name: string; shape: number[] }) => {
    out.push({ key: `${key}.weight`, shape: W.shape, ours: W.name, oursShape: W.shape, toTorch: copy, fromTorch: copy });
    out.push({ key: `${key}.bias`, shape: b.shape, ours: b.name, oursShape: b.shape, toTorch: copy, fromTorch: copy });
  };
  spec.layers.forEach((l, i) => {
    const ps = layerParamShapes(l, inputs[i]);
    const p = (leaf: string) => ps.find((q) => q.name === `${l.id}/${leaf}`)!;
    switch (l.type) {
      case 'dense':
        linear(l.id, p('W'), p('b'));
        break;
      case 'conv2d':
        conv(l.id, p('W'), p('b'));
        break;
      case 'residual':
        if (inputs[i].length === 1) {
          linear(`${l.id}.fc1`, p('W1'), p('b1'));
          linear(`${l.id}.fc2`, p('W2'), p('b2'));
        } else {
          conv(`${l.id}.conv1`, p('W1'), p('b1'));
          conv(`${l.id}.conv2`, p('W2'), p('b2'));
        }
        break;
      case 'batchnorm':
        for (const [leaf, key] of [
          ['gamma', 'weight'],
          ['beta', 'bias'],
          ['mean', 'running_mean'],
          ['var', 'running_var'],
        ]) {
          out.push({
            key: `${l.id}.${key}`,
            shape: p(leaf).shape,
            ours: p(leaf).name,
            oursShape: p(leaf).shape,
            toTorch: copy,
            fromTorch: copy,
          });
        }
        out.push({ key: `${l.id}.num_batches_tracked`, shape: [], toTorch: copy, fromTorch: copy });
        break;
      default:
        break;
    }
  });
  const [ow, ob] = outputParamShapes(spec, outputInput);
  linear('output', ow, ob);
  return out;
}

/** The state_dict as `.npz` arrays. */
export function torchArrays(src: Pick<ExportSource, 'spec' | 'tensors'>): [string, NpyArray][] {
  return torchPlan(src.spec).map((w): [string, NpyArray] =>
    w.ours
      ? [w.key, { dtype: 'float32', shape: w.shape, data: w.toTorch(tensorOf(src, w.ours, w.oursShape!)) }]
      : [w.key, { dtype: 'int64', shape: [], data: new BigInt64Array(1) }],
  );
}

const pyNum = (x: number) => (Number.isInteger(x) ? `${x}.0` : `${x}`);
const pyTuple = (s: number[]) => (s.length === 1 ? `(${s[0]},)` : `(${s.join(', ')})`);

function act(a: Activation, x: string): string {
  switch (a) {
    case 'relu':
      return `F.relu(${x})`;
    case 'leaky_relu':
      return `F.leaky_relu(${x}, LEAKY_RELU_SLOPE)`;
    case 'tanh':
      return `torch.tanh(${x})`;
    case 'sigmoid':
      return `torch.sigmoid(${x})`;
    case 'rbf':
      return `_rbf(${x})`;
    case 'linear':
      return x;
  }
}

/** The source of model.py. */
export function generateModelPy(
  src: Pick<ExportSource, 'spec' | 'runId' | 'name'>,
  opts: { weightsFile?: string; generatedAt?: string } = {},
): string {
  const spec = src.spec;
  checkIds(spec);
  const arch = architectureOf(spec);
  const { inputs, outputInput } = layerShapes(spec);
  const init: string[] = [];
  const fwd: string[] = [];
  const flat = (s: number[]) => {
    if (s.length > 1) fwd.push('x = torch.flatten(x, 1)');
  };
  const convExpr = (
    mod: string,
    k: number,
    stride: number,
    pad: 'same' | 'valid',
    cin: number,
    cout: number,
  ): { ctor: string; call: string } => {
    if (pad === 'valid') return { ctor: `nn.Conv2d(${cin}, ${cout}, ${k}, stride=${stride})`, call: `${mod}(x)` };
    const [pb, pe] = samePads(k);
    if (pb === pe) return { ctor: `nn.Conv2d(${cin}, ${cout}, ${k}, stride=${stride}, padding=${pb})`, call: `${mod}(x)` };
    return { ctor: `nn.Conv2d(${cin}, ${cout}, ${k}, stride=${stride})`, call: `${mod}(F.pad(x, (${pb}, ${pe}, ${pb}, ${pe})))` };
  };
  spec.layers.forEach((l, i) => {
    const s = inputs[i];
    const o = layerOutputShape(l, s);
    const comment = `# ${l.id}: ${l.type} [${s.join(', ')}] -> [${o.join(', ')}]`;
    fwd.push(comment);
    switch (l.type) {
      case 'dense':
        init.push(`self.${l.id} = nn.Linear(${flatSize(s)}, ${l.units})`);
        flat(s);
        fwd.push(`x = ${act(l.activation, `self.${l.id}(x)`)}`);
        break;
      case 'conv2d': {
        const c = convExpr(`self.${l.id}`, l.kernelSize, l.stride, l.padding, s[0], l.filters);
        init.push(`self.${l.id} = ${c.ctor}`);
        fwd.push(`x = ${act(l.activation, c.call)}`);
        break;
      }
      case 'maxpool':
        fwd.push(`x = F.max_pool2d(x, ${l.size})`);
        break;
      case 'avgpool':
        fwd.push(`x = F.avg_pool2d(x, ${l.size})`);
        break;
      case 'globalavgpool':
        fwd.push('x = x.mean(dim=(2, 3))');
        break;
      case 'flatten':
        flat(s);
        break;
      case 'batchnorm':
        // Our momentum weighs the old running value (Keras convention); PyTorch's weighs the new one.
        init.push(
          `self.${l.id} = nn.BatchNorm${s.length === 1 ? '1d' : '2d'}(${s[0]}, eps=${pyNum(l.epsilon)}, momentum=${pyNum(+(1 - l.momentum).toPrecision(12))})`,
        );
        fwd.push(`x = self.${l.id}(x)`);
        break;
      case 'residual':
        init.push(
          s.length === 1
            ? `self.${l.id} = DenseResidual(${s[0]}, ${l.units}, ${JSON.stringify(l.activation)})`
            : `self.${l.id} = ConvResidual(${s[0]}, ${l.units}, ${JSON.stringify(l.activation)})`,
        );
        fwd.push(`x = self.${l.id}(x)`);
        break;
    }
  });
  fwd.push(`# output: dense [${outputInput}] -> [${spec.output.units}] (raw${spec.task === 'classification' ? ' logits' : ''})`);
  init.push(`self.output = nn.Linear(${outputInput}, ${spec.output.units})`);
  flat(layerShapes(spec).outputs[spec.layers.length - 1] ?? spec.inputShape);
  fwd.push('return self.output(x)');
  const usesDenseRes = spec.layers.some((l, i) => l.type === 'residual' && inputs[i].length === 1);
  const usesConvRes = spec.layers.some((l, i) => l.type === 'residual' && inputs[i].length === 3);
  const weightsFile = opts.weightsFile ?? NPZ_FILE;
  const exampleShape = pyTuple([2, ...spec.inputShape]);
  const widths = arch.layers
    .filter((l) => l.width !== undefined)
    .map((l) => `${l.id}=${l.width}`)
    .join(', ');

  const lines = [
    '"""',
    `Growth Lab export of run ${src.runId} (${src.name}): ${arch.params} parameters.`,
    `Widths: ${widths}.`,
    '',
    "A PyTorch nn.Module with the grown widths and Growth Lab's forward semantics: inputs are",
    `${spec.inputShape.length === 3 ? '(N, C, H, W) images (NCHW, like Growth Lab)' : '(N, F) feature vectors'} of shape (N,) + INPUT_SHAPE; the output is`,
    `raw (${spec.task === 'classification' ? 'logits: apply softmax for probabilities' : 'regression targets'}). Batch norm uses its running statistics in eval().`,
    '',
    'Usage (needs numpy and torch):',
    '',
    '    from model import load_model',
    `    model = load_model()  # reads ${weightsFile} next to this file`,
    `    y = model(torch.zeros(${exampleShape}))`,
    '',
    'To keep training, e.g. with torch.nn.parallel.DistributedDataParallel: model.train() and your',
    'optimizer; nothing here is tied to Growth Lab.',
    `${opts.generatedAt ? `Generated ${opts.generatedAt}.` : ''}`,
    '"""',
    'import os',
    '',
    'import numpy as np',
    'import torch',
    'import torch.nn as nn',
    'import torch.nn.functional as F',
    '',
    `INPUT_SHAPE = ${pyTuple(spec.inputShape)}`,
    `NUM_OUTPUTS = ${spec.output.units}`,
    `TASK = ${JSON.stringify(spec.task)}`,
    `LEAKY_RELU_SLOPE = ${pyNum(LEAKY_RELU_ALPHA)}`,
    `WEIGHTS_FILE = ${JSON.stringify(weightsFile)}`,
    '',
    '',
    'def _activation(x, name):',
    '    if name == "relu":',
    '        return F.relu(x)',
    '    if name == "leaky_relu":',
    '        return F.leaky_relu(x, LEAKY_RELU_SLOPE)',
    '    if name == "tanh":',
    '        return torch.tanh(x)',
    '    if name == "sigmoid":',
    '        return torch.sigmoid(x)',
    '    if name == "rbf":',
    '        return _rbf(x)',
    '    return x',
    '',
    '',
    'def _rbf(x):',
    '    # Gaussian radial basis exp(-x^2 / 2)',
    '    return torch.exp(-0.5 * x * x)',
    '',
  ];
  if (usesDenseRes) {
    lines.push(
      '',
      'class DenseResidual(nn.Module):',
      '    """x + fc2(activation(fc1(x))): `units` hidden neurons mapping back to the input width."""',
      '',
      '    def __init__(self, width, units, activation):',
      '        super().__init__()',
      '        self.fc1 = nn.Linear(width, units)',
      '        self.fc2 = nn.Linear(units, width)',
      '        self.activation = activation',
      '',
      '    def forward(self, x):',
      '        return x + self.fc2(_activation(self.fc1(x), self.activation))',
      '',
    );
  }
  if (usesConvRes) {
    lines.push(
      '',
      'class ConvResidual(nn.Module):',
      '    """x + conv2(activation(conv1(x))) with 3x3 convolutions, `units` hidden channels."""',
      '',
      '    def __init__(self, channels, units, activation):',
      '        super().__init__()',
      '        self.conv1 = nn.Conv2d(channels, units, 3, padding=1)',
      '        self.conv2 = nn.Conv2d(units, channels, 3, padding=1)',
      '        self.activation = activation',
      '',
      '    def forward(self, x):',
      '        return x + self.conv2(_activation(self.conv1(x), self.activation))',
      '',
    );
  }
  lines.push(
    '',
    'class GrownNet(nn.Module):',
    `    """The grown network of run ${src.runId}."""`,
    '',
    '    def __init__(self):',
    '        super().__init__()',
    ...init.map((l) => `        ${l}`),
    '',
    '    def forward(self, x):',
    ...fwd.map((l) => `        ${l}`),
    '',
    '',
    'def load_weights(model, path=None):',
    '    """Loads the exported weights (a state_dict saved as .npz) into `model`; returns the model."""',
    '    if path is None:',
    '        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), WEIGHTS_FILE)',
    '    with np.load(path) as arrays:',
    '        state = {key: torch.from_numpy(np.array(arrays[key])) for key in arrays.files}',
    '    model.load_state_dict(state)',
    '    return model',
    '',
    '',
    'def load_model(path=None):',
    '    """A GrownNet with the exported weights, in eval mode."""',
    '    return load_weights(GrownNet(), path).eval()',
    '',
    '',
    'if __name__ == "__main__":',
    '    net = load_model()',
    '    with torch.no_grad():',
    `        out = net(torch.zeros(${exampleShape}))`,
    '    print(f"GrownNet: {sum(p.numel() for p in net.parameters())} parameters, output {tuple(out.shape)}")',
    '',
  );
  return lines.join('\n');
}

export function buildPytorchExport(src: ExportSource, generatedAt = new Date().toISOString()): ExportFile[] {
  checkSource(src);
  const arrays = torchArrays(src);
  const total = arrays.reduce((a, [, x]) => a + x.data.length, 0);
  if (!Number.isFinite(total)) throw new ExportError('weights too large', 'unsupported');
  return [
    { name: PYTORCH_MODEL_FILE, data: generateModelPy(src, { generatedAt }) },
    { name: NPZ_FILE, data: encodeNpz(arrays) },
    {
      name: ARCHITECTURE_FILE,
      data: buildArchitectureDocument(src, { weights: { file: NPZ_FILE, layout: 'pytorch-state-dict' }, exportedAt: generatedAt }),
    },
  ];
}
