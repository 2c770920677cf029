/** Per-layer diffs from the `sources` arrays that rebuilt a layer (see GrowableModel.resizeLayer). */
import type { LayerDiff } from '../../common/protocol';

export function diffFromSources(layer: string, oldWidth: number, sources: readonly number[]): LayerDiff {
  const counts = new Map<number, number>();
  for (const s of sources) if (s >= 0) counts.set(s, (counts.get(s) ?? 0) + 1);
  const split: { index: number; parent: number }[] = [];
  const added: number[] = [];
  let kept = 0;
  sources.forEach((s, j) => {
    if (s < 0) added.push(j);
    else if (counts.get(s)! > 1) split.push({ index: j, parent: s });
    else kept++;
  });
  const removed: number[] = [];
  for (let i = 0; i < oldWidth; i++) if (!counts.has(i)) removed.push(i);
  return { id: layer, kept, split, added, removed, inserted: false };
}

export function insertedDiff(layer: string, width: number): LayerDiff {
  return { id: layer, kept: 0, split: [], added: Array.from({ length: width }, (_, i) => i), removed: [], inserted: true };
}

/** Top-k selection by a score (stable: ties keep candidate order). */
export function topK<T>(items: T[], k: number, score: (t: T) => number): { selected: T[]; rejected: T[] } {
  const order = items.map((t, i) => ({ t, i, s: score(t) })).sort((a, b) => b.s - a.s || a.i - b.i);
  return { selected: order.slice(0, k).map((o) => o.t), rejected: order.slice(k).map((o) => o.t) };
}

/** Budget in neurons from options: `neurons`, else `ratio` (default 0.3) of the current total. */
export function neuronBudget(total: number, opts: { neurons?: number; ratio?: number }): number {
  if (opts.neurons !== undefined) return Math.max(0, Math.floor(opts.neurons));
  return Math.max(1, Math.round((opts.ratio ?? 0.3) * total));
}
