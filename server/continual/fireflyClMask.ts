/**
 * Firefly CL's mask over the locked neurons for a new task t > 0: gates sigmoid(s_l) per hidden layer
 * (s starting at `maskInit`) trained with the task's head on the cross-entropy plus a sparsity pressure
 * α · mean(sigmoid(s_l)) per layer, then binarised at 0.5 (s > 0), keeping at least one neuron a layer.
 */
import { Executor, add, mul, reduceSum, sigmoid } from '../engine';
import type { Head, TaskTensors } from './fireflyClNetwork';
import { Builder, Tensors, ceLoss, tensor, values } from './tensors';
import type { Value } from '../engine';
import { trainTensors, type TaskSplit, type TrainOptions } from './training';

/** What mask learning needs of a master network (the MLP's ClNetwork or the conv ConvClNetwork). */
export interface MaskableNetwork {
  readonly features: number;
  readonly classes: number;
  layers: { owner: number[] }[];
  heads: Head[];
  taskTensors(t: number, mask: Uint8Array[]): TaskTensors;
  maskedLogits(b: Builder, params: Tensors, gate: (l: number) => Value): Value;
}

export interface MaskOptions {
  maskSparsity: number;
  maskInit: number;
}

/** Learns task t's gates (and trains its head, written back), returns the binarised mask per layer. */
export async function learnMask(
  executor: Executor,
  net: MaskableNetwork,
  t: number,
  split: TaskSplit,
  o: MaskOptions,
  train: TrainOptions,
): Promise<Uint8Array[]> {
  const ones = net.layers.map((ly) => Uint8Array.from(ly.owner, () => 1));
  const { params, nOld } = net.taskTensors(t, ones);
  net.layers.forEach((_, l) => (params[`s${l}`] = tensor([nOld[l]], new Float32Array(nOld[l]).fill(o.maskInit))));
  const wrt = [...net.layers.map((_, l) => `s${l}`), 'V', 'c'];
  const alpha = o.maskSparsity;
  await trainTensors(
    executor,
    params,
    wrt,
    split,
    net.features,
    net.classes,
    (b) => {
      const gates = net.layers.map((_, l) => sigmoid(b.t(`s${l}`)));
      let loss = ceLoss(
        b,
        net.maskedLogits(b, params, (l) => gates[l]),
      );
      for (const g of gates) loss = add(loss, mul(reduceSum(g, [0]), alpha / (g.shape[0] as number)));
      return loss;
    },
    train,
  );
  net.heads[t] = { V: params.V, c: params.c };
  return net.layers.map((_, l) => {
    const m = Uint8Array.from(values(params[`s${l}`]), (v) => (v > 0 ? 1 : 0));
    // Keep at least one neuron per layer.
    if (!m.some((v) => v)) m[0] = 1;
    return m;
  });
}
