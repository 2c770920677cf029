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
 */
import { Graph, HostTensor, Value, slice } from '../engine';
import { ACTIVATIONS, type Activation, type LayerDiff } from '../../common/protocol';
import type { GrowableModel } from '../model/growable';
import { LayerSpec, ModelSpec, freshLayerId, layerShapes } from '../model/spec';
import { widthEdits } from '../model/widthEdits';
import { insertedDiff, neuronBudget } from './diff';
import { DEFAULT_NEW_NEURONS, NEW_NEURON_VARIANCE, intOption } from './firefly';
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

function residualSpec(c: DepthCandidate, units: number): LayerSpec {
  return { type: 'residual', units, activation: c.activation, id: c.id };
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
  const model = ctx.model;
  let s: FireflySettings;
  try {
    s = fireflySettings(options);
  } catch (e) {
    throw new GrowthError((e as Error).message);
  }
  const mNew = intOption(options, 'newNeurons', DEFAULT_NEW_NEURONS, 1);
  const maxLayers = intOption(options, 'maxLayers', 1);
  const act = options.activation;
  if (act !== undefined && !ACTIVATIONS.includes(act as Activation))
    throw new GrowthError(`option activation must be one of ${ACTIVATIONS.join(', ')}`);
  const cands = depthCandidates(model.spec, mNew, act as Activation | undefined);
  if (cands.length === 0) throw new GrowthError('the model has no hidden layer to insert a residual layer after');
  const width = model.spec.layers.reduce((a, l) => a + (l.type === 'dense' ? l.units : l.type === 'conv2d' ? l.filters : 0), 0);
  const count = cands.length * mNew;
  const neurons = Math.min(neuronBudget(width, options), count, maxLayers * mNew);
  const notes = {
    epsilon: s.epsilon,
    steps: s.steps,
    integrationPoints: s.integrationPoints,
    newNeurons: mNew,
    maxLayers,
    budget: neurons,
  };
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

  // selection under the two budgets (§2.3)
  const all: (Candidate & { index: number })[] = [];
  for (const c of cands)
    for (let i = 0; i < mNew; i++)
      all.push({ layer: c.id, neuron: i, score: Math.abs(r.scores[c.offset + i]), kind: 'new', index: c.offset + i });
  const order = all
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.score - a.c.score || a.i - b.i)
    .map((o) => o.c);
  const open = new Set<string>();
  const selected: typeof all = [];
  const rejected: typeof all = [];
  for (const c of order) {
    const fits = selected.length < neurons && (open.has(c.layer) || open.size < maxLayers);
    if (fits) {
      open.add(c.layer);
      selected.push(c);
    } else rejected.push(c);
  }

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
    notes: { ...notes, layersAdded: chosen.map((c) => c.id), predictedLossChange: -s.epsilon * selected.reduce((a, c) => a + c.score, 0) },
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
