/**
 * PyTorch export: a generated `model.py` (an nn.Module with the grown widths and our forward
 * semantics, NCHW like ours) and `weights.npz` (the module's state_dict as NumPy arrays, so that loading
 * needs only numpy and torch), plus `architecture.json` naming the weights file.
 */
import { ACTIVATIONS, type Activation } from '../../common/protocol';
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
  CONV_BN,
  convGroups,
  hasProjection,
  resUnits,
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
  const conv = (key: string, W: { name: string; shape: number[] }, b?: { name: string; shape: number[] }) => {
    out.push({ key: `${key}.weight`, shape: W.shape, ours: W.name, oursShape: W.shape, toTorch: copy, fromTorch: copy });
    if (b) out.push({ key: `${key}.bias`, shape: b.shape, ours: b.name, oursShape: b.shape, toTorch: copy, fromTorch: copy });
  };
  const bn = (key: string, p: (leaf: string) => { name: string; shape: number[] }, suffix = '') => {
    for (const [leaf, k] of [
      ['gamma', 'weight'],
      ['beta', 'bias'],
      ['mean', 'running_mean'],
      ['var', 'running_var'],
    ]) {
      const t = p(`${leaf}${suffix}`);
      out.push({ key: `${key}.${k}`, shape: t.shape, ours: t.name, oursShape: t.shape, toTorch: copy, fromTorch: copy });
    }
    out.push({ key: `${key}.num_batches_tracked`, shape: [], toTorch: copy, fromTorch: copy });
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
        if (l.batchNorm) bn(`${l.id}_bn`, p);
        break;
      case 'resblock':
        conv(`${l.id}.conv1`, p('W1'));
        bn(`${l.id}.bn1`, p, '1');
        conv(`${l.id}.conv2`, p('W2'));
        bn(`${l.id}.bn2`, p, '2');
        if (hasProjection(l, inputs[i])) {
          conv(`${l.id}.proj`, p('Ws'));
          bn(`${l.id}.proj_bn`, p, 's');
        }
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

/*
 * Everything that reaches model.py from a checkpoint or the run's config (the spec's numbers and names,
 * the run id, the experiment name) is written as a Python literal through these helpers: a value that
 * is not what it claims to be (a "number" that is a string, a non-finite float) is refused, and text is
 * escaped so that it can never end a string, a docstring or a comment.
 */
const notRepresentable = (what: string, v: unknown) =>
  new ExportError(`PyTorch export: ${what} ${JSON.stringify(v) ?? String(v)} cannot be written into model.py`, 'unsupported');

/** A non-negative integer literal. */
export function pyInt(v: unknown, what = 'value'): string {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw notRepresentable(what, v);
  return `${v}`;
}

/** A float literal (finite only). */
export function pyNum(v: unknown, what = 'value'): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw notRepresentable(what, v);
  return Number.isInteger(v) ? `${v}.0` : `${v}`;
}

const pyTuple = (s: unknown, what = 'shape') => {
  if (!Array.isArray(s)) throw notRepresentable(what, s);
  const xs = s.map((x) => pyInt(x, what));
  return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`;
};

/**
 * Text escaped for the inside of a Python string or docstring: backslash and both quotes escaped, everything
 * outside printable ASCII as \xNN / \uNNNN / \UNNNNNNNN. Lone UTF-16 surrogates have no UTF-8 form: refused.
 */
export function pyEscape(v: unknown, what = 'text'): string {
  if (typeof v !== 'string') throw notRepresentable(what, v);
  let out = '';
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) throw notRepresentable(what, v);
    if (ch === '\\' || ch === '"' || ch === "'") out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c < 0x100) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c < 0x10000) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += `\\U${c.toString(16).padStart(8, '0')}`;
  }
  return out;
}

/** A double-quoted Python string literal holding `v`. */
export const pyStr = (v: unknown, what = 'text'): string => `"${pyEscape(v, what)}"`;

function checkActivation(a: unknown, where: string): Activation {
  if (!(ACTIVATIONS as readonly unknown[]).includes(a)) throw notRepresentable(`${where} activation`, a);
  return a as Activation;
}

function act(a: Activation, x: string): string {
  switch (checkActivation(a, 'layer')) {
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
  throw notRepresentable('activation', a);
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
    groups = 1,
  ): { ctor: string; call: string } => {
    const [ci, co, kk, st] = [pyInt(cin, 'channels'), pyInt(cout, 'filters'), pyInt(k, 'kernelSize'), pyInt(stride, 'stride')];
    const g = groups > 1 ? `, groups=${pyInt(groups, 'groups')}` : '';
    if (pad === 'valid') return { ctor: `nn.Conv2d(${ci}, ${co}, ${kk}, stride=${st}${g})`, call: `${mod}(x)` };
    if (pad !== 'same') throw notRepresentable('padding', pad);
    const [pb, pe] = samePads(k).map((n) => pyInt(n, 'padding'));
    if (pb === pe) return { ctor: `nn.Conv2d(${ci}, ${co}, ${kk}, stride=${st}, padding=${pb}${g})`, call: `${mod}(x)` };
    return { ctor: `nn.Conv2d(${ci}, ${co}, ${kk}, stride=${st}${g})`, call: `${mod}(F.pad(x, (${pb}, ${pe}, ${pb}, ${pe})))` };
  };
  const torchBn = (c: number) =>
    `nn.BatchNorm2d(${pyInt(c, 'channels')}, eps=${pyNum(CONV_BN.epsilon, 'epsilon')}, momentum=${pyNum(+(1 - CONV_BN.momentum).toPrecision(12), 'momentum')})`;
  spec.layers.forEach((l, i) => {
    const s = inputs[i];
    const o = layerOutputShape(l, s);
    const comment = `# ${l.id}: ${pyEscape(l.type, 'layer type')} ${pyTuple(s)} -> ${pyTuple(o)}`;
    fwd.push(comment);
    switch (l.type) {
      case 'dense':
        init.push(`self.${l.id} = nn.Linear(${pyInt(flatSize(s), 'width')}, ${pyInt(l.units, 'units')})`);
        flat(s);
        fwd.push(`x = ${act(l.activation, `self.${l.id}(x)`)}`);
        break;
      case 'conv2d': {
        const c = convExpr(`self.${l.id}`, l.kernelSize, l.stride, l.padding, s[0], l.filters, convGroups(l));
        init.push(`self.${l.id} = ${c.ctor}`);
        if (l.batchNorm) init.push(`self.${l.id}_bn = ${torchBn(l.filters)}`);
        fwd.push(`x = ${act(l.activation, l.batchNorm ? `self.${l.id}_bn(${c.call})` : c.call)}`);
        break;
      }
      case 'resblock':
        init.push(
          `self.${l.id} = ResBlock(${pyInt(s[0], 'channels')}, ${pyInt(resUnits(l), 'units')}, ${pyInt(l.filters, 'filters')}, ${pyInt(l.stride, 'stride')}, ${hasProjection(l, s) ? 'True' : 'False'})`,
        );
        fwd.push(`x = self.${l.id}(x)`);
        break;
      case 'maxpool':
        fwd.push(`x = F.max_pool2d(x, ${pyInt(l.size, 'pool size')})`);
        break;
      case 'avgpool':
        fwd.push(`x = F.avg_pool2d(x, ${pyInt(l.size, 'pool size')})`);
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
          `self.${l.id} = nn.BatchNorm${s.length === 1 ? '1d' : '2d'}(${pyInt(s[0], 'channels')}, eps=${pyNum(l.epsilon, 'epsilon')}, momentum=${pyNum(typeof l.momentum === 'number' ? +(1 - l.momentum).toPrecision(12) : l.momentum, 'momentum')})`,
        );
        fwd.push(`x = self.${l.id}(x)`);
        break;
      case 'residual':
        init.push(
          s.length === 1
            ? `self.${l.id} = DenseResidual(${pyInt(s[0], 'width')}, ${pyInt(l.units, 'units')}, ${pyStr(checkActivation(l.activation, l.id))})`
            : `self.${l.id} = ConvResidual(${pyInt(s[0], 'channels')}, ${pyInt(l.units, 'units')}, ${pyStr(checkActivation(l.activation, l.id))})`,
        );
        fwd.push(`x = self.${l.id}(x)`);
        break;
    }
  });
  const outIn = pyInt(outputInput, 'output width');
  const outUnits = pyInt(spec.output.units, 'output units');
  if (spec.task !== 'classification' && spec.task !== 'regression') throw notRepresentable('task', spec.task);
  fwd.push(`# output: dense [${outIn}] -> [${outUnits}] (raw${spec.task === 'classification' ? ' logits' : ''})`);
  init.push(`self.output = nn.Linear(${outIn}, ${outUnits})`);
  flat(layerShapes(spec).outputs[spec.layers.length - 1] ?? spec.inputShape);
  fwd.push('return self.output(x)');
  const usesDenseRes = spec.layers.some((l, i) => l.type === 'residual' && inputs[i].length === 1);
  const usesConvRes = spec.layers.some((l, i) => l.type === 'residual' && inputs[i].length === 3);
  const usesResBlock = spec.layers.some((l) => l.type === 'resblock');
  const weightsFile = opts.weightsFile ?? NPZ_FILE;
  const exampleShape = pyTuple([2, ...spec.inputShape]);
  const widths = arch.layers
    .filter((l) => l.width !== undefined)
    .map((l) => `${pyEscape(l.id, 'layer id')}=${pyInt(l.width, 'width')}`)
    .join(', ');

  const lines = [
    '"""',
    `Growth Lab export of run ${pyEscape(src.runId, 'run id')} (${pyEscape(src.name, 'experiment name')}): ${pyInt(arch.params, 'parameter count')} parameters.`,
    `Widths: ${widths}.`,
    '',
    "A PyTorch nn.Module with the grown widths and Growth Lab's forward semantics: inputs are",
    `${spec.inputShape.length === 3 ? '(N, C, H, W) images (NCHW, like Growth Lab)' : '(N, F) feature vectors'} of shape (N,) + INPUT_SHAPE; the output is`,
    `raw (${spec.task === 'classification' ? 'logits: apply softmax for probabilities' : 'regression targets'}). Batch norm uses its running statistics in eval().`,
    '',
    'Usage (needs numpy and torch):',
    '',
    '    from model import load_model',
    `    model = load_model()  # reads ${pyEscape(weightsFile, 'weights file')} next to this file`,
    `    y = model(torch.zeros(${exampleShape}))`,
    '',
    'To keep training, e.g. with torch.nn.parallel.DistributedDataParallel: model.train() and your',
    'optimizer; nothing here is tied to Growth Lab.',
    `${opts.generatedAt ? `Generated ${pyEscape(opts.generatedAt)}.` : ''}`,
    '"""',
    'import os',
    '',
    'import numpy as np',
    'import torch',
    'import torch.nn as nn',
    'import torch.nn.functional as F',
    '',
    `RUN_ID = ${pyStr(src.runId, 'run id')}`,
    `RUN_NAME = ${pyStr(src.name, 'experiment name')}`,
    `INPUT_SHAPE = ${pyTuple(spec.inputShape, 'input shape')}`,
    `NUM_OUTPUTS = ${outUnits}`,
    `TASK = ${pyStr(spec.task)}`,
    `LEAKY_RELU_SLOPE = ${pyNum(LEAKY_RELU_ALPHA)}`,
    `WEIGHTS_FILE = ${pyStr(weightsFile, 'weights file')}`,
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
  if (usesResBlock) {
    const bnArgs = `eps=${pyNum(CONV_BN.epsilon)}, momentum=${pyNum(+(1 - CONV_BN.momentum).toPrecision(12))}`;
    lines.push(
      '',
      'class ResBlock(nn.Module):',
      '    """ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); a 1x1 projection + BN when the shape changes."""',
      '',
      '    def __init__(self, channels, units, filters, stride, projection):',
      '        super().__init__()',
      '        self.conv1 = nn.Conv2d(channels, units, 3, stride=stride, padding=1, bias=False)',
      `        self.bn1 = nn.BatchNorm2d(units, ${bnArgs})`,
      '        self.conv2 = nn.Conv2d(units, filters, 3, padding=1, bias=False)',
      `        self.bn2 = nn.BatchNorm2d(filters, ${bnArgs})`,
      '        self.projection = projection',
      '        if projection:',
      '            self.proj = nn.Conv2d(channels, filters, 1, stride=stride, bias=False)',
      `            self.proj_bn = nn.BatchNorm2d(filters, ${bnArgs})`,
      '',
      '    def forward(self, x):',
      '        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))',
      '        return F.relu(h + (self.proj_bn(self.proj(x)) if self.projection else x))',
      '',
    );
  }
  lines.push(
    '',
    'class GrownNet(nn.Module):',
    `    """The grown network of run ${pyEscape(src.runId, 'run id')}."""`,
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
