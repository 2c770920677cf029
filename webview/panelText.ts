/**
 * The words of the run summary, the grow-event list and the grow-event detail (pure: no DOM):
 * definition-list items, the layer table's rows, titles. The DOM modules put them on the page.
 */
import type { RunModel, GrowEvent, SummaryView } from '../common/monitor/runModel';
import { signedCount } from '../common/monitor/growDiff';
import { formatDuration, formatInt, formatNumber, formatPct } from './format';
import { neuronChanges, type GrowMarker } from './markers';
import { OUTPUT_SUFFIX } from './architecture';

/** One term and its value of a definition list (`title`: the value's tooltip). */
export interface DefItem {
  term: string;
  value: string;
  title?: string;
}

/** The run summary's items: a continual run's stream and progress, else the run's figures. */
export function runSummaryItems(model: RunModel, v: SummaryView): DefItem[] {
  const cl = model.config?.continual;
  if (cl) {
    // A continual run: the stream and its progress; each method's numbers are in the section below.
    const tasks = model.continual.tasks;
    const done = [...model.continual.tracks.values()].reduce((n, t) => n + t.rows.filter(Boolean).length, 0);
    return [
      { term: 'Run', value: `${v.name}`, title: v.runId },
      { term: 'Stream', value: `${cl.stream}${tasks ? ` · ${tasks} tasks` : ''}` },
      { term: 'Methods', value: cl.methods.join(', ') },
      { term: 'Backend', value: v.engine ? `${v.engine} · ${v.executionProvider ?? '?'}` : '–' },
      { term: 'Tasks learnt', value: tasks ? `${done} / ${tasks * cl.methods.length}` : formatInt(done) },
      { term: 'Wall time', value: formatDuration(v.wallMs) },
    ];
  }
  return [
    { term: 'Run', value: `${v.name}`, title: v.runId },
    { term: 'Dataset', value: v.dataset ?? '–' },
    { term: 'Backend', value: v.engine ? `${v.engine} · ${v.executionProvider ?? '?'}` : '–' },
    { term: 'Best test accuracy', value: formatPct(v.bestTestAccuracy) },
    { term: 'Parameters', value: formatInt(v.params) },
    { term: 'Epochs', value: v.epochs !== undefined ? `${v.epochsDone ?? 0} / ${v.epochs}` : formatInt(v.epochsDone) },
    { term: 'Grow steps', value: v.pruneSteps ? `${v.growSteps} (+${v.pruneSteps} prune)` : String(v.growSteps) },
    { term: 'Wall time', value: formatDuration(v.wallMs) },
  ];
}

/** A grow-event list entry: "grow · method" and its step, epoch, neurons and loss. */
export function growEntryText(m: GrowMarker): { head: string; sub: string } {
  return {
    head: `${m.kind === 'prune' ? 'prune' : 'grow'} · ${m.method}`,
    sub: `step ${m.step} · epoch ${m.epoch} · +${m.added} / −${m.removed} neurons · loss ${formatNumber(m.lossBefore)} → ${formatNumber(m.lossAfter)}`,
  };
}

/** The architecture section's heading for the shown architecture. */
export function archTitle(ev: GrowEvent | undefined, atStart: boolean): string {
  return ev
    ? `Architecture after ${ev.kind === 'prune' ? 'pruning' : 'growing'} with ${ev.method} (step ${ev.step})`
    : atStart
      ? 'Architecture at the start of the run'
      : 'Architecture';
}

/** The grow-event detail's heading. */
export function growDetailTitle(ev: GrowEvent | undefined, atStart: boolean): string {
  if (!ev) return atStart ? 'Start of the run (before the first grow event)' : 'No grow event yet';
  return `${ev.kind === 'prune' ? 'Prune' : 'Grow'}: ${ev.method} at step ${ev.step} (epoch ${ev.epoch})`;
}

/** The grow event's figures: loss, output change, time, parameters, neurons, candidates. */
export function growStatsItems(ev: GrowEvent): DefItem[] {
  const c = neuronChanges(ev.diff);
  const dLoss = ev.lossAfter - ev.lossBefore;
  return [
    {
      term: 'Loss before → after',
      value: `${formatNumber(ev.lossBefore)} → ${formatNumber(ev.lossAfter)} (${dLoss >= 0 ? '+' : ''}${formatNumber(dLoss, 3)})`,
    },
    { term: 'Max output change', value: formatNumber(ev.maxOutputChange) },
    { term: 'Time', value: formatDuration(ev.durationMs) },
    { term: 'Parameters', value: `${formatInt(ev.before.params)} → ${formatInt(ev.after.params)}` },
    {
      term: 'Neurons',
      value: `+${c.added} / −${c.removed}${c.insertedLayers ? ` · ${c.insertedLayers} inserted layer${c.insertedLayers === 1 ? '' : 's'}` : ''}`,
    },
    { term: 'Candidates', value: `${ev.selected.length} selected · ${ev.rejected.length} rejected shown` },
  ];
}

export const LAYER_TABLE_HEAD = ['layer', 'before', 'after', 'kept', 'split', 'new', 'removed', 'params Δ', 'FLOPs Δ'];

/** The grow event's layer table: one row (LAYER_TABLE_HEAD's cells) per layer with a width or a change. */
export function growLayerRows(ev: GrowEvent): { inserted: boolean; cells: string[] }[] {
  const before = new Map(ev.before.layers.map((l) => [l.id, l]));
  const diffs = new Map(ev.diff.map((d) => [d.id, d]));
  return ev.after.layers
    .filter((l) => l.width !== undefined || diffs.has(l.id) || diffs.has(`${l.id}${OUTPUT_SUFFIX}`))
    .flatMap((l) => {
      const d = diffs.get(l.id);
      const b = before.get(l.id);
      const inserted = !!d?.inserted || !b;
      const rows = [
        {
          inserted,
          cells: [
            inserted ? `${l.id} (inserted)` : l.id,
            b?.width !== undefined ? String(b.width) : b ? '–' : 'new',
            l.width !== undefined ? String(l.width) : '–',
            d ? String(d.kept) : l.width !== undefined ? String(l.width) : '–',
            d ? String(d.split.length) : '0',
            d ? String(d.added.length) : '0',
            d ? String(d.removed.length) : '0',
            signedCount(l.params - (b?.params ?? 0)),
            signedCount(l.flops - (b?.flops ?? 0)),
          ],
        },
      ];
      // A resblock's output channels (`<id>/out`, joined by shortcuts across its stage): a row of their own
      const o = diffs.get(`${l.id}${OUTPUT_SUFFIX}`);
      if (o && b)
        rows.push({
          inserted: false,
          cells: [
            `${l.id}${OUTPUT_SUFFIX}`,
            String(b.outputShape[0]),
            String(l.outputShape[0]),
            String(o.kept),
            String(o.split.length),
            String(o.added.length),
            String(o.removed.length),
            '',
            '',
          ],
        });
      return rows;
    });
}
