/**
 * Applying selected morphisms to the live model: per layer one splitNeurons call (kept neurons in
 * order, pruned ones left out, one replica per split neuron appended; replicas' outgoing weights are
 * halved), then the learned θ written into the incoming kernel: the kept copy gets w_in + θ_i, the
 * appended replica w_in − θ_i (Lawton et al. §3.1). A pruned neuron's outgoing weights disappear with
 * it, so the function changes by exactly its contribution.
 */
import type { LayerDiff } from '../../common/protocol';
import type { GrowableModel } from '../model/growable';
import { flatSize, layerWidth } from '../model/spec';
import { diffFromSources } from './diff';
import { inKernel } from './gaussNewtonGraph';

export interface LayerCommit {
  layer: string;
  /** Neurons to split, with θ for all n neurons of the layer (the kernel's shape, n along its neuron axis). */
  splits: number[];
  theta?: Float32Array;
  prunes: number[];
}

/** sources for splitNeurons: kept neurons in order, then one replica per split neuron. */
export function commitSources(width: number, splits: readonly number[], prunes: readonly number[]): number[] {
  const gone = new Set(prunes);
  for (const s of splits) if (gone.has(s)) throw new Error(`neuron ${s} cannot be both split and pruned`);
  const kept = Array.from({ length: width }, (_, i) => i).filter((i) => !gone.has(i));
  if (kept.length < 1) throw new Error('a layer must keep at least one neuron');
  return [...kept, ...splits];
}

/** Adds sign·θ[.., from, ..] to t[.., to, ..] along `axis` (θ has `thetaLen` entries on that axis). */
function addSlice(
  t: Float32Array,
  shape: number[],
  axis: number,
  to: number,
  theta: Float32Array,
  thetaLen: number,
  from: number,
  sign: number,
): void {
  const outer = flatSize(shape.slice(0, axis));
  const inner = flatSize(shape.slice(axis + 1));
  const len = shape[axis];
  for (let o = 0; o < outer; o++) {
    const dst = (o * len + to) * inner,
      src = (o * thetaLen + from) * inner;
    for (let k = 0; k < inner; k++) t[dst + k] += sign * theta[src + k];
  }
}

/**
 * Apply one layer's splits and prunes. Layers must be committed deepest first: a layer's θ has one
 * entry per current input neuron, which a later change upstream would renumber.
 */
export function commitLayer(model: GrowableModel, c: LayerCommit, seed: number): LayerDiff {
  const width = layerWidth(model.layer(c.layer).layer)!;
  const sources = commitSources(width, c.splits, c.prunes);
  if (c.splits.length === 0) {
    model.resizeLayer(c.layer, sources, seed);
    return diffFromSources(c.layer, width, sources);
  }
  if (!c.theta) throw new Error(`splits of ${c.layer} need θ`);
  model.splitNeurons(c.layer, sources, seed);
  const kernel = inKernel(model, c.layer);
  const shape = model.shapeOf(kernel.name);
  const t = model.tensors.get(kernel.name)!;
  const keptCount = sources.length - c.splits.length;
  c.splits.forEach((i, k) => {
    addSlice(t, shape, kernel.axis, sources.indexOf(i), c.theta!, width, i, +1);
    addSlice(t, shape, kernel.axis, keptCount + k, c.theta!, width, i, -1);
  });
  return diffFromSources(c.layer, width, sources);
}
