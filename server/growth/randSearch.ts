/**
 * The RandSearch baselines of the Firefly paper (Wu et al. 2020, §3 "Toy RBF Network", App. B.1):
 *  - `random-split` (RandSearch (split)): pick neurons at random and split each in a random direction,
 *    θ ± ϵ δ with δ a random direction (N(0, 1/d) per entry, norm ≈ 1), outgoing weights halved;
 *  - `random-split-new` (RandSearch (split+new)): the same, with m' = 5 randomly initialised brand-new
 *    neurons per grown layer in the candidate set (incoming and outgoing weights from N(0, 0.1), App.
 *    B.1, read as variance 0.1). "The same candidate set of growing operations" as Firefly (§3): the
 *    random choice is among the m splits and m' new neurons of each grown layer.
 * A candidate network takes η random operations (η from neurons / ratio, as for Firefly; one neuron per
 * grow in the toy); k candidates (options.k, default 3 "to match the time cost", §3) are each
 * fine-tuned for options.fineTuneSteps (default 100, App. B.1) with the run's optimiser settings by a
 * Trainer of their own on the run's executor, and the one with the lowest loss on a scoring sample of
 * the training set (options.scoreBatch examples, default 512) is kept — fine-tuned weights included.
 * Kept neurons keep the live model's optimiser moments; new and second copies start at zero.
 */
import { floatRows } from '../datasets/rows';
import type { DataSplit, FloatSplit } from '../datasets/types';
import type { GrowableModel } from '../model/growable';
import { layerWidth } from '../model/spec';
import { Trainer } from '../trainer/trainer';
import { diffFromSources, neuronBudget } from './diff';
import { DEFAULT_NEW_NEURONS, NEW_NEURON_VARIANCE, commitWidth, grownLayers, intOption } from './firefly';
import { FIREFLY_DEFAULTS, gaussian } from './fireflyOptimize';
import { WidthLayout, WidthPlan, planSources, range } from './fireflyWidth';
import { registerMethod } from './registry';
import { Candidate, GrowContext, GrowOptions, GrowPlanResult, GrowthError, GrowthMethod } from './types';

interface Op {
  layer: string;
  kind: 'split' | 'new';
  neuron: number;
}

export const RANDSEARCH_DEFAULTS = { k: 3, fineTuneSteps: 100, scoreBatch: 512 };

/** A random sample of training rows as a split (for Trainer.evaluate). */
export function sampleSplit(ctx: GrowContext, n: number): FloatSplit {
  const train = ctx.data.train;
  const m = Math.min(n, train.n);
  const f = ctx.data.inputShape.reduce((a, b) => a * b, 1);
  const w = ctx.data.numClasses > 0 ? 1 : ctx.data.targetSize;
  return floatRows(train, f, w, ctx.rng.permutation(train.n).subarray(0, m));
}

/** Train a model for `steps` minibatches of the run's settings on its own Trainer; returns the scoring loss. */
export async function fineTune(ctx: GrowContext, model: GrowableModel, steps: number, score: DataSplit): Promise<number> {
  const tr = new Trainer(model, ctx.data, ctx.trainer.cfg, ctx.executor);
  try {
    const n = ctx.data.train.n;
    const bs = Math.min(ctx.trainer.cfg.batchSize, n);
    let order = ctx.rng.permutation(n);
    let start = 0;
    for (let s = 0; s < steps; s++) {
      if (start + bs > n) {
        order = ctx.rng.permutation(n);
        start = 0;
      }
      await tr.step(order, start, bs);
      start += bs;
    }
    return (await tr.evaluate(score)).loss;
  } finally {
    await tr.dispose();
  }
}

/** Plans of one random candidate: the chosen splits and the number of new neurons per layer. */
function plansOf(model: GrowableModel, ids: string[], ops: Op[]): WidthPlan[] {
  let offset = 0;
  return ids
    .map((id) => {
      const m = layerWidth(model.layer(id).layer)!;
      const split = ops
        .filter((o) => o.layer === id && o.kind === 'split')
        .map((o) => o.neuron)
        .sort((a, b) => a - b);
      const fresh = ops.filter((o) => o.layer === id && o.kind === 'new').length;
      const p: WidthPlan = { id, m, split, fresh: range(fresh), mNew: fresh, offset };
      offset += m + fresh;
      return p;
    })
    .filter((p) => p.split.length + p.fresh.length > 0);
}

export async function randSearch(ctx: GrowContext, options: GrowOptions, withNew: boolean): Promise<GrowPlanResult> {
  const model = ctx.model;
  const ids = grownLayers(model, options);
  if (ids.length === 0) throw new GrowthError('the model has no dense or conv2d hidden layer to grow');
  const k = intOption(options, 'k', RANDSEARCH_DEFAULTS.k, 1);
  const fineTuneSteps = intOption(options, 'fineTuneSteps', RANDSEARCH_DEFAULTS.fineTuneSteps);
  const scoreBatch = intOption(options, 'scoreBatch', RANDSEARCH_DEFAULTS.scoreBatch, 1);
  const mNew = withNew ? intOption(options, 'newNeurons', DEFAULT_NEW_NEURONS) : 0;
  const epsilon = options.epsilon ?? FIREFLY_DEFAULTS.epsilon;
  if (typeof epsilon !== 'number' || !(epsilon >= 0))
    throw new GrowthError(`option epsilon must be a number ≥ 0, got ${JSON.stringify(epsilon)}`);

  const pool: Op[] = [];
  let total = 0;
  for (const id of ids) {
    const m = layerWidth(model.layer(id).layer)!;
    total += m;
    for (let i = 0; i < m; i++) pool.push({ layer: id, kind: 'split', neuron: i });
    for (let j = 0; j < mNew; j++) pool.push({ layer: id, kind: 'new', neuron: m + j });
  }
  const budget = Math.min(neuronBudget(total, options), pool.length);
  const notes: Record<string, unknown> = { k, fineTuneSteps, epsilon, newNeurons: mNew, budget };
  if (budget === 0) return { diff: [], selected: [], rejected: [], notes };
  const score = sampleSplit(ctx, scoreBatch);

  const trials: { ops: Op[]; plans: WidthPlan[]; model: GrowableModel; loss: number }[] = [];
  for (let t = 0; t < k; t++) {
    const ops = Array.from(ctx.rng.permutation(pool.length).subarray(0, budget), (i) => pool[i]);
    const plans = plansOf(model, ids, ops);
    const layout = new WidthLayout(model, plans);
    const count = plans.length ? plans[plans.length - 1].offset + plans[plans.length - 1].m + plans[plans.length - 1].mNew : 0;
    // ε = ϵ on the chosen splits (0 elsewhere: unchanged neurons), 1 on new neurons (outgoing = δ_out)
    const eps = new Float32Array(count);
    for (const p of plans) {
      for (const i of p.split) eps[p.offset + i] = epsilon;
      for (let j = 0; j < p.mNew; j++) eps[p.offset + p.m + j] = 1;
    }
    const specs = layout.deltas();
    const dims = new Map<number, number>();
    for (const d of specs) dims.set(d.offset, (dims.get(d.offset) ?? 0) + d.shape.reduce((a, b) => a * b, 1) / d.count);
    const deltas: Record<string, Float32Array> = {};
    for (const d of specs)
      deltas[d.key] = gaussian(
        ctx.rng,
        d.shape.reduce((a, b) => a * b, 1),
        d.kind === 'split' ? 1 / dims.get(d.offset)! : NEW_NEURON_VARIANCE,
      );
    const cand = model.clone();
    await commitWidth(ctx, layout, eps, deltas, cand);
    const loss = await fineTune(ctx, cand, fineTuneSteps, score);
    trials.push({ ops, plans, model: cand, loss });
  }
  const best = trials.reduce((a, b) => (b.loss < a.loss ? b : a));

  // commit: the same edits on the live model (bookkeeping, moments), then the best candidate's weights
  for (const p of best.plans) model.splitNeurons(p.id, planSources(p), ctx.rng.int(0x7fffffff));
  for (const p of model.params()) model.tensors.set(p.name, Float32Array.from(best.model.tensors.get(p.name)!));

  const cands = (t: (typeof trials)[number]): Candidate[] =>
    t.ops.map((o) => ({ layer: o.layer, neuron: o.neuron, score: t.loss, kind: o.kind }));
  return {
    diff: best.plans.map((p) => diffFromSources(p.id, p.m, planSources(p))),
    selected: cands(best),
    rejected: trials.filter((t) => t !== best).flatMap(cands),
    notes: { ...notes, trialLosses: trials.map((t) => t.loss) },
  };
}

export const randomSplit: GrowthMethod = registerMethod({
  name: 'random-split',
  kind: 'grow',
  description: 'RandSearch (split): best of k random splits after fine-tuning (Firefly paper baseline, §3)',
  unsupported: (m) =>
    m.spec.layers.some((l) => l.type === 'dense' || l.type === 'conv2d') ? undefined : 'no dense or conv2d hidden layer',
  apply: (ctx, options) => randSearch(ctx, options, false),
});

export const randomSplitNew: GrowthMethod = registerMethod({
  name: 'random-split-new',
  kind: 'grow',
  description: 'RandSearch (split+new): best of k random splits or brand-new neurons after fine-tuning (Firefly paper baseline, §3)',
  unsupported: randomSplit.unsupported,
  apply: (ctx, options) => randSearch(ctx, options, true),
});
