/**
 * `gauss-newton`: learned split and prune morphisms scored with a Gauss-Newton approximation of the
 * loss (Lawton et al., "Learning Morphisms with Gauss-Newton Approximation for Growing Networks").
 *
 * Every neuron (channel) of the grown layers gets a split morphism (two neurons with incoming kernels
 * w_in ± θ, outgoing weights halved; §3.1) and a prune morphism (θ = w_in: the neuron is removed).
 * For `steps` minibatches θ takes an Adam step on the estimated ΔL(θ) ≈ Δz·g + (Δz·g)²/(4L̂) (§3.2)
 * and an exponential moving average of ΔL is kept (§3.3); then, per layer, the top 30% of the
 * morphisms with −ΔL > λ_p ΔR_p are applied (§3.3, Algorithm 1).
 *
 * Options (besides GrowOptions.layers; ratio and neurons do not apply, λ_p and topFraction decide):
 * - lambda: λ_p, default 3e-7 (§4, Tables 1-2: the value used for most grown networks);
 * - topFraction: default 0.3 (§3.3);
 * - emaDecay: default 1 − B/(2 N_train) (App. B), bias-corrected (see gaussNewtonEma.ts);
 * - lr: Adam's rate for θ, default 1e-2 (§4, App. B);
 * - steps: minibatches of θ learning, default 100 (the paper learns for a 20-epoch phase, §3.3;
 *   far too long for a grow step of an interactive run);
 * - batchSize: minibatch size, default the run's training batch size (the paper uses 64 for both, §4);
 * - thetaInit: θ starts N(0, (thetaInit · rms(w_in))²), default 0.1 — θ = 0 is a stationary point of a
 *   split's ΔL (ΔL is even in θ), so learning must start off it; the paper does not say how.
 * - thetaMax: trust region ‖θ_i‖ ≤ thetaMax · ‖w_in,i‖ per neuron, default 0.25; null = unbounded (the
 *   paper's). Not in the paper, whose VGG/MobileNet channels are batch-normalised right after the split
 *   convolution, which bounds Δz whatever θ's scale. Without that (an MNIST MLP), the GN objective's
 *   minimum (Δz·g = −2L̂, "ΔL = −L̂") is reached by growing θ without bound, far outside where the
 *   approximation holds: measured on a 784-64-10 MLP, 100 Adam steps at 1e-2 unbounded gave
 *   ‖θ‖ ≈ 3.3‖w‖, estimated ΔL ≈ −0.17 against a true +1.4…+4.3 per split (the top 30% applied
 *   together: loss +38); with 0.25 the best splits' estimates are within ~0.005 of the truth and the
 *   top 30% applied together lower the training loss by 0.03.
 * - gnForm: 'batch' (default: the paper's, one Gauss-Newton term per minibatch with L̂ its mean loss,
 *   §3.2-3.3) or 'example' (the same approximation per example, averaged; see gaussNewtonProbe.ts).
 * Reported scores: the estimated ΔL (the EMA), negative = the loss is expected to drop.
 */
import type { LayerDiff } from '../../common/protocol';
import { Rng } from '../random';
import { layerWidth } from '../model/spec';
import { registerMethod } from './registry';
import { Candidate, GrowContext, GrowOptions, GrowPlanResult, GrowthMethod } from './types';
import { Ema } from './gaussNewtonEma';
import { GaussNewtonLayerGraph, ThetaState, inKernel } from './gaussNewtonGraph';
import { commitLayer } from './gaussNewtonCommit';
import { GnForm, targetLayers } from './gaussNewtonProbe';
import { gnForm, num } from './gaussNewtonOptions';
import { Morphism, paramsPerNeuron, selectMorphisms } from './gaussNewtonSelect';

export const GN_DEFAULTS = { lambda: 3e-7, topFraction: 0.3, lr: 1e-2, steps: 100, thetaInit: 0.1, thetaMax: 0.25 } as const;

export interface GaussNewtonOptions extends GrowOptions {
  lambda?: number;
  topFraction?: number;
  emaDecay?: number;
  lr?: number;
  steps?: number;
  batchSize?: number;
  thetaInit?: number;
  thetaMax?: number | null;
  gnForm?: GnForm;
}

export interface LearnedLayer {
  layer: string;
  /** EMA estimates of ΔL per neuron. */
  split: Float64Array;
  prune: Float64Array;
  state: ThetaState;
  thetaShape: number[];
}

/** Random start of θ: N(0, (scale · rms of the layer's incoming kernel)²). */
function initialTheta(g: GaussNewtonLayerGraph, kernel: Float32Array, scale: number, rng: Rng): ThetaState {
  const s = g.zeroState();
  const rms = Math.sqrt(kernel.reduce((a, w) => a + w * w, 0) / Math.max(1, kernel.length));
  for (let i = 0; i < s.theta.length; i++) s.theta[i] = rng.normal(0, scale * rms);
  return s;
}

/** Learn θ of every split morphism of `layers` and the EMA estimates of ΔL (Algorithm 1's growing phase). */
export async function learnMorphisms(ctx: GrowContext, layers: string[], o: GrowOptions): Promise<LearnedLayer[]> {
  const batch = Math.floor(num(o, 'batchSize', ctx.trainer.cfg.batchSize, (v) => v >= 1, 'a positive integer'));
  const steps = Math.floor(num(o, 'steps', GN_DEFAULTS.steps, (v) => v >= 1, 'a positive integer'));
  const lr = num(o, 'lr', GN_DEFAULTS.lr, (v) => v >= 0, 'a non-negative number');
  const thetaInit = num(o, 'thetaInit', GN_DEFAULTS.thetaInit, (v) => v >= 0, 'a non-negative number');
  const thetaMax = o.thetaMax === null ? Infinity : num(o, 'thetaMax', GN_DEFAULTS.thetaMax, (v) => v > 0, 'a positive number or null');
  const decay = num(o, 'emaDecay', Ema.paperDecay(batch, ctx.data.train.n), (v) => v >= 0 && v < 1, 'in [0, 1)');
  const graphs: GaussNewtonLayerGraph[] = [];
  try {
    const form = gnForm(o);
    for (const id of layers) graphs.push(await GaussNewtonLayerGraph.create(ctx.model, ctx.executor, id, form));
    const rng = ctx.rng.fork(17);
    const learned = graphs.map((g) => {
      const kernel = ctx.model.tensors.get(inKernel(ctx.model, g.layer).name)!;
      return { g, state: initialTheta(g, kernel, thetaInit, rng), split: new Ema(g.width, decay), prune: new Ema(g.width, decay) };
    });
    for (let t = 0; t < steps; t++) {
      const b = ctx.scoringBatch(batch);
      for (const l of learned) {
        const r = await l.g.step(b, l.state, lr, thetaMax);
        l.split.update(r.split);
        l.prune.update(r.prune);
      }
    }
    return learned.map((l) => ({
      layer: l.g.layer,
      split: l.split.value(),
      prune: l.prune.value(),
      state: l.state,
      thetaShape: l.g.thetaShape,
    }));
  } finally {
    for (const g of graphs) await g.dispose();
  }
}

export const gaussNewton: GrowthMethod = registerMethod({
  name: 'gauss-newton',
  kind: 'grow',
  description: 'Learned split and prune morphisms scored with a Gauss-Newton approximation of the loss (Lawton et al.)',
  unsupported(model) {
    return targetLayers(model.spec).length === 0
      ? 'it has no dense, conv2d or resblock hidden layer whose width can change (grouped convs and channels tied by an identity shortcut are not among its morphisms)'
      : undefined;
  },
  async apply(ctx: GrowContext, options: GaussNewtonOptions): Promise<GrowPlanResult> {
    const layers = targetLayers(ctx.model.spec, options.layers);
    const lambda = num(options, 'lambda', GN_DEFAULTS.lambda, (v) => v >= 0, 'a non-negative number');
    const topFraction = num(options, 'topFraction', GN_DEFAULTS.topFraction, (v) => v >= 0 && v <= 1, 'in [0, 1]');
    const learned = await learnMorphisms(ctx, layers, options);

    const morphisms: Morphism[] = [];
    const widths = new Map<string, number>();
    for (const l of learned) {
      const d = paramsPerNeuron(ctx.model.spec, l.layer);
      widths.set(l.layer, l.split.length);
      l.split.forEach((dl, i) => morphisms.push({ layer: l.layer, neuron: i, kind: 'split', deltaL: dl, deltaParams: d }));
      l.prune.forEach((dl, i) => morphisms.push({ layer: l.layer, neuron: i, kind: 'prune', deltaL: dl, deltaParams: -d }));
    }
    const { selected, rejected } = selectMorphisms(morphisms, widths, lambda, topFraction);

    // commit deepest layer first (a layer's θ indexes the current neurons of the layer below)
    const order = [...learned].sort((a, b) => ctx.model.layer(b.layer).index - ctx.model.layer(a.layer).index);
    const diffs = new Map<string, LayerDiff>();
    const seed = Math.floor(ctx.rng.next() * 0x7fffffff);
    for (const l of order) {
      const mine = selected.filter((m) => m.layer === l.layer);
      const splits = mine.filter((m) => m.kind === 'split').map((m) => m.neuron);
      const prunes = mine.filter((m) => m.kind === 'prune').map((m) => m.neuron);
      if (splits.length + prunes.length === 0) continue;
      diffs.set(l.layer, commitLayer(ctx.model, { layer: l.layer, splits, prunes, theta: l.state.theta }, seed));
    }
    const asCandidate = (m: Morphism): Candidate => ({ layer: m.layer, neuron: m.neuron, score: m.deltaL, kind: m.kind });
    return {
      diff: layers.filter((id) => diffs.has(id)).map((id) => diffs.get(id)!),
      selected: selected.map(asCandidate),
      rejected: rejected.map(asCandidate),
      notes: {
        score: 'estimated ΔL (EMA of the Gauss-Newton approximation); negative = loss expected to drop',
        lambda,
        topFraction,
        widthsAfter: Object.fromEntries(layers.map((id) => [id, layerWidth(ctx.model.layer(id).layer)])),
        positive: Object.fromEntries(
          learned.map((l) => [l.layer, morphisms.filter((m) => m.layer === l.layer && -m.deltaL - lambda * m.deltaParams > 0).length]),
        ),
      },
    };
  },
});
