/** Picks the executor a run asked for; an unavailable choice falls back with a warning, never a failure. */
import type { EngineName, ExecutionProviderName } from '../../common/protocol';
import { Executor, OrtExecutor, TfjsExecutor } from '../engine';

export async function createExecutor(engine: EngineName, provider: ExecutionProviderName): Promise<Executor> {
  if (engine === 'tfjs') {
    const ex = await TfjsExecutor.create();
    if (provider !== 'cpu') ex.warnings.push(`executionProvider "${provider}" applies to the onnxruntime engine; tfjs uses its ${ex.provider} backend`);
    return ex;
  }
  return OrtExecutor.create({ provider });
}
