/**
 * One Firefly CL grow round on a conv master network (Wu et al. 2020, App. A Algorithm 2; App. B.4
 * "copy-exist-neuron and grow-new-neuron" on VGG-16): the candidates are channels,
 *   - task 0: splitting every channel i, σ(θ_i) → ½σ(θ_i + ε_i δ_i) + ½σ(θ_i − ε_i δ_i) (§2.2), each copy
 *     reading the next layer through half the original's outgoing taps;
 *   - task t > 0: unlocking every active locked channel i, a trainable copy θ_i + ε_i δ_i replacing the
 *     original in this task's mask (the original stays, locked, for the old tasks);
 *   - both: m' brand-new channels per layer, ε_j σ(x; δ_j^in) (a 3×3 kernel over the layer's inputs,
 *     no bias) read through δ_j^out by the task's own trainable consumers (the next layer's task-owned
 *     channels, or the head after the global pool);
 * with step one (`unit-sphere`: δ steps at ε = ϵ, each channel's δ at unit norm) and the integrated-
 * gradient scores of server/growth/fireflyOptimize.ts, the top η by |s_i| committed at ε̂_i = −ϵ sign(s_i),
 * and the commit checked: the grown network's loss on the scoring examples against the candidate
 * network's at the chosen ε̂ (`commitGap`).
 */
import { Executor, HostTensor, Value, add, concat, gather, hostTensor, matmul, maxPool, mul, relu, sub, transpose } from '../engine';
import { optimizeAndScore, type DeltaSpec, type FireflySettings } from '../growth/fireflyOptimize';
import { scalePerNeuron } from '../growth/fireflyTensors';
import type { Rng } from '../random';
import { CandidateNetwork } from './fireflyClCandidates';
import { INTEGRATION_POINTS, scoringBatch, subset, type GrowRoundOptions, type GrowRoundResult } from './fireflyClGrow';
import { indicesOf } from './fireflyClMatrix';
import { ConvClNetwork, appendColumns, appendRows, kernelColumn } from './convClNetwork';
import { conv3, images, pooledFeatures } from './convTrunk';
import { Builder, Tensors, ceLoss, tensor, values } from './tensors';
import { evaluateOutputs, type TaskSplit } from './training';

export interface ConvGrowResult extends GrowRoundResult {
  /** Task 0: channels split. */
  split: number;
}

/** The round's candidates: per layer the channels that move with ε (split or unlock) and the brand-new ones, in ε order. */
interface ConvCandidateSet {
  kind: 'split' | 'unlock';
  moved: number[][];
  mNew: number[];
  refs: { kind: 'moved' | 'fresh'; l: number; k: number }[];
}

/** Task t's consumers of layer l's new channels: the next layer's task-owned channels, or the head's classes. */
function consumers(net: ConvClNetwork, nOld: number[], l: number): number {
  return l === net.depth - 1 ? net.classes : net.layers[l + 1].owner.length - nOld[l + 1];
}

function candidateSet(net: ConvClNetwork, t: number, mask: Uint8Array[], nOld: number[], newCandidates: number): ConvCandidateSet {
  const kind = t === 0 ? 'split' : 'unlock';
  const moved = net.layers.map((ly, l) => (t === 0 ? ly.owner.map((_, i) => i) : indicesOf(mask[l]).filter((i) => i < nOld[l])));
  const mNew = net.layers.map((_, l) => (consumers(net, nOld, l) > 0 ? newCandidates : 0));
  const refs: ConvCandidateSet['refs'] = [];
  net.layers.forEach((_, l) => {
    moved[l].forEach((_, k) => refs.push({ kind: 'moved', l, k }));
    for (let k = 0; k < mNew[l]; k++) refs.push({ kind: 'fresh', l, k });
  });
  return { kind, moved, mNew, refs };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);

function zeros(like: Value, shape: number[]): Value {
  return like.graph.constant(hostTensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1))));
}

/** The over-grown conv network's loss over task t's tensors `params` (with `eps`, `dm{l}`, `dfi{l}`, `dfo{l}`). */
function candidateLoss(net: ConvClNetwork, params: Tensors, nOld: number[], set: ConvCandidateSet, b: Builder): { loss: Value } {
  const eps = b.t('eps');
  let h = images(b.x, net.spec);
  let carry: Value | undefined; // new channels' contribution to this layer's pre-activations
  let headCarry: Value | undefined;
  let base = 0;
  for (let l = 0; l < net.depth; l++) {
    const { K, bias } = net.layerValues(b, l, params);
    const width = net.layers[l].owner.length;
    const pool = net.spec.pool[l];
    const gate = ConvClNetwork.channelGate(b.t(`m${l}`));
    const layer = (k: Value) => {
      let y = conv3(h, k, bias);
      if (carry) y = add(y, carry);
      const z = mul(relu(y), gate);
      return pool ? maxPool(z, 2) : z;
    };
    const nm = set.moved[l].length;
    let next: Value;
    if (nm) {
      const d = scalePerNeuron(b.t(`dm${l}`), gather(eps, range(base, nm), 0), 0); // [nm, in, 3, 3], ε_i δ_i
      const map = new Array<number>(width).fill(0);
      set.moved[l].forEach((c, k) => (map[c] = k + 1));
      const spread = gather(concat([zeros(K, [1, net.inputs(l), 3, 3]), d], 0), map, 0); // [width, in, 3, 3]
      next = set.kind === 'unlock' ? layer(add(K, spread)) : mul(add(layer(add(K, spread)), layer(sub(K, spread))), 0.5);
    } else next = layer(K);
    carry = undefined;
    const m = set.mNew[l];
    if (m) {
      let f = relu(conv3(h, b.t(`dfi${l}`)));
      if (pool) f = maxPool(f, 2);
      // ε after the pool: the committed channel is pooled, then read through ε̂ δ^out.
      f = mul(f, ConvClNetwork.channelGate(gather(eps, range(base + nm, m), 0)));
      if (l === net.depth - 1) headCarry = matmul(pooledFeatures(f), transpose(b.t(`dfo${l}`), [1, 0]));
      else {
        const old = nOld[l + 1];
        const Ko = old > 0 ? concat([zeros(f, [old, m, 3, 3]), b.t(`dfo${l}`)], 0) : b.t(`dfo${l}`);
        carry = conv3(f, Ko);
      }
    }
    base += nm + m;
    h = next;
  }
  let logits = add(matmul(pooledFeatures(h), b.t('V')), b.t('c'));
  if (headCarry) logits = add(logits, headCarry);
  return { loss: ceLoss(b, logits) };
}

/** δ drawn N(0, 1/d) per entry for neurons of d values along `axis` (about unit norm; step one keeps it there). */
function drawDelta(rng: Rng, shape: number[], axis: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const per = n / shape[axis];
  return tensor(
    shape,
    Float32Array.from({ length: n }, () => rng.normal(0, 1 / Math.sqrt(per))),
  );
}

/** One grow round of task t on the conv master network: candidates, scores, the top η committed (and the task's mask grown). */
export async function convGrowRound(
  executor: Executor,
  rng: Rng,
  net: ConvClNetwork,
  t: number,
  mask: Uint8Array[],
  split: TaskSplit,
  o: GrowRoundOptions,
): Promise<ConvGrowResult> {
  const { features, classes } = net;
  const { params, nOld } = net.taskTensors(t, mask);
  const set = candidateSet(net, t, mask, nOld, o.newCandidates);
  const E = set.refs.length;
  if (E === 0) return { unlocked: 0, fresh: 0, split: 0, commitGap: 0 };
  const deltas: DeltaSpec[] = [];
  const delta = (key: string, shape: number[], axis: number, offset: number) => {
    const v = drawDelta(rng, shape, axis);
    params[key] = v;
    deltas.push({ key, shape, axis, group: 1, offset, count: shape[axis], init: values(v) });
  };
  let base = 0;
  net.layers.forEach((_, l) => {
    const nm = set.moved[l].length;
    const m = set.mNew[l];
    if (nm) delta(`dm${l}`, [nm, net.inputs(l), 3, 3], 0, base);
    if (m) {
      delta(`dfi${l}`, [m, net.inputs(l), 3, 3], 0, base + nm);
      const c = consumers(net, nOld, l);
      delta(`dfo${l}`, l === net.depth - 1 ? [c, m] : [c, m, 3, 3], 1, base + nm);
    }
    base += nm + m;
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
  const chosenEps = new Float32Array(E);
  const r = await optimizeAndScore(
    { executor, scoringBatch: () => batch },
    {
      mg: new CandidateNetwork(params, features, classes, (b) => ({ ...candidateLoss(net, params, nOld, set, b), outputs: {} })),
      count: E,
      deltas,
      fixed,
      tensors: new Map(),
    },
    settings,
    (scores) => {
      order = Array.from(scores, (v, i) => [Math.abs(v), i] as const)
        .sort((a, b) => b[0] - a[0] || a[1] - b[1])
        .slice(0, o.eta)
        .map((q) => q[1]);
      for (const i of order) chosenEps[i] = -o.epsilon * Math.sign(scores[i] || 1);
      return chosenEps;
    },
  );
  const added = commit(net, t, mask, nOld, set, r.deltas, chosenEps, order);
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
  return { ...added, commitGap: Math.abs(got[0] - r.committed!.loss[0]) };
}

/** A new channel of layer l, in the order it is appended. */
type NewChannel = { kind: 'unlock' | 'split'; parent: number } | { kind: 'fresh'; k: number; eps: number };

/** Writes the chosen candidates into the master network and task t's mask (see the file's comment). */
function commit(
  net: ConvClNetwork,
  t: number,
  mask: Uint8Array[],
  nOld: number[],
  set: ConvCandidateSet,
  deltas: Record<string, Float32Array>,
  eps: Float32Array,
  order: number[],
): Omit<ConvGrowResult, 'commitGap'> {
  const f = Math.fround;
  const offsets: number[] = [];
  let base = 0;
  net.layers.forEach((_, l) => {
    offsets.push(base);
    base += set.moved[l].length + set.mNew[l];
  });
  const chosen = [...order].sort((a, b) => a - b).map((i) => ({ ...set.refs[i], e: eps[i] }));
  const widthBefore = net.layers.map((ly) => ly.owner.length);
  const added: NewChannel[][] = net.layers.map(() => []);
  let unlocked = 0;
  let fresh = 0;
  let split = 0;
  // Rows first (each layer's new channels over its inputs before this round).
  net.layers.forEach((ly, l) => {
    const per = ly.K.shape[1] * 9; // the inputs before this round (columns come next)
    const rows: Float32Array[] = [];
    const bias = Array.from(values(ly.b));
    const K = Float32Array.from(values(ly.K));
    for (const c of chosen.filter((q) => q.l === l)) {
      if (c.kind === 'moved') {
        const p = set.moved[l][c.k];
        const d = deltas[`dm${l}`].subarray(c.k * per, (c.k + 1) * per);
        const theta = K.slice(p * per, (p + 1) * per);
        const plus = Float32Array.from(theta, (v, j) => f(v + f(d[j] * c.e)));
        const minus = Float32Array.from(theta, (v, j) => f(v - f(d[j] * c.e)));
        if (set.kind === 'split') {
          K.set(plus, p * per);
          rows.push(minus);
          split++;
        } else {
          rows.push(plus);
          mask[l][p] = 0;
          unlocked++;
        }
        bias.push(bias[p]);
        ly.owner.push(t);
        ly.parent.push(p);
        added[l].push({ kind: set.kind, parent: p });
      } else {
        rows.push(deltas[`dfi${l}`].slice(c.k * per, (c.k + 1) * per));
        bias.push(0);
        ly.owner.push(t);
        ly.parent.push(-1);
        added[l].push({ kind: 'fresh', k: c.k, eps: c.e });
        fresh++;
      }
    }
    ly.K = appendRows(tensor(ly.K.shape, K), rows);
    ly.b = tensor([bias.length], Float32Array.from(bias));
    const m = new Uint8Array(ly.owner.length);
    m.set(mask[l]);
    m.fill(1, mask[l].length);
    mask[l] = m;
  });
  // Then the consumers: the next layer's input channels, or the task's head rows.
  net.layers.forEach((_, l) => {
    if (!added[l].length) return;
    const last = l === net.depth - 1;
    // The consumers the candidates were scored with (before this round's new channels).
    const c = last ? net.classes : widthBefore[l + 1] - nOld[l + 1];
    const mNew = set.mNew[l];
    if (last) {
      const V = Array.from(values(net.heads[t].V));
      const C = net.classes;
      for (const a of added[l]) {
        let row: number[];
        if (a.kind === 'fresh') {
          const dfo = deltas[`dfo${l}`];
          row = Array.from({ length: C }, (_, k) => f(a.eps * dfo[k * mNew + a.k]));
        } else {
          row = V.slice(a.parent * C, (a.parent + 1) * C);
          if (a.kind === 'split') {
            row = row.map((v) => v * 0.5);
            V.splice(a.parent * C, C, ...row);
          }
        }
        V.push(...row);
      }
      net.heads[t] = { V: tensor([V.length / C, C], Float32Array.from(V)), c: net.heads[t].c };
      return;
    }
    const next = net.layers[l + 1];
    let K = next.K;
    const out = K.shape[0];
    const cols: Float32Array[] = [];
    for (const a of added[l]) {
      if (a.kind === 'fresh') {
        const dfo = deltas[`dfo${l}`]; // [c, mNew, 3, 3]
        const col = new Float32Array(out * 9);
        for (let r = 0; r < c; r++) for (let j = 0; j < 9; j++) col[(nOld[l + 1] + r) * 9 + j] = f(a.eps * dfo[(r * mNew + a.k) * 9 + j]);
        cols.push(col);
      } else {
        const col = kernelColumn(K, a.parent);
        if (a.kind === 'split') {
          for (let j = 0; j < col.length; j++) col[j] *= 0.5;
          K = setColumn(K, a.parent, col);
        }
        cols.push(col);
      }
    }
    next.K = appendColumns(K, cols);
  });
  return { unlocked, fresh, split };
}

/** Kernel with input channel i replaced by `col` ([out·9]). */
function setColumn(K: HostTensor, i: number, col: Float32Array): HostTensor {
  const [out, inp] = K.shape;
  const d = Float32Array.from(values(K));
  for (let r = 0; r < out; r++) d.set(col.subarray(r * 9, (r + 1) * 9), (r * inp + i) * 9);
  return tensor(K.shape, d);
}
