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
  emit(opType: string, inputs: string[], outputs: string[], attrs?: Record<string, OnnxAttr>): void;
}

export const int = (i: number): OnnxAttr => ({ i });
export const ints = (v: number[]): OnnxAttr => ({ ints: v });
export const float = (f: number): OnnxAttr => ({ f });
