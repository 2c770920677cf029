/**
 * Picks the executor a run asked for; an unavailable choice falls back with a warning, never a failure.
 * The protocol names engines and providers (common/protocol); the engine has its own names for what
 * it implements (server/engine). The two are kept equal, checked below at compile time.
 */
import type { EngineName, ExecutionProviderName } from '../../common/protocol';
import { Executor, ExecutorKind, OrtExecutor, OrtProvider, TfjsExecutor } from '../engine';

/** `true` when A and B are the same set of names; a name added on one side only fails to compile. */
type SameNames<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type EngineNamesMatch = Holds<SameNames<EngineName, ExecutorKind>>;
export type ProviderNamesMatch = Holds<SameNames<ExecutionProviderName, OrtProvider>>;

export async function createExecutor(engine: EngineName, provider: ExecutionProviderName): Promise<Executor> {
  if (engine === 'tfjs') {
    const ex = await TfjsExecutor.create();
    if (provider !== 'cpu')
      ex.warnings.push(`executionProvider "${provider}" applies to the onnxruntime engine; tfjs uses its ${ex.provider} backend`);
    return ex;
  }
  return OrtExecutor.create({ provider });
}

/**
 * The executor as a run's status says it: engine and provider, and for onnxruntime whether the native
 * kernel computes the convolutions' weight gradients (engine/nativeKernels.ts) and with which vector path.
 */
export function describeExecutor(ex: Executor): string {
  const native = ex instanceof OrtExecutor && ex.hostKernels.size ? `; ${ex.nativeStatus} convolution weight gradients` : '';
  return `${ex.engine} (${ex.provider}${native})`;
}
