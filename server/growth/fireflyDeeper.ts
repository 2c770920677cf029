/**
 * Firefly neural architecture descent, growing deeper (Wu et al. 2020, §2.3): candidate residual layers
 * I + h_ℓ with h_ℓ(·) = Σ_i ε_ℓi σ(·, δ_ℓi) of m' new neurons are inserted between existing layers
 * (f = g_d ∘ (I + h_{d−1}) ∘ … ∘ g_2 ∘ (I + h_1) ∘ g_1: after every hidden layer, i.e. before every
 * hidden layer but the first and before the output; the paper inserts none on the raw input). A dense
 * activation gets a dense block, an image activation a 3x3 conv block (spec `residual`). The block's
 * output weights are ε ⊙ D2, so at ε = 0 every candidate is the identity.
 *
 * Step one and step two as for width (fireflyOptimize.ts); then the neurons are taken by |s_ℓi| in
 * descending order while both budgets hold (§2.3): at most η_0 neurons (options.neurons, else ratio
 * (default 0.3) of the total width of the dense/conv2d hidden layers) and at most η_1 new layers
 * (options.maxLayers, default 1) — a neuron whose layer is not open yet is skipped once η_1 layers are
 * open. A layer with no selected neuron is not added. Committed with model.insertLayer and the
 * selected neurons' δ̃ (W1, b1) and ε̂ δ̃ (W2, ε̂ = −ϵ sign(s)); b2 = 0.
 *
 * Options: newNeurons (m', default 5 as for width; App. B.2 uses 20 per identity layer on CNNs),
 * maxLayers, activation (default: that of the nearest dense/conv2d layer before the position, else
 * relu), and the Firefly settings (epsilon, steps, integrationPoints, …).
 *
 * The depth-growth protocol of App. B.2 (a net of 4 preset blocks grown from 1-1-1-1) adds:
 *  - candidatesPerBlock: instead of one candidate after every hidden layer, this many identity
 *    candidates stacked at the end of every preset block (App. B.2: 11), capped by maxBlockLayers (the
 *    block's conv2d + residual layers plus its candidates stay ≤ maxBlockLayers; App. B.2: 12). maxLayers
 *    then defaults to every candidate (the min-neurons rule below limits the layers instead).
 *  - minNeuronsPerLayer (default 1): "If the Identity layer remains 2 or more new neurons after selection,
 *    we add this Identity layer […]. Otherwise, we will remove all the new neurons and keep this layer as
 *    an Identity map" (App. B.2: 2). A candidate layer with fewer selected neurons is not added and its
 *    selected neurons are rejected; their budget is not given to other neurons (the paper removes them
 *    after the selection and says nothing of re-selecting).
 *  - wider (boolean): the same step first grows the existing dense/conv2d layers as `firefly` does
 *    (split all neurons + newNeurons brand-new ones, budget ratio / neurons of their total width, App.
 *    B.2: 25 %), then the depth candidates are built on the widened network and selected with a
 *    budget of the same ratio of the total width before the step (the paper gives the new layers' neuron
 *    budget no number; layerRatio / layerNeurons set it apart from the width part's ratio / neurons).
 *    The two parts are scored one after the other, each with its own step one.
 */
import { Graph, HostTensor, Value, slice } from '../engine';
import { ACTIVATIONS, type Activation, type LayerDiff } from '../../common/protocol';
import type { GrowableModel } from '../model/growable';
import { LayerSpec, ModelSpec, freshLayerId, layerShapes } from '../model/spec';
import { widthEdits } from '../model/widthEdits';
import { insertedDiff, neuronBudget } from './diff';
import { DEFAULT_NEW_NEURONS, NEW_NEURON_VARIANCE, fireflyWider, intOption } from './firefly';
import { DeltaSpec, FireflySettings, fireflySettings, gaussian, optimizeAndScore } from './fireflyOptimize';
import { constVector, gatherNeurons, scalePerNeuron } from './fireflyTensors';
import { ModelGraph, runOnce } from './modelGraph';
import { registerMethod } from './registry';
import { Candidate, GrowContext, GrowOptions, GrowPlanResult, GrowthError, GrowthMethod } from './types';

/** One candidate residual layer. */
export interface DepthCandidate {
  /** Insert position in the model before growing (model.insertLayer index). */
  position: number;
  id: string;
  activation: Activation;
  /** Index in ε of its first neuron. */
  offset: number;
  /** The preset block it is inserted into (block candidates). */
  block?: string;
}

/** Insert positions of Firefly §2.3: after every hidden layer (rank-1 or rank-3 activations). */
export function depthPositions(spec: ModelSpec): number[] {
  const { outputs } = layerShapes(spec);
  const out: number[] = [];
  for (let p = 1; p <= spec.layers.length; p++) if (outputs[p - 1].length === 1 || outputs[p - 1].length === 3) out.push(p);
  return out;
}

function activationBefore(spec: ModelSpec, position: number): Activation {
  for (let k = position - 1; k >= 0; k--) {
    const l = spec.layers[k];
    if (l.type === 'dense' || l.type === 'conv2d') return l.activation;
  }
  return 'relu';
}

/** Candidates with ids unique in the model, in position order. */
export function depthCandidates(spec: ModelSpec, mNew: number, activation?: Activation): DepthCandidate[] {
  const taken = structuredClone(spec);
  return depthPositions(spec).map((position, k) => {
    const id = freshLayerId(taken, 'residual');
    taken.layers.push({ type: 'residual', units: 1, activation: 'relu', id } as LayerSpec);
    return { position, id, activation: activation ?? activationBefore(spec, position), offset: k * mNew };
  });
}

/** Layers of a block that count towards its depth (the `a-b-c-d` of App. B.2): conv2d, dense and residual layers. */
export const depthLayer = (l: LayerSpec): boolean =>
  l.type === 'conv2d' || l.type === 'dense' || l.type === 'residual' || l.type === 'resblock';

/**
 * App. B.2's candidates: `perBlock` identity layers stacked at the end of every preset block (after its
 * last layer), fewer where the block would exceed `maxBlockLayers`; in block order, ids unique.
 */
export function blockCandidates(
  spec: ModelSpec,
  mNew: number,
  perBlock: number,
  maxBlockLayers = Infinity,
  activation?: Activation,
): DepthCandidate[] {
  const blocks: string[] = [];
  for (const l of spec.layers) if (l.block !== undefined && !blocks.includes(l.block)) blocks.push(l.block);
  if (blocks.length === 0) throw new GrowthError('option candidatesPerBlock needs a model made of preset blocks (model.preset)');
  const taken = structuredClone(spec);
  const out: DepthCandidate[] = [];
  for (const block of blocks) {
    let last = -1;
    spec.layers.forEach((l, i) => {
      if (l.block === block) last = i;
    });
    const depth = spec.layers.filter((l) => l.block === block && depthLayer(l)).length;
    const n = Math.max(0, Math.min(perBlock, maxBlockLayers - depth));
    for (let k = 0; k < n; k++) {
      const id = freshLayerId(taken, 'residual');
      taken.layers.push({ type: 'residual', units: 1, activation: 'relu', id } as LayerSpec);
      out.push({ position: last + 1, id, activation: activation ?? activationBefore(spec, last + 1), offset: out.length * mNew, block });
    }
  }
  return out;
}

/**
 * Selection under the two budgets of §2.3 and App. B.2's rule: candidates by score (descending, ties in
 * candidate order) while at most `neurons` are taken and at most `maxLayers` layers are open; then every
 * layer with fewer than `minPerLayer` selected neurons is dropped (kept as the identity) and its neurons
 * move to the rejected ones; their budget is not spent on others.
 */
export function selectDepth<T extends { layer: string; score: number }>(
  cands: readonly T[],
  neurons: number,
  maxLayers: number,
  minPerLayer = 1,
): { selected: T[]; rejected: T[]; layers: string[]; dropped: string[] } {
  const order = cands
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.score - a.c.score || a.i - b.i)
    .map((o) => o.c);
  const open = new Map<string, number>();
  const taken: T[] = [];
  const rejected: T[] = [];
  for (const c of order) {
    if (taken.length < neurons && (open.has(c.layer) || open.size < maxLayers)) {
      open.set(c.layer, (open.get(c.layer) ?? 0) + 1);
      taken.push(c);
    } else rejected.push(c);
  }
  const dropped = [...open].filter(([, n]) => n < minPerLayer).map(([id]) => id);
  const selected = taken.filter((c) => !dropped.includes(c.layer));
  rejected.unshift(...taken.filter((c) => dropped.includes(c.layer)));
  return { selected, rejected, layers: [...open.keys()].filter((id) => !dropped.includes(id)), dropped };
}

function residualSpec(c: DepthCandidate, units: number): LayerSpec {
  return { type: 'residual', units, activation: c.activation, id: c.id, ...(c.block !== undefined ? { block: c.block } : {}) };
}

/** The model with every candidate inserted (deepest first, so positions stay valid). */
function insertAll(model: GrowableModel, cands: DepthCandidate[], units: number, seed: () => number): GrowableModel {
  const clone = model.clone();
  for (const c of [...cands].sort((a, b) => b.position - a.position)) clone.insertLayer(c.position, residualSpec(c, units), seed());
  return clone;
}

/** The tensors of a residual block, with their neuron axes (widthEdits of the block). */
function blockTensors(spec: ModelSpec, id: string): { W1: number; b1: number; W2: number } {
  const index = spec.layers.findIndex((l) => l.id === id);
  const e = widthEdits(spec, index);
  const axis = (leaf: string) => e.find((x) => x.name === `${id}/${leaf}`)!.axis;
  return { W1: axis('W1'), b1: axis('b1'), W2: axis('W2') };
}

export const depthKey = (id: string, leaf: 'W1' | 'b1' | 'W2') => `dd:${id}/${leaf}`;

export async function fireflyDeeper(ctx: GrowContext, options: GrowOptions): Promise<GrowPlanResult> {
  let s: FireflySettings;
  try {
    s = fireflySettings(options);
  } catch (e) {
    throw new GrowthError((e as Error).message);
  }
  const mNew = intOption(options, 'newNeurons', DEFAULT_NEW_NEURONS, 1);
  const perBlock = options.candidatesPerBlock === undefined ? undefined : intOption(options, 'candidatesPerBlock', 0, 1);
  const maxBlockLayers = options.maxBlockLayers === undefined ? Infinity : intOption(options, 'maxBlockLayers', 0, 1);
  if (options.maxBlockLayers !== undefined && perBlock === undefined)
    throw new GrowthError('option maxBlockLayers needs candidatesPerBlock (block candidates, App. B.2)');
  const minPerLayer = intOption(options, 'minNeuronsPerLayer', 1, 1);
  if (options.wider !== undefined && typeof options.wider !== 'boolean')
    throw new GrowthError(`option wider must be true or false, got ${JSON.stringify(options.wider)}`);
  const act = options.activation;
  if (act !== undefined && !ACTIVATIONS.includes(act as Activation))
    throw new GrowthError(`option activation must be one of ${ACTIVATIONS.join(', ')}`);
  // The width before the step: the depth budget's base (also with `wider`).
  const width = ctx.model.spec.layers.reduce((a, l) => a + (l.type === 'dense' ? l.units : l.type === 'conv2d' ? l.filters : 0), 0);
  if (!options.wider) return deeper(ctx, options, s, { mNew, perBlock, maxBlockLayers, minPerLayer, width });
  // App. B.2: split all existing neurons and add m' new ones (firefly), then the identity-layer candidates.
  const wide = await fireflyWider(ctx, options, { splitOnly: false });
  const deep = await deeper(ctx, options, s, { mNew, perBlock, maxBlockLayers, minPerLayer, width });
  return {
    diff: [...wide.diff, ...deep.diff],
    selected: [...wide.selected, ...deep.selected],
    rejected: [...wide.rejected, ...deep.rejected],
    notes: {
      ...deep.notes,
      wider: wide.notes,
      predictedLossChange: ((wide.notes?.predictedLossChange as number) ?? 0) + ((deep.notes?.predictedLossChange as number) ?? 0),
    },
  };
}

function numberOption(options: GrowOptions, key: string): number | undefined {
  const v = options[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new GrowthError(`option ${key} must be a number ≥ 0, got ${JSON.stringify(v)}`);
  return v;
}

interface DeeperSettings {
  mNew: number;
  perBlock: number | undefined;
  maxBlockLayers: number;
  minPerLayer: number;
  /** Total dense + conv2d width the neuron budget is a share of. */
  width: number;
}

async function deeper(ctx: GrowContext, options: GrowOptions, s: FireflySettings, d: DeeperSettings): Promise<GrowPlanResult> {
  const model = ctx.model;
  const { mNew, minPerLayer } = d;
  const act = options.activation as Activation | undefined;
  const cands =
    d.perBlock === undefined
      ? depthCandidates(model.spec, mNew, act)
      : blockCandidates(model.spec, mNew, d.perBlock, d.maxBlockLayers, act);
  const maxLayers = intOption(options, 'maxLayers', d.perBlock === undefined ? 1 : cands.length);
  const count = cands.length * mNew;
  const layerBudget = {
    neurons: numberOption(options, 'layerNeurons') ?? options.neurons,
    ratio: numberOption(options, 'layerRatio') ?? options.ratio,
  };
  const neurons = Math.min(neuronBudget(d.width, layerBudget), count, maxLayers * mNew);
  const notes = {
    epsilon: s.epsilon,
    steps: s.steps,
    integrationPoints: s.integrationPoints,
    newNeurons: mNew,
    maxLayers,
    minNeuronsPerLayer: minPerLayer,
    candidateLayers: cands.length,
    budget: neurons,
  };
  if (cands.length === 0) {
    if (d.perBlock !== undefined) return { diff: [], selected: [], rejected: [], notes: { ...notes, layersAdded: [], layersDropped: [] } };
    throw new GrowthError('the model has no hidden layer to insert a residual layer after');
  }
  if (neurons === 0) return { diff: [], selected: [], rejected: [], notes };

  const seed = () => ctx.rng.int(0x7fffffff);
  const clone = insertAll(model, cands, mNew, seed);
  const axes = new Map(cands.map((c) => [c.id, blockTensors(clone.spec, c.id)]));
  const deltas: DeltaSpec[] = [];
  for (const c of cands) {
    const a = axes.get(c.id)!;
    for (const leaf of ['W1', 'b1', 'W2'] as const) {
      const shape = clone.shapeOf(`${c.id}/${leaf}`);
      const n = shape.reduce((x, y) => x * y, 1);
      deltas.push({
        key: depthKey(c.id, leaf),
        shape,
        axis: a[leaf],
        group: 1,
        offset: c.offset,
        count: mNew,
        init: gaussian(ctx.rng, n, NEW_NEURON_VARIANCE),
      });
    }
  }
  const byName = new Map(cands.map((c) => [c.id, c]));
  const mg = ModelGraph.of(clone, (name, _base, g) => {
    const slash = name.indexOf('/');
    const c = byName.get(name.slice(0, slash));
    if (!c) return undefined;
    const leaf = name.slice(slash + 1);
    const shape = clone.shapeOf(name);
    if (leaf === 'W1' || leaf === 'b1') return g.extra(depthKey(c.id, leaf), shape);
    if (leaf !== 'W2') return undefined; // b2 stays zero
    const eps = slice(g.extra('eps', [count]), [c.offset], [c.offset + mNew], [0]);
    return scalePerNeuron(g.extra(depthKey(c.id, 'W2'), shape), eps, axes.get(c.id)!.W2);
  });
  const r = await optimizeAndScore(ctx, { mg, count, deltas, fixed: {}, tensors: clone.tensors }, s);

  // selection under the two budgets (§2.3) and App. B.2's minimum of neurons per added layer
  const all: (Candidate & { index: number })[] = [];
  for (const c of cands)
    for (let i = 0; i < mNew; i++)
      all.push({ layer: c.id, neuron: i, score: Math.abs(r.scores[c.offset + i]), kind: 'new', index: c.offset + i });
  const { selected, rejected, layers, dropped } = selectDepth(all, neurons, maxLayers, minPerLayer);
  const open = new Set(layers);

  // commit: deepest first so that positions stay valid
  const diff: LayerDiff[] = [];
  const chosen = cands.filter((c) => open.has(c.id)).sort((a, b) => b.position - a.position);
  for (const c of chosen) {
    const sel = selected
      .filter((x) => x.layer === c.id)
      .map((x) => x.neuron)
      .sort((a, b) => a - b);
    const init = await blockWeights(
      ctx,
      c,
      sel,
      (n) => clone.shapeOf(n),
      axes.get(c.id)!,
      r.deltas,
      sel.map((i) => -s.epsilon * Math.sign(r.scores[c.offset + i] || 1)),
    );
    model.insertLayer(c.position, residualSpec(c, sel.length), seed(), init);
    diff.push(insertedDiff(c.id, sel.length));
  }
  diff.reverse();
  const strip = (c: Candidate): Candidate => ({ layer: c.layer, neuron: c.neuron, score: c.score, kind: c.kind });
  return {
    diff,
    selected: selected.map(strip),
    rejected: rejected.map(strip),
    notes: {
      ...notes,
      layersAdded: chosen.map((c) => c.id),
      layersDropped: dropped,
      predictedLossChange: -s.epsilon * selected.reduce((a, c) => a + c.score, 0),
    },
  };
}

/** W1, b1 (selected δ̃), W2 (ε̂ ⊙ selected δ̃) and b2 (zero) of a committed block, computed by the engine. */
async function blockWeights(
  ctx: GrowContext,
  c: DepthCandidate,
  sel: number[],
  shapes: (name: string) => number[],
  axes: { W1: number; b1: number; W2: number },
  deltas: Record<string, Float32Array>,
  epsHat: number[],
): Promise<Record<string, Float32Array>> {
  const g = new Graph('firefly-deeper-commit');
  const feeds: Record<string, HostTensor> = {};
  const outputs: Record<string, Value> = {};
  for (const leaf of ['W1', 'b1', 'W2'] as const) {
    const shape = shapes(`${c.id}/${leaf}`);
    const v = g.input(leaf, 'float32', shape);
    feeds[leaf] = { dtype: 'float32', shape, data: deltas[depthKey(c.id, leaf)] };
    const picked = gatherNeurons(v, sel, axes[leaf]);
    outputs[`out_${leaf}`] = leaf === 'W2' ? scalePerNeuron(picked, constVector(picked, epsHat), axes.W2) : picked;
  }
  const [out] = await runOnce(ctx.executor, g, outputs, [feeds]);
  const b2 = shapes(`${c.id}/b2`).reduce((a, b) => a * b, 1);
  return { W1: out.out_W1, b1: out.out_b1, W2: out.out_W2, b2: new Float32Array(b2) };
}

export const fireflyDeeperMethod: GrowthMethod = registerMethod({
  name: 'firefly-deeper',
  kind: 'grow',
  description: 'Firefly: insert new residual layers, their neurons picked by integrated gradients (Wu et al. 2020, §2.3)',
  unsupported: (m) => (m.spec.layers.length ? undefined : 'no hidden layer to insert a residual layer after'),
  apply: fireflyDeeper,
});
