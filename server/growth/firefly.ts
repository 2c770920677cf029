/**
 * Firefly neural architecture descent, growing wider (Wu et al. 2020, §2.2, Algorithm 1 steps 2–3):
 * `firefly` splits existing neurons and adds brand-new ones; `firefly-split` only splits (m' = 0).
 *
 * 1. Over-grown candidate (§2.2): in every grown layer each neuron i is split into
 *    ½(σ(θ_i + ε_i δ_i) + σ(θ_i − ε_i δ_i)) (δ_i over its incoming weights and bias) and m' brand-new
 *    neurons ε_j σ(x, δ_j) are added (δ_j: incoming weights, bias and outgoing weights); at ε = 0 the
 *    function is unchanged. Built with model.clone() + splitNeurons (sources [0..m-1, 0..m-1, -1 × m'])
 *    for the bookkeeping and ModelGraph overrides for the grown layer's incoming tensors and its
 *    consumer's fan-in rows (fireflyWidth.ts).
 * 2. Step one and step two (fireflyOptimize.ts): a few Adam steps on ε, δ with penalties, then the
 *    integrated-gradient scores s_i.
 * 3. One selection over all grown layers: the top η by |s_i| (η from `neurons` / `ratio` of the grown
 *    layers' total width, neuronBudget), committed with ε̂_i = −ϵ sign(s_i) (eq. 5): selected splits
 *    become θ_i ± ε̂_i δ̃_i with outgoing weights halved, selected new neurons get δ̃_j^in and outgoing
 *    weights ε̂_j δ̃_j^out; rejected candidates leave no trace. Kept neurons keep their optimiser moments.
 *
 * Options (besides ratio / neurons / layers / scoreBatch):
 *  - newNeurons (m'): brand-new candidates per grown layer. Default 5: the paper's toy (§3, App. B.1)
 *    uses m' = 5 and its Figure 3(b) shows the gain saturating at 5; VGG (§3) uses 50 — set it for
 *    large conv nets. firefly-split always uses 0.
 *  - epsilon (ϵ, default 0.01, absolute: δ_i lies in the unit ball, so a split moves a neuron by ≤ 0.01),
 *    steps (step one, default 20; App. B.1 trains the expanded toy network 100 iterations),
 *    integrationPoints (n, default 3, §2.2), epsLr, deltaLr, penalty (fireflyOptimize.ts).
 *  - δ_j of new neurons start from N(0, 0.1) (App. B.1; read as variance 0.1, as N(0, 3) is read for the
 *    rbf-toy ground truth), projected onto the unit ball; split directions δ_i start from N(0, 1/d) per
 *    entry (d = parameters of the neuron), a random direction of norm ≈ 1.
 */
import { Graph, Value } from '../engine';
import type { GrowableModel } from '../model/growable';
import { layerWidth } from '../model/spec';
import { OUTPUT_SUFFIX, widthBlocker, widthEdits } from '../model/widthEdits';
import { diffFromSources, neuronBudget, topK } from './diff';
import { DeltaSpec, FireflySettings, fireflySettings, gaussian, optimizeAndScore } from './fireflyOptimize';
import { WidthLayout, WidthPlan, WidthValues, planSources, range } from './fireflyWidth';
import { ModelGraph, runOnce } from './modelGraph';
import { registerMethod } from './registry';
import { Candidate, GrowContext, GrowOptions, GrowPlanResult, GrowthError, GrowthMethod } from './types';

/** Variance of the entries of a brand-new neuron (App. B.1: N(0, 0.1)). */
export const NEW_NEURON_VARIANCE = 0.1;
export const DEFAULT_NEW_NEURONS = 5;

/**
 * The layers a width method grows: options.layers, else every dense, conv2d and resblock (hidden
 * channels) layer whose width can change (not a grouped conv, nor channels tied by an identity shortcut).
 */
export function grownLayers(model: GrowableModel, options: GrowOptions): string[] {
  const ids = listedLayers(model, options);
  // A layer whose channels run through another grown layer's kernel before reaching their consumer
  // (a ResNet stem through stage 1's blocks) is built in one expression with it only when it is that
  // kernel's last consumer; otherwise they grow in separate steps: by default the blocks now.
  for (let c = widthConflict(model, ids); c; c = widthConflict(model, ids)) {
    if (options.layers !== undefined)
      throw new GrowthError(
        `layers "${c[0]}" and "${c[1]}" cannot grow wider in the same firefly step: "${c[0]}"'s channels run through "${c[1]}"; grow them in separate steps`,
      );
    ids.splice(ids.indexOf(c[0]), 1);
  }
  return ids;
}

/** A grown layer whose non-final width edits touch another grown layer's incoming tensors, and that layer. */
function widthConflict(model: GrowableModel, ids: string[]): [string, string] | undefined {
  const ins = new Map<string, string>();
  for (const id of ids) for (const e of widthEdits(model.spec, id)) if (e.role === 'in') ins.set(e.name, id);
  for (const id of ids) {
    const edits = widthEdits(model.spec, id);
    const hit = edits.slice(0, -1).find((e) => e.role !== 'in' && ins.has(e.name) && ins.get(e.name) !== id);
    if (hit) return [id, ins.get(hit.name)!];
  }
  return undefined;
}

function listedLayers(model: GrowableModel, options: GrowOptions): string[] {
  // Width targets in model order: a resblock's hidden channels, then its output channels (`<id>/out`).
  const kinds = model.spec.layers
    .filter((l) => l.type === 'dense' || l.type === 'conv2d' || l.type === 'resblock')
    .flatMap((l) => (l.type === 'resblock' ? [l.id, `${l.id}${OUTPUT_SUFFIX}`] : [l.id]));
  if (options.layers === undefined) return kinds.filter((id) => widthBlocker(model.spec, id) === undefined);
  if (!Array.isArray(options.layers) || options.layers.length === 0)
    throw new GrowthError('option layers must be a non-empty list of layer ids');
  for (const id of options.layers) {
    const i = model.spec.layers.findIndex((x) => x.id === id || `${x.id}${OUTPUT_SUFFIX}` === id);
    const l = model.spec.layers[i];
    if (!l) throw new GrowthError(`no layer "${id}" (layers: ${model.spec.layers.map((x) => x.id).join(', ')})`);
    if (l.type !== 'dense' && l.type !== 'conv2d' && l.type !== 'resblock')
      throw new GrowthError(`layer "${id}" is a ${l.type} layer; only dense, conv2d and resblock layers can grow wider`);
    const blocked = widthBlocker(model.spec, id);
    if (blocked) throw new GrowthError(blocked);
  }
  // model order, no duplicates
  return kinds.filter((id) => (options.layers as string[]).includes(id));
}

export function intOption(options: GrowOptions, key: string, fallback: number, min = 0): number {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new GrowthError(`option ${key} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function seedOf(ctx: GrowContext): number {
  return ctx.rng.int(0x7fffffff);
}

/** Plans with every neuron split and all m' new neurons: the over-grown network. */
export function candidatePlans(model: GrowableModel, ids: string[], mNew: number): WidthPlan[] {
  let offset = 0;
  return ids.map((id) => {
    const m = model.width(id);
    const p: WidthPlan = { id, m, split: range(m), fresh: range(mNew), mNew, offset };
    offset += m + mNew;
    return p;
  });
}

/** Starting δ: random unit-scale directions for splits, N(0, 0.1) for new neurons. */
function initialDeltas(layout: WidthLayout, ctx: GrowContext): DeltaSpec[] {
  const specs = layout.deltas();
  const dims = new Map<number, number>();
  for (const d of specs) dims.set(d.offset, (dims.get(d.offset) ?? 0) + d.shape.reduce((a, b) => a * b, 1) / d.count);
  return specs.map((d) => {
    const n = d.shape.reduce((a, b) => a * b, 1);
    const variance = d.kind === 'split' ? 1 / dims.get(d.offset)! : NEW_NEURON_VARIANCE;
    return {
      key: d.key,
      shape: d.shape,
      axis: d.axis,
      group: d.group,
      offset: d.offset,
      count: d.count,
      init: gaussian(ctx.rng, n, variance),
    };
  });
}

/**
 * Write a plan set into a model (the live one, or a clone with the same weights): splitNeurons with the
 * plans' sources (bookkeeping, moments), then the grown tensors computed by the engine from the same
 * expressions the candidate used.
 */
export async function commitWidth(
  ctx: GrowContext,
  layout: WidthLayout,
  eps: Float32Array,
  deltas: Record<string, Float32Array>,
  model: GrowableModel = ctx.model,
): Promise<void> {
  const names = layout.names();
  const before = new Map(names.map((n) => [n, model.tensors.get(n)!]));
  const g = new Graph('firefly-commit');
  const inputs = new Map<string, Value>();
  const input = (name: string, shape: number[]) => {
    let v = inputs.get(name);
    if (!v) inputs.set(name, (v = g.input(name, 'float32', shape)));
    return v;
  };
  const values: WidthValues = {
    orig: (name) => input(`orig:${name}`, layout.shapeOf(name)),
    eps: () => input('eps', [eps.length]),
    delta: (key, shape) => input(key, shape),
  };
  const outputs: Record<string, Value> = {};
  for (const n of names) outputs[`out:${n}`] = layout.expression(n, values)!;
  const feeds: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, v] of inputs) {
    const data = name === 'eps' ? eps : name.startsWith('orig:') ? before.get(name.slice(5))! : deltas[name];
    if (!data) throw new Error(`internal: no value for ${name}`);
    feeds[name] = { dtype: 'float32', shape: v.shape as number[], data };
  }
  const [out] = await runOnce(ctx.executor, g, outputs, [feeds]);
  for (const { plan } of layout.layers) model.splitNeurons(plan.id, planSources(plan), seedOf(ctx));
  for (const n of names) {
    const t = out[`out:${n}`];
    const size = model.shapeOf(n).reduce((a, b) => a * b, 1);
    if (t.length !== size) throw new Error(`internal: ${n} computed with ${t.length} values, the grown model has ${size}`);
    model.tensors.set(n, t);
  }
}

export interface OverGrown {
  plans: WidthPlan[];
  layout: WidthLayout;
  /** The live model cloned and split with the candidate sources (bookkeeping of the other tensors). */
  clone: GrowableModel;
  /** The candidate network; ε is extra('eps', [count]), δ are extras by DeltaSpec key. */
  mg: ModelGraph;
  count: number;
  deltas: DeltaSpec[];
  /** The original tensors the expressions read (extras `orig:<name>`). */
  fixed: Record<string, Float32Array>;
}

/** The over-grown candidate network of a set of plans (every neuron split, all m' new neurons). */
export function overGrown(ctx: GrowContext, plans: WidthPlan[]): OverGrown {
  const model = ctx.model;
  const count = plans.reduce((a, p) => a + p.m + p.mNew, 0);
  const layout = new WidthLayout(model, plans);
  const clone = model.clone();
  for (const p of plans) clone.splitNeurons(p.id, planSources(p), seedOf(ctx));
  const overridden = new Set(layout.names());
  const values = (mg: ModelGraph): WidthValues => ({
    orig: (name) => mg.extra(`orig:${name}`, layout.shapeOf(name)),
    eps: () => mg.extra('eps', [count]),
    delta: (key, shape) => mg.extra(key, shape),
  });
  const mg = ModelGraph.of(clone, (name, _base, g) => (overridden.has(name) ? layout.expression(name, values(g)) : undefined));
  const fixed: Record<string, Float32Array> = {};
  for (const n of overridden) fixed[`orig:${n}`] = model.tensors.get(n)!;
  return { plans, layout, clone, mg, count, deltas: initialDeltas(layout, ctx), fixed };
}

export interface FireflyWiderOptions {
  splitOnly: boolean;
}

export async function fireflyWider(ctx: GrowContext, options: GrowOptions, how: FireflyWiderOptions): Promise<GrowPlanResult> {
  const model = ctx.model;
  const ids = grownLayers(model, options);
  if (ids.length === 0) throw new GrowthError('the model has no dense or conv2d hidden layer to grow');
  let s: FireflySettings;
  try {
    s = fireflySettings(options);
  } catch (e) {
    throw new GrowthError((e as Error).message);
  }
  const mNew = how.splitOnly ? 0 : intOption(options, 'newNeurons', DEFAULT_NEW_NEURONS);
  const plans = candidatePlans(model, ids, mNew);
  const total = plans.reduce((a, p) => a + p.m, 0);
  const count = plans.reduce((a, p) => a + p.m + p.mNew, 0);
  const budget = Math.min(neuronBudget(total, options), count);

  // 1. the over-grown network
  const cand = overGrown(ctx, plans);
  const { mg, clone, deltas: deltaSpecs, fixed } = cand;

  // 2. step one and step two
  const r = await optimizeAndScore(ctx, { mg, count, deltas: deltaSpecs, fixed, tensors: clone.tensors }, s);

  // 3. one selection across the grown layers, then commit
  const cands: (Candidate & { index: number })[] = [];
  for (const p of plans) {
    for (let i = 0; i < p.m; i++)
      cands.push({ layer: p.id, neuron: i, score: Math.abs(r.scores[p.offset + i]), kind: 'split', index: p.offset + i });
    for (let j = 0; j < p.mNew; j++)
      cands.push({ layer: p.id, neuron: p.m + j, score: Math.abs(r.scores[p.offset + p.m + j]), kind: 'new', index: p.offset + p.m + j });
  }
  const { selected, rejected } = topK(cands, budget, (c) => c.score);
  const epsHat = new Float32Array(count);
  for (const c of selected) epsHat[c.index] = -s.epsilon * Math.sign(r.scores[c.index] || 1);
  const chosen = new Set(selected.map((c) => c.index));
  const commitPlans: WidthPlan[] = plans
    .map((p) => ({
      ...p,
      split: range(p.m).filter((i) => chosen.has(p.offset + i)),
      fresh: range(p.mNew).filter((j) => chosen.has(p.offset + p.m + j)),
    }))
    .filter((p) => p.split.length + p.fresh.length > 0);
  const diff = commitPlans.map((p) => diffFromSources(p.id, p.m, planSources(p)));
  if (commitPlans.length) await commitWidth(ctx, new WidthLayout(model, commitPlans), epsHat, r.deltas);

  const strip = (c: Candidate & { index: number }): Candidate => ({ layer: c.layer, neuron: c.neuron, score: c.score, kind: c.kind });
  return {
    diff,
    selected: selected.map(strip),
    rejected: rejected.map(strip),
    notes: {
      epsilon: s.epsilon,
      steps: s.steps,
      integrationPoints: s.integrationPoints,
      newNeurons: mNew,
      budget,
      candidateLossStart: r.lossStart,
      candidateLossEnd: r.lossEnd,
      /** Taylor prediction of the loss change of the committed step: Σ_selected ε̂_i s_i = −ϵ Σ |s_i|. */
      predictedLossChange: selected.reduce((a, c) => a - s.epsilon * c.score, 0),
    },
  };
}

export const firefly: GrowthMethod = registerMethod({
  name: 'firefly',
  kind: 'grow',
  description: 'Firefly: split neurons and add brand-new ones, picked by integrated gradients (Wu et al. 2020, §2.2)',
  unsupported: (m) =>
    m.spec.layers.some((l) => l.type === 'dense' || l.type === 'conv2d') ? undefined : 'no dense or conv2d hidden layer',
  apply: (ctx, options) => fireflyWider(ctx, options, { splitOnly: false }),
});

export const fireflySplit: GrowthMethod = registerMethod({
  name: 'firefly-split',
  kind: 'grow',
  description: "Firefly with splitting only (m' = 0): split neurons picked by integrated gradients (Wu et al. 2020, §2.2)",
  unsupported: firefly.unsupported,
  apply: (ctx, options) => fireflyWider(ctx, options, { splitOnly: true }),
});
