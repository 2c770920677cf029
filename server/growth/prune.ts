/**
 * Pruning methods: remove the least useful neurons (channels) of each pruned layer.
 *
 * - `prune-gauss-newton`: the Gauss-Newton estimate of a prune morphism's ΔL (Lawton et al. §3.1-3.2:
 *   θ = w_in, the neuron's contribution removed), an EMA over minibatches (§3.3); per layer the neurons
 *   with the best loss-resource trade-off −ΔL − λ_p ΔR_p go. Within a layer every prune has the same ΔR_p,
 *   so that is the smallest estimated ΔL. Score: the estimated ΔL.
 * - `prune-taylor`: the first-order Taylor criterion of Molchanov et al. (2017), |Σ_x a_i(x) ∂L/∂a_i(x)|
 *   summed over the examples and the channel's positions, with a_i the activation the next layer reads
 *   (the layer's output, after per-channel batch norm / pooling); the smallest scores go. Score: that
 *   value divided by the number of examples. (No 1/M over positions nor per-layer normalisation:
 *   budgets are per layer, so neither would change which neurons go.)
 *
 * Budget per pruned layer: options.neurons, else options.ratio (default 0.1) of its width; never the
 * last neuron. Examples: options.scoreBatch (default 512), in minibatches of options.batchSize
 * (default the run's training batch size). prune-gauss-newton also reads emaDecay and gnForm (see
 * gaussNewton.ts; the per-example form ranks prunes better, see the report in the tests).
 */
import type { LayerDiff } from '../../common/protocol';
import { layerWidth } from '../model/spec';
import { diffFromSources, neuronBudget } from './diff';
import { registerMethod } from './registry';
import { Candidate, GrowContext, GrowOptions, GrowPlanResult, GrowthMethod } from './types';
import { Ema } from './gaussNewtonEma';
import { PruneGraph } from './gaussNewtonGraph';
import { targetLayers } from './gaussNewtonProbe';
import { gnForm, num } from './gaussNewtonOptions';

export const PRUNE_DEFAULT_RATIO = 0.1;

/** Neurons to remove from a layer of `width` neurons: the budget, leaving at least one. */
export function pruneBudget(width: number, o: GrowOptions): number {
  const k = neuronBudget(width, { neurons: o.neurons, ratio: o.ratio ?? PRUNE_DEFAULT_RATIO });
  return Math.max(0, Math.min(width - 1, k));
}

/** The k lowest-scoring neurons (ties: lower index first), in increasing index order. */
export function lowest(scores: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  return idx.slice(0, k).sort((a, b) => a - b);
}

export interface PruneScoresByLayer {
  /** Per layer: what ranks the neurons (lower = pruned first) and what is reported. */
  layers: Map<string, { rank: Float64Array; score: Float64Array }>;
}

type Scorer = (ctx: GrowContext, layers: string[], o: GrowOptions) => Promise<PruneScoresByLayer>;

const minibatch = (ctx: GrowContext, o: GrowOptions) =>
  Math.floor(num(o, 'batchSize', ctx.trainer.cfg.batchSize, (v) => v >= 1, 'a positive integer'));

/** Runs the prune graph over scoreBatch examples in minibatches, handing each layer's s (times the minibatch size) and GN ΔL to `each`. */
async function overMinibatches(
  ctx: GrowContext,
  layers: string[],
  o: GrowOptions,
  each: (id: string, s: Float32Array, dl: Float32Array) => void,
): Promise<number> {
  const total = Math.floor(num(o, 'scoreBatch', 512, (v) => v >= 1, 'a positive integer'));
  const batch = minibatch(ctx, o);
  const g = await PruneGraph.create(ctx.model, ctx.executor, layers, gnForm(o));
  let seen = 0;
  try {
    while (seen < total) {
      const b = ctx.scoringBatch(Math.min(batch, total - seen));
      const r = await g.run(b);
      const n = b.x.shape[0] as number;
      for (const id of layers) {
        const l = r.layers.get(id)!;
        each(
          id,
          l.s.map((v) => v * n),
          l.deltaL,
        );
      }
      seen += n;
      if (n === 0) break;
    }
  } finally {
    await g.dispose();
  }
  return seen;
}

const gaussNewtonScores: Scorer = async (ctx, layers, o) => {
  const decay = num(o, 'emaDecay', Ema.paperDecay(minibatch(ctx, o), ctx.data.train.n), (v) => v >= 0 && v < 1, 'in [0, 1)');
  const emas = new Map(layers.map((id) => [id, new Ema(layerWidth(ctx.model.layer(id).layer)!, decay)]));
  await overMinibatches(ctx, layers, o, (id, _s, dl) => emas.get(id)!.update(dl));
  return {
    layers: new Map(
      layers.map((id) => {
        const v = emas.get(id)!.value();
        return [id, { rank: v, score: v }];
      }),
    ),
  };
};

const taylorScores: Scorer = async (ctx, layers, o) => {
  // minibatch s_i = −(1/B) Σ_x a_i ∂ℓ_x/∂a_i, times B: sums over all examples
  const sums = new Map(layers.map((id) => [id, new Float64Array(layerWidth(ctx.model.layer(id).layer)!)]));
  const seen = await overMinibatches(ctx, layers, o, (id, s) => {
    const acc = sums.get(id)!;
    s.forEach((v, i) => (acc[i] -= v));
  });
  return {
    layers: new Map(
      layers.map((id) => {
        const v = sums.get(id)!.map((x) => Math.abs(x) / seen);
        return [id, { rank: v, score: v }];
      }),
    ),
  };
};

/** Score, pick each layer's budget of lowest-ranked neurons, remove them (deepest layer first). */
async function prune(ctx: GrowContext, options: GrowOptions, scorer: Scorer, what: string): Promise<GrowPlanResult> {
  const layers = targetLayers(ctx.model.spec, options.layers);
  const scores = await scorer(ctx, layers, options);
  const selected: Candidate[] = [],
    rejected: Candidate[] = [];
  const plans = layers.map((id) => {
    const { rank, score } = scores.layers.get(id)!;
    const width = rank.length;
    const gone = new Set(lowest(rank, pruneBudget(width, options)));
    rank.forEach((_, i) => (gone.has(i) ? selected : rejected).push({ layer: id, neuron: i, score: score[i], kind: 'prune' }));
    return { id, width, sources: Array.from({ length: width }, (_, i) => i).filter((i) => !gone.has(i)) };
  });
  const seed = Math.floor(ctx.rng.next() * 0x7fffffff);
  const diffs: LayerDiff[] = [];
  for (const p of [...plans].sort((a, b) => ctx.model.layer(b.id).index - ctx.model.layer(a.id).index)) {
    if (p.sources.length === p.width) continue;
    ctx.model.resizeLayer(p.id, p.sources, seed);
  }
  for (const p of plans) if (p.sources.length < p.width) diffs.push(diffFromSources(p.id, p.width, p.sources));
  return { diff: diffs, selected, rejected, notes: { score: what } };
}

const unsupported = (model: { spec: Parameters<typeof targetLayers>[0] }) =>
  targetLayers(model.spec).length === 0
    ? 'it has no dense, conv2d or resblock hidden layer whose width can change (grouped convs and channels tied by an identity shortcut are not among its morphisms)'
    : undefined;

export const pruneGaussNewton: GrowthMethod = registerMethod({
  name: 'prune-gauss-newton',
  kind: 'prune',
  description: 'Prune the neurons whose removal the Gauss-Newton approximation says costs least (Lawton et al.)',
  unsupported,
  apply: (ctx, options) =>
    prune(ctx, options, gaussNewtonScores, 'estimated ΔL of removing the neuron (Gauss-Newton, EMA over minibatches)'),
});

export const pruneTaylor: GrowthMethod = registerMethod({
  name: 'prune-taylor',
  kind: 'prune',
  description: 'Prune the neurons with the smallest first-order Taylor score |Σ a ∂L/∂a| (Molchanov et al. 2017)',
  unsupported,
  apply: (ctx, options) => prune(ctx, options, taylorScores, '|Σ_x a ∂ℓ/∂a| per example (first-order Taylor)'),
});
