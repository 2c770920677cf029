/**
 * Firefly CL's checkpoint: the master network's kernels, biases and heads as raw float32 tensors
 * (`W{l}`, `b{l}`, `V{t}`, `c{t}`) plus JSON meta (shapes, each neuron's owner and parent, the masks).
 */
import type { ClNetwork } from './fireflyClNetwork';
import { tensor, values } from './tensors';

/** The serialisable state: tensors by name plus JSON meta. */
export interface FireflyClState {
  tensors: Record<string, Float32Array>;
  meta: {
    features: number;
    classes: number;
    layers: { inputs: number; outputs: number; owner: number[]; parent: number[] }[];
    heads: { width: number }[];
    masks: number[][][];
  };
}

export function networkState(net: ClNetwork): FireflyClState {
  const tensors: Record<string, Float32Array> = {};
  net.layers.forEach((ly, l) => {
    tensors[`W${l}`] = Float32Array.from(values(ly.W));
    tensors[`b${l}`] = Float32Array.from(values(ly.b));
  });
  net.heads.forEach((h, t) => {
    tensors[`V${t}`] = Float32Array.from(values(h.V));
    tensors[`c${t}`] = Float32Array.from(values(h.c));
  });
  return {
    tensors,
    meta: {
      features: net.features,
      classes: net.classes,
      layers: net.layers.map((ly) => ({ inputs: ly.W.shape[0], outputs: ly.W.shape[1], owner: [...ly.owner], parent: [...ly.parent] })),
      heads: net.heads.map((h) => ({ width: h.V.shape[0] })),
      masks: net.masks.map((m) => m.map((x) => Array.from(x))),
    },
  };
}

/** Fills `net` (of the state's depth) from a checked state. */
export function restoreNetwork(net: ClNetwork, state: FireflyClState): void {
  const m = state.meta;
  net.layers = m.layers.map((l, i) => ({
    W: tensor([l.inputs, l.outputs], Float32Array.from(state.tensors[`W${i}`])),
    b: tensor([l.outputs], Float32Array.from(state.tensors[`b${i}`])),
    owner: [...l.owner],
    parent: [...l.parent],
  }));
  net.heads = m.heads.map((h, t) => ({
    V: tensor([h.width, m.classes], Float32Array.from(state.tensors[`V${t}`])),
    c: tensor([m.classes], Float32Array.from(state.tensors[`c${t}`])),
  }));
  net.masks = m.masks.map((t) => t.map((x) => Uint8Array.from(x)));
}

/** The state's meta, or an error when it is not a Firefly CL state of this stream. */
export function checkState(state: FireflyClState, features: number, classes: number): FireflyClState['meta'] {
  const m = state.meta;
  if (!m || !Array.isArray(m.layers) || !Array.isArray(m.heads) || !Array.isArray(m.masks))
    throw new Error('firefly-cl checkpoint: not a Firefly CL state');
  if (m.features !== features || m.classes !== classes) throw new Error('firefly-cl checkpoint: features/classes differ');
  return m;
}
