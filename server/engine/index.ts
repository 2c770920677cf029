/** The engine: graph IR, op registry, autodiff, ONNX emission and the two executors. */
import './ops/elementwise';
import './ops/logic';
import './ops/reduce';
import './ops/shape';
import './ops/matmul';
import './ops/nn';

export * from './types';
export { Graph, Value } from './graph';
export type { Node } from './graph';
export { registeredOps, getOp } from './registry';
export { gradients } from './autodiff';
export { toOnnxModel, encodeModel, OPSET } from './onnx';
export type { CompiledGraph, Executor, ExecutorKind } from './executor';
export { OrtExecutor, probeProvider } from './ortExecutor';
export type { OrtExecutorOptions, OrtProvider } from './ortExecutor';
export { TfjsExecutor, loadTfjs, interpret } from './tfjsExecutor';
export * from './ops/elementwise';
export * from './ops/logic';
export * from './ops/reduce';
export { reshape, transpose, concat, slice, pad, gather, shapeOf, expandAs, expandTo } from './ops/shape';
export * from './ops/matmul';
export * from './ops/nn';
export { scalarLike, sumToShape } from './ops/helpers';
export { softmaxCrossEntropy, meanSquaredError } from './losses';
export { optimizerSlots, optimizerStep } from './optimizers';
export type { OptimizerKind, OptimizerSettings, ParamUpdate } from './optimizers';
