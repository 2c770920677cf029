/**
 * The detail of the shown grow event (#detail): its heading, figures, the candidates' scores chart
 * and the table of what changed in each layer.
 */
import type { GrowEvent } from '../common/monitor/runModel';
import { definitionItems } from './domHelpers';
import { growDetailTitle, growLayerRows, growStatsItems, LAYER_TABLE_HEAD } from './panelText';
import type { ScoresChart } from './scoresChart';

export interface GrowDetailElements {
  title: HTMLElement;
  stats: HTMLElement;
  table: HTMLElement;
}

/** `atStart`: the architecture the run started with is shown (no event). */
export function renderGrowDetail(els: GrowDetailElements, scores: ScoresChart, ev: GrowEvent | undefined, atStart: boolean): void {
  const { title, stats, table } = els;
  scores.render(ev);
  title.textContent = growDetailTitle(ev, atStart);
  if (!ev) {
    stats.replaceChildren();
    table.replaceChildren();
    return;
  }
  stats.replaceChildren(...definitionItems(growStatsItems(ev)));
  const head = document.createElement('tr');
  for (const h of LAYER_TABLE_HEAD) {
    const th = document.createElement('th');
    th.textContent = h;
    head.appendChild(th);
  }
  const rows = growLayerRows(ev).map((r) => {
    const tr = document.createElement('tr');
    if (r.inserted) tr.className = 'inserted';
    for (const text of r.cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  });
  table.replaceChildren(head, ...rows);
}
