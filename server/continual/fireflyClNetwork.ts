/**
 * The Firefly CL master network: an MLP whose hidden neurons are shared across tasks (each owned by the
 * task that created it, an unlocked copy remembering its parent), a binary mask per task over them and
 * a head per task; and its two graph views:
 * - training (`taskTensors` / `maskedLogits`): for task t, each layer's locked columns `Wf{l}`, `bf{l}`
 *   (neurons of earlier tasks, fed, never trained) and the task's own `Wn{l}`, `bn{l}`, the task's mask
 *   as a 0/1 multiplication of every hidden layer, and the head `V`, `c`;
 * - evaluation (`masterTensors` / `taskLogits`): the task's own neurons gathered from the master (same
 *   shapes whatever the master has grown since), so an old task's outputs are bit-identical later.
 */
import { HostTensor, Value, add, concat, gather, matmul, mul, relu } from '../engine';
import { indicesOf, joinColumns, sliceColumns } from './fireflyClMatrix';
import { Builder, Tensors, tensor, values } from './tensors';

export interface Layer {
  /** Kernel [inputs, outputs], row-major. */
  W: HostTensor;
  b: HostTensor;
  /** Task that created each neuron. */
  owner: number[];
  /** For an unlocked copy, the neuron it was copied from; -1 otherwise. */
  parent: number[];
}

export interface Head {
  V: HostTensor;
  c: HostTensor;
}

/** Task t's training tensors, which of them train, and each layer's count of locked (older) neurons. */
export interface TaskTensors {
  params: Tensors;
  trainable: string[];
  nOld: number[];
}

export class ClNetwork {
  layers: Layer[] = [];
  heads: Head[] = [];
  /** masks[t][l][i]: neuron i of layer l belongs to task t (length: layer width when t was recorded). */
  masks: Uint8Array[][] = [];

  constructor(
    readonly features: number,
    readonly classes: number,
    readonly depth: number,
  ) {}

  /** Inputs of layer l (the features, or the previous layer's width). */
  inputs(l: number): number {
    return l === 0 ? this.features : this.layers[l - 1].owner.length;
  }

  /** The training tensors of task t under `mask` (see the file's comment). */
  taskTensors(t: number, mask: Uint8Array[]): TaskTensors {
    const params: Tensors = {};
    const trainable: string[] = [];
    const nOld: number[] = [];
    this.layers.forEach((ly, l) => {
      const n = ly.owner.length;
      const old = ly.owner.filter((o) => o < t).length;
      nOld.push(old);
      if (old > 0) {
        params[`Wf${l}`] = sliceColumns(ly.W, 0, old);
        params[`bf${l}`] = tensor([old], values(ly.b).slice(0, old));
      }
      if (n > old) {
        params[`Wn${l}`] = sliceColumns(ly.W, old, n);
        params[`bn${l}`] = tensor([n - old], values(ly.b).slice(old, n));
        trainable.push(`Wn${l}`, `bn${l}`);
      }
      params[`m${l}`] = tensor([n], Float32Array.from(mask[l]));
    });
    params.V = this.heads[t].V;
    params.c = this.heads[t].c;
    trainable.push('V', 'c');
    return { params, trainable, nOld };
  }

  /** Task t's trained tensors back into the master (its own columns and its head). */
  writeBack(t: number, params: Tensors, nOld: number[]): void {
    this.layers.forEach((ly, l) => {
      if (!params[`Wn${l}`]) return;
      ly.W = joinColumns(sliceColumns(ly.W, 0, nOld[l]), params[`Wn${l}`]);
      ly.b = tensor([ly.owner.length], Float32Array.from([...values(ly.b).slice(0, nOld[l]), ...values(params[`bn${l}`])]));
    });
    this.heads[t] = { V: params.V, c: params.c };
  }

  /** Layer l's kernel and bias as the training graph sees them (locked columns, then the task's). */
  layerValues(b: Builder, l: number, params: Tensors): { W: Value; bias: Value } {
    const parts: Value[] = [];
    const bs: Value[] = [];
    if (params[`Wf${l}`]) {
      parts.push(b.t(`Wf${l}`));
      bs.push(b.t(`bf${l}`));
    }
    if (params[`Wn${l}`]) {
      parts.push(b.t(`Wn${l}`));
      bs.push(b.t(`bn${l}`));
    }
    const W = parts.length === 1 ? parts[0] : concat(parts, 1);
    const bias = bs.length === 1 ? bs[0] : concat(bs, 0);
    return { W, bias };
  }

  /** Training forward pass: h_l = relu(h_{l-1} W_l + b_l) ⊙ gate_l; logits = h_L V + c. */
  maskedLogits(b: Builder, params: Tensors, gate: (l: number) => Value): Value {
    let h = b.x;
    for (let l = 0; l < this.depth; l++) {
      const { W, bias } = this.layerValues(b, l, params);
      h = mul(relu(add(matmul(h, W), bias)), gate(l));
    }
    return add(matmul(h, b.t('V')), b.t('c'));
  }

  /** The master tensors for evaluation (`W{l}`, `b{l}`, and every head `V{t}`, `c{t}`). */
  masterTensors(): Tensors {
    const p: Tensors = {};
    this.layers.forEach((ly, l) => {
      p[`W${l}`] = ly.W;
      p[`b${l}`] = ly.b;
    });
    this.heads.forEach((h, t) => {
      p[`V${t}`] = h.V;
      p[`c${t}`] = h.c;
    });
    return p;
  }

  /** Task t's logits: its neurons gathered from the master (mask as indices), then its head. */
  taskLogits(b: Builder, t: number): Value {
    const mask = this.masks[t];
    let h = b.x;
    let prev: number[] | undefined;
    for (let l = 0; l < this.depth; l++) {
      const idx = indicesOf(mask[l]);
      let W = gather(b.t(`W${l}`), idx, 1);
      if (prev) W = gather(W, prev, 0);
      h = relu(add(matmul(h, W), gather(b.t(`b${l}`), idx, 0)));
      prev = idx;
    }
    return add(matmul(h, gather(b.t(`V${t}`), prev!, 0)), b.t(`c${t}`));
  }

  /** Stored parameters: each neuron's incoming weights from neurons no newer than it, its bias, and every head. */
  parameterCount(): number {
    let n = 0;
    this.layers.forEach((ly, l) => {
      const prevOwner = l === 0 ? undefined : this.layers[l - 1].owner;
      for (const o of ly.owner) n += 1 + (prevOwner ? prevOwner.filter((p) => p <= o).length : this.features);
    });
    for (const h of this.heads) n += h.V.data.length + h.c.data.length;
    return n;
  }

  /** Parameters of task t's sub-network (its masked neurons) and its head. */
  taskParameterCount(t: number): number {
    const mask = this.masks[t];
    let n = 0;
    let prev = this.features;
    for (let l = 0; l < this.depth; l++) {
      const k = indicesOf(mask[l]).length;
      n += prev * k + k;
      prev = k;
    }
    return n + prev * this.classes + this.classes;
  }
}
