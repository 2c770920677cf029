/** Names the backend, the experiment files and the clients share: engines, providers, datasets, activations, optimisers, methods. */

export const PROTOCOL_VERSION = '1.0.0';

export type EngineName = 'onnxruntime' | 'tfjs';
export const ENGINE_NAMES: readonly EngineName[] = ['onnxruntime', 'tfjs'];
export type ExecutionProviderName = 'cpu' | 'webgpu' | 'cuda' | 'dml' | 'coreml';
export const EXECUTION_PROVIDERS: readonly ExecutionProviderName[] = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'];
export type DatasetName = 'mnist' | 'fashion-mnist' | 'rbf-toy' | 'csv' | 'cifar-10' | 'cifar-100' | 'svhn' | 'npz' | 'image-folder';
export const DATASET_NAMES: readonly DatasetName[] = [
  'mnist',
  'fashion-mnist',
  'rbf-toy',
  'csv',
  'cifar-10',
  'cifar-100',
  'svhn',
  'npz',
  'image-folder',
];
/** rbf: the Gaussian radial-basis activation exp(−x²/2) of the Firefly paper's toy network (App. B.1). */
export type Activation = 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid' | 'linear' | 'rbf';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'linear', 'rbf'];
export type OptimizerName = 'sgd' | 'adam' | 'adamw';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adam', 'adamw'];
/** Growth methods the backend knows by name (implemented by the growth engine). */
export type GrowthMethodName =
  | 'firefly'
  | 'firefly-deeper'
  | 'firefly-split'
  | 'splitting'
  | 'net2net-wider'
  | 'net2net-deeper'
  | 'gauss-newton'
  | 'random-split'
  | 'random-split-new'
  | 'nash'
  | 'none';
/** Every GrowthMethodName, in the order of the schema's enum (test/unit/extensionGrowCommand.test.ts compares them); pickers list them by name when no backend is up. */
export const GROWTH_METHOD_NAMES = [
  'firefly',
  'firefly-deeper',
  'firefly-split',
  'splitting',
  'net2net-wider',
  'net2net-deeper',
  'gauss-newton',
  'random-split',
  'random-split-new',
  'nash',
  'none',
] as const satisfies readonly GrowthMethodName[];
