/**
 * The Firefly CL master network on a conv trunk (Wu et al. 2020, §2.4, App. A Algorithm 2; the conv
 * nets of §3 / App. B.4): every conv layer's output channels are the neurons, shared across tasks, each
 * owned by the task that created it (an unlocked copy remembering its parent); a binary mask per task
 * over the channels; a dense head per task on the globally average-pooled last layer. Channels are kept
 * in owner order (a task's channels after all older ones), so the locked channels of task t are the
 * first rows of each kernel. Two graph views, as the MLP's (fireflyClNetwork.ts):
 * - training (`taskTensors` / `maskedLogits`): per layer the locked kernel rows `Kf{l}`, `bf{l}` (fed,
 *   never trained) and the task's own `Kn{l}`, `bn{l}`, the mask `m{l}` multiplying the channels;
 * - evaluation (`masterTensors` / `taskLogits`): the task's channels gathered from the master kernels
 *   (output rows by its mask, input columns by the previous layer's mask), so the same shapes and
 *   values whatever the master has grown since: an old task's outputs are bit-identical later.
 * A locked channel never reads channels added later: its kernel's columns for a later brand-new
 * channel are zero, for an unlocked copy they repeat the parent's (frozen).
 */
import { HostTensor, Value, add, concat, gather, matmul, maxPool, mul, reshape } from '../engine';
import { indicesOf } from './fireflyClMatrix';
import { convLayer, images, pooledFeatures, type ConvSpec } from './convTrunk';
import { Builder, Tensors, tensor, values } from './tensors';
import type { Head, TaskTensors } from './fireflyClNetwork';

export interface ConvClLayer {
  /** Kernel [outputs, inputs, 3, 3]. */
  K: HostTensor;
  b: HostTensor;
  owner: number[];
  /** For an unlocked copy (or a split twin), the channel it was copied from; -1 otherwise. */
  parent: number[];
}

/** Rows [from, to) of a kernel [out, in, 3, 3]. */
export function kernelRows(K: HostTensor, from: number, to: number): HostTensor {
  const per = K.shape[1] * 9;
  return tensor([to - from, K.shape[1], 3, 3], values(K).slice(from * per, to * per));
}

/** Kernel with `rows` (each inputs·9 values) appended as output channels. */
export function appendRows(K: HostTensor, rows: Float32Array[]): HostTensor {
  const per = K.shape[1] * 9;
  const d = new Float32Array(values(K).length + rows.length * per);
  d.set(values(K));
  rows.forEach((r, i) => {
    if (r.length !== per) throw new Error(`internal: a kernel row of ${r.length} values, want ${per}`);
    d.set(r, values(K).length + i * per);
  });
  return tensor([K.shape[0] + rows.length, K.shape[1], 3, 3], d);
}

/** Kernel with input channels appended: `cols[k]` holds, per output row, the 9 taps of new input k ([out·9]). */
export function appendColumns(K: HostTensor, cols: Float32Array[]): HostTensor {
  const [out, inp] = K.shape;
  const n = inp + cols.length;
  const src = values(K);
  const d = new Float32Array(out * n * 9);
  for (let r = 0; r < out; r++) {
    d.set(src.subarray(r * inp * 9, (r + 1) * inp * 9), r * n * 9);
    cols.forEach((c, k) => d.set(c.subarray(r * 9, (r + 1) * 9), (r * n + inp + k) * 9));
  }
  return tensor([out, n, 3, 3], d);
}

/** Input channel `i` of a kernel as [out·9] (its 9 taps per output row). */
export function kernelColumn(K: HostTensor, i: number): Float32Array {
  const [out, inp] = K.shape;
  const src = values(K);
  const c = new Float32Array(out * 9);
  for (let r = 0; r < out; r++) c.set(src.subarray((r * inp + i) * 9, (r * inp + i + 1) * 9), r * 9);
  return c;
}

export class ConvClNetwork {
  layers: ConvClLayer[] = [];
  heads: Head[] = [];
  /** masks[t][l][c]: channel c of layer l belongs to task t (length: layer width when t was recorded). */
  masks: Uint8Array[][] = [];

  constructor(
    readonly spec: ConvSpec,
    readonly features: number,
    readonly classes: number,
  ) {}

  get depth(): number {
    return this.spec.channels.length;
  }

  /** Input channels of layer l. */
  inputs(l: number): number {
    return l === 0 ? this.spec.input[0] : this.layers[l - 1].owner.length;
  }

  /** Task t's training tensors under `mask` (see the file's comment). */
  taskTensors(t: number, mask: Uint8Array[]): TaskTensors {
    const params: Tensors = {};
    const trainable: string[] = [];
    const nOld: number[] = [];
    this.layers.forEach((ly, l) => {
      const n = ly.owner.length;
      const old = ly.owner.filter((o) => o < t).length;
      nOld.push(old);
      if (old > 0) {
        params[`Kf${l}`] = kernelRows(ly.K, 0, old);
        params[`bf${l}`] = tensor([old], values(ly.b).slice(0, old));
      }
      if (n > old) {
        params[`Kn${l}`] = kernelRows(ly.K, old, n);
        params[`bn${l}`] = tensor([n - old], values(ly.b).slice(old, n));
        trainable.push(`Kn${l}`, `bn${l}`);
      }
      params[`m${l}`] = tensor([n], Float32Array.from(mask[l]));
    });
    params.V = this.heads[t].V;
    params.c = this.heads[t].c;
    trainable.push('V', 'c');
    return { params, trainable, nOld };
  }

  /** Task t's trained tensors back into the master (its own kernel rows and its head). */
  writeBack(t: number, params: Tensors, nOld: number[]): void {
    this.layers.forEach((ly, l) => {
      if (!params[`Kn${l}`]) return;
      const kept = values(kernelRows(ly.K, 0, nOld[l]));
      ly.K = tensor([ly.owner.length, ly.K.shape[1], 3, 3], Float32Array.from([...kept, ...values(params[`Kn${l}`])]));
      ly.b = tensor([ly.owner.length], Float32Array.from([...values(ly.b).slice(0, nOld[l]), ...values(params[`bn${l}`])]));
    });
    this.heads[t] = { V: params.V, c: params.c };
  }

  /** Layer l's kernel and bias as the training graph sees them (locked rows, then the task's). */
  layerValues(b: Builder, l: number, params: Tensors): { K: Value; bias: Value } {
    const ks: Value[] = [];
    const bs: Value[] = [];
    if (params[`Kf${l}`]) {
      ks.push(b.t(`Kf${l}`));
      bs.push(b.t(`bf${l}`));
    }
    if (params[`Kn${l}`]) {
      ks.push(b.t(`Kn${l}`));
      bs.push(b.t(`bn${l}`));
    }
    return { K: ks.length === 1 ? ks[0] : concat(ks, 0), bias: bs.length === 1 ? bs[0] : concat(bs, 0) };
  }

  /** A per-channel gate [C] as [1, C, 1, 1]. */
  static channelGate(g: Value): Value {
    return reshape(g, [1, g.shape[0], 1, 1]);
  }

  /** Training forward pass: h_l = pool(relu(conv(h_{l-1}, K_l) + b_l) ⊙ gate_l); logits = GAP(h_L) V + c. */
  maskedLogits(b: Builder, params: Tensors, gate: (l: number) => Value): Value {
    let h = images(b.x, this.spec);
    for (let l = 0; l < this.depth; l++) {
      const { K, bias } = this.layerValues(b, l, params);
      // The gate multiplies before the pool: max pool commutes with a 0/1 gate per channel.
      h = convLayer(h, K, bias, false);
      h = mul(h, ConvClNetwork.channelGate(gate(l)));
      if (this.spec.pool[l]) h = maxPool(h, 2);
    }
    return add(matmul(pooledFeatures(h), b.t('V')), b.t('c'));
  }

  /** The master tensors for evaluation (`K{l}`, `b{l}`, and every head `V{t}`, `c{t}`). */
  masterTensors(): Tensors {
    const p: Tensors = {};
    this.layers.forEach((ly, l) => {
      p[`K${l}`] = ly.K;
      p[`b${l}`] = ly.b;
    });
    this.heads.forEach((h, t) => {
      p[`V${t}`] = h.V;
      p[`c${t}`] = h.c;
    });
    return p;
  }

  /** Task t's logits: its channels gathered from the master (mask as indices), then its head. */
  taskLogits(b: Builder, t: number): Value {
    const mask = this.masks[t];
    let h = images(b.x, this.spec);
    let prev: number[] | undefined;
    for (let l = 0; l < this.depth; l++) {
      const idx = indicesOf(mask[l]);
      let K = gather(b.t(`K${l}`), idx, 0);
      if (prev) K = gather(K, prev, 1);
      h = convLayer(h, K, gather(b.t(`b${l}`), idx, 0), this.spec.pool[l]);
      prev = idx;
    }
    return add(matmul(pooledFeatures(h), gather(b.t(`V${t}`), prev!, 0)), b.t(`c${t}`));
  }

  /** Stored parameters: each channel's 3×3 taps from channels no newer than it, its bias; each head's rows of its task's channels. */
  parameterCount(): number {
    let n = 0;
    this.layers.forEach((ly, l) => {
      const prevOwner = l === 0 ? undefined : this.layers[l - 1].owner;
      for (const o of ly.owner) n += 1 + 9 * (prevOwner ? prevOwner.filter((p) => p <= o).length : this.spec.input[0]);
    });
    this.heads.forEach((_, t) => (n += this.headParameters(t)));
    return n;
  }

  private headParameters(t: number): number {
    const mask = this.masks[t];
    const k = mask ? indicesOf(mask[this.depth - 1]).length : this.layers[this.depth - 1].owner.length;
    return (k + 1) * this.classes;
  }

  /** Parameters of task t's sub-network (its masked channels) and its head. */
  taskParameterCount(t: number): number {
    const mask = this.masks[t];
    let n = 0;
    let prev = this.spec.input[0];
    for (let l = 0; l < this.depth; l++) {
      const k = indicesOf(mask[l]).length;
      n += 9 * prev * k + k;
      prev = k;
    }
    return n + (prev + 1) * this.classes;
  }
}
