/**
 * Where a neuron's morphism stays local, and the Gauss-Newton estimate of the change in loss
 * (Lawton et al., "Learning Morphisms with Gauss-Newton Approximation for Growing Networks", §3.2).
 *
 * The paper's z is "a collection of network activations" above which the network is unchanged by the
 * morphism. Here z is the tensor `u` the first channel-mixing layer after the grown layer reads (the
 * layer's own output, or that output after batch norm, pooling and flatten, which act per channel):
 * splitting neuron i replaces u_i by the mean of its two replicas' u (their outgoing weights are
 * halved), pruning it sets u_i to 0 (its outgoing weights disappear). Because the consumer is linear
 * in u, Δz·g = Σ ⟨∂L/∂u_i, Δu_i⟩ over the batch and the channel's positions, exactly.
 */
import { Value, add, div, logSoftmax, mul, neg, reduceMean, reduceSum, reshape, sub } from '../engine';
import { ModelSpec, ModelSpecError } from '../model/spec';
import { OUTPUT_SUFFIX, widthBlocker } from '../model/widthEdits';
import { GrowthError } from './types';

/** Per-channel layers: a neuron's value stays in its own channel through them. */
const PER_CHANNEL = new Set(['batchnorm', 'maxpool', 'avgpool', 'globalavgpool', 'flatten']);

/**
 * The tensor u that the consumer of layer `id`'s neurons reads: for a resblock, its hidden channels
 * relu(BN1(conv1(x))), which only its conv2 reads (linear in u, so Δz·g stays exact); otherwise
 * the output at probeIndex.
 */
export function probeValue(spec: ModelSpec, f: { layerOutputs: Value[]; blockHidden: Map<string, Value> }, id: string): Value {
  const index = spec.layers.findIndex((l) => l.id === id);
  if (spec.layers[index]?.type === 'resblock') return f.blockHidden.get(id)!;
  return f.layerOutputs[probeIndex(spec, index)];
}

/** Index (into ForwardResult.layerOutputs) of the tensor u that the layer's consumer reads. */
export function probeIndex(spec: ModelSpec, layerIndex: number): number {
  const l = spec.layers[layerIndex];
  if (!l || (l.type !== 'dense' && l.type !== 'conv2d'))
    throw new ModelSpecError(`layer ${l?.id ?? layerIndex} is not a dense or conv2d layer`);
  let k = layerIndex + 1;
  while (k < spec.layers.length && PER_CHANNEL.has(spec.layers[k].type)) k++;
  return k - 1;
}

/** u as [N, channels, positions] (images flatten channel-major, so channels stay the outer axis). */
export function byChannel(u: Value, channels: number): Value {
  const size = (u.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  if (size % channels !== 0) throw new Error(`internal: ${size} features do not split into ${channels} channels`);
  return reshape(u, ['N', channels, size / channels]);
}

/** Σ over the batch and positions of a [N, C, G] tensor: one value per channel, [C]. */
export function channelSum(v: Value): Value {
  return reduceSum(v, [0, 2]);
}

/**
 * ΔL ≈ Δz·g + (Δz·g)² / (4 L̂) (§3.2, Gauss-Newton H ≈ g gᵀ / (2 L̂)), with s = Δz·g per candidate
 * computed on one minibatch (g the gradient of that minibatch's mean loss L̂).
 */
export function gaussNewtonDeltaL(s: Value, loss: Value): Value {
  // + 1e-30 only keeps 0/0 out where the loss is exactly zero (then g = 0 and s = 0 too)
  return add(s, div(mul(s, s), add(mul(loss, 4), 1e-30)));
}

const MORPHABLE = new Set(['dense', 'conv2d', 'resblock']);

/**
 * The layers a method grows or prunes: `ids` (each dense, conv2d or resblock: its hidden channels),
 * else every such hidden layer whose width can change (not a grouped conv, nor channels tied by an
 * identity shortcut).
 */
export function targetLayers(spec: ModelSpec, ids?: readonly string[]): string[] {
  const all = spec.layers.filter((l, i) => MORPHABLE.has(l.type) && widthBlocker(spec, i) === undefined).map((l) => l.id);
  if (!ids) return all;
  for (const id of ids) {
    // A stage's output channels are the sum of a conv path and a shortcut: the paper's Δz·g is taken
    // on one layer's own activations (Gauss-Newton paper §3), which these channels are not.
    if (id.endsWith(OUTPUT_SUFFIX) && spec.layers.some((x) => x.type === 'resblock' && `${x.id}${OUTPUT_SUFFIX}` === id))
      throw new GrowthError(
        `"${id}" is a resblock's output channels, summed with its shortcut across the stage: Gauss-Newton split and prune morphisms act on one layer's own channels (name "${id.slice(0, -OUTPUT_SUFFIX.length)}" for the block's hidden channels); widen "${id}" with net2net-wider or firefly`,
      );
    const i = spec.layers.findIndex((x) => x.id === id);
    const l = spec.layers[i];
    if (!l) throw new GrowthError(`no layer "${id}" (layers: ${spec.layers.map((x) => x.id).join(', ')})`);
    if (!MORPHABLE.has(l.type))
      throw new GrowthError(
        `layer "${id}" is ${l.type}: only dense, conv2d and resblock (hidden channels) layers have split and prune morphisms here`,
      );
    const blocked = widthBlocker(spec, i);
    if (blocked) throw new GrowthError(blocked);
  }
  return [...ids];
}

/**
 * How the expectation is taken. 'batch' (the paper's, §3.2-3.3): z stacks the whole minibatch, g is
 * the gradient of the minibatch's mean loss L̂, one Gauss-Newton term (Δz·g)²/(4L̂) per minibatch.
 * 'example': the same approximation per example, averaged: mean_x [e_x + e_x²/(4 ℓ_x)], e_x = Δz_x·∇ℓ_x.
 */
export type GnForm = 'batch' | 'example';

/** Per-example loss [N] of the task (the summands of the model's mean loss). */
export function perExampleLoss(task: ModelSpec['task'], output: Value, y: Value): Value {
  if (task === 'classification') return neg(reduceSum(mul(logSoftmax(output, 1), y), [1]));
  const d = sub(output, y);
  return reduceMean(mul(d, d), [1]);
}

/** mean_x [e + e²/(4ℓ_x)] for e [N, C] (per example and candidate) and ℓ [N]: one value per candidate. */
export function gaussNewtonDeltaLPerExample(e: Value, lossN: Value): Value {
  const l = reshape(lossN, ['N', 1]);
  return reduceMean(add(e, div(mul(e, e), add(mul(l, 4), 1e-30))), [0]);
}
