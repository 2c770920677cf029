/** Architecture summaries: what `getArchitecture` answers and grow events carry. */

import type { LayerType } from './experiment';
import type { Activation } from './names';

export interface LayerSummary {
  /** Stable identity of the layer across grow steps (e.g. "dense_1"). */
  id: string;
  index: number;
  type: LayerType | 'output';
  /** Neurons (dense, residual hidden units) or channels (conv2d); undefined for width-free layers. */
  width?: number;
  activation?: Activation;
  inputShape: number[];
  outputShape: number[];
  params: number;
  /** Multiply-adds per example. */
  flops: number;
  /** The block a preset placed the layer in (e.g. "stage 2", "res3"); the monitor groups layers by it. */
  block?: string;
}

export interface Architecture {
  inputShape: number[];
  outputSize: number;
  layers: LayerSummary[];
  params: number;
  flops: number;
}
