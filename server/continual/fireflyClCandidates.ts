/**
 * The over-grown candidate network of one Firefly CL grow round for task t (Wu et al. 2020, App. A,
 * Algorithm 2), as a graph whose candidates are expressions of ε (one entry per candidate) and δ:
 *   - unlocking an active old neuron i: incoming weights θ_i + ε_i δ_i (a trainable copy that would
 *     replace the original in this task's mask), `du{l}` [inputs, unlocked];
 *   - m' brand-new neurons per layer, ε_j σ(x; δ_j) with incoming `dfi{l}` [inputs, m'] and outgoing
 *     δ_j^out `dfo{l}` [consumer, m'] (stored transposed) into the task's own trainable consumers (the
 *     next layer's new neurons, or the head).
 * Besides the loss, the graph outputs what a commit writes: `ucol{l}` (the unlocked copies' incoming
 * columns θ_i + ε_i δ_i) and `fout{l}` (the new neurons' outgoing rows ε_j δ_j^out).
 * `CandidateNetwork` is the graph server/growth/fireflyOptimize.ts scores (its CandidateGraph).
 */
import { HostTensor, Value, add, gather, hostTensor, matmul, mul, relu, transpose } from '../engine';
import type { CandidateGraph } from '../growth/fireflyOptimize';
import type { ClNetwork } from './fireflyClNetwork';
import { Builder, Tensors, ceLoss, makeBuilder } from './tensors';

/** One candidate: unlocking the k-th unlockable neuron of layer l, or the k-th new neuron of layer l. */
export interface CandidateRef {
  kind: 'unlock' | 'fresh';
  l: number;
  k: number;
}

/** The candidates of a round: which old neurons may unlock, how many new ones per layer, in ε order. */
export interface CandidateSet {
  /** Per layer, the unlockable (active, locked) neurons. */
  unlock: number[][];
  /** Per layer, brand-new candidates (m' where a trainable consumer exists, else 0). */
  mNew: number[];
  /** Candidates in ε order: per layer, its unlock candidates then its new ones. */
  refs: CandidateRef[];
}

/** [rows.length, width] 0/1 matrix putting entry k at column rows[k]. */
function placement(rows: number[], width: number, like: Value): Value {
  const d = new Float32Array(rows.length * width);
  rows.forEach((c, k) => (d[k * width + c] = 1));
  return like.graph.constant(hostTensor('float32', [rows.length, width], d));
}

/** Task t's consumers of layer l's new neurons: the next layer's task-owned neurons, or the head's classes. */
export function consumerWidth(net: ClNetwork, nOld: number[], l: number): number {
  return l === net.depth - 1 ? net.classes : net.layers[l + 1].owner.length - nOld[l + 1];
}

/**
 * The candidate network's loss and its commit outputs, over task t's training tensors `params` (with
 * `eps`, `du{l}`, `dfi{l}`, `dfo{l}`) and the task's mask `m{l}`.
 */
export function candidateLoss(
  net: ClNetwork,
  params: Tensors,
  nOld: number[],
  set: CandidateSet,
  b: Builder,
): { loss: Value; outputs: Record<string, Value> } {
  const { unlock, mNew } = set;
  const L = net.depth;
  const eps = b.t('eps');
  const outputs: Record<string, Value> = {};
  let h = b.x;
  let carry: Value | undefined; // new candidates' contribution into this layer's own columns
  let base = 0;
  for (let l = 0; l < L; l++) {
    let { W, bias } = net.layerValues(b, l, params);
    const width = net.layers[l].owner.length;
    const nu = unlock[l].length;
    if (nu) {
      const e = gather(
        eps,
        Array.from({ length: nu }, (_, k) => base + k),
        0,
      );
      const scaled = mul(b.t(`du${l}`), e); // [in, nu] columns scaled by ε
      W = add(W, matmul(scaled, placement(unlock[l], width, W)));
      outputs[`ucol${l}`] = gather(W, unlock[l], 1);
    }
    let pre = add(matmul(h, W), bias);
    if (carry) pre = add(pre, carry);
    const hNext = mul(relu(pre), b.t(`m${l}`));
    carry = undefined;
    if (mNew[l]) {
      const e = gather(
        eps,
        Array.from({ length: mNew[l] }, (_, k) => base + nu + k),
        0,
      );
      const f = mul(relu(matmul(h, b.t(`dfi${l}`))), e); // [N, m']
      outputs[`fout${l}`] = mul(b.t(`dfo${l}`), e); // [consumer, m']
      const out = matmul(f, transpose(b.t(`dfo${l}`), [1, 0])); // [N, consumer]
      if (l === L - 1) carry = out;
      else {
        const nextW = net.layers[l + 1].owner.length;
        const cols = Array.from({ length: nextW - nOld[l + 1] }, (_, k) => nOld[l + 1] + k);
        carry = matmul(out, placement(cols, nextW, out));
      }
    }
    base += nu + mNew[l];
    h = hNext;
  }
  let logits = add(matmul(h, b.t('V')), b.t('c'));
  if (carry) logits = add(logits, carry);
  return { loss: ceLoss(b, logits), outputs };
}

/**
 * The candidate network as fireflyOptimize's CandidateGraph: every tensor (the task's, ε and δ) is an
 * extra input `t:<name>`, fed by name; the model-weight map is unused.
 */
export class CandidateNetwork implements CandidateGraph {
  private readonly b: Builder;

  constructor(
    shapes: Record<string, { shape: number[] }>,
    features: number,
    classes: number,
    private readonly build: (b: Builder) => { loss: Value; outputs: Record<string, Value> },
  ) {
    this.b = makeBuilder('firefly-cl-candidates', features, classes, shapes);
  }

  get graph() {
    return this.b.g;
  }

  forward(): { loss: Value; outputs: Record<string, Value> } {
    return this.build(this.b);
  }

  extra(name: string, shape: number[]): Value {
    const v = this.b.t(name);
    if (v.shape.join() !== shape.join())
      throw new Error(`internal: candidate input ${name} is [${v.shape.join(', ')}], asked as [${shape.join(', ')}]`);
    return v;
  }

  feeds(
    _tensors: Map<string, Float32Array>,
    batch: { x: HostTensor; y: HostTensor },
    extras: Record<string, Float32Array>,
  ): Record<string, HostTensor> {
    const f: Record<string, HostTensor> = { x: batch.x, y: batch.y };
    for (const v of this.graph.inputs) {
      if (!v.name.startsWith('t:')) continue;
      const data = extras[v.name.slice(2)];
      if (!data) throw new Error(`no value for candidate input ${v.name.slice(2)}`);
      f[v.name] = { dtype: 'float32', shape: v.shape as number[], data };
    }
    return f;
  }
}
