/**
 * Conv nets for continual learning (Firefly Table 2 / Fig. 5 grows a thin VGG-16 without fully
 * connected layers, §3 "Continual Learning"): a stack of 3×3 convolutions (stride 1, padding 1, ReLU),
 * a 2×2 max pool after the layers `pool` marks, then a global average pool into each task's dense head.
 * The stream's rows (x [N, C·H·W]) are read as images [N, C, H, W]. Used by Firefly CL on conv nets
 * (fireflyClConv.ts) and by the baselines (baselines.ts) when `settings.conv` is set.
 */
import { HostTensor, Value, add, conv, globalAvgPool, maxPool, relu, reshape } from '../engine';
import { initDense } from '../model/init';
import type { Rng } from '../random';
import type { LayerConfig } from '../../common/protocol';
import { tensor, type LayerInit } from './tensors';

/** A conv trunk: input image shape, channels per conv layer, and which layers a 2×2 max pool follows. */
export interface ConvSpec {
  input: [number, number, number];
  channels: number[];
  pool: boolean[];
}

/** VGG-16's 13 conv layers (64-64 / 128-128 / 256×3 / 512×3 / 512×3, a pool after each block), widths × `scale`. */
export function thinVgg16(input: [number, number, number], scale: number): ConvSpec {
  const full = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
  const poolAfter = new Set([1, 3, 6, 9, 12]);
  return {
    input,
    channels: full.map((c) => Math.max(1, Math.round(c * scale))),
    pool: full.map((_, l) => poolAfter.has(l)),
  };
}

/** The trunk as experiment layers (3×3 same-padded ReLU convs, its pools, a global average pool): the baselines' network. */
export function convTrunkLayers(spec: ConvSpec): LayerConfig[] {
  return [
    ...spec.channels.flatMap((filters, l): LayerConfig[] => [
      { type: 'conv2d', filters, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
      ...(spec.pool[l] ? [{ type: 'maxpool', size: 2 } as const] : []),
    ]),
    { type: 'globalavgpool' },
  ];
}

/** Checks a spec against the stream's features; throws naming the field that is wrong. */
export function checkConvSpec(spec: ConvSpec, features: number): void {
  const [c, h, w] = spec.input;
  if (c * h * w !== features)
    throw new Error(`conv model: input [${spec.input.join(', ')}] is ${c * h * w} values, the stream's rows have ${features}`);
  if (spec.channels.length === 0 || spec.channels.some((k) => !(Number.isInteger(k) && k > 0)))
    throw new Error(`conv model: channels must be positive integers, got [${spec.channels.join(', ')}]`);
  if (spec.pool.length !== spec.channels.length)
    throw new Error(`conv model: ${spec.pool.length} pool flags for ${spec.channels.length} conv layers`);
  let size = Math.min(h, w);
  for (const p of spec.pool) if (p) size = Math.floor(size / 2);
  if (size < 1) throw new Error(`conv model: ${spec.pool.filter(Boolean).length} pools shrink a ${h}×${w} image to nothing`);
}

/** The batch rows as images [N, C, H, W]. */
export function images(x: Value, spec: ConvSpec): Value {
  return reshape(x, ['N', ...spec.input]);
}

/** 3×3 convolution, padding 1, plus a per-channel bias [C]. */
export function conv3(h: Value, K: Value, bias?: Value): Value {
  const y = conv(h, K, { pads: [1, 1, 1, 1] });
  return bias ? add(y, reshape(bias, [1, bias.shape[0], 1, 1])) : y;
}

/** ReLU(conv3(h)) then the layer's pool. */
export function convLayer(h: Value, K: Value, bias: Value, pool: boolean): Value {
  const y = relu(conv3(h, K, bias));
  return pool ? maxPool(y, 2) : y;
}

/** Global average pool of [N, C, H, W] into [N, C]. */
export function pooledFeatures(h: Value): Value {
  return reshape(globalAvgPool(h), ['N', h.shape[1]]);
}

/**
 * A fresh 3×3 conv kernel [cout, cin, 3, 3] and bias [cout] (fan-in cin·9): `uniform` U(±1/√fan-in)
 * as torch.nn.Conv2d's default, or `he-normal`, drawn by initDense (each entry independent).
 */
export function convKernel(rng: Rng, init: LayerInit, cin: number, cout: number, scale = 1): { K: HostTensor; b: HostTensor } {
  const { kernel, bias } = initDense(init === 'uniform' ? 'torch-uniform' : 'he', cin * 9, cout, rng, scale);
  return { K: tensor([cout, cin, 3, 3], kernel), b: tensor([cout], bias) };
}
