/** The run summary (#summary): the shown run's figures as a definition list, redrawn when they change. */
import { summaryView, type RunModel } from '../common/monitor/runModel';
import type { RunSummary } from '../common/protocol';
import { definitionItem, definitionItems } from './domHelpers';
import { runSummaryItems } from './panelText';

/** `noRunMessage`: why no run is shown (the extension's noRun message). */
export function renderRunSummary(
  dl: HTMLElement,
  model: RunModel | undefined,
  runSummary: RunSummary | undefined,
  noRunMessage: string | undefined,
): void {
  if (!model) {
    dl.replaceChildren(definitionItem('Run', noRunMessage ?? 'none selected'));
    return;
  }
  const v = summaryView(model, runSummary);
  const key = JSON.stringify(v);
  if (dl.dataset.key === key) return;
  dl.dataset.key = key;
  dl.replaceChildren(...definitionItems(runSummaryItems(model, v)));
  dl.dataset.runId = v.runId;
}
