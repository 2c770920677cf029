/** The engine: graph IR, op registry, autodiff, ONNX emission and the two executors. */
export * from './types';
export { Graph, Value } from './graph';
export type { GraphTarget, Node } from './graph';
export { registeredOps, getOp } from './registry';
export { gradients } from './autodiff';
export { toOnnxModel, encodeModel, OPSET } from './onnx';
export type { CompiledGraph, Executor, ExecutorKind } from './executor';
export { OrtExecutor, probeNchwcBlock, probeProvider, sessionOptions } from './ortExecutor';
export type { OrtExecutorOptions, OrtProvider } from './ortExecutor';
export { TfjsExecutor, loadTfjs, interpret } from './tfjsExecutor';
// Registers every op and gives the graph builders (add, matmul, conv, ...) and their helpers.
export * from './ops';
export { softmaxCrossEntropy, meanSquaredError } from './losses';
export { optimizerSlots, optimizerStep } from './optimizers';
export type { OptimizerKind, OptimizerSettings, ParamUpdate } from './optimizers';
