import type { DType, HostTensor } from './types';

export type OnnxAttr = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string };

/** What an op's ONNX emission sees: names of its inputs and outputs, and ways to add nodes and constants. */
export interface OnnxNodeContext {
  input(i: number): string;
  output(i: number): string;
  /** A fresh intermediate tensor name. */
  temp(hint: string): string;
  int64s(values: number[]): string;
  scalar(value: number, dtype: DType): string;
  /** A constant tensor (an initializer). */
  tensor(t: HostTensor, hint?: string): string;
  /** A node; `domain` other than the default ONNX one is an onnxruntime contrib domain (NCHWC_DOMAIN). */
  emit(opType: string, inputs: string[], outputs: string[], attrs?: Record<string, OnnxAttr>, domain?: string): void;
  /**
   * Channel block of onnxruntime's NCHWc CPU kernels when this model runs on them (8 with AVX2, 16
   * with AVX-512), else 0: the model must then hold standard ONNX ops only (exports, other providers).
   */
  readonly nchwcBlock: number;
  /**
   * The model is a file for others to read (an export): every op as its one ONNX node where it has
   * one (a Conv stays a Conv), none of the forms chosen for onnxruntime's speed (tap sums, depthwise
   * matrix products).
   */
  readonly portable: boolean;
}

/** onnxruntime's blocked-layout CPU kernels (ReorderInput, Conv, ReorderOutput on NCHWc tensors). */
export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

export const int = (i: number): OnnxAttr => ({ i });
export const ints = (v: number[]): OnnxAttr => ({ ints: v });
export const float = (f: number): OnnxAttr => ({ f });
