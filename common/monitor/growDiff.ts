/**
 * A grow event as a per-layer table (pure: used by the monitor's grow section and by the
 * architecture diff review's YAML, unit-tested with exact values): for every layer, its width before
 * and after, how many neurons were kept, split, new and removed, and its parameter and FLOP
 * (multiply-add) deltas.
 */
import type { GrowEventParams, LayerSummary } from '../protocol';

export type LayerChange = 'unchanged' | 'changed' | 'inserted' | 'removed';

export interface LayerDeltaRow {
  id: string;
  type: LayerSummary['type'];
  change: LayerChange;
  beforeWidth?: number;
  afterWidth?: number;
  kept: number;
  split: number;
  added: number;
  removed: number;
  paramsBefore: number;
  paramsAfter: number;
  paramsDelta: number;
  flopsBefore: number;
  flopsAfter: number;
  flopsDelta: number;
}

/**
 * One row per layer of the architecture after the event (in order), then one per layer the event
 * removed entirely. Layers without a diff entry count all their neurons as kept.
 */
export function layerDeltaRows(e: Pick<GrowEventParams, 'before' | 'after' | 'diff'>): LayerDeltaRow[] {
  const before = new Map(e.before.layers.map((l) => [l.id, l]));
  const afterIds = new Set(e.after.layers.map((l) => l.id));
  const diffs = new Map(e.diff.map((d) => [d.id, d]));
  const rows = e.after.layers.map((l): LayerDeltaRow => {
    const b = before.get(l.id);
    const d = diffs.get(l.id);
    const inserted = !!d?.inserted || !b;
    const kept = inserted ? 0 : d ? d.kept : (l.width ?? 0);
    const split = d ? d.split.length : 0;
    const added = d ? d.added.length : inserted ? (l.width ?? 0) : 0;
    const removed = d ? d.removed.length : 0;
    const paramsBefore = b?.params ?? 0,
      flopsBefore = b?.flops ?? 0;
    const changed =
      inserted || split > 0 || added > 0 || removed > 0 || paramsBefore !== l.params || flopsBefore !== l.flops || b?.width !== l.width;
    return {
      id: l.id,
      type: l.type,
      change: inserted ? 'inserted' : changed ? 'changed' : 'unchanged',
      beforeWidth: b?.width,
      afterWidth: l.width,
      kept,
      split,
      added,
      removed,
      paramsBefore,
      paramsAfter: l.params,
      paramsDelta: l.params - paramsBefore,
      flopsBefore,
      flopsAfter: l.flops,
      flopsDelta: l.flops - flopsBefore,
    };
  });
  for (const b of e.before.layers) {
    if (afterIds.has(b.id)) continue;
    rows.push({
      id: b.id,
      type: b.type,
      change: 'removed',
      beforeWidth: b.width,
      afterWidth: undefined,
      kept: 0,
      split: 0,
      added: 0,
      removed: b.width ?? 0,
      paramsBefore: b.params,
      paramsAfter: 0,
      paramsDelta: -b.params,
      flopsBefore: b.flops,
      flopsAfter: 0,
      flopsDelta: -b.flops,
    });
  }
  return rows;
}

/** "+1,234", "−56", "0" (a true minus sign, thousands separated). */
export function signedCount(n: number): string {
  const s = Math.abs(Math.round(n)).toLocaleString('en-US');
  return n > 0 ? `+${s}` : n < 0 ? `−${s}` : '0';
}

/** "24 → 30", "30", "–" (absent), "new → 16", "12 → removed". */
export function widthChange(r: Pick<LayerDeltaRow, 'beforeWidth' | 'afterWidth' | 'change'>): string {
  const w = (x: number | undefined): string => (x === undefined ? '–' : String(x));
  if (r.change === 'inserted') return `new → ${w(r.afterWidth)}`;
  if (r.change === 'removed') return `${w(r.beforeWidth)} → removed`;
  return r.beforeWidth !== r.afterWidth ? `${w(r.beforeWidth)} → ${w(r.afterWidth)}` : w(r.afterWidth);
}

/** The rows as a plain-text table (monospace columns), e.g. for the review's YAML comments. */
export function layerDeltaText(rows: readonly LayerDeltaRow[]): string[] {
  const head = ['layer', 'width', 'kept', 'split', 'new', 'removed', 'params Δ', 'FLOPs Δ'];
  const body = rows.map((r) => [
    r.change === 'inserted' ? `${r.id} (inserted)` : r.change === 'removed' ? `${r.id} (removed)` : r.id,
    widthChange(r),
    String(r.kept),
    String(r.split),
    String(r.added),
    String(r.removed),
    signedCount(r.paramsDelta),
    signedCount(r.flopsDelta),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...body.map(line)];
}
