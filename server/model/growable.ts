/**
 * A network that can change shape between training steps: it owns its weights, batch-norm
 * statistics and optimiser state as Float32Arrays; widths change and layers are inserted without
 * retraining, carrying every kept weight and moment over.
 */
import type { Architecture } from '../../common/protocol';
import { Rng } from '../random';
import { Fill, initTensor, kernelSampler } from './init';
import { remapAxis, slotSources } from './remap';
import {
  LayerSpec,
  ModelSpec,
  ModelSpecError,
  allParamShapes,
  architectureOf,
  flatSize,
  hasProjection,
  layerShapes,
  layerWidth,
  resUnits,
} from './spec';
import { targetWidth, widthEdits, widthFollowers, widthTarget } from './widthEdits';

export interface ParamInfo {
  name: string;
  shape: number[];
  trainable: boolean;
}

export interface ModelCheckpoint {
  meta: { spec: ModelSpec; slotNames: string[]; version: number };
  tensors: Record<string, Float32Array>;
}

export class GrowableModel {
  /** Trainable weights and state tensors by name (e.g. "dense_1/W", "batchnorm_1/mean"). */
  readonly tensors = new Map<string, Float32Array>();
  /** Optimiser slots per trainable weight, in the order of `slotNames`. */
  readonly slots = new Map<string, Float32Array[]>();
  /** Incremented on every architecture change (compiled graphs are cached by it). */
  version = 0;
  private info: ParamInfo[] = [];

  private constructor(
    public spec: ModelSpec,
    readonly slotNames: string[],
  ) {}

  static create(spec: ModelSpec, seed: number, slotNames: string[]): GrowableModel {
    const m = new GrowableModel(structuredClone(spec), slotNames);
    const rng = new Rng(seed);
    m.info = allParamShapes(m.spec);
    for (const p of m.info) {
      m.tensors.set(p.name, initTensor(p.name, p.shape, spec.init, rng));
      if (p.trainable)
        m.slots.set(
          p.name,
          slotNames.map(() => new Float32Array(flatSize(p.shape))),
        );
    }
    return m;
  }

  static fromCheckpoint(c: ModelCheckpoint): GrowableModel {
    const m = new GrowableModel(structuredClone(c.meta.spec), c.meta.slotNames);
    m.version = c.meta.version;
    m.info = allParamShapes(m.spec);
    for (const p of m.info) {
      const t = c.tensors[p.name];
      if (!t || t.length !== flatSize(p.shape)) throw new ModelSpecError(`checkpoint: tensor ${p.name} is missing or has the wrong size`);
      m.tensors.set(p.name, t);
      if (p.trainable) {
        m.slots.set(
          p.name,
          m.slotNames.map((s) => {
            const v = c.tensors[`slot:${s}:${p.name}`];
            if (!v || v.length !== t.length) throw new ModelSpecError(`checkpoint: optimiser slot ${s} of ${p.name} is missing`);
            return v;
          }),
        );
      }
    }
    return m;
  }

  toCheckpoint(): ModelCheckpoint {
    const tensors: Record<string, Float32Array> = {};
    for (const [k, v] of this.tensors) tensors[k] = v;
    for (const [k, vs] of this.slots) vs.forEach((v, i) => (tensors[`slot:${this.slotNames[i]}:${k}`] = v));
    return { meta: { spec: structuredClone(this.spec), slotNames: this.slotNames, version: this.version }, tensors };
  }

  params(): ParamInfo[] {
    return this.info;
  }

  architecture(): Architecture {
    return architectureOf(this.spec);
  }

  paramCount(): number {
    return this.info.filter((p) => p.trainable).reduce((a, p) => a + flatSize(p.shape), 0);
  }

  /** Neurons (channels) of a width target: a layer id, or `<resblock id>/out` for a projection block's output channels. */
  width(id: string): number {
    const w = targetWidth(this.spec, id);
    if (w === undefined) throw new ModelSpecError(`layer "${id}" has no width to change`);
    return w;
  }

  layer(id: string): { layer: LayerSpec; index: number } {
    const index = this.spec.layers.findIndex((l) => l.id === id);
    if (index < 0) throw new ModelSpecError(`no layer "${id}" (layers: ${this.spec.layers.map((l) => l.id).join(', ')})`);
    return { layer: this.spec.layers[index], index };
  }

  /**
   * Rebuild a hidden layer's neurons (dense, residual) or channels (conv2d): new neuron j copies old
   * neuron sources[j] (incoming and outgoing weights), or is brand new where sources[j] < 0 (random
   * incoming weights, zero outgoing weights, so the network's function is unchanged). Batch norm
   * downstream and the consuming layer's inputs follow. Optimiser moments of each neuron's first copy
   * are kept; other copies and new neurons start at zero.
   */
  resizeLayer(id: string, sources: number[], seed: number): void {
    const { layer, index, output } = widthTarget(this.spec, id);
    const width = targetWidth(this.spec, id);
    if (width === undefined) throw new ModelSpecError(`layer "${id}" (${layer.type}) has no width to change`);
    if (sources.length < 1) throw new ModelSpecError(`layer "${id}" must keep at least one neuron`);
    const bad = sources.find((s) => s >= width);
    if (bad !== undefined) throw new ModelSpecError(`layer "${id}" has ${width} neurons, no neuron ${bad}`);
    const rng = new Rng(seed);
    const edits = widthEdits(this.spec, id);
    const resized = (spec: ModelSpec) => {
      const l = spec.layers[index];
      if (l.type === 'conv2d') l.filters = sources.length;
      else if (l.type === 'resblock' && output)
        [l.units, l.filters] = [resUnits(l), sources.length]; // hidden width stays
      else (l as { units: number }).units = sources.length;
      // Depthwise convs and identity-shortcut resblocks downstream follow the width.
      for (const f of widthFollowers(spec, edits)) {
        if (f.type === 'conv2d') f.filters = f.groups = sources.length;
        else if (f.type === 'resblock') [f.units, f.filters] = [resUnits(f), sources.length]; // hidden width stays
      }
      return spec;
    };
    // A resblock's shortcut kind follows from its shapes: no width change may turn a projection into the identity.
    const trial = resized(structuredClone(this.spec));
    const [was, now] = [this.spec, trial].map((sp) => {
      const ins = layerShapes(sp).inputs;
      return sp.layers.map((l, k) => (l.type === 'resblock' ? hasProjection(l, ins[k]) : false));
    });
    const flipped = this.spec.layers.find((_, k) => was[k] !== now[k]);
    if (flipped)
      throw new ModelSpecError(
        `layer "${id}" cannot have ${sources.length} channels: resblock "${flipped.id}" would change its shortcut (its input would match its ${sources.length} filters)`,
      );
    for (const e of edits) this.remap(e.name, e.axis, sources, e.fill, rng, e.group);
    resized(this.spec);
    this.afterChange();
  }

  /**
   * Replicate neurons without changing the function (Net2WiderNet): like resizeLayer, then every
   * replica's outgoing (fan-in) weights are divided by its number of replicas. Returns the replica
   * counts per new neuron.
   */
  splitNeurons(id: string, sources: number[], seed: number): number[] {
    const counts = new Map<number, number>();
    for (const s of sources) if (s >= 0) counts.set(s, (counts.get(s) ?? 0) + 1);
    this.resizeLayer(id, sources, seed);
    const replicas = sources.map((s) => (s >= 0 ? counts.get(s)! : 1));
    for (const e of widthEdits(this.spec, id).filter((x) => x.role === 'out')) {
      this.scaleSlices(
        e.name,
        e.axis,
        e.group,
        replicas.map((r) => 1 / r),
      );
    }
    return replicas;
  }

  /** Multiply slice j (of `group` entries) along `axis` of a tensor by factors[j]. */
  scaleSlices(name: string, axis: number, group: number, factors: number[]): void {
    const info = this.info.find((p) => p.name === name);
    const t = this.tensors.get(name);
    if (!info || !t) throw new ModelSpecError(`no tensor ${name}`);
    const outer = flatSize(info.shape.slice(0, axis));
    const inner = flatSize(info.shape.slice(axis + 1));
    const len = info.shape[axis];
    if (len !== factors.length * group)
      throw new ModelSpecError(`scaleSlices: ${name} axis ${axis} has ${len} entries, ${factors.length}x${group} given`);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < len; j++) {
        const f = factors[Math.floor(j / group)];
        if (f === 1) continue;
        const base = (o * len + j) * inner;
        for (let k = 0; k < inner; k++) t[base + k] *= f;
      }
    }
  }

  /** Shape of a tensor by name. */
  shapeOf(name: string): number[] {
    const info = this.info.find((p) => p.name === name);
    if (!info) throw new ModelSpecError(`no tensor ${name}`);
    return info.shape;
  }

  /** A deep copy (weights, slots, spec) for trying changes without touching this model. */
  clone(): GrowableModel {
    const c = GrowableModel.fromCheckpoint(structuredClone(this.toCheckpoint()));
    return c;
  }

  private remap(name: string, axis: number, sources: number[], fill: Fill, rng: Rng, group: number): void {
    const info = this.info.find((p) => p.name === name);
    const t = this.tensors.get(name);
    if (!info || !t) throw new ModelSpecError(`no tensor ${name}`);
    const sample = fill === 'kernel' ? kernelSampler(this.spec.init, info.shape, rng) : () => (fill === 'one' ? 1 : 0);
    this.tensors.set(name, remapAxis(t, info.shape, axis, sources, sample, group).data);
    const slots = this.slots.get(name);
    if (slots) {
      const kept = slotSources(sources);
      this.slots.set(
        name,
        slots.map((s) => remapAxis(s, info.shape, axis, kept, () => 0, group).data),
      );
    }
  }

  /**
   * Insert a hidden layer before position `index`. A residual layer starts as the identity (its
   * output weights are zero); other layers take `init` tensors (by leaf name, e.g. {W, b}) or defaults.
   */
  insertLayer(index: number, layer: LayerSpec, seed: number, init: Record<string, Float32Array> = {}): void {
    if (index < 0 || index > this.spec.layers.length)
      throw new ModelSpecError(`cannot insert at ${index}: the model has ${this.spec.layers.length} hidden layers`);
    if (this.spec.layers.some((l) => l.id === layer.id)) throw new ModelSpecError(`layer id "${layer.id}" is taken`);
    const rng = new Rng(seed);
    const spec = structuredClone(this.spec);
    const inserted = structuredClone(layer);
    // A layer inserted inside a preset's block belongs to it (the monitor shows which block grew).
    const around = spec.layers[index - 1]?.block;
    if (inserted.block === undefined && around !== undefined && around === (spec.layers[index]?.block ?? around)) inserted.block = around;
    spec.layers.splice(index, 0, inserted);
    const inputs = layerShapes(spec).inputs;
    const outShape = layerShapes(spec).outputs[index];
    if (layer.type !== 'residual' && layer.type !== 'batchnorm' && flatSize(outShape) !== flatSize(inputs[index])) {
      throw new ModelSpecError(`inserted layer ${layer.id} must keep the width (${flatSize(inputs[index])}), got ${flatSize(outShape)}`);
    }
    const newInfo = allParamShapes(spec).filter((p) => p.name.startsWith(`${layer.id}/`));
    for (const p of newInfo) {
      const leaf = p.name.slice(layer.id.length + 1);
      const given = init[leaf];
      if (given && given.length !== flatSize(p.shape))
        throw new ModelSpecError(`init ${leaf} of ${layer.id} has ${given.length} values, needs ${flatSize(p.shape)}`);
      const fill: Fill | undefined = layer.type === 'residual' && leaf === 'W2' ? 'zero' : undefined;
      this.tensors.set(p.name, given ? Float32Array.from(given) : initTensor(p.name, p.shape, spec.init, rng, fill));
      if (p.trainable)
        this.slots.set(
          p.name,
          this.slotNames.map(() => new Float32Array(flatSize(p.shape))),
        );
    }
    this.spec = spec;
    this.afterChange();
  }

  /** Become an exact copy of `other` (e.g. to undo a grow step); compiled graphs are rebuilt. */
  assign(other: GrowableModel): void {
    if (other.slotNames.join() !== this.slotNames.join()) throw new ModelSpecError('assign: optimiser slots differ');
    this.spec = structuredClone(other.spec);
    this.tensors.clear();
    for (const [k, v] of other.tensors) this.tensors.set(k, Float32Array.from(v));
    this.slots.clear();
    for (const [k, vs] of other.slots)
      this.slots.set(
        k,
        vs.map((v) => Float32Array.from(v)),
      );
    this.afterChange();
  }

  /** Replace optimiser state (e.g. reset on request). */
  resetSlots(): void {
    for (const [k, vs] of this.slots)
      this.slots.set(
        k,
        vs.map((v) => new Float32Array(v.length)),
      );
  }

  private afterChange(): void {
    this.info = allParamShapes(this.spec);
    for (const p of this.info) {
      const t = this.tensors.get(p.name);
      if (!t || t.length !== flatSize(p.shape))
        throw new ModelSpecError(`internal: ${p.name} has ${t?.length} values after the change, needs ${flatSize(p.shape)}`);
    }
    this.version++;
  }
}
