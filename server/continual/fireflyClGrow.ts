/**
 * One Firefly CL grow round for task t (Wu et al. 2020, App. A, Algorithm 2): the candidates (unlock
 * every active locked neuron; m' new neurons per layer where the task has a trainable consumer), step
 * one and the integrated-gradient scores by server/growth/fireflyOptimize.ts (`unit-sphere` step one:
 * δ gets gradient steps at ε = ϵ, each neuron's δ kept at unit norm), the top η by |s_i| committed at
 * ε̂_i = −ϵ sign(s_i), and a check of the commit: the grown network's loss on the scoring examples
 * against the candidate network's at the chosen ε̂ (`commitGap`, ~1e-6).
 */
import type { Executor, HostTensor } from '../engine';
import { optimizeAndScore, type DeltaSpec, type FireflySettings } from '../growth/fireflyOptimize';
import type { Rng } from '../random';
import { CandidateNetwork, candidateLoss, consumerWidth, type CandidateRef, type CandidateSet } from './fireflyClCandidates';
import { commitCandidates } from './fireflyClCommit';
import { indicesOf } from './fireflyClMatrix';
import type { ClNetwork } from './fireflyClNetwork';
import { ceLoss, tensor, values, type Tensors } from './tensors';
import { evaluateOutputs, type TaskSplit } from './training';

/** What a round needs of the learner's options. */
export interface GrowRoundOptions {
  eta: number;
  newCandidates: number;
  epsilon: number;
  stepOneIterations: number;
  stepOneLearningRate: number;
  scoreExamples: number;
}

export interface GrowRoundResult {
  unlocked: number;
  fresh: number;
  commitGap: number;
}

/** Points of the integrated-gradient rule (n = 3, as the growth methods' default). */
export const INTEGRATION_POINTS = 3;

/** The first n examples of a split (the scoring examples). */
export function subset(split: TaskSplit, n: number): TaskSplit {
  if (split.n <= n) return split;
  const f = split.x.length / split.n;
  return { x: split.x.subarray(0, n * f), y: split.y.subarray(0, n), n };
}

/** The scoring examples as one batch: x [n, F] and one-hot y [n, C]. */
export function scoringBatch(split: TaskSplit, features: number, classes: number): { x: HostTensor; y: HostTensor } {
  const y = new Float32Array(split.n * classes);
  for (let i = 0; i < split.n; i++) y[i * classes + split.y[i]] = 1;
  return { x: tensor([split.n, features], split.x), y: tensor([split.n, classes], y) };
}

/** The round's candidates in ε order. */
function candidates(net: ClNetwork, mask: Uint8Array[], nOld: number[], newCandidates: number): CandidateSet {
  const unlock = net.layers.map((_, l) => indicesOf(mask[l]).filter((i) => i < nOld[l]));
  const mNew = net.layers.map((_, l) => (consumerWidth(net, nOld, l) > 0 ? newCandidates : 0));
  const refs: CandidateRef[] = [];
  net.layers.forEach((_, l) => {
    unlock[l].forEach((_, k) => refs.push({ kind: 'unlock', l, k }));
    for (let k = 0; k < mNew[l]; k++) refs.push({ kind: 'fresh', l, k });
  });
  return { unlock, mNew, refs };
}

/** One grow round: candidates, scores, the top η committed into the master (and the task's mask). */
export async function growRound(
  executor: Executor,
  rng: Rng,
  net: ClNetwork,
  t: number,
  mask: Uint8Array[],
  split: TaskSplit,
  o: GrowRoundOptions,
): Promise<GrowRoundResult> {
  const { features, classes } = net;
  const { params, nOld } = net.taskTensors(t, mask);
  const set = candidates(net, mask, nOld, o.newCandidates);
  const E = set.refs.length;
  if (E === 0) return { unlocked: 0, fresh: 0, commitGap: 0 };
  // δ starts as N(0, 1/rows) per entry (about unit norm per neuron; step one keeps it on the unit sphere).
  // Drawn with std 1/√rows, not fireflyOptimize's gaussian(rng, n, 1/rows): its √(1/rows) differs from
  // 1/√rows in the last bit for many widths (2, 32, …), which would change every run's δ.
  const unitCols = (rows: number, cols: number): HostTensor =>
    tensor(
      [rows, cols],
      Float32Array.from({ length: rows * cols }, () => rng.normal(0, 1 / Math.sqrt(rows))),
    );
  const deltas: DeltaSpec[] = [];
  const delta = (key: string, v: HostTensor, offset: number) => {
    params[key] = v;
    deltas.push({ key, shape: v.shape, axis: 1, group: 1, offset, count: v.shape[1], init: values(v) });
  };
  let base = 0;
  net.layers.forEach((_, l) => {
    const nu = set.unlock[l].length;
    if (nu) delta(`du${l}`, unitCols(net.inputs(l), nu), base);
    if (set.mNew[l]) {
      delta(`dfi${l}`, unitCols(net.inputs(l), set.mNew[l]), base + nu);
      delta(`dfo${l}`, unitCols(consumerWidth(net, nOld, l), set.mNew[l]), base + nu); // stored transposed: [consumer, m']
    }
    base += nu + set.mNew[l];
  });
  params.eps = tensor([E]);
  const fixed: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(params)) fixed[k] = values(v);
  const scoreSplit = subset(split, o.scoreExamples);
  const batch = scoringBatch(scoreSplit, features, classes);
  const settings: FireflySettings = {
    epsilon: o.epsilon,
    steps: o.stepOneIterations,
    integrationPoints: INTEGRATION_POINTS,
    scoreBatch: scoreSplit.n,
    epsLr: 0,
    deltaLr: o.stepOneLearningRate,
    penalty: 0,
    stepOne: 'unit-sphere',
  };
  let order: number[] = [];
  const r = await optimizeAndScore(
    { executor, scoringBatch: () => batch },
    {
      mg: new CandidateNetwork(params, features, classes, (b) => candidateLoss(net, params, nOld, set, b)),
      count: E,
      deltas,
      fixed,
      tensors: new Map(),
    },
    settings,
    // The top η by |s_i|, each committed at ε̂_i = −ϵ sign(s_i) (a first-order decrease ϵ|s_i|); 0 elsewhere.
    (scores) => {
      order = Array.from(scores, (v, i) => [Math.abs(v), i] as const)
        .sort((a, b) => b[0] - a[0])
        .slice(0, o.eta)
        .map((q) => q[1]);
      const chosen = new Float32Array(E);
      for (const i of order) chosen[i] = -o.epsilon * Math.sign(scores[i] || 1);
      return chosen;
    },
  );
  const committed = r.committed!;
  const stepped: Tensors = {};
  for (const d of deltas) stepped[d.key] = tensor(d.shape, r.deltas[d.key]);
  const added = commitCandidates(
    net,
    t,
    mask,
    nOld,
    order.map((i) => set.refs[i]),
    stepped,
    committed,
    set.unlock,
  );
  // The candidate network with only the chosen candidates is the committed network: the loss gap.
  const { params: after } = net.taskTensors(t, mask);
  const got = await evaluateOutputs(
    executor,
    after,
    scoreSplit,
    features,
    classes,
    (b) =>
      ceLoss(
        b,
        net.maskedLogits(b, after, (l) => b.t(`m${l}`)),
      ),
    scoreSplit.n,
  );
  return { ...added, commitGap: Math.abs(got[0] - committed.loss[0]) };
}
