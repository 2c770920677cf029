/**
 * Wider networks as engine expressions (Firefly §2.2): for every grown layer, neuron i may be split into
 * two copies with incoming parameters θ_i ± ε_i δ_i (outgoing weights halved), and brand-new neurons j
 * may be added with incoming parameters δ_j^in and outgoing weights ε_j δ_j^out.
 *
 * A plan fixes which splits and new neurons a network has; the same expressions give the over-grown
 * candidate network (every neuron split, all m' new neurons, ε and δ trainable) and the committed one
 * (the selected ones, ε = ε̂), so that what was scored is exactly what is written. Only the grown layer's
 * incoming tensors (roles `in`) and the final consumer's fan-in rows (the last `out` edit) are built
 * here; every other tensor that follows the width (batch norm, residual blocks in between, flatten
 * groups) comes from GrowableModel.splitNeurons with the plan's sources, through widthEdits.
 *
 * With W the tensor before growing (neurons along `axis`):
 *   producer: W' = concat([W + E⊙D, (W − E⊙D)[split], Dn[fresh]], axis)        (E = ε of the splits)
 *   consumer: V' = concat([V[0..m-1, split] / replicas, ε_new ⊙ Dout[fresh]], axis)
 * When one tensor is both (the next grown layer's kernel), the producer part is built first in the
 * un-grown row space and the rows follow; Dout then lives in the un-grown column space of the next layer
 * and is carried to its copies (same weights) and its new neurons (zero) plainly.
 */
import { Value, add, concat, gather, pad, slice, sub } from '../engine';
import type { GrowableModel } from '../model/growable';
import type { ModelSpec } from '../model/spec';
import { layerWidth } from '../model/spec';
import { widthEdits, widthTarget } from '../model/widthEdits';
import { constVector, gatherNeurons, isIdentity, scalePerNeuron } from './fireflyTensors';

export interface WidthPlan {
  id: string;
  /** Width before growing. */
  m: number;
  /** Parents whose second copy is appended, in this order (each at most once). */
  split: number[];
  /** Which of the m' brand-new candidates are added (indices into the δ_new tensors), in this order. */
  fresh: number[];
  /** m': number of brand-new candidates the δ_new tensors hold. */
  mNew: number;
  /** Index in ε of this layer's first candidate: splits at [offset, offset+m), new ones at [offset+m, offset+m+m'). */
  offset: number;
}

export function planSources(p: WidthPlan): number[] {
  return [...Array.from({ length: p.m }, (_, i) => i), ...p.split, ...p.fresh.map(() => -1)];
}

export interface LayerTensors {
  index: number;
  /** The layer's incoming tensors (kernel, bias) and their neuron axes. */
  ins: { name: string; axis: number }[];
  /** The final consumer's fan-in tensor, axis and rows per neuron. */
  consumer: { name: string; axis: number; group: number };
}

export function layerTensors(spec: ModelSpec, id: string): LayerTensors {
  const { index } = widthTarget(spec, id);
  const edits = widthEdits(spec, id);
  const ins = edits.filter((e) => e.role === 'in').map((e) => ({ name: e.name, axis: e.axis }));
  const last = edits[edits.length - 1];
  if (last.role !== 'out') throw new Error(`internal: no consumer after ${id}`);
  return { index, ins, consumer: { name: last.name, axis: last.axis, group: last.group } };
}

/** Where the graph's values come from (a ModelGraph's extras, or a plain graph's inputs). */
export interface WidthValues {
  /** The tensor as it was before growing. */
  orig(name: string): Value;
  /** The whole ε vector. */
  eps(): Value;
  /** A δ tensor by key. */
  delta(key: string, shape: number[]): Value;
}

export const deltaKey = {
  split: (name: string) => `d:${name}`,
  fresh: (name: string) => `dn:${name}`,
  out: (id: string) => `dout:${id}`,
};

interface Role {
  plan: WidthPlan;
  axis: number;
  group: number;
}

/** The grown layers' tensors, shapes and roles for a set of plans on the model before growing. */
export class WidthLayout {
  readonly layers: { plan: WidthPlan; t: LayerTensors }[];
  private readonly producers = new Map<string, Role>();
  private readonly consumers = new Map<string, Role>();
  /** Shapes before growing (the model may be changed after the layout is made). */
  private readonly shapes = new Map<string, number[]>();

  constructor(model: GrowableModel, plans: WidthPlan[]) {
    this.layers = plans.map((plan) => {
      const { layer } = widthTarget(model.spec, plan.id);
      if (layer.type !== 'dense' && layer.type !== 'conv2d' && layer.type !== 'resblock')
        throw new Error(`${plan.id} is a ${layer.type} layer; only dense, conv2d and resblock layers grow wider here`);
      if (model.width(plan.id) !== plan.m) throw new Error(`internal: ${plan.id} has ${model.width(plan.id)} neurons, plan says ${plan.m}`);
      return { plan, t: layerTensors(model.spec, plan.id) };
    });
    for (const { plan, t } of this.layers) {
      for (const e of t.ins) this.producers.set(e.name, { plan, axis: e.axis, group: 1 });
      this.consumers.set(t.consumer.name, { plan, axis: t.consumer.axis, group: t.consumer.group });
    }
    for (const name of this.names()) this.shapes.set(name, [...model.shapeOf(name)]);
  }

  /** Tensors whose values the expressions give. */
  names(): string[] {
    return [...new Set([...this.producers.keys(), ...this.consumers.keys()])];
  }

  /** Shape of a tensor before growing. */
  shapeOf(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`internal: ${name} is not grown`);
    return s;
  }

  /** δ tensors of the plans: key, shape, neuron axis and group, candidates covered, kind. */
  deltas(): { key: string; shape: number[]; axis: number; group: number; offset: number; count: number; kind: 'split' | 'new' }[] {
    const out: ReturnType<WidthLayout['deltas']> = [];
    for (const { plan, t } of this.layers) {
      for (const e of t.ins)
        out.push({
          key: deltaKey.split(e.name),
          shape: this.shapeOf(e.name),
          axis: e.axis,
          group: 1,
          offset: plan.offset,
          count: plan.m,
          kind: 'split',
        });
      if (plan.mNew === 0) continue;
      for (const e of t.ins)
        out.push({
          key: deltaKey.fresh(e.name),
          shape: withAxis(this.shapeOf(e.name), e.axis, plan.mNew),
          axis: e.axis,
          group: 1,
          offset: plan.offset + plan.m,
          count: plan.mNew,
          kind: 'new',
        });
      const c = t.consumer;
      out.push({
        key: deltaKey.out(plan.id),
        shape: withAxis(this.shapeOf(c.name), c.axis, plan.mNew * c.group),
        axis: c.axis,
        group: c.group,
        offset: plan.offset + plan.m,
        count: plan.mNew,
        kind: 'new',
      });
    }
    return out;
  }

  /** The expression of tensor `name` in the grown network, or undefined if growing leaves it alone. */
  expression(name: string, v: WidthValues): Value | undefined {
    const prod = this.producers.get(name);
    const cons = this.consumers.get(name);
    if (!prod && !cons) return undefined;
    let x = v.orig(name);
    if (prod) x = this.producerPart(x, name, prod, v);
    if (cons) x = this.consumerPart(x, cons, prod, v);
    return x;
  }

  private epsSlice(v: WidthValues, start: number, sources: readonly number[]): Value {
    if (sources.every((s, i) => s === sources[0] + i))
      return slice(v.eps(), [start + sources[0]], [start + sources[0] + sources.length], [0]);
    return gather(
      v.eps(),
      sources.map((s) => start + s),
    );
  }

  private producerPart(x: Value, name: string, r: Role, v: WidthValues): Value {
    const p = r.plan;
    const shape = this.shapeOf(name);
    const d = v.delta(deltaKey.split(name), shape);
    const ed = scalePerNeuron(d, this.epsSlice(v, p.offset, range(p.m)), r.axis);
    const parts = [add(x, ed)];
    if (p.split.length) parts.push(gatherNeurons(sub(x, ed), p.split, r.axis));
    if (p.fresh.length) {
      const dn = v.delta(deltaKey.fresh(name), withAxis(shape, r.axis, p.mNew));
      parts.push(isIdentity(p.fresh, p.mNew) ? dn : gatherNeurons(dn, p.fresh, r.axis));
    }
    return parts.length === 1 ? parts[0] : concat(parts, r.axis);
  }

  private consumerPart(x: Value, r: Role, prod: Role | undefined, v: WidthValues): Value {
    const p = r.plan;
    const rows = [...range(p.m), ...p.split];
    const replicas = new Map<number, number>();
    for (const s of rows) replicas.set(s, (replicas.get(s) ?? 0) + 1);
    let kept = isIdentity(rows, p.m) ? x : gatherNeurons(x, rows, r.axis, r.group);
    if (p.split.length)
      kept = scalePerNeuron(
        kept,
        constVector(
          kept,
          rows.map((s) => 1 / replicas.get(s)!),
        ),
        r.axis,
        r.group,
      );
    if (!p.fresh.length) return kept;
    const c = this.layers.find((l) => l.plan === p)!.t.consumer;
    let dout = v.delta(deltaKey.out(p.id), withAxis(this.shapeOf(c.name), r.axis, p.mNew * r.group));
    if (prod) dout = plainExpand(dout, prod);
    const sel = isIdentity(p.fresh, p.mNew) ? dout : gatherNeurons(dout, p.fresh, r.axis, r.group);
    const fresh = scalePerNeuron(sel, this.epsSlice(v, p.offset + p.m, p.fresh), r.axis, r.group);
    return concat([kept, fresh], r.axis);
  }
}

/** A tensor carried along another grown layer's neurons: copies get the same values, new neurons zeros. */
function plainExpand(x: Value, r: Role): Value {
  const p = r.plan;
  let y = p.split.length ? concat([x, gatherNeurons(x, p.split, r.axis)], r.axis) : x;
  if (p.fresh.length) {
    const pads = new Array<number>(2 * y.rank).fill(0);
    pads[y.rank + r.axis] = p.fresh.length;
    y = pad(y, pads, 0);
  }
  return y;
}

export function withAxis(shape: number[], axis: number, n: number): number[] {
  const s = [...shape];
  s[axis] = n;
  return s;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
