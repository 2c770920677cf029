/**
 * Named engine tensors (HostTensor, float32) of the continual learners and the graph builder that
 * feeds them: every tensor a learner keeps is a graph input `t:<name>`, with the batch inputs x [N, F]
 * and y [N, C] (one-hot). Fresh dense layers are drawn by server/model/init.ts.
 */
import type { ContinualLayerInit } from '../../common/protocol';
import { Graph, HostTensor, Value, hostTensor, reduceSum, softmaxCrossEntropy } from '../engine';
import { initDense } from '../model/init';
import type { Rng } from '../random';

/** A learner's named float32 tensors. */
export type Tensors = Record<string, HostTensor>;

/** A float32 tensor of `shape`: `data` (its length checked) or zeros. */
export function tensor(shape: number[], data?: Float32Array): HostTensor {
  return hostTensor('float32', [...shape], data);
}

/** The float32 values of a learner's tensor. */
export function values(t: HostTensor): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new Error(`internal: a ${t.dtype} tensor where float32 was expected`);
  return t.data;
}

/**
 * How a learner initialises a fresh dense layer (experiment field `continual.init`):
 * - `uniform`: weights and biases U(−1/√fanIn, 1/√fanIn), torch.nn.Linear's default, which the
 *   reference continual-learning code (van de Ven & Tolias) trains its baselines from;
 * - `he-normal`: weights N(0, (scale·√(2/fanIn))²), zero biases (`scale` < 1 for heads and laterals).
 */
export type LayerInit = ContinualLayerInit;

/** A fresh dense layer: kernel [fanIn, fanOut] and bias [fanOut], drawn from `rng` (kernel first). */
export function denseLayer(rng: Rng, init: LayerInit, fanIn: number, fanOut: number, scale = 1): { W: HostTensor; b: HostTensor } {
  const { kernel, bias } = initDense(init === 'uniform' ? 'torch-uniform' : 'he', fanIn, fanOut, rng, scale);
  return { W: tensor([fanIn, fanOut], kernel), b: tensor([fanOut], bias) };
}

/** A graph builder: named tensor inputs by name, the batch inputs x [N, F] and y [N, C] (one-hot). */
export interface Builder {
  g: Graph;
  x: Value;
  y: Value;
  /** The named tensor (fixed or trainable) as a graph input. */
  t(name: string): Value;
}

/** A builder over `all` (the shapes of `t(name)` come from there). */
export function makeBuilder(name: string, features: number, classes: number, all: Record<string, { shape: number[] }>): Builder {
  const g = new Graph(name);
  const x = g.input('x', 'float32', ['N', features]);
  const y = g.input('y', 'float32', ['N', classes]);
  const made = new Map<string, Value>();
  return {
    g,
    x,
    y,
    t(n: string) {
      let v = made.get(n);
      if (!v) {
        const s = all[n];
        if (!s) throw new Error(`internal: no tensor "${n}"`);
        v = g.input(`t:${n}`, 'float32', s.shape);
        made.set(n, v);
      }
      return v;
    },
  };
}

/** Feeds of the graph's tensor inputs (`t:<name>`) from `all`. */
export function feedTensors(g: Graph, all: Tensors): Record<string, HostTensor> {
  const f: Record<string, HostTensor> = {};
  for (const v of g.inputs) {
    if (!v.name.startsWith('t:')) continue;
    const s = all[v.name.slice(2)];
    f[v.name] = { dtype: 'float32', shape: s.shape, data: s.data };
  }
  return f;
}

/** Cross-entropy of logits against the one-hot batch targets. */
export function ceLoss(b: Builder, logits: Value): Value {
  return softmaxCrossEntropy(logits, b.y);
}

/** Σ over a tensor's elements (graph). */
export function sumAll(v: Value): Value {
  return reduceSum(
    v,
    v.shape.map((_, i) => i),
  );
}
