import type { Graph, Value } from './graph';
import type { HostTensor } from './types';

/** A graph compiled for one executor: feeds by input name in, outputs by name out. */
export interface CompiledGraph {
  readonly outputNames: string[];
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  dispose(): Promise<void>;
}

/** The engine's executors: ONNX models in onnxruntime-node, or op-by-op interpretation in tfjs. */
export type ExecutorKind = 'onnxruntime' | 'tfjs';

export interface Executor {
  readonly engine: ExecutorKind;
  /** Execution provider (onnxruntime) or tfjs backend actually in use. */
  readonly provider: string;
  /** Problems met while setting up (e.g. a provider that fell back to cpu). */
  readonly warnings: string[];
  /**
   * Ops this executor runs with kernels of its own between its compiled sessions (onnxruntime: the
   * native ConvWeightGradient where the addon loads); a graph built with them (Graph.hostKernels)
   * lets gradient rules choose those ops.
   */
  readonly hostKernels: ReadonlySet<string>;
  /** onnxruntime's NCHWc channel block its CPU convolutions run on (GraphTarget.nchwcBlock); 0: none. */
  readonly nchwcBlock: number;
  compile(graph: Graph, outputs: Record<string, Value>): Promise<CompiledGraph>;
  /** Compiled graphs not yet disposed. */
  liveSessions(): number;
}
