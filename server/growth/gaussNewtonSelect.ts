/**
 * Which morphisms to apply (Lawton et al. §3.3): a morphism has a positive loss-resource trade-off
 * when −ΔL > λ_p ΔR_p (ΔR_p: the change in the number of parameters); per layer, the top 30% of the
 * morphisms with positive trade-off are applied. Plain bookkeeping on host numbers.
 */
import { ModelSpec, architectureOf, layerWidth, resUnits } from '../model/spec';
import { widthEdits, widthFollowers } from '../model/widthEdits';

export interface Morphism {
  layer: string;
  neuron: number;
  kind: 'split' | 'prune';
  /** Estimated change in loss. */
  deltaL: number;
  /** Change in the number of trainable parameters (negative for a prune). */
  deltaParams: number;
}

/** −ΔL − λ_p ΔR_p: positive when the morphism is worth its parameters. */
export function tradeoff(m: Morphism, lambda: number): number {
  return -m.deltaL - lambda * m.deltaParams;
}

/** Trainable parameters one more neuron (channel) of a layer adds; the count is affine in the width. */
export function paramsPerNeuron(spec: ModelSpec, layerId: string): number {
  const wider = structuredClone(spec);
  const l = wider.layers.find((x) => x.id === layerId);
  if (!l || layerWidth(l) === undefined) throw new Error(`layer ${layerId} has no width`);
  // depthwise convs downstream follow the width (one more channel, one more group)
  const followers = widthFollowers(wider, widthEdits(spec, wider.layers.indexOf(l)));
  if (l.type === 'conv2d') l.filters += 1;
  else (l as { units: number }).units += 1;
  for (const f of followers) {
    if (f.type === 'conv2d') f.filters = f.groups = f.filters + 1;
    else if (f.type === 'resblock') [f.units, f.filters] = [resUnits(f), f.filters + 1]; // hidden width stays
  }
  return architectureOf(wider).params - architectureOf(spec).params;
}

export interface Selection {
  selected: Morphism[];
  /** With why: 'tradeoff' (not positive), 'rank' (outside the top fraction), 'conflict' (its neuron is
   *  already split or pruned by a better morphism), 'last' (it would prune the layer's last neuron). */
  rejected: (Morphism & { reason: 'tradeoff' | 'rank' | 'conflict' | 'last' })[];
}

/**
 * Per layer: the positive-trade-off morphisms ranked by trade-off (ties keep input order); the top
 * ⌈topFraction × count⌉ of them are applied, except that a neuron takes one morphism (the better one)
 * and a layer keeps at least one neuron. `widths` gives each layer's current width.
 */
export function selectMorphisms(
  morphisms: Morphism[],
  widths: ReadonlyMap<string, number>,
  lambda: number,
  topFraction: number,
): Selection {
  const selected: Morphism[] = [];
  const rejected: Selection['rejected'] = [];
  const layers = [...new Set(morphisms.map((m) => m.layer))];
  for (const layer of layers) {
    const ranked = morphisms
      .map((m, i) => ({ m, i, t: tradeoff(m, lambda) }))
      .filter((o) => o.m.layer === layer)
      .sort((a, b) => b.t - a.t || a.i - b.i);
    const positive = ranked.filter((o) => o.t > 0);
    const quota = Math.ceil(topFraction * positive.length - 1e-9);
    const width = widths.get(layer);
    if (width === undefined) throw new Error(`no width for layer ${layer}`);
    const taken = new Set<number>();
    let prunes = 0;
    positive.forEach((o, r) => {
      if (r >= quota) rejected.push({ ...o.m, reason: 'rank' });
      else if (taken.has(o.m.neuron)) rejected.push({ ...o.m, reason: 'conflict' });
      else if (o.m.kind === 'prune' && prunes + 1 >= width) rejected.push({ ...o.m, reason: 'last' });
      else {
        taken.add(o.m.neuron);
        if (o.m.kind === 'prune') prunes++;
        selected.push(o.m);
      }
    });
    for (const o of ranked) if (o.t <= 0) rejected.push({ ...o.m, reason: 'tradeoff' });
  }
  return { selected, rejected };
}
