/**
 * NASH (Elsken, Metzen and Hutter 2017, "Simple and efficient architecture search for convolutional
 * neural networks"), the depth-growth baseline of the Firefly paper (Table 3): hill climbing over network
 * morphisms. One grow step builds `neighbours` candidate networks (default 8, NASH's n_neigh), each the
 * current network after `morphisms` random function-preserving morphisms (default 1), trains each for
 * `fineTuneSteps` minibatches with the run's optimiser settings (default 100), and keeps the one with the
 * lowest loss on a sample of the training set (`scoreBatch` rows, default 512), trained weights included.
 *
 * The morphisms, as the Firefly paper's App. B.2 reads NASH:
 *  - Type I, deeper: insert an identity layer after a random hidden dense or conv2d layer (Net2DeeperNet:
 *    an identity dense/3x3 conv after a ReLU or linear layer, else a residual block with a zero output);
 *  - Type II, wider: widen a random hidden dense or conv2d layer by 25 % of its width (`widenRatio`),
 *    each new neuron a copy of a random existing one with the outgoing weights shared (Net2WiderNet).
 * Each is drawn with probability 1/2; within one neighbour no layer is morphed twice (an inserted layer is
 * not widened in the same step), so every layer's diff is one morphism's.
 *
 * `perBlock: true` (the Firefly paper's App. B.2 depth protocol, on a net of preset blocks): every
 * neighbour applies both types, "grow the total width of the existing layers by 25% and then randomly
 * insert one layer in each block": Type II over all hidden layers at once (Net2WiderNet, `widenRatio`
 * of the total width shared out in proportion to the widths), then Type I after a random dense/conv2d
 * layer of each block (the identity layer joins that block).
 *
 * `widenOnly: true` (the Firefly paper's App. B.2 width protocol, Fig. 4: "we only apply Network
 * morphism Type II ... equivalent to growing the network width by randomly splitting the existing
 * neurons"): every neighbour is Type II over all hidden layers at once (`widenRatio` of the total width,
 * the paper's 30 %, shared out in proportion to the widths), the neighbours differing in which neurons
 * are split. Not with perBlock.
 *
 * The chosen neighbour's morphisms are replayed on the live model with the same seeds (so its optimiser
 * moments follow: kept neurons keep theirs, copies and inserted layers start at zero), then the trained
 * weights of the neighbour are copied in.
 */
import type { LayerDiff } from '../../common/protocol';
import type { GrowableModel } from '../model/growable';
import { Rng } from '../random';
import { intOption } from './firefly';
import { net2netDeeper, net2netWider } from './net2net';
import { widthBlocker } from '../model/widthEdits';
import { Trainer } from '../trainer/trainer';
import { fineTune, sampleSplit } from './randSearch';
import { registerMethod } from './registry';
import { Candidate, GrowContext, GrowOptions, GrowPlanResult, GrowthError, GrowthMethod } from './types';

export const NASH_DEFAULTS = { neighbours: 8, morphisms: 1, fineTuneSteps: 100, scoreBatch: 512, widenRatio: 0.25 };

export interface Morphism {
  /** `wider-all`: every hidden layer at once (layer '*'). */
  type: 'deeper' | 'wider' | 'wider-all';
  layer: string;
  seed: number;
}

const morphable = (model: GrowableModel): string[] =>
  model.spec.layers.filter((l) => l.type === 'dense' || l.type === 'conv2d' || l.type === 'resblock').map((l) => l.id);

/** Draws a neighbour's morphisms: `n` distinct hidden layers (fewer when the model has fewer), each deeper or wider with probability 1/2. */
export function drawMorphisms(model: GrowableModel, n: number, rng: Rng): Morphism[] {
  const ids = morphable(model);
  const order = rng.permutation(ids.length);
  const out: Morphism[] = [];
  for (let k = 0; k < Math.min(n, ids.length); k++) {
    const layer = ids[order[k]];
    const drawn = rng.uniform() < 0.5 ? 'deeper' : 'wider';
    // A layer whose width cannot change (a grouped conv, channels tied by an identity shortcut) only deepens.
    const type = drawn === 'wider' && widthBlocker(model.spec, model.layer(layer).index) ? 'deeper' : drawn;
    out.push({ type, layer, seed: rng.int(2 ** 31) });
  }
  return out;
}

/** App. B.2's neighbour: widen all layers by widenRatio of the total width, then one identity layer after a random layer of each block. */
export function drawBlockMorphisms(model: GrowableModel, rng: Rng): Morphism[] {
  const blocks: string[] = [];
  for (const l of model.spec.layers) if (l.block !== undefined && !blocks.includes(l.block)) blocks.push(l.block);
  if (blocks.length === 0) throw new GrowthError('option perBlock needs a model made of preset blocks (model.preset)');
  const out: Morphism[] = [{ type: 'wider-all', layer: '*', seed: rng.int(2 ** 31) }];
  for (const b of blocks) {
    const ids = model.spec.layers.filter((l) => l.block === b && (l.type === 'dense' || l.type === 'conv2d')).map((l) => l.id);
    if (ids.length === 0) continue;
    out.push({ type: 'deeper', layer: ids[rng.int(ids.length)], seed: rng.int(2 ** 31) });
  }
  return out;
}

/** App. B.2's width neighbour: Type II only, over all hidden layers at once (a random split of widenRatio of the total width). */
export function drawWidenMorphisms(rng: Rng): Morphism[] {
  return [{ type: 'wider-all', layer: '*', seed: rng.int(2 ** 31) }];
}

/** Applies the morphisms to `model` in place (each with an Rng of its own seed); returns the diffs and what was done. */
export async function applyMorphisms(
  ctx: GrowContext,
  model: GrowableModel,
  morphs: readonly Morphism[],
  widenRatio: number,
): Promise<{ diff: LayerDiff[]; selected: Candidate[] }> {
  const diff: LayerDiff[] = [];
  const selected: Candidate[] = [];
  for (const m of morphs) {
    const sub: GrowContext = { ...ctx, model, rng: new Rng(m.seed) };
    const r =
      m.type === 'deeper'
        ? await net2netDeeper.apply(sub, { after: m.layer })
        : await net2netWider.apply(sub, m.type === 'wider-all' ? { ratio: widenRatio } : { layers: [m.layer], ratio: widenRatio });
    diff.push(...r.diff.filter((d) => d.inserted || d.split.length + d.added.length + d.removed.length > 0));
    selected.push(...r.selected.map((c) => ({ ...c, kind: m.type === 'deeper' ? 'layer' : 'widen' })));
  }
  return { diff, selected };
}

export async function nash(ctx: GrowContext, options: GrowOptions): Promise<GrowPlanResult> {
  const model = ctx.model;
  if (morphable(model).length === 0) throw new GrowthError('nash: the model has no hidden dense or conv2d layer to morph');
  const neighbours = intOption(options, 'neighbours', NASH_DEFAULTS.neighbours, 1);
  const morphisms = intOption(options, 'morphisms', NASH_DEFAULTS.morphisms, 1);
  const fineTuneSteps = intOption(options, 'fineTuneSteps', NASH_DEFAULTS.fineTuneSteps);
  const scoreBatch = intOption(options, 'scoreBatch', NASH_DEFAULTS.scoreBatch, 1);
  const widenRatio = options.widenRatio ?? NASH_DEFAULTS.widenRatio;
  if (typeof widenRatio !== 'number' || !(widenRatio > 0) || widenRatio > 4)
    throw new GrowthError(`nash: option widenRatio must be a number in (0, 4], got ${JSON.stringify(widenRatio)}`);
  if (options.perBlock !== undefined && typeof options.perBlock !== 'boolean')
    throw new GrowthError(`nash: option perBlock must be true or false, got ${JSON.stringify(options.perBlock)}`);
  if (options.widenOnly !== undefined && typeof options.widenOnly !== 'boolean')
    throw new GrowthError(`nash: option widenOnly must be true or false, got ${JSON.stringify(options.widenOnly)}`);
  if (options.widenOnly && options.perBlock) throw new GrowthError('nash: options widenOnly and perBlock exclude each other');
  const draw = (): Morphism[] =>
    options.widenOnly
      ? drawWidenMorphisms(ctx.rng)
      : options.perBlock
        ? drawBlockMorphisms(model, ctx.rng)
        : drawMorphisms(model, morphisms, ctx.rng);
  const score = sampleSplit(ctx, scoreBatch);

  const trials: { morphs: Morphism[]; model: GrowableModel; loss: number; selected: Candidate[] }[] = [];
  try {
    for (let t = 0; t < neighbours; t++) {
      const morphs = draw();
      const cand = model.clone();
      const { selected } = await applyMorphisms(ctx, cand, morphs, widenRatio);
      const loss = await fineTune(ctx, cand, fineTuneSteps, score);
      trials.push({ morphs, model: cand, loss: Number.isFinite(loss) ? loss : Infinity, selected });
    }
  } catch (e) {
    throw e instanceof GrowthError ? new GrowthError(`nash: ${e.message}`) : e;
  }
  const best = trials.reduce((a, b) => (b.loss < a.loss ? b : a));

  // Replay the best neighbour's morphisms on the live model (bookkeeping, moments), then take its trained weights.
  const { diff, selected } = await applyMorphisms(ctx, model, best.morphs, widenRatio);
  for (const p of model.params()) {
    const w = best.model.tensors.get(p.name);
    if (!w || w.length !== model.tensors.get(p.name)!.length)
      throw new Error(`nash: replayed model differs from the neighbour at ${p.name}`);
    model.tensors.set(p.name, Float32Array.from(w));
  }
  // The live model now computes what the chosen neighbour did: its loss on the scoring sample, for the log.
  const check = new Trainer(model, ctx.data, ctx.trainer.cfg, ctx.executor);
  let keptLoss: number;
  try {
    keptLoss = (await check.evaluate(score)).loss;
  } finally {
    await check.dispose();
  }
  const scored = (t: (typeof trials)[number], sel: Candidate[]): Candidate[] => sel.map((c) => ({ ...c, score: t.loss }));
  return {
    diff,
    selected: scored(best, selected),
    rejected: trials.filter((t) => t !== best).flatMap((t) => scored(t, t.selected)),
    notes: {
      neighbours,
      morphisms,
      perBlock: options.perBlock === true,
      widenOnly: options.widenOnly === true,
      fineTuneSteps,
      widenRatio,
      keptLoss,
      chosen: best.morphs.map((m) => `${m.type} ${m.layer}`),
      neighbourLosses: trials.map((t) => t.loss),
      neighbourMorphisms: trials.map((t) => t.morphs.map((m) => `${m.type} ${m.layer}`).join(', ')),
    },
  };
}

export const nashMethod: GrowthMethod = registerMethod({
  name: 'nash',
  kind: 'grow',
  description:
    'NASH (Elsken et al. 2017): best of 8 neighbours, each one random morphism (insert an identity layer, or widen a layer by 25 %), after training',
  unsupported: (m) => (morphable(m).length > 0 ? undefined : 'no dense or conv2d hidden layer'),
  apply: nash,
});
