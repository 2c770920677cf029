/**
 * A VGG-19 architecture summary for the monitor's tests (16 conv layers in five stages, a max-pool
 * closing each, flatten and the output: 23 layers), with exact shapes and parameter counts for 3x32x32
 * inputs, and a Firefly-style grow event that widens given conv layers. The monitor draws only these
 * summaries, so the tests build them directly instead of training a VGG.
 */
import type { Architecture, GrowEventParams, LayerDiff, LayerSummary } from '../../common/protocol';

/** Convs per stage of VGG-19 (Simonyan & Zisserman, configuration E). */
export const VGG19_STAGES = [2, 2, 4, 4, 4];

/** `widths[k]`: channels of the k-th conv (16 of them); default every conv 16 wide (Firefly's start). */
export function vgg19Architecture(widths: number[] = Array(16).fill(16), blockNames = false): Architecture {
  const layers: LayerSummary[] = [];
  let c = 3,
    hw = 32,
    conv = 0;
  VGG19_STAGES.forEach((n, s) => {
    for (let k = 0; k < n; k++) {
      const w = widths[conv++];
      layers.push({
        id: `conv2d_${conv}`,
        index: layers.length,
        type: 'conv2d',
        width: w,
        activation: 'relu',
        inputShape: [c, hw, hw],
        outputShape: [w, hw, hw],
        params: c * w * 9 + w,
        flops: c * w * 9 * hw * hw,
        ...(blockNames ? { block: `stage ${s + 1}` } : {}),
      });
      c = w;
    }
    layers.push({
      id: `maxpool_${s + 1}`,
      index: layers.length,
      type: 'maxpool',
      inputShape: [c, hw, hw],
      outputShape: [c, hw / 2, hw / 2],
      params: 0,
      flops: 0,
      ...(blockNames ? { block: `stage ${s + 1}` } : {}),
    });
    hw /= 2;
  });
  layers.push({ id: 'flatten_1', index: layers.length, type: 'flatten', inputShape: [c, 1, 1], outputShape: [c], params: 0, flops: 0 });
  layers.push({
    id: 'output',
    index: layers.length,
    type: 'output',
    width: 10,
    activation: 'linear',
    inputShape: [c],
    outputShape: [10],
    params: c * 10 + 10,
    flops: c * 10,
  });
  return { inputShape: [3, 32, 32], outputSize: 10, layers, params: layers.reduce((a, l) => a + l.params, 0), flops: 0 };
}

/** A grow event taking the convs numbered in `grown` (1-based) from `from` to `to` channels by splits and new ones. */
export function vgg19GrowEvent(runId: string, step: number, grown: number[], from = 16, to = 20): GrowEventParams {
  const before = Array(16).fill(from);
  const after = before.map((w, i) => (grown.includes(i + 1) ? to : w));
  const diff: LayerDiff[] = grown.map((k) => ({
    id: `conv2d_${k}`,
    kept: from,
    split: [
      { index: 0, parent: 0 },
      { index: from, parent: 0 },
    ],
    added: Array.from({ length: to - from - 1 }, (_, i) => from + 1 + i),
    removed: [],
    inserted: false,
  }));
  return {
    runId,
    step,
    epoch: 1,
    kind: 'grow',
    method: 'firefly',
    before: vgg19Architecture(before),
    after: vgg19Architecture(after),
    diff,
    selected: [],
    rejected: [],
    lossBefore: 1.9,
    lossAfter: 1.9,
    maxOutputChange: 0,
    durationMs: 1200,
  };
}
