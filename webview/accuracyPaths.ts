/** The runs' accuracy paths the comparison chart draws (pure). */
import type { RunAccuracyPath, RunSummary } from '../common/protocol';
import type { RunModel } from '../common/monitor/runModel';

/** Every run's accuracy path; the shown run's from its live model (drawn last). */
export function accuracyPaths(
  comparison: readonly RunAccuracyPath[],
  model: RunModel | undefined,
  runSummary: RunSummary | undefined,
): RunAccuracyPath[] {
  const out = comparison.filter((p) => p.runId !== model?.runId);
  if (model) {
    const name = model.config?.name ?? runSummary?.name ?? model.runId;
    out.push({ runId: model.runId, name, points: model.path });
  }
  return out;
}
