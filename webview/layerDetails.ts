/**
 * Layer details as torchinfo / Netron show them (pure: unit-tested without a browser): type, input
 * and output shape, parameters and their share of the model, multiply-adds per example, and for a
 * layer a grow event changed, where each of its neurons came from (kept, split from a parent, new)
 * and which of the previous layer's neurons were removed.
 */
import type { Architecture, GrowEventParams, LayerSummary } from '../common/protocol';

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Kernel size of a conv2d layer from its parameters: filters·C_in·k² weights plus `filters` biases
 * (square kernels, as the backend builds them). Undefined when they do not fit a square kernel.
 */
export function convKernelSize(l: Pick<LayerSummary, 'type' | 'width' | 'inputShape' | 'params'>): number | undefined {
  if (l.type !== 'conv2d' || l.width === undefined || l.inputShape.length !== 3) return undefined;
  const filters = l.width,
    cin = l.inputShape[0];
  const k2 = (l.params - filters) / (filters * cin);
  const k = Math.round(Math.sqrt(k2));
  return k >= 1 && k * k === k2 ? k : undefined;
}

/**
 * Multiply-adds per example:
 * - dense and output: in_features · units (in_features: the flattened input);
 * - conv2d: filters · C_in · k · k · H_out · W_out;
 * - residual x + h(x): two dense maps, 2 · d · units (image input: two 3×3 convs, 2 · 9 · C · units · H · W);
 * - batch norm: 2 per input value (scale and shift);
 * - flatten and pooling: 0 (no multiplications).
 */
export function multAdds(l: Pick<LayerSummary, 'type' | 'width' | 'inputShape' | 'outputShape' | 'params'> & { flops?: number }): number {
  const w = l.width ?? 0;
  // conv2d with batch norm or groups (no square-kernel fit) and resblocks: the backend's own count.
  if (l.flops !== undefined && (l.type === 'resblock' || (l.type === 'conv2d' && convKernelSize(l) === undefined))) return l.flops;
  switch (l.type) {
    case 'dense':
    case 'output':
      return prod(l.inputShape) * w;
    case 'conv2d': {
      const k = convKernelSize(l);
      if (k === undefined) return NaN;
      return w * l.inputShape[0] * k * k * l.outputShape[1] * l.outputShape[2];
    }
    case 'residual':
      return l.inputShape.length === 1 ? 2 * l.inputShape[0] * w : 2 * 9 * l.inputShape[0] * w * l.inputShape[1] * l.inputShape[2];
    case 'batchnorm':
      return 2 * prod(l.inputShape);
    default:
      return 0;
  }
}

/** Where the neurons of one layer came from at a grow event. */
export interface NeuronOrigins {
  /** The grow event inserted the whole layer. */
  inserted: boolean;
  beforeWidth?: number;
  /** Neurons of the layer after the event that were there before, unchanged (indices after the event). */
  kept: number[];
  /** Split copies: index after the event and the parent's index before it. */
  split: { index: number; parent: number }[];
  /** Brand-new neurons (indices after the event). */
  added: number[];
  /** Neurons of the layer before the event that were removed (indices before the event). */
  removed: number[];
}

export interface LayerDetail {
  id: string;
  type: string;
  activation?: string;
  width?: number;
  kernelSize?: number;
  inputShape: number[];
  outputShape: number[];
  params: number;
  /** params / all the model's parameters (0 to 1). */
  paramShare: number;
  flops: number;
  /** flops / the model's total multiply-adds (0 to 1; 0 when the model has none). */
  flopShare: number;
  /** Present when the detail is for the architecture after `event` and the event changed this layer. */
  origins?: NeuronOrigins;
}

/** Details of layer `id` of `arch`; `event`: the grow event `arch` came from (for the neurons' origins). */
export function layerDetail(arch: Architecture, id: string, event?: Pick<GrowEventParams, 'before' | 'diff'>): LayerDetail | undefined {
  const l = arch.layers.find((x) => x.id === id);
  if (!l) return undefined;
  const flops = multAdds(l);
  const totalParams = arch.layers.reduce((a, x) => a + x.params, 0);
  const totalFlops = arch.layers.reduce((a, x) => a + multAdds(x), 0);
  const detail: LayerDetail = {
    id: l.id,
    type: l.type,
    activation: l.activation,
    width: l.width,
    kernelSize: convKernelSize(l),
    inputShape: l.inputShape,
    outputShape: l.outputShape,
    params: l.params,
    paramShare: totalParams > 0 ? l.params / totalParams : 0,
    flops,
    flopShare: totalFlops > 0 ? flops / totalFlops : 0,
  };
  const origins = event && neuronOrigins(l, event);
  if (origins) detail.origins = origins;
  return detail;
}

function neuronOrigins(l: LayerSummary, event: Pick<GrowEventParams, 'before' | 'diff'>): NeuronOrigins | undefined {
  const d = event.diff.find((x) => x.id === l.id);
  const before = event.before.layers.find((x) => x.id === l.id);
  const inserted = !!d?.inserted || !before;
  if (!d && !inserted) return undefined;
  const width = l.width ?? 0;
  const ok = (i: number, n: number): boolean => Number.isInteger(i) && i >= 0 && i < n;
  if (inserted) return { inserted: true, kept: [], split: [], added: Array.from({ length: width }, (_, i) => i), removed: [] };
  const split = d!.split.filter((s) => ok(s.index, width)).sort((a, b) => a.index - b.index);
  const added = d!.added.filter((a) => ok(a, width)).sort((a, b) => a - b);
  const changed = new Set([...split.map((s) => s.index), ...added]);
  const kept: number[] = [];
  for (let i = 0; i < width; i++) if (!changed.has(i)) kept.push(i);
  const removed = d!.removed.filter((r) => before?.width === undefined || ok(r, before.width)).sort((a, b) => a - b);
  return { inserted: false, beforeWidth: before?.width, kept, split, added, removed };
}

/** Index ranges as text: [0, 1, 2, 5, 7, 8] → "0–2, 5, 7–8". */
export function indexRanges(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(j === i ? String(s[i]) : `${s[i]}–${s[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** Split copies grouped by parent: "#3 → 3, 24; #7 → 7, 25". */
export function splitText(split: readonly { index: number; parent: number }[]): string {
  const byParent = new Map<number, number[]>();
  for (const s of split) byParent.set(s.parent, [...(byParent.get(s.parent) ?? []), s.index]);
  return [...byParent]
    .sort((a, b) => a[0] - b[0])
    .map(([p, xs]) => `#${p} → ${xs.sort((a, b) => a - b).join(', ')}`)
    .join('; ');
}

/** The layer's shape as torchinfo writes it: [1, 28, 28] → "1×28×28". */
export function shapeText(s: readonly number[]): string {
  return s.length ? s.join('×') : '–';
}
