/**
 * Named architectures (`model.preset`) expanded into ordinary hidden layers, each tagged with the
 * block it belongs to (the monitor groups layers by it). The output layer is appended as for any model.
 * Pure: the same config and input shape always give the same layers.
 */
import type { LayerConfig, ModelConfig, ModelPreset } from '../../common/protocol';

export type PresetLayer = LayerConfig & { block?: string };

/** Channels per VGG stage (CIFAR VGG, Simonyan & Zisserman 2014, configurations A, B, D, E); 'M' = max-pool. */
const VGG: Record<'vgg11' | 'vgg13' | 'vgg16' | 'vgg19', number[]> = {
  vgg11: [1, 1, 2, 2, 2],
  vgg13: [2, 2, 2, 2, 2],
  vgg16: [2, 2, 3, 3, 3],
  vgg19: [2, 2, 4, 4, 4],
};
const VGG_WIDTHS = [64, 128, 256, 512, 512];

/** MobileNetV1 (Howard et al. 2017, Table 1) on 32x32 inputs: the first conv at stride 1, then (pointwise channels, depthwise stride). */
const MOBILENET: [number, number][] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

export class PresetError extends Error {}

const scaled = (c: number, m: number) => Math.max(1, Math.round(c * m));

function conv(
  filters: number,
  block: string,
  o: { stride?: number; kernelSize?: number; groups?: number; batchNorm: boolean },
): PresetLayer {
  return {
    type: 'conv2d',
    filters,
    kernelSize: o.kernelSize ?? 3,
    stride: o.stride ?? 1,
    padding: 'same',
    activation: 'relu',
    ...(o.groups && o.groups > 1 ? { groups: o.groups } : {}),
    ...(o.batchNorm ? { batchNorm: true } : {}),
    block,
  };
}

/**
 * VGG for CIFAR: per stage, its conv3x3 (+ BN) + ReLU layers, then a 2x2 max-pool while the feature map
 * is at least 2x2 (so 28x28 and 8x8 inputs work too), then flatten; the output layer is the classifier.
 */
function vgg(name: keyof typeof VGG, m: ModelConfig, inputShape: number[]): PresetLayer[] {
  const out: PresetLayer[] = [];
  let side = Math.min(inputShape[1], inputShape[2]);
  VGG[name].forEach((count, s) => {
    const block = `stage${s + 1}`;
    const filters = m.channels ?? scaled(VGG_WIDTHS[s], m.widthMultiplier ?? 1);
    for (let i = 0; i < count; i++) out.push(conv(filters, block, { batchNorm: m.batchNorm ?? true }));
    if (side >= 2) {
      out.push({ type: 'maxpool', size: 2, block });
      side = Math.floor(side / 2);
    }
  });
  out.push({ type: 'flatten' });
  return out;
}

/** CIFAR ResNets (He et al. 2016): a 3x3 stem, stages of basic blocks (the first of a later stage strided), global average pool. */
function resnet(stages: number[], widths: number[], m: ModelConfig): PresetLayer[] {
  const k = m.widthMultiplier ?? 1;
  const out: PresetLayer[] = [conv(scaled(widths[0], k), 'stem', { batchNorm: m.batchNorm ?? true })];
  stages.forEach((n, s) => {
    for (let i = 0; i < n; i++) {
      out.push({ type: 'resblock', filters: scaled(widths[s], k), stride: s > 0 && i === 0 ? 2 : 1, block: `stage${s + 1}` });
    }
  });
  out.push({ type: 'globalavgpool' });
  return out;
}

/** MobileNetV1: a 3x3 conv, then depthwise 3x3 + pointwise 1x1 pairs, each with BN + ReLU; global average pool. */
function mobilenet(m: ModelConfig): PresetLayer[] {
  const k = m.widthMultiplier ?? 1;
  const bn = m.batchNorm ?? true;
  let c = scaled(32, k);
  const out: PresetLayer[] = [conv(c, 'stem', { batchNorm: bn })];
  MOBILENET.forEach(([p, stride], i) => {
    const block = `block${i + 1}`;
    out.push(conv(c, block, { stride, groups: c, batchNorm: bn }));
    c = scaled(p, k);
    out.push(conv(c, block, { kernelSize: 1, batchNorm: bn }));
  });
  out.push({ type: 'globalavgpool' });
  return out;
}

/** Firefly App. B.2, growing deeper: 4 blocks of conv3x3 layers (16 channels), the first of each at stride 2; global average pool. */
function fireflyDepth(m: ModelConfig): PresetLayer[] {
  const blocks = m.blocks ?? [1, 1, 1, 1];
  if (blocks.length !== 4) throw new PresetError(`model.blocks: firefly-depth has 4 blocks, got ${blocks.length}`);
  const out: PresetLayer[] = [];
  blocks.forEach((n, b) => {
    for (let i = 0; i < n; i++)
      out.push(conv(m.channels ?? 16, `block${b + 1}`, { stride: i === 0 ? 2 : 1, batchNorm: m.batchNorm ?? false }));
  });
  out.push({ type: 'globalavgpool' });
  return out;
}

/** The hidden layers of `model.preset` for an input of this shape. */
export function expandPreset(m: ModelConfig, inputShape: number[]): PresetLayer[] {
  const preset = m.preset as ModelPreset;
  if (inputShape.length !== 3) throw new PresetError(`model.preset ${preset} needs image inputs [C, H, W], got [${inputShape.join(', ')}]`);
  switch (preset) {
    case 'vgg11':
    case 'vgg13':
    case 'vgg16':
    case 'vgg19':
      return vgg(preset, m, inputShape);
    case 'resnet20':
      return resnet([3, 3, 3], [16, 32, 64], m);
    case 'resnet18':
      return resnet([2, 2, 2, 2], [64, 128, 256, 512], m);
    case 'mobilenetv1':
      return mobilenet(m);
    case 'firefly-depth':
      return fireflyDepth(m);
  }
  throw new PresetError(`unknown model.preset ${String(preset)}`);
}
