/**
 * The two steps of Firefly descent (Wu et al. 2020, §2.2 "Optimization", used for width and depth)
 * on an over-grown candidate network whose weights are expressions of a step-size vector ε (one entry
 * per candidate neuron) and perturbation tensors δ:
 *
 * Step one (eq. 4): minimise L(f_{ε,δ}) s.t. ‖ε‖∞ ≤ ϵ, ‖δ_i‖₂ ≤ 1 by a few gradient steps, the
 * constraints "turned into a penalty" (§2.2). Our penalty (the paper gives no form):
 *   P(ε, δ) = λ · [ Σ_i (relu(ε_i − ϵ)² + relu(−ε_i − ϵ)²) / ϵ²  +  Σ_i relu(‖δ_i‖² − 1)² ]
 * (zero inside the feasible set, quadratic outside; λ = options.penalty, default 1). The steps are
 * Adam steps (the loss gradient in δ is O(ϵ) small, so a scale-free step is needed) computed in the
 * engine graph from the gradients of L + P; the rates are epsLr·ϵ for ε and deltaLr/√d for δ, where d
 * is the number of parameters of one candidate neuron, so δ_i moves by about deltaLr per step. After
 * the last step (and once before the first) the iterate is projected onto the constraint set
 * (ε clipped to [−ϵ, ϵ], δ_i scaled to norm ≤ 1) so that the scored and committed network is
 * within O(ϵ) of the original exactly, not only approximately.
 *
 * Step two (eq. 5): the integrated gradient s_i = (1/ε̃_i) ∫_0^{ε̃_i} ∂L/∂ε_i dζ, approximated by
 * s_i ≈ (1/n) Σ_z ∂L/∂ε_i at c_z = (2z − 1)/(2n) · ε̃_i, n = integrationPoints (default 3, §2.2).
 * All coordinates are evaluated at once per z (ε = c_z·ε̃ as a whole vector, one backward pass per z):
 * this differs from the per-coordinate integral (other coordinates held at ε̃_¬i) only through the
 * cross terms ∂²L/∂ε_i∂ε_j · O(ϵ), i.e. by O(ϵ) in s_i and O(ϵ²) in the Taylor model L + Σ ε_i s_i.
 *
 * Step one `unit-sphere` (settings.stepOne; Firefly continual learning, server/continual): ε is held at
 * ϵ (not optimised), and each step is plain gradient descent on δ followed by scaling every neuron's
 * slice of each δ tensor back to unit norm, δ ← unit(δ − deltaLr ∂L/∂δ); no penalty, no projection;
 * ε̃ = ϵ for every candidate in step two.
 *
 * `commitAt` (optional): after step two, the candidate network is run once more on the scoring batch at
 * the ε it returns from the scores (e.g. the chosen candidates at ±ϵ, the rest at 0); its loss and the
 * extra outputs the problem's forward pass names come back as `committed` (what a caller writes into
 * its network, and the loss the committed network must have).
 */
import {
  CompiledGraph,
  Graph,
  HostTensor,
  OptimizerSettings,
  Value,
  add,
  div,
  gradients,
  hostTensor,
  mul,
  neg,
  optimizerStep,
  pad,
  reduceSum,
  relu,
  slice,
  sqrt,
  sub,
} from '../engine';
import { flatSize } from '../model/spec';
import type { Rng } from '../random';
import { perNeuronSqNorm, scalePerNeuron } from './fireflyTensors';
import { runOnce } from './modelGraph';
import type { GrowContext } from './types';

/**
 * The over-grown network as a graph (ModelGraph is one): its loss (and any further outputs the caller
 * wants back from the committed ε), its extra inputs by name, and the feeds of one run.
 */
export interface CandidateGraph {
  readonly graph: Graph;
  forward(): { loss: Value; outputs?: Record<string, Value> };
  extra(name: string, shape: number[]): Value;
  feeds(
    tensors: Map<string, Float32Array>,
    batch: { x: HostTensor; y: HostTensor },
    extras: Record<string, Float32Array>,
  ): Record<string, HostTensor>;
}

/** One perturbation tensor δ fed to the candidate graph: `count` neurons along `axis` from candidate `offset`. */
export interface DeltaSpec {
  /** Extra input name (ModelGraph.extra). */
  key: string;
  shape: number[];
  axis: number;
  group: number;
  /** Index in ε of the first neuron along `axis`. */
  offset: number;
  count: number;
  /** Starting value (projected onto the unit balls before the first step). */
  init: Float32Array;
}

export interface FireflyProblem {
  /** The over-grown network; its overrides read ε from extra('eps', [count]) and δ from extra(key, shape). */
  mg: CandidateGraph;
  /** Number of candidate neurons (entries of ε). */
  count: number;
  deltas: DeltaSpec[];
  /** Other extra inputs the overrides read (e.g. the original weights). */
  fixed: Record<string, Float32Array>;
  /** Weights of the over-grown network (model.clone() after the candidate edits). */
  tensors: Map<string, Float32Array>;
}

export interface FireflySettings {
  /** ϵ: the bound on |ε_i|. */
  epsilon: number;
  /** Gradient steps of step one. */
  steps: number;
  /** Points of the integrated-gradient rule (n). */
  integrationPoints: number;
  /** Examples per scoring batch. */
  scoreBatch: number;
  /** Adam rate of ε in units of ϵ. */
  epsLr: number;
  /** Adam rate of δ: about how far δ_i moves per step. */
  deltaLr: number;
  /** λ of the penalty. */
  penalty: number;
  /** Step one: penalised Adam on ε and δ (default), or `unit-sphere` (see the file's comment). */
  stepOne?: 'adam' | 'unit-sphere';
}

export const FIREFLY_DEFAULTS: FireflySettings = {
  // ϵ = 0.01 with ‖δ_i‖ ≤ 1: a split moves a neuron's incoming weights by at most 0.01 in L2 (He-initialised
  // neurons have norm ≈ √2, so about 0.7%); a new neuron's outgoing weights are at most 0.01 in L2.
  epsilon: 0.01,
  steps: 20,
  integrationPoints: 3,
  scoreBatch: 512,
  epsLr: 0.1,
  deltaLr: 0.05,
  penalty: 1,
};

const ADAM: OptimizerSettings = { name: 'adam', momentum: 0, nesterov: false, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** Settings from GrowOptions (numbers only; unknown fields ignored). */
export function fireflySettings(options: Record<string, unknown>, defaults: Partial<FireflySettings> = {}): FireflySettings {
  const base = { ...FIREFLY_DEFAULTS, ...defaults };
  const num = (k: Exclude<keyof FireflySettings, 'stepOne'>, min: number, int = false) => {
    const v = options[k];
    if (v === undefined) return base[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (int && !Number.isInteger(v))) {
      throw new Error(`option ${k} must be ${int ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  return {
    epsilon: num('epsilon', Number.MIN_VALUE),
    steps: num('steps', 0, true),
    integrationPoints: num('integrationPoints', 1, true),
    scoreBatch: num('scoreBatch', 1, true),
    epsLr: num('epsLr', 0),
    deltaLr: num('deltaLr', 0),
    penalty: num('penalty', 0),
  };
}

export interface FireflyResult {
  /** ε̃ after step one (projected). */
  eps: Float32Array;
  /** δ̃ after step one (projected), by key. */
  deltas: Record<string, Float32Array>;
  /** Integrated-gradient scores s_i. */
  scores: Float64Array;
  /** Loss of the candidate network at the start and the end of step one (scoring batches). */
  lossStart: number;
  lossEnd: number;
  /** With `commitAt`: the run at the committed ε (its loss and the forward pass's extra outputs). */
  committed?: Record<string, Float32Array>;
}

/** Samples for δ: N(0, variance) per entry. */
export function gaussian(rng: Rng, n: number, variance: number): Float32Array {
  const std = Math.sqrt(variance);
  return Float32Array.from({ length: n }, () => rng.normal(0, std));
}

interface BuiltGraph {
  outputs: Record<string, Value>;
}

function buildGraph(p: FireflyProblem, s: FireflySettings): BuiltGraph {
  const { mg, count } = p;
  const { loss, outputs: extraOutputs } = mg.forward();
  const eps = mg.extra('eps', [count]);
  const deltas = p.deltas.map((d) => mg.extra(d.key, d.shape));
  if (s.stepOne === 'unit-sphere') return unitSphereGraph(p, loss, eps, deltas, s, extraOutputs);
  const g = mg.graph;
  const c = (v: number) => g.constant(hostTensor('float32', [], [v]));

  const sqNorm = candidateSqNorms(p, eps, deltas);
  const over = (x: Value) => mul(x, x);
  const penalty = mul(
    add(
      div(reduceSum(add(over(relu(sub(eps, c(s.epsilon)))), over(relu(sub(neg(eps), c(s.epsilon))))), [0]), c(s.epsilon * s.epsilon)),
      reduceSum(over(relu(sub(sqNorm, c(1)))), [0]),
    ),
    c(s.penalty),
  );

  const wrt = [eps, ...deltas];
  const gl = gradients(loss, wrt);
  const gp = gradients(penalty, wrt);
  const outputs: Record<string, Value> = { ...extraOutputs, loss, gEps: gl[0] };

  // Adam step on L + P
  const lrEps = mg.extra('lrEps', []);
  const lrDelta = mg.extra('lrDelta', []);
  const t = mg.extra('t', []);
  const dims = new Float64Array(count);
  for (const d of p.deltas) {
    const per = flatSize(d.shape) / d.count;
    for (let i = 0; i < d.count; i++) dims[d.offset + i] += per;
  }
  wrt.forEach((v, k) => {
    const key = k === 0 ? 'eps' : p.deltas[k - 1].key;
    const lr = k === 0 ? lrEps : mul(lrDelta, c(1 / Math.sqrt(dims[p.deltas[k - 1].offset])));
    const shape = v.shape as number[];
    const r = optimizerStep(
      ADAM,
      { param: v, grad: add(gl[k], gp[k]), slots: [mg.extra(`m:${key}`, shape), mg.extra(`v:${key}`, shape)] },
      lr,
      t,
    );
    outputs[`new:${key}`] = r.param;
    outputs[`newm:${key}`] = r.slots[0];
    outputs[`newv:${key}`] = r.slots[1];
  });

  Object.assign(outputs, projections(p, s, eps, deltas, sqNorm));
  return { outputs };
}

/** ‖δ_i‖² per candidate [count], summed over the tensors that hold its parameters. */
function candidateSqNorms(p: FireflyProblem, eps: Value, deltas: Value[]): Value {
  let sq: Value | undefined;
  p.deltas.forEach((d, k) => {
    const part = pad(perNeuronSqNorm(deltas[k], d.axis, d.group), [d.offset, p.count - d.offset - d.count]);
    sq = sq ? add(sq, part) : part;
  });
  return sq ?? mul(eps, eps.graph.constant(hostTensor('float32', [], [0])));
}

/** The point (ε, δ) projected onto the constraint set: ε clipped to [−ϵ, ϵ], each δ_i scaled to norm ≤ 1. */
function projections(p: FireflyProblem, s: FireflySettings, eps: Value, deltas: Value[], sqNorm: Value): Record<string, Value> {
  const c = (v: number) => eps.graph.constant(hostTensor('float32', [], [v]));
  const out: Record<string, Value> = {};
  out['proj:eps'] = add(sub(eps, relu(sub(eps, c(s.epsilon)))), relu(sub(neg(eps), c(s.epsilon))));
  const factor = div(c(1), add(c(1), relu(sub(sqrt(sqNorm), c(1)))));
  p.deltas.forEach((d, k) => {
    out[`proj:${d.key}`] = scalePerNeuron(deltas[k], slice(factor, [d.offset], [d.offset + d.count], [0]), d.axis, d.group);
  });
  return out;
}

/**
 * The starting point projected by a graph of the projection alone (a few elementwise ops per δ), so
 * that step one does not spend a forward and backward pass of the candidate network on it.
 */
async function projectStart(
  executor: GrowContext['executor'],
  p: FireflyProblem,
  s: FireflySettings,
  eps: Float32Array,
  deltas: Record<string, Float32Array>,
): Promise<{ eps: Float32Array; deltas: Record<string, Float32Array> }> {
  const g = new Graph('firefly-project');
  const epsIn = g.input('eps', 'float32', [p.count]);
  const deltaIn = p.deltas.map((d, k) => g.input(`delta${k}`, 'float32', d.shape));
  const outputs = projections(p, s, epsIn, deltaIn, candidateSqNorms(p, epsIn, deltaIn));
  const feeds: Record<string, HostTensor> = { eps: { dtype: 'float32', shape: [p.count], data: eps } };
  p.deltas.forEach((d, k) => (feeds[`delta${k}`] = { dtype: 'float32', shape: d.shape, data: deltas[d.key] }));
  const [r] = await runOnce(executor, g, outputs, [feeds]);
  return { eps: r['proj:eps'], deltas: Object.fromEntries(p.deltas.map((d) => [d.key, r[`proj:${d.key}`]])) };
}

/** The `unit-sphere` step one's graph: the loss, ∂L/∂ε, and δ ← unit(δ − deltaLr ∂L/∂δ) per neuron of each δ tensor. */
function unitSphereGraph(
  p: FireflyProblem,
  loss: Value,
  eps: Value,
  deltas: Value[],
  s: FireflySettings,
  extraOutputs: Record<string, Value> = {},
): BuiltGraph {
  const wrt = [eps, ...deltas];
  const grads = gradients(loss, wrt);
  const outputs: Record<string, Value> = { gEps: grads[0], loss, ...extraOutputs };
  p.deltas.forEach((d, k) => {
    if (d.group !== 1)
      throw new Error(`internal: unit-sphere step one needs one entry per neuron along the axis (${d.key} has groups of ${d.group})`);
    const v = sub(deltas[k], mul(grads[k + 1], s.deltaLr));
    const others = d.shape.map((_, i) => i).filter((i) => i !== d.axis);
    outputs[`new:${d.key}`] = div(v, sqrt(add(reduceSum(mul(v, v), others, true), 1e-12)));
  });
  return { outputs };
}

/** Step one and step two on the engine; returns ε̃, δ̃ and the scores s. */
export async function optimizeAndScore(
  ctx: Pick<GrowContext, 'executor' | 'scoringBatch'>,
  p: FireflyProblem,
  s: FireflySettings,
  commitAt?: (scores: Float64Array) => Float32Array,
): Promise<FireflyResult> {
  const { outputs } = buildGraph(p, s);
  const compiled: CompiledGraph = await ctx.executor.compile(p.mg.graph, outputs);
  try {
    if (s.stepOne === 'unit-sphere') return await unitSphereScore(compiled, p, s, ctx, outputs, commitAt);
    const scalar = (v: number) => Float32Array.of(v);
    let eps: Float32Array = new Float32Array(p.count).fill(s.epsilon);
    const deltas: Record<string, Float32Array> = {};
    const slots: Record<string, Float32Array> = {};
    for (const d of p.deltas) deltas[d.key] = d.init;
    for (const key of ['eps', ...p.deltas.map((d) => d.key)]) {
      const n = key === 'eps' ? p.count : flatSize(p.deltas.find((d) => d.key === key)!.shape);
      slots[`m:${key}`] = new Float32Array(n);
      slots[`v:${key}`] = new Float32Array(n);
    }
    const run = async (batch: { x: HostTensor; y: HostTensor }, t: number) => {
      const extras: Record<string, Float32Array> = {
        ...p.fixed,
        ...deltas,
        ...slots,
        eps,
        lrEps: scalar(s.epsLr * s.epsilon),
        lrDelta: scalar(s.deltaLr),
        t: scalar(Math.max(1, t)),
      };
      const feeds = p.mg.feeds(p.tensors, batch, extras);
      const r = await compiled.run(feeds);
      const get = (k: string) => Float32Array.from(r[k].data as Float32Array);
      return { get, loss: (r.loss.data as Float32Array)[0] };
    };
    const project = (r: { get: (k: string) => Float32Array }) => {
      eps = r.get('proj:eps');
      for (const d of p.deltas) deltas[d.key] = r.get(`proj:${d.key}`);
    };

    // Start inside the constraint set.
    const start = await projectStart(ctx.executor, p, s, eps, deltas);
    eps = start.eps;
    Object.assign(deltas, start.deltas);
    let lossStart = NaN;
    for (let t = 1; t <= s.steps; t++) {
      const r = await run(ctx.scoringBatch(s.scoreBatch), t);
      if (t === 1) lossStart = r.loss;
      eps = r.get('new:eps');
      for (const d of p.deltas) deltas[d.key] = r.get(`new:${d.key}`);
      for (const key of ['eps', ...p.deltas.map((d) => d.key)]) {
        slots[`m:${key}`] = r.get(`newm:${key}`);
        slots[`v:${key}`] = r.get(`newv:${key}`);
      }
    }
    const scoring = ctx.scoringBatch(s.scoreBatch);
    const last = await run(scoring, s.steps + 1);
    if (s.steps === 0) lossStart = last.loss;
    project(last);
    const epsTilde = eps;

    // Step two: integrated gradients at c_z ε̃ on one batch.
    const scores = new Float64Array(p.count);
    const n = s.integrationPoints;
    for (let z = 1; z <= n; z++) {
      const cz = (2 * z - 1) / (2 * n);
      eps = Float32Array.from(epsTilde, (e) => cz * e);
      const r = await run(scoring, 1);
      const g = r.get('gEps');
      for (let i = 0; i < p.count; i++) scores[i] += g[i] / n;
    }
    const result: FireflyResult = { eps: epsTilde, deltas: { ...deltas }, scores, lossStart, lossEnd: last.loss };
    if (commitAt) {
      eps = commitAt(scores);
      const r = await run(scoring, 1);
      result.committed = Object.fromEntries(Object.keys(outputs).map((k) => [k, r.get(k)]));
    }
    return result;
  } finally {
    await compiled.dispose();
  }
}

function allOutputs(r: Record<string, HostTensor>, outputs: Record<string, Value>): Record<string, Float32Array> {
  const o: Record<string, Float32Array> = {};
  for (const k of Object.keys(outputs)) o[k] = Float32Array.from(r[k].data as Float32Array);
  return o;
}

/** Step one `unit-sphere` (ε held at ϵ) and step two on its graph. */
async function unitSphereScore(
  compiled: CompiledGraph,
  p: FireflyProblem,
  s: FireflySettings,
  ctx: Pick<GrowContext, 'scoringBatch'>,
  outputs: Record<string, Value>,
  commitAt?: (scores: Float64Array) => Float32Array,
): Promise<FireflyResult> {
  const deltas: Record<string, Float32Array> = {};
  for (const d of p.deltas) deltas[d.key] = d.init;
  const run = async (batch: { x: HostTensor; y: HostTensor }, eps: Float32Array) =>
    allOutputs(await compiled.run(p.mg.feeds(p.tensors, batch, { ...p.fixed, ...deltas, eps })), outputs);
  const at = (v: number) => new Float32Array(p.count).fill(v);
  let lossStart = NaN;
  let lossEnd = NaN;
  for (let it = 0; it < s.steps; it++) {
    const r = await run(ctx.scoringBatch(s.scoreBatch), at(s.epsilon));
    if (it === 0) lossStart = r.loss[0];
    lossEnd = r.loss[0];
    for (const d of p.deltas) deltas[d.key] = r[`new:${d.key}`];
  }
  const scoring = ctx.scoringBatch(s.scoreBatch);
  const scores = new Float64Array(p.count);
  const n = s.integrationPoints;
  for (let z = 1; z <= n; z++) {
    const g = (await run(scoring, at(((2 * z - 1) / (2 * n)) * s.epsilon))).gEps;
    for (let i = 0; i < p.count; i++) scores[i] += g[i] / n;
  }
  const result: FireflyResult = { eps: at(s.epsilon), deltas: { ...deltas }, scores, lossStart, lossEnd };
  if (commitAt) result.committed = await run(scoring, commitAt(scores));
  return result;
}
