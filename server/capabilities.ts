/** What this machine can load: engines, execution providers, datasets (reported in initialize). */
import type { Availability, EngineName, ExecutionProviderName, GrowthLabCapabilities, GrowthMethodName } from '../common/protocol';
import { growthMethods } from './growth';
import { EXECUTION_PROVIDERS, PROTOCOL_VERSION } from '../common/protocol';
import { probeProvider } from './engine';
import { datasetAvailability } from './datasets';

function loadable(pkg: string): { ok: boolean; reason?: string } {
  try {
    require.resolve(pkg);
    return { ok: true };
  } catch {
    return { ok: false, reason: `${pkg} is not installed` };
  }
}

/** `searchDirs`: folders where the official vision datasets may have been put (the workspace and its data/). */
export async function growthLabCapabilities(engine: EngineName, searchDirs: string[] = []): Promise<GrowthLabCapabilities> {
  const ort = loadable('onnxruntime-node');
  const tfjs = loadable('@tensorflow/tfjs');
  const engines: Availability<EngineName>[] = [
    { name: 'onnxruntime', available: ort.ok, reason: ort.reason },
    { name: 'tfjs', available: tfjs.ok, reason: tfjs.reason },
  ];
  const executionProviders: Availability<ExecutionProviderName>[] = await Promise.all(
    EXECUTION_PROVIDERS.map(async (name) => {
      if (!ort.ok) return { name, available: false, reason: ort.reason };
      const p = name === 'cpu' ? { ok: true } : await probeProvider(name);
      return { name, available: p.ok, reason: (p as { reason?: string }).reason };
    }),
  );
  return {
    version: PROTOCOL_VERSION,
    engine,
    engines,
    executionProviders,
    datasets: datasetAvailability(searchDirs),
    growthMethods: growthMethods()
      .filter((m) => m.kind === 'grow')
      .map((m) => m.name as GrowthMethodName),
    growthMethodDetails: growthMethods().map((m) => ({ name: m.name, kind: m.kind, description: m.description })),
  };
}
