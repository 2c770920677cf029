/**
 * Optimisers as graph fragments: weights and optimiser state go in, updated ones come out, so one
 * training step is one graph run. Update rules follow tfjs's optimisers (the test oracle):
 * SGD with momentum: a ← μa + g; w ← w − η a (Nesterov: w ← w − η (g + μ a)).
 * Adam: m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; w ← w − η m̂ / (√v̂ + ε), with bias correction by
 * the step count t fed as an input. AdamW decouples weight decay: w ← w − η λ w (Loshchilov & Hutter).
 * SGD and Adam take weight decay as an L2 term added to the gradient.
 */
import { Value } from './graph';
import { add, div, mul, pow, scalarLike, sqrt, sub } from './ops';

/** The optimisers the engine builds. */
export type OptimizerKind = 'sgd' | 'adam' | 'adamw';

/**
 * What an optimiser step needs (the engine's own type; the server maps an experiment's training
 * settings onto it). `momentum` and `nesterov` apply to SGD, `beta1`, `beta2` and `epsilon` to
 * Adam and AdamW, `weightDecay` to all.
 */
export interface OptimizerSettings {
  name: OptimizerKind;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Names of the per-weight state slots an optimiser keeps (each the weight's shape). */
export function optimizerSlots(o: OptimizerSettings): string[] {
  if (o.name === 'sgd') return o.momentum > 0 ? ['momentum'] : [];
  return ['m', 'v'];
}

export interface ParamUpdate {
  param: Value;
  grad: Value;
  slots: Value[];
}

/** New values of a weight and its slots after one step; `lr` and `step` (t, from 1) are scalar inputs. */
export function optimizerStep(o: OptimizerSettings, u: ParamUpdate, lr: Value, step: Value): { param: Value; slots: Value[] } {
  const { param: w } = u;
  let g = u.grad;
  if (o.weightDecay > 0 && o.name !== 'adamw') g = add(g, mul(w, o.weightDecay));
  if (o.name === 'sgd') {
    if (o.momentum === 0) return { param: sub(w, mul(g, lr)), slots: [] };
    const a = add(mul(u.slots[0], o.momentum), g);
    const dir = o.nesterov ? add(g, mul(a, o.momentum)) : a;
    return { param: sub(w, mul(dir, lr)), slots: [a] };
  }
  const [m0, v0] = u.slots;
  const m = add(mul(m0, o.beta1), mul(g, 1 - o.beta1));
  const v = add(mul(v0, o.beta2), mul(mul(g, g), 1 - o.beta2));
  const one = scalarLike(w, 1);
  const mHat = div(m, sub(one, pow(scalarLike(w, o.beta1), step)));
  const vHat = div(v, sub(one, pow(scalarLike(w, o.beta2), step)));
  let update = div(mHat, add(sqrt(vHat), o.epsilon));
  if (o.name === 'adamw' && o.weightDecay > 0) update = add(update, mul(w, o.weightDecay));
  return { param: sub(w, mul(update, lr)), slots: [m, v] };
}
