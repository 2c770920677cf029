/**
 * TF.js Layers export: `model.json` (the tf.keras / TF.js layers topology, written by tfjs-layers
 * itself) and `group1-shard1of1.bin` (float32 weights).
 *
 * Layout. Our tensors are NCHW; TF.js (tfjs-node) and Keras on CPU run conv2d only channels_last. The
 * exported model takes the SAME input as ours ([N, C, H, W] images, [N, F] vectors): when the network
 * starts with spatial layers, its first layer is a Permute to [N, H, W, C], and everything after it is
 * channels_last (conv kernels become [kh, kw, C, O]). A channels_last Flatten orders values H, W, C where
 * ours orders C, H, W, so the rows of the dense layer that follows (and any vector-space layer in
 * between) are permuted to match: predictions are equal for the same inputs.
 *
 * Plain stacks are Sequential models; residual blocks (x + h(x)) use the functional API with an Add
 * layer. 'same' padding with stride > 1, where Keras pads differently from us, becomes an explicit
 * ZeroPadding2D with our pads followed by a 'valid' conv. leaky_relu becomes a LeakyReLU(alpha 0.01)
 * layer. The outputs are the model's raw outputs (logits for classification: apply softmax yourself).
 *
 * `userDefinedMetadata.growthLab` carries our spec, so that `model.init: {from: "model.json"}` can map
 * the weights back exactly (import.ts).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Activation } from '../../common/protocol';
import { loadTfjs } from '../engine';
import { LEAKY_RELU_ALPHA } from '../model/forward';
import {
  LayerSpec,
  ModelSpec,
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
import { ExportError, ExportFile } from './files';
import { gatherCols, gatherRows, hwcToChwPerm, hwioToOihw, oihwToHwio, scatterCols, scatterRows } from './layout';
import { ExportSource, checkSource, tensorOf } from './source';

export const TFJS_MODEL_FILE = 'model.json';
export const TFJS_WEIGHTS_FILE = 'group1-shard1of1.bin';
export const TFJS_METADATA_KEY = 'growthLab';
export const TFJS_FORMAT_VERSION = 1;

/** One weight of the Keras model and how it maps to one of ours. */
export interface KerasWeight {
  /** Keras weight name, `<layer>/<weight>` (e.g. "dense_1/kernel"). */
  name: string;
  shape: number[];
  /** Our tensor name and shape. */
  ours: string;
  oursShape: number[];
  toKeras(t: Float32Array): Float32Array;
  fromKeras(t: Float32Array): Float32Array;
}

export type KerasClass =
  | 'Dense'
  | 'Conv2D'
  | 'ZeroPadding2D'
  | 'MaxPooling2D'
  | 'AveragePooling2D'
  | 'GlobalAveragePooling2D'
  | 'BatchNormalization'
  | 'Flatten'
  | 'Permute'
  | 'LeakyReLU'
  | 'DepthwiseConv2D'
  | 'Activation';

export type PlanOp =
  | { op: 'layer'; cls: KerasClass; name: string; args: Record<string, unknown>; weights: KerasWeight[] }
  | { op: 'residual'; name: string; inner: PlanOp[]; shortcut?: PlanOp[] };

export interface KerasPlan {
  ops: PlanOp[];
  functional: boolean;
  weights: KerasWeight[];
  /** Per-example input shape of the Keras model (the same as ours). */
  inputShape: number[];
}

const same = (t: Float32Array) => Float32Array.from(t);
const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;

function kerasActivation(a: Activation): string {
  if (a === 'rbf') {
    throw new ExportError(
      'the rbf activation (exp(-x^2/2)) has no built-in TF.js / Keras layer, so this model cannot be exported as tfjs; export it as onnx or pytorch',
      'unsupported',
    );
  }
  return a === 'leaky_relu' ? 'linear' : a;
}

/** The Keras model that computes exactly what `spec` computes (eval mode), and its weight mapping. */
export function kerasPlan(spec: ModelSpec): KerasPlan {
  if (spec.inputShape.length !== 1 && spec.inputShape.length !== 3) {
    throw new ExportError(`TF.js export supports [F] and [C, H, W] inputs, not [${spec.inputShape.join(', ')}]`, 'unsupported');
  }
  for (const l of spec.layers)
    if (!IDENT.test(l.id)) throw new ExportError(`layer id ${JSON.stringify(l.id)} is not usable as a Keras layer name`, 'unsupported');
  const weights: KerasWeight[] = [];
  const names = new Set<string>();
  const layer = (cls: KerasClass, name: string, args: Record<string, unknown>, ws: KerasWeight[] = []): PlanOp => {
    if (names.has(name)) throw new ExportError(`TF.js export: layer name ${name} is used twice`, 'unsupported');
    names.add(name);
    weights.push(...ws);
    return { op: 'layer', cls, name, args: { ...args, name }, weights: ws };
  };
  const { inputs } = layerShapes(spec);
  const spatial = (l: LayerSpec, s: number[]) => s.length === 3 && l.type !== 'dense' && l.type !== 'flatten';

  const ops: PlanOp[] = [];
  // Layout of the current tensor in the Keras model: 'chw' (rank 3 as given), 'hwc' (after the permute),
  // or 'vec' with `perm` (our index of each Keras position; undefined = same order).
  let layout: 'chw' | 'hwc' | 'vec' = spec.inputShape.length === 3 ? 'chw' : 'vec';
  let perm: Int32Array | undefined;
  let shape = spec.inputShape;
  if (layout === 'chw' && spec.layers.length > 0 && spatial(spec.layers[0], shape)) {
    ops.push(layer('Permute', 'input_permute', { dims: [2, 3, 1] }));
    layout = 'hwc';
  }

  const flattenIfNeeded = (id: string, into: PlanOp[]) => {
    if (layout === 'vec') return;
    into.push(layer('Flatten', `${id}_flatten`, {}));
    perm = layout === 'hwc' ? hwcToChwPerm(shape[0], shape[1], shape[2]) : undefined;
    layout = 'vec';
  };

  const w = (
    name: string,
    shape: number[],
    ours: string,
    oursShape: number[],
    to: (t: Float32Array) => Float32Array,
    from: (t: Float32Array) => Float32Array,
  ): KerasWeight => ({ name, shape, ours, oursShape, toKeras: to, fromKeras: from });

  const denseOp = (
    name: string,
    ourW: string,
    ourB: string,
    fanIn: number,
    units: number,
    activation: Activation,
    into: PlanOp[],
    inPerm: Int32Array | undefined,
    outPerm?: Int32Array,
  ) => {
    into.push(
      layer('Dense', name, { units, activation: kerasActivation(activation), useBias: true, kernelInitializer: 'zeros' }, [
        w(
          `${name}/kernel`,
          [fanIn, units],
          ourW,
          [fanIn, units],
          (t) => gatherCols(gatherRows(t, units, inPerm), fanIn, outPerm),
          (t) => scatterRows(scatterCols(t, fanIn, outPerm), units, inPerm),
        ),
        w(
          `${name}/bias`,
          [units],
          ourB,
          [units],
          (t) => gatherRows(t, 1, outPerm),
          (t) => scatterRows(t, 1, outPerm),
        ),
      ]),
    );
    if (activation === 'leaky_relu') into.push(layer('LeakyReLU', `${name}_leaky_relu`, { alpha: LEAKY_RELU_ALPHA }));
  };

  const convOp = (
    name: string,
    ourW: string,
    ourB: string | undefined,
    cin: number,
    filters: number,
    k: number,
    stride: number,
    pad: 'same' | 'valid',
    activation: Activation,
    into: PlanOp[],
    groups = 1,
  ) => {
    let padding: 'same' | 'valid' = pad;
    if (pad === 'same' && stride !== 1) {
      // Keras 'same' with a stride pads by the input size; ours pads samePads(k) always.
      const [pb, pe] = samePads(k);
      into.push(
        layer('ZeroPadding2D', `${name}_pad`, {
          padding: [
            [pb, pe],
            [pb, pe],
          ],
          dataFormat: 'channelsLast',
        }),
      );
      padding = 'valid';
    }
    if (groups > 1) {
      // Depthwise (one input channel per group): Keras DepthwiseConv2D, kernel [k, k, C, multiplier];
      // our [C·m, 1, k, k] as HWIO is [k, k, 1, C·m], the same values in the same order.
      if (groups !== cin)
        throw new ExportError(
          `layer ${name} is a grouped conv2d (groups ${groups} of ${cin} channels), which TF.js / Keras has no layer for; export this model as onnx or pytorch`,
          'unsupported',
        );
      const oihw = [filters, 1, k, k];
      into.push(
        layer(
          'DepthwiseConv2D',
          name,
          {
            kernelSize: k,
            strides: stride,
            padding,
            depthMultiplier: filters / cin,
            dataFormat: 'channelsLast',
            activation: kerasActivation(activation),
            useBias: !!ourB,
            depthwiseInitializer: 'zeros',
          },
          [
            w(
              `${name}/depthwise_kernel`,
              [k, k, cin, filters / cin],
              ourW,
              oihw,
              (t) => oihwToHwio(t, oihw),
              (t) => hwioToOihw(t, oihw),
            ),
            ...(ourB ? [w(`${name}/bias`, [filters], ourB, [filters], same, same)] : []),
          ],
        ),
      );
      if (activation === 'leaky_relu') into.push(layer('LeakyReLU', `${name}_leaky_relu`, { alpha: LEAKY_RELU_ALPHA }));
      return;
    }
    const oihw = [filters, cin, k, k];
    into.push(
      layer(
        'Conv2D',
        name,
        {
          filters,
          kernelSize: k,
          strides: stride,
          padding,
          dataFormat: 'channelsLast',
          activation: kerasActivation(activation),
          useBias: !!ourB,
          kernelInitializer: 'zeros',
        },
        [
          w(
            `${name}/kernel`,
            [k, k, cin, filters],
            ourW,
            oihw,
            (t) => oihwToHwio(t, oihw),
            (t) => hwioToOihw(t, oihw),
          ),
          ...(ourB ? [w(`${name}/bias`, [filters], ourB, [filters], same, same)] : []),
        ],
      ),
    );
    if (activation === 'leaky_relu') into.push(layer('LeakyReLU', `${name}_leaky_relu`, { alpha: LEAKY_RELU_ALPHA }));
  };

  /** Batch norm over channels_last channels (conv2d batchNorm, resblock): our `<id>/gamma<suffix>` etc. */
  const bnOp = (name: string, id: string, suffix: string, c: number, into: PlanOp[]) => {
    const v = (ours: string, keras: string) => w(`${name}/${keras}`, [c], `${id}/${ours}${suffix}`, [c], same, same);
    into.push(
      layer('BatchNormalization', name, { axis: -1, momentum: CONV_BN.momentum, epsilon: CONV_BN.epsilon, center: true, scale: true }, [
        v('gamma', 'gamma'),
        v('beta', 'beta'),
        v('mean', 'moving_mean'),
        v('var', 'moving_variance'),
      ]),
    );
  };
  const actOp = (name: string, activation: Activation, into: PlanOp[]) => {
    if (activation === 'leaky_relu') into.push(layer('LeakyReLU', `${name}_leaky_relu`, { alpha: LEAKY_RELU_ALPHA }));
    else if (activation !== 'linear') into.push(layer('Activation', `${name}_${activation}`, { activation: kerasActivation(activation) }));
  };

  spec.layers.forEach((l, i) => {
    const s = inputs[i];
    shape = s;
    const params = layerParamShapes(l, s);
    const p = (leaf: string) => params.find((q) => q.name === `${l.id}/${leaf}`)!;
    switch (l.type) {
      case 'dense':
        flattenIfNeeded(l.id, ops);
        denseOp(l.id, p('W').name, p('b').name, flatSize(s), l.units, l.activation, ops, perm);
        perm = undefined;
        break;
      case 'conv2d':
        if (!l.batchNorm) {
          convOp(l.id, p('W').name, p('b').name, s[0], l.filters, l.kernelSize, l.stride, l.padding, l.activation, ops, convGroups(l));
          break;
        }
        convOp(l.id, p('W').name, p('b').name, s[0], l.filters, l.kernelSize, l.stride, l.padding, 'linear', ops, convGroups(l));
        bnOp(`${l.id}_bn`, l.id, '', l.filters, ops);
        actOp(l.id, l.activation, ops);
        break;
      case 'resblock': {
        const u = resUnits(l);
        const inner: PlanOp[] = [];
        convOp(`${l.id}_conv1`, p('W1').name, undefined, s[0], u, 3, l.stride, 'same', 'linear', inner);
        bnOp(`${l.id}_bn1`, l.id, '1', u, inner);
        actOp(`${l.id}_1`, 'relu', inner);
        convOp(`${l.id}_conv2`, p('W2').name, undefined, u, l.filters, 3, 1, 'same', 'linear', inner);
        bnOp(`${l.id}_bn2`, l.id, '2', l.filters, inner);
        let shortcut: PlanOp[] | undefined;
        if (hasProjection(l, s)) {
          shortcut = [];
          convOp(`${l.id}_proj`, p('Ws').name, undefined, s[0], l.filters, 1, l.stride, 'valid', 'linear', shortcut);
          bnOp(`${l.id}_proj_bn`, l.id, 's', l.filters, shortcut);
        }
        if (names.has(l.id)) throw new ExportError(`TF.js export: layer name ${l.id} is used twice`, 'unsupported');
        names.add(l.id);
        ops.push({ op: 'residual', name: l.id, inner, ...(shortcut ? { shortcut } : {}) });
        actOp(`${l.id}_out`, 'relu', ops);
        break;
      }
      case 'maxpool':
      case 'avgpool':
        ops.push(
          layer(l.type === 'maxpool' ? 'MaxPooling2D' : 'AveragePooling2D', l.id, {
            poolSize: l.size,
            strides: l.size,
            padding: 'valid',
            dataFormat: 'channelsLast',
          }),
        );
        break;
      case 'globalavgpool':
        ops.push(layer('GlobalAveragePooling2D', l.id, { dataFormat: 'channelsLast' }));
        layout = 'vec';
        perm = undefined;
        break;
      case 'flatten':
        if (layout !== 'vec') {
          ops.push(layer('Flatten', l.id, {}));
          perm = layout === 'hwc' ? hwcToChwPerm(s[0], s[1], s[2]) : undefined;
          layout = 'vec';
        }
        break;
      case 'batchnorm': {
        const vp = layout === 'vec' ? perm : undefined;
        const c = s[0] ?? 0;
        const v = (ours: string, keras: string) =>
          w(
            `${l.id}/${keras}`,
            [layout === 'vec' ? flatSize(s) : c],
            p(ours).name,
            p(ours).shape,
            (t) => gatherRows(t, 1, vp),
            (t) => scatterRows(t, 1, vp),
          );
        ops.push(
          layer(
            'BatchNormalization',
            l.id,
            {
              axis: -1,
              momentum: l.momentum,
              epsilon: l.epsilon,
              center: true,
              scale: true,
            },
            [v('gamma', 'gamma'), v('beta', 'beta'), v('mean', 'moving_mean'), v('var', 'moving_variance')],
          ),
        );
        break;
      }
      case 'residual': {
        const inner: PlanOp[] = [];
        if (s.length === 1) {
          const width = s[0];
          denseOp(`${l.id}_fc1`, p('W1').name, p('b1').name, width, l.units, l.activation, inner, perm);
          denseOp(`${l.id}_fc2`, p('W2').name, p('b2').name, l.units, width, 'linear', inner, undefined, perm);
        } else {
          convOp(`${l.id}_conv1`, p('W1').name, p('b1').name, s[0], l.units, 3, 1, 'same', l.activation, inner);
          convOp(`${l.id}_conv2`, p('W2').name, p('b2').name, l.units, s[0], 3, 1, 'same', 'linear', inner);
        }
        if (names.has(l.id)) throw new ExportError(`TF.js export: layer name ${l.id} is used twice`, 'unsupported');
        names.add(l.id);
        ops.push({ op: 'residual', name: l.id, inner });
        break;
      }
    }
    shape = layerOutputShape(l, s);
  });
  const outInput = layerShapes(spec).outputInput;
  const [ow, ob] = outputParamShapes(spec, outInput);
  flattenIfNeeded('output', ops);
  denseOp('output', ow.name, ob.name, outInput, spec.output.units, 'linear', ops, perm);
  return { ops, functional: ops.some((o) => o.op === 'residual'), weights, inputShape: [...spec.inputShape] };
}

type Tf = typeof tfjs;
type SymbolicTensor = tfjs.SymbolicTensor;

function makeLayer(tf: Tf, op: Extract<PlanOp, { op: 'layer' }>, inputShape?: number[]): tfjs.layers.Layer {
  const a = { ...op.args, ...(inputShape ? { inputShape } : {}) } as never;
  switch (op.cls) {
    case 'Dense':
      return tf.layers.dense(a);
    case 'Conv2D':
      return tf.layers.conv2d(a);
    case 'ZeroPadding2D':
      return tf.layers.zeroPadding2d(a);
    case 'MaxPooling2D':
      return tf.layers.maxPooling2d(a);
    case 'AveragePooling2D':
      return tf.layers.averagePooling2d(a);
    case 'GlobalAveragePooling2D':
      return tf.layers.globalAveragePooling2d(a);
    case 'BatchNormalization':
      return tf.layers.batchNormalization(a);
    case 'Flatten':
      return tf.layers.flatten(a);
    case 'Permute':
      return tf.layers.permute(a);
    case 'LeakyReLU':
      return tf.layers.leakyReLU(a);
    case 'DepthwiseConv2D':
      return tf.layers.depthwiseConv2d(a);
    case 'Activation':
      return tf.layers.activation(a);
  }
}

/** Builds the plan as a tfjs LayersModel with our weights (the caller disposes it). */
export function buildTfjsModel(tf: Tf, src: Pick<ExportSource, 'spec' | 'tensors' | 'name'>, plan = kerasPlan(src.spec)): tfjs.LayersModel {
  const created: [tfjs.layers.Layer, KerasWeight[]][] = [];
  let model: tfjs.LayersModel;
  const modelName = (src.name || 'growth_lab').replace(/[^A-Za-z0-9_]/g, '_');
  if (!plan.functional) {
    const layers = plan.ops.map((op, i) => {
      if (op.op !== 'layer') throw new Error('internal: residual in a sequential plan');
      const l = makeLayer(tf, op, i === 0 ? plan.inputShape : undefined);
      created.push([l, op.weights]);
      return l;
    });
    model = tf.sequential({ layers, name: modelName });
  } else {
    const input = tf.input({ shape: plan.inputShape, name: 'input' });
    const apply = (ops: PlanOp[], x: SymbolicTensor): SymbolicTensor => {
      let h = x;
      for (const op of ops) {
        if (op.op === 'layer') {
          const l = makeLayer(tf, op);
          created.push([l, op.weights]);
          h = l.apply(h) as SymbolicTensor;
        } else {
          const inner = apply(op.inner, h);
          const skip = op.shortcut ? apply(op.shortcut, h) : h;
          h = tf.layers.add({ name: op.name }).apply([skip, inner]) as SymbolicTensor;
        }
      }
      return h;
    };
    model = tf.model({ inputs: input, outputs: apply(plan.ops, input), name: modelName });
  }
  try {
    for (const [l, ws] of created) {
      if (ws.length === 0) continue;
      const values = ws.map((kw) => tf.tensor(kw.toKeras(tensorOf(src, kw.ours, kw.oursShape)), kw.shape, 'float32'));
      try {
        l.setWeights(values);
      } finally {
        tf.dispose(values);
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The files of a TF.js Layers export. */
export async function buildTfjsExport(src: ExportSource, tf?: Tf): Promise<ExportFile[]> {
  checkSource(src);
  const plan = kerasPlan(src.spec);
  const t = tf ?? (await loadTfjs()).tf;
  const model = buildTfjsModel(t, src, plan);
  let artifacts: tfjs.io.ModelArtifacts | undefined;
  try {
    await model.save(
      t.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  } finally {
    model.dispose();
  }
  if (!artifacts?.modelTopology || !artifacts.weightSpecs || !artifacts.weightData)
    throw new ExportError('tfjs produced no model artifacts', 'io');
  const data =
    artifacts.weightData instanceof ArrayBuffer
      ? new Uint8Array(artifacts.weightData)
      : new Uint8Array(t.io.concatenateArrayBuffers(artifacts.weightData));
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${t.version_layers}`,
    convertedBy: `Growth Lab export (run ${src.runId})`,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: artifacts.weightSpecs }],
    userDefinedMetadata: {
      [TFJS_METADATA_KEY]: {
        formatVersion: TFJS_FORMAT_VERSION,
        runId: src.runId,
        name: src.name,
        inputLayout: src.spec.inputShape.length === 3 ? 'NCHW' : 'NF',
        note: "inputs are shaped like Growth Lab's ([N, C, H, W] or [N, F]); outputs are raw (logits for classification)",
        spec: src.spec,
      },
    },
  };
  return [
    { name: TFJS_MODEL_FILE, data: `${JSON.stringify(modelJson, null, 1)}\n` },
    { name: TFJS_WEIGHTS_FILE, data },
  ];
}
