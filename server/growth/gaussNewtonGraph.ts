/**
 * Engine graphs for the Gauss-Newton morphisms (Lawton et al. §3): one graph per grown layer scores
 * every neuron's split and prune morphism on a minibatch and takes one Adam step on the split
 * parameters θ; one graph for the whole model scores prune morphisms only (no θ to learn).
 *
 * Split graph: the over-grown model (model.clone() + splitNeurons with sources [0..n-1, 0..n-1]: neuron
 * i and its replica n+i, outgoing weights halved) with the layer's incoming kernel overridden by
 * [W + θ, W − θ] (§3.1). One forward pass at θ = 0 (the original function) gives the loss L̂, u and
 * g = ∂L̂/∂u; a second pass with θ gives the replicas' u(θ). Every neuron's morphism only moves its own
 * channel of ū (the replicas' mean, what the rest of the network sees), so all n candidates are scored
 * independently in the one graph, and d(Σ_i ΔL_i)/dθ_i = dΔL_i/dθ_i. The Adam step (§4) is followed
 * by a projection onto ‖θ_i‖ ≤ ρ‖w_in,i‖ (a trust region the paper does not have; see gaussNewton.ts).
 */
import {
  CompiledGraph,
  Executor,
  HostTensor,
  OptimizerSettings,
  Value,
  add,
  concat,
  div,
  gradients,
  greater,
  mul,
  neg,
  optimizerStep,
  reduceMean,
  reduceSum,
  slice,
  sqrt,
  sub,
  where,
} from '../engine';
import type { GrowableModel } from '../model/growable';
import { flatSize, layerWidth } from '../model/spec';
import { widthEdits } from '../model/widthEdits';
import { ModelGraph } from './modelGraph';
import {
  GnForm,
  byChannel,
  channelSum,
  gaussNewtonDeltaL,
  gaussNewtonDeltaLPerExample,
  perExampleLoss,
  probeValue,
} from './gaussNewtonProbe';

export type Batch = { x: HostTensor; y: HostTensor };

/** θ of every split morphism of a layer (the kernel's shape with n along the neuron axis) and its Adam state. */
export interface ThetaState {
  theta: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** Adam steps taken. */
  t: number;
}

export interface GnScores {
  /** Estimated ΔL of splitting each neuron with the θ fed (before this call's update). */
  split: Float32Array;
  /** Estimated ΔL of pruning each neuron. */
  prune: Float32Array;
  /** The minibatch loss L̂. */
  loss: number;
}

/** Adam with the usual defaults; the paper learns θ with Adam (§4, App. B) and gives only the rate. */
export const THETA_ADAM: OptimizerSettings = {
  name: 'adam',
  momentum: 0,
  nesterov: false,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
};

/** The incoming kernel of a dense or conv2d layer and the axis of its neurons (from widthEdits). */
export function inKernel(model: GrowableModel, layerId: string): { name: string; axis: number } {
  const { index } = model.layer(layerId);
  const e = widthEdits(model.spec, index).find((w) => w.role === 'in' && w.fill === 'kernel');
  if (!e) throw new Error(`internal: no incoming kernel for ${layerId}`);
  return { name: e.name, axis: e.axis };
}

export class GaussNewtonLayerGraph {
  private constructor(
    readonly layer: string,
    readonly width: number,
    readonly thetaShape: number[],
    readonly thetaAxis: number,
    private readonly graph: ModelGraph,
    private readonly tensors: Map<string, Float32Array>,
    private readonly compiled: CompiledGraph,
  ) {}

  static async create(model: GrowableModel, executor: Executor, layerId: string, form: GnForm = 'batch'): Promise<GaussNewtonLayerGraph> {
    const { layer } = model.layer(layerId);
    const n = layerWidth(layer)!;
    const over = model.clone();
    const id = Array.from({ length: n }, (_, i) => i);
    over.splitNeurons(layerId, [...id, ...id], 0);
    const kernel = inKernel(over, layerId);
    const thetaShape = over.shapeOf(kernel.name).slice();
    thetaShape[kernel.axis] = n;

    let withTheta = false;
    const mg = ModelGraph.of(over, (name, base, g) => {
      if (!withTheta || name !== kernel.name) return undefined;
      const th = g.extra('theta', thetaShape);
      return add(base(), concat([th, neg(th)], kernel.axis)); // §3.1: w_in + θ and w_in − θ
    });
    const f0 = mg.forward(); // θ = 0: the original network's function
    withTheta = true;
    const f1 = mg.forward();
    const u0 = probeValue(over.spec, f0, layerId);
    const lossN = form === 'example' ? perExampleLoss(model.spec.task, f0.output, mg.y) : undefined;
    const [gOver] = gradients(lossN ? reduceSum(lossN, [0]) : f0.loss, [u0]);
    const first = (v: Value) => slice(byChannel(v, 2 * n), [0], [n], [1]);
    const second = (v: Value) => slice(byChannel(v, 2 * n), [n], [2 * n], [1]);
    // each replica's outgoing weights are halved, so ∂L/∂u_i of the original network is the replicas' sum
    const g = add(first(gOver), second(gOver));
    const u = first(u0);
    const u1 = probeValue(over.spec, f1, layerId);
    const uBar = mul(add(first(u1), second(u1)), 0.5);
    const estimate = (dzg: Value) =>
      lossN ? gaussNewtonDeltaLPerExample(reduceSum(dzg, [2]), lossN) : gaussNewtonDeltaL(channelSum(dzg), f0.loss);
    const split = estimate(mul(g, sub(uBar, u)));
    const prune = estimate(neg(mul(g, u)));

    const theta = mg.extra('theta', thetaShape);
    const [gTheta] = gradients(reduceSum(split, [0]), [theta]);
    const m = mg.extra('m', thetaShape),
      v = mg.extra('v', thetaShape);
    const lr = mg.extra('lr', []),
      t = mg.extra('t', []);
    const next = optimizerStep(THETA_ADAM, { param: theta, grad: gTheta, slots: [m, v] }, lr, t);
    // trust region: ‖θ_i‖ ≤ ρ ‖w_in,i‖ per neuron (projection after the step; see GaussNewtonOptions.thetaMax)
    const others = thetaShape.map((_, a) => a).filter((a) => a !== kernel.axis);
    const norm = (x: Value) => sqrt(add(reduceSum(mul(x, x), others, true), 1e-30));
    const limit = mul(norm(slice(mg.base(kernel.name), [0], [n], [kernel.axis])), mg.extra('rho', []));
    const nTheta = norm(next.param);
    const projected = where(greater(nTheta, limit), mul(next.param, div(limit, nTheta)), next.param);
    const compiled = await executor.compile(mg.graph, {
      split,
      prune,
      loss: f0.loss,
      theta: projected,
      m: next.slots[0],
      v: next.slots[1],
    });
    return new GaussNewtonLayerGraph(layerId, n, thetaShape, kernel.axis, mg, over.tensors, compiled);
  }

  /**
   * Scores at state.theta on one minibatch, then one Adam step at rate `lr` (0 leaves θ where it is),
   * projected onto ‖θ_i‖ ≤ rho ‖w_in,i‖ (Infinity: no bound).
   */
  async step(batch: Batch, state: ThetaState, lr: number, rho = Infinity): Promise<GnScores> {
    const t = state.t + 1;
    const feeds = this.graph.feeds(this.tensors, batch, {
      theta: state.theta,
      m: state.m,
      v: state.v,
      lr: Float32Array.of(lr),
      t: Float32Array.of(t),
      rho: Float32Array.of(Math.min(rho, 3e38)),
    });
    const r = await this.compiled.run(feeds);
    const copy = (k: string) => Float32Array.from(r[k].data as Float32Array);
    if (lr !== 0) {
      state.theta = copy('theta');
      state.m = copy('m');
      state.v = copy('v');
      state.t = t;
    }
    return { split: copy('split'), prune: copy('prune'), loss: (r.loss.data as Float32Array)[0] };
  }

  /** θ = 0 with zeroed Adam state. */
  zeroState(): ThetaState {
    const size = flatSize(this.thetaShape);
    return { theta: new Float32Array(size), m: new Float32Array(size), v: new Float32Array(size), t: 0 };
  }

  dispose(): Promise<void> {
    return this.compiled.dispose();
  }
}

export interface PruneScores {
  /** Per layer: s_i = −Σ ⟨∂L̂/∂u_i, u_i⟩ (the first-order change of removing neuron i) and its GN ΔL. */
  layers: Map<string, { s: Float32Array; deltaL: Float32Array }>;
  loss: number;
}

/**
 * Prune morphisms of several layers in one graph over the unchanged model: removing neuron i sets u_i
 * to 0 (Δu_i = −u_i), so s_i = −Σ ⟨g_i, u_i⟩, which is also minus the first-order Taylor term
 * Σ a_i ∂L/∂a_i of Molchanov et al. (2017) with a = u.
 */
export class PruneGraph {
  private constructor(
    readonly layers: string[],
    private readonly graph: ModelGraph,
    private readonly tensors: Map<string, Float32Array>,
    private readonly compiled: CompiledGraph,
  ) {}

  static async create(model: GrowableModel, executor: Executor, layerIds: string[], form: GnForm = 'batch'): Promise<PruneGraph> {
    const mg = ModelGraph.of(model);
    const f = mg.forward();
    const probes = layerIds.map((id) => {
      return { id, n: layerWidth(model.layer(id).layer)!, u: probeValue(model.spec, f, id) };
    });
    const lossN = form === 'example' ? perExampleLoss(model.spec.task, f.output, mg.y) : undefined;
    const grads = gradients(
      lossN ? reduceSum(lossN, [0]) : f.loss,
      probes.map((p) => p.u),
    );
    const outputs: Record<string, Value> = { loss: f.loss };
    probes.forEach((p, k) => {
      const dzg = neg(mul(byChannel(grads[k], p.n), byChannel(p.u, p.n)));
      // s: the first-order change of the minibatch's mean loss (per-example gradients summed, / N)
      outputs[`s:${p.id}`] = lossN ? reduceMean(reduceSum(dzg, [2]), [0]) : channelSum(dzg);
      outputs[`dl:${p.id}`] = lossN ? gaussNewtonDeltaLPerExample(reduceSum(dzg, [2]), lossN) : gaussNewtonDeltaL(channelSum(dzg), f.loss);
    });
    const compiled = await executor.compile(mg.graph, outputs);
    return new PruneGraph(layerIds, mg, model.tensors, compiled);
  }

  async run(batch: Batch): Promise<PruneScores> {
    const r = await this.compiled.run(this.graph.feeds(this.tensors, batch, {}));
    const get = (k: string) => Float32Array.from(r[k].data as Float32Array);
    const layers = new Map(this.layers.map((id) => [id, { s: get(`s:${id}`), deltaL: get(`dl:${id}`) }]));
    return { layers, loss: (r.loss.data as Float32Array)[0] };
  }

  dispose(): Promise<void> {
    return this.compiled.dispose();
  }
}
