/**
 * Net2Net (Chen et al. 2016; the project report /work/shared/papers/net2net-growing-networks-project.txt
 * uses both transforms on MNIST MLPs, with batch norm and noise): function-preserving growth.
 *
 * `net2net-wider` (Net2WiderNet): each grown layer gains k neurons, each a copy of an existing neuron
 * chosen at random (the random mapping g(j) of Chen et al.); every replica's outgoing weights are
 * divided by its number of copies (GrowableModel.splitNeurons), so the function is kept. Chen et
 * al. draw g(j) uniformly; here the draws are without replacement within each round of `width`
 * (a seeded permutation), so k ≤ width new neurons double k distinct neurons: the uniform widening
 * the Firefly paper's Net2Net baseline describes (§3), and no neuron ends with 3+ small copies.
 * Options:
 * - `ratio` / `neurons`: the budget over all grown layers (neuronBudget), shared out in proportion
 *   to the layers' widths (largest remainder, ties to the earlier layer); Net2Net widens layers
 *   uniformly, so `ratio` alone gives each layer round(ratio · width) or the nearest split of it.
 * - `layers`: layer ids (default every hidden dense and conv2d layer; residual blocks' hidden
 *   neurons may be named too).
 * - `noise` (default 0): Chen et al. add noise to break the replicas' symmetry, which makes the new
 *   network only approximately equivalent. Here the noise goes on the replicas' OUTGOING weights and
 *   is centred over each neuron's set of copies (for two copies: +η and −η) at every outgoing entry:
 *   the copies compute the same value, so the sum they feed forward is unchanged and the function is
 *   still kept exactly, while the copies' weights (hence their gradients) differ. η ~ N(0, s²) with
 *   s = noise · RMS of the consuming tensor (a scale-free setting; 1 where that tensor is all zero).
 * Random draws (ctx.rng), per layer in model order: the k parents (the first entries of
 * rng.permutation(width), another permutation for each further round of width), one seed
 * for splitNeurons, one draw forking the noise stream (taken with or without noise, so the same
 * seed picks the same replicas whatever `noise` is).
 *
 * `net2net-deeper` (Net2DeeperNet): insert an identity-initialised layer after a hidden layer
 * (`after`, default the last hidden dense or conv2d layer). Chen et al. need the activation φ to
 * satisfy φ(I φ(v)) = φ(v): true for ReLU (its input is already ≥ 0 after a ReLU layer) and linear,
 * false for tanh, sigmoid and leaky ReLU. `block` (default 'auto'):
 * - 'auto': after a ReLU or linear dense/conv2d layer, a dense layer with W = I, b = 0 (conv2d: a 3x3
 *   kernel with a one at the centre of channel c → c, padding 'same', stride 1) with the same
 *   activation, exactly function preserving; otherwise a residual block x + W2 φ(W1 x + b1) + b2 with
 *   W2 = 0, b2 = 0, which is the identity for any activation (and trains like one).
 * - 'identity': always the identity layer (the paper's transform; not exact for non-idempotent φ,
 *   reported in the notes as exact: false).
 * - 'residual': always the residual block.
 */
import type { Activation, LayerDiff } from '../../common/protocol';
import type { GrowableModel } from '../model/growable';
import { LayerSpec, flatSize, freshLayerId, layerShapes, layerWidth } from '../model/spec';
import { OUTPUT_SUFFIX, widthBlocker, widthEdits, widthTarget } from '../model/widthEdits';
import type { Rng } from '../random';
import { diffFromSources, insertedDiff, neuronBudget } from './diff';
import { registerMethod } from './registry';
import { Candidate, GrowContext, GrowOptions, GrowthError, GrowthMethod } from './types';

const growable = (l: LayerSpec) => l.type === 'dense' || l.type === 'conv2d';

/** Share `total` out in proportion to `weights` (largest remainder; ties to the earlier entry). */
export function proportionalShares(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k++, left--) shares[order[k % order.length].i]++;
  return shares;
}

/**
 * Zero-sum noise on the outgoing weights of replicated neurons: for every neuron with r ≥ 2 copies
 * and every outgoing entry, r normal draws minus their mean are added to the copies' entries.
 */
export function addCompensatedNoise(model: GrowableModel, layerId: string, sources: readonly number[], noise: number, rng: Rng): void {
  const copies = new Map<number, number[]>();
  sources.forEach((s, j) => s >= 0 && copies.set(s, [...(copies.get(s) ?? []), j]));
  const sets = [...copies.values()].filter((js) => js.length > 1);
  if (sets.length === 0 || noise <= 0) return;
  for (const e of widthEdits(model.spec, layerId).filter((x) => x.role === 'out')) {
    const t = model.tensors.get(e.name)!;
    const shape = model.shapeOf(e.name);
    const outer = flatSize(shape.slice(0, e.axis)),
      len = shape[e.axis],
      inner = flatSize(shape.slice(e.axis + 1));
    let ss = 0;
    for (let i = 0; i < t.length; i++) ss += t[i] * t[i];
    const std = noise * (ss > 0 ? Math.sqrt(ss / t.length) : 1);
    for (const js of sets) {
      const draws = new Float64Array(js.length);
      for (let o = 0; o < outer; o++) {
        for (let q = 0; q < e.group; q++) {
          for (let i = 0; i < inner; i++) {
            let mean = 0;
            for (let m = 0; m < js.length; m++) mean += draws[m] = rng.normal(0, std);
            mean /= js.length;
            js.forEach((j, m) => (t[(o * len + j * e.group + q) * inner + i] += draws[m] - mean));
          }
        }
      }
    }
  }
}

function wideningLayers(model: GrowableModel, options: GrowOptions): string[] {
  if (options.layers) {
    for (const id of options.layers) {
      const { layer } = widthTarget(model.spec, id);
      if (!growable(layer) && layer.type !== 'residual' && layer.type !== 'resblock')
        throw new GrowthError(`net2net-wider: layer "${id}" is ${layer.type}; it widens dense, conv2d, residual and resblock layers`);
      const blocked = widthBlocker(model.spec, id);
      if (blocked) throw new GrowthError(`net2net-wider: ${blocked}`);
    }
    return [...options.layers];
  }
  // Every layer that can widen: dense, conv2d (not grouped, not tied by a shortcut), resblock hidden
  // channels, and the output channels of a projection resblock (`<id>/out`, with its stage).
  return model.spec.layers
    .filter((l) => growable(l) || l.type === 'resblock')
    .flatMap((l) => (l.type === 'resblock' ? [l.id, `${l.id}${OUTPUT_SUFFIX}`] : [l.id]))
    .filter((id) => widthBlocker(model.spec, id) === undefined);
}

export const net2netWider: GrowthMethod = registerMethod({
  name: 'net2net-wider',
  kind: 'grow',
  description: 'Net2WiderNet (Chen et al. 2016): widen layers by replicating random neurons, outgoing weights shared among the copies',
  unsupported(model) {
    return model.spec.layers.some((l) => growable(l) || l.type === 'resblock')
      ? undefined
      : 'the model has no hidden dense or conv2d layer to widen';
  },
  async apply(ctx: GrowContext, options: GrowOptions) {
    const { model, rng } = ctx;
    const noise = options.noise ?? 0;
    if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0)
      throw new GrowthError(`net2net-wider: option noise must be a number ≥ 0, got ${JSON.stringify(noise)}`);
    const layers = wideningLayers(model, options);
    if (layers.length === 0) throw new GrowthError('net2net-wider: no layer to widen');
    const widths = layers.map((id) => model.width(id));
    const shares = proportionalShares(
      neuronBudget(
        widths.reduce((a, b) => a + b, 0),
        options,
      ),
      widths,
    );
    const diff: LayerDiff[] = [];
    const selected: Candidate[] = [];
    layers.forEach((id, li) => {
      const width = widths[li];
      const parents: number[] = [];
      while (parents.length < shares[li]) parents.push(...rng.permutation(width).subarray(0, shares[li] - parents.length));
      const sources = [...Array.from({ length: width }, (_, i) => i), ...parents];
      const seed = rng.int(2 ** 31);
      const noiseRng = rng.fork(li); // always drawn: the replicas chosen do not depend on `noise`
      if (parents.length > 0) {
        model.splitNeurons(id, sources, seed);
        if (noise > 0) addCompensatedNoise(model, id, sources, noise, noiseRng);
      }
      diff.push(diffFromSources(id, width, sources));
      parents.forEach((p) => selected.push({ layer: id, neuron: p, score: 0, kind: 'replicate' }));
    });
    return { diff, selected, rejected: [], notes: { noise, added: Object.fromEntries(layers.map((id, i) => [id, shares[i]])) } };
  },
});

/** The identity layer Net2DeeperNet inserts after a layer with output shape `shape`. */
function identityLayer(
  model: GrowableModel,
  shape: number[],
  act: Activation,
): { layer: LayerSpec; init: Record<string, Float32Array>; width: number } {
  if (shape.length === 1) {
    const u = shape[0];
    const W = new Float32Array(u * u);
    for (let i = 0; i < u; i++) W[i * u + i] = 1;
    return {
      layer: { id: freshLayerId(model.spec, 'dense'), type: 'dense', units: u, activation: act },
      init: { W, b: new Float32Array(u) },
      width: u,
    };
  }
  const c = shape[0];
  const W = new Float32Array(c * c * 9);
  for (let i = 0; i < c; i++) W[(i * c + i) * 9 + 4] = 1; // centre tap of channel i → i
  return {
    layer: {
      id: freshLayerId(model.spec, 'conv2d'),
      type: 'conv2d',
      filters: c,
      kernelSize: 3,
      stride: 1,
      padding: 'same',
      activation: act,
    },
    init: { W, b: new Float32Array(c) },
    width: c,
  };
}

export const net2netDeeper: GrowthMethod = registerMethod({
  name: 'net2net-deeper',
  kind: 'grow',
  description:
    'Net2DeeperNet (Chen et al. 2016): insert an identity-initialised layer (or a zero-output residual block) after a hidden layer',
  unsupported(model) {
    return model.spec.layers.length > 0 ? undefined : 'the model has no hidden layer to insert after';
  },
  async apply(ctx: GrowContext, options: GrowOptions) {
    const { model, rng } = ctx;
    const block = options.block ?? 'auto';
    if (block !== 'auto' && block !== 'identity' && block !== 'residual')
      throw new GrowthError(`net2net-deeper: option block must be auto, identity or residual, got ${JSON.stringify(block)}`);
    const layers = model.spec.layers;
    let after: string;
    if (options.after !== undefined) {
      if (typeof options.after !== 'string') throw new GrowthError('net2net-deeper: option after must be a layer id');
      after = options.after;
    } else {
      const last = [...layers].reverse().find(growable) ?? layers[layers.length - 1];
      if (!last) throw new GrowthError('net2net-deeper: the model has no hidden layer to insert after');
      after = last.id;
    }
    const { layer, index } = model.layer(after);
    const shape = layerShapes(model.spec).outputs[index];
    const activation: Activation | undefined = 'activation' in layer ? layer.activation : undefined;
    // φ(I φ(v)) = φ(v) holds for ReLU and linear only (Chen et al. 2016, Net2DeeperNet).
    const idempotent = growable(layer) && (activation === 'relu' || activation === 'linear');
    const kind = block === 'auto' ? (idempotent ? 'identity' : 'residual') : block;
    const seed = rng.int(2 ** 31);
    let inserted: LayerSpec, width: number;
    // The new layer belongs to the preset block of the layer it follows (also at a block's end).
    const tag = layer.block !== undefined ? { block: layer.block } : {};
    if (kind === 'identity') {
      const id = identityLayer(model, shape, activation ?? 'relu');
      inserted = { ...id.layer, ...tag };
      model.insertLayer(index + 1, inserted, seed, id.init);
      width = id.width;
    } else {
      width = shape[0];
      inserted = { id: freshLayerId(model.spec, 'residual'), type: 'residual', units: width, activation: activation ?? 'relu', ...tag };
      model.insertLayer(index + 1, inserted, seed); // W2 = 0: the block starts as the identity
    }
    const exact = kind === 'residual' || idempotent;
    return {
      diff: [insertedDiff(inserted.id, width)],
      selected: [{ layer: inserted.id, neuron: 0, score: 0, kind: 'layer' }],
      rejected: [],
      notes: {
        after,
        inserted: inserted.type,
        exact,
        ...(exact
          ? {}
          : {
              warning: activation
                ? `${activation} is not idempotent (φ(φ(v)) ≠ φ(v)): the identity layer changes the function (block: 'residual' keeps it)`
                : `the inserted ReLU identity layer sees ${layer.type} outputs that may be negative: the function may change (block: 'residual' keeps it)`,
            }),
      },
    };
  },
});
