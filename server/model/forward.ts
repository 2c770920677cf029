/** Builds a model's forward pass as engine ops (training mode carries batch-norm statistics as state). */
import type { Activation } from '../../common/protocol';
import {
  Value,
  add,
  conv,
  div,
  exp,
  globalAvgPool,
  leakyRelu,
  matmul,
  maxPool,
  avgPool,
  batchNormTrain,
  mul,
  reduceMean,
  relu,
  reshape,
  sigmoid,
  sqrt,
  sub,
  tanh,
} from '../engine';
import { CONV_BN, LayerSpec, ModelSpec, convGroups, flatSize, hasProjection, samePads } from './spec';

export const LEAKY_RELU_ALPHA = 0.01;

export function activate(x: Value, a: Activation): Value {
  switch (a) {
    case 'relu':
      return relu(x);
    case 'leaky_relu':
      return leakyRelu(x, LEAKY_RELU_ALPHA);
    case 'tanh':
      return tanh(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'linear':
      return x;
    // Gaussian radial basis σ(t) = exp(−t²/2) (Firefly App. B.1, eq. 6)
    case 'rbf':
      return exp(mul(mul(x, x), -0.5));
  }
}

export interface ForwardResult {
  output: Value;
  /** New values of state tensors (batch-norm running statistics), training mode only. */
  stateUpdates: Map<string, Value>;
  /** Each hidden layer's output (for growth methods that probe intermediate activations). */
  layerOutputs: Value[];
  /** Each resblock's hidden channels relu(BN1(conv1(x))), by layer id: what its conv2 reads. */
  blockHidden: Map<string, Value>;
}

function flatten(x: Value): Value {
  return x.rank === 2 ? x : reshape(x, [x.shape[0], flatSize(x.shape.slice(1) as number[])]);
}

function dense(x: Value, W: Value, b: Value): Value {
  return add(matmul(flatten(x), W), b);
}

function conv2d(x: Value, W: Value, b: Value | undefined, k: number, stride: number, same: boolean, groups = 1): Value {
  const [pb, pe] = same ? samePads(k) : [0, 0];
  const y = conv(x, W, { strides: [stride, stride], pads: [pb, pb, pe, pe], groups });
  return b ? add(y, reshape(b, [1, b.shape[0], 1, 1])) : y;
}

function channelShape(x: Value, v: Value): Value {
  return x.rank === 2 ? reshape(v, [1, v.shape[0]]) : reshape(v, [1, v.shape[0], 1, 1]);
}

export function buildForward(spec: ModelSpec, x: Value, w: (name: string) => Value, mode: 'train' | 'eval'): ForwardResult {
  const stateUpdates = new Map<string, Value>();
  const layerOutputs: Value[] = [];
  const blockHidden = new Map<string, Value>();
  let h = x;
  for (const l of spec.layers) {
    h = applyLayer(l, h, w, mode, stateUpdates, blockHidden);
    layerOutputs.push(h);
  }
  const output = dense(h, w('output/W'), w('output/b'));
  return { output, stateUpdates, layerOutputs, blockHidden };
}

function applyLayer(
  l: LayerSpec,
  h: Value,
  w: (name: string) => Value,
  mode: 'train' | 'eval',
  state: Map<string, Value>,
  blockHidden: Map<string, Value>,
): Value {
  const p = (n: string) => w(`${l.id}/${n}`);
  switch (l.type) {
    case 'dense':
      return activate(dense(h, p('W'), p('b')), l.activation);
    case 'conv2d': {
      const y = conv2d(h, p('W'), p('b'), l.kernelSize, l.stride, l.padding === 'same', convGroups(l));
      return activate(l.batchNorm ? batchNorm(y, (leaf) => `${l.id}/${leaf}`, w, mode, state, CONV_BN) : y, l.activation);
    }
    case 'maxpool':
      return maxPool(h, l.size);
    case 'avgpool':
      return avgPool(h, l.size);
    case 'globalavgpool':
      return flatten(globalAvgPool(h));
    case 'flatten':
      return flatten(h);
    case 'residual': {
      // x + h(x): a block of `units` hidden neurons mapping back to the input width (Firefly §2.3).
      const inner =
        h.rank === 2
          ? dense(activate(dense(h, p('W1'), p('b1')), l.activation), p('W2'), p('b2'))
          : conv2d(activate(conv2d(h, p('W1'), p('b1'), 3, 1, true), l.activation), p('W2'), p('b2'), 3, 1, true);
      return add(h, inner);
    }
    case 'batchnorm':
      return batchNorm(h, (leaf) => `${l.id}/${leaf}`, w, mode, state, l);
    case 'resblock': {
      // ResNet basic block (He et al. 2016, §3.3, Fig. 2/5 left): two 3x3 convs with BN, the shortcut the
      // identity, or the projection Ws (1x1, strided) with BN when the shape changes (option B).
      const bn = (x: Value, suffix: string) => batchNorm(x, (leaf) => `${l.id}/${leaf}${suffix}`, w, mode, state, CONV_BN);
      const inner = relu(bn(conv2d(h, p('W1'), undefined, 3, l.stride, true), '1'));
      blockHidden.set(l.id, inner);
      const main = bn(conv2d(inner, p('W2'), undefined, 3, 1, true), '2');
      const shortcut = hasProjection(l, h.shape.slice(1) as number[]) ? bn(conv2d(h, p('Ws'), undefined, 1, l.stride, false), 's') : h;
      return relu(add(main, shortcut));
    }
  }
}

/**
 * Batch normalisation over the batch (and spatial) axes; `name(leaf)` names its gamma, beta, mean and
 * var. Training mode normalises with the batch's statistics and sets the running ones' updates
 * (momentum m: running = m·running + (1 − m)·batch); eval mode uses the running ones.
 */
function batchNorm(
  h: Value,
  name: (leaf: string) => string,
  w: (name: string) => Value,
  mode: 'train' | 'eval',
  state: Map<string, Value>,
  o: { momentum: number; epsilon: number },
): Value {
  if (mode === 'eval') {
    const gamma = channelShape(h, w(name('gamma'))),
      beta = channelShape(h, w(name('beta')));
    const xhat = div(sub(h, channelShape(h, w(name('mean')))), sqrt(add(channelShape(h, w(name('var'))), o.epsilon)));
    return add(mul(xhat, gamma), beta);
  }
  // One engine op with its closed-form backward (server/engine/ops/nn.ts), the batch statistics per channel.
  const [y, mean, variance] = batchNormTrain(h, w(name('gamma')), w(name('beta')), o.epsilon);
  const m = o.momentum;
  state.set(name('mean'), add(mul(w(name('mean')), m), mul(mean, 1 - m)));
  state.set(name('var'), add(mul(w(name('var')), m), mul(variance, 1 - m)));
  return y;
}
