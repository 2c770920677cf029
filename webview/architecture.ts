/**
 * The architecture view's math (pure: unit-tested without a browser): which neuron of which layer a
 * grow event kept, split (and from which parent), created, removed, or brought in with an inserted
 * layer; and where each layer and neuron is drawn.
 */
import type { Architecture, GrowEventParams, LayerSummary } from '../common/protocol';
import type { BlockView } from './archBlocks';

export type NeuronState = 'kept' | 'split' | 'new' | 'inserted';
/** Every highlight class the view draws, in legend order. */
export const DIFF_CLASSES = ['kept', 'split', 'new', 'removed', 'inserted'] as const;
export type DiffClass = (typeof DIFF_CLASSES)[number];

export interface NeuronView {
  index: number;
  state: NeuronState;
  /** Index of the parent neuron in the layer before the step (split neurons). */
  parent?: number;
}

export interface LayerView {
  id: string;
  type: LayerSummary['type'];
  activation?: string;
  /** Neurons or channels after the step; undefined for width-free layers (flatten, pooling, batch norm). */
  width?: number;
  beforeWidth?: number;
  params: number;
  outputShape: number[];
  inserted: boolean;
  /** One entry per neuron of the layer after the step (empty for width-free layers). */
  neurons: NeuronView[];
  /** Indices (in the layer before the step) of the neurons the step removed. */
  removed: number[];
  /**
   * A resblock's output channels (the width target `<id>/out`, joined by shortcuts across its
   * stage) when the step's diff names them: channel counts before and after, and what changed.
   */
  output?: OutputChannelsView;
}

export interface OutputChannelsView {
  before?: number;
  after: number;
  split: number;
  added: number;
  removed: number;
}

/** The diff id of a layer's output channels (server/model/widthEdits OUTPUT_SUFFIX). */
export const OUTPUT_SUFFIX = '/out';

export interface ArchitectureView {
  inputShape: number[];
  layers: LayerView[];
  /** Layers of the old model that the step removed entirely. */
  removedLayers: string[];
  /** Diff entries that named something not in the architecture (ignored, reported for diagnosis). */
  ignored: string[];
}

/**
 * Classifies every neuron of `after` by the event's diff (no event: all kept). Indices outside a
 * layer's width are ignored and reported in `ignored`, never drawn.
 */
export function classifyArchitecture(after: Architecture, event?: Pick<GrowEventParams, 'before' | 'diff'>): ArchitectureView {
  const diffs = new Map((event?.diff ?? []).map((d) => [d.id, d]));
  const beforeLayers = new Map((event?.before.layers ?? []).map((l) => [l.id, l]));
  const ignored: string[] = [];
  const layers = after.layers.map((l): LayerView => {
    const d = diffs.get(l.id);
    const od = diffs.get(`${l.id}${OUTPUT_SUFFIX}`);
    const before = beforeLayers.get(l.id);
    const width = l.width;
    const inserted = !!d?.inserted || (!!event && !before);
    const neurons: NeuronView[] = [];
    if (width !== undefined) {
      for (let i = 0; i < width; i++) neurons.push({ index: i, state: inserted ? 'inserted' : 'kept' });
      if (d && !inserted) {
        for (const s of d.split) {
          if (inRange(s.index, width)) neurons[s.index] = { index: s.index, state: 'split', parent: s.parent };
          else ignored.push(`${l.id}: split index ${s.index}`);
        }
        for (const a of d.added) {
          if (inRange(a, width)) neurons[a] = { index: a, state: 'new' };
          else ignored.push(`${l.id}: added index ${a}`);
        }
      }
    }
    const removed: number[] = [];
    if (d && !inserted) {
      const oldWidth = before?.width;
      for (const r of d.removed) {
        if (oldWidth === undefined || inRange(r, oldWidth)) removed.push(r);
        else ignored.push(`${l.id}: removed index ${r}`);
      }
    }
    return {
      id: l.id,
      type: l.type,
      activation: l.activation,
      width,
      beforeWidth: before?.width,
      params: l.params,
      outputShape: l.outputShape,
      inserted,
      neurons,
      removed: removed.sort((a, b) => a - b),
      ...(od && {
        output: {
          before: before?.outputShape[0],
          after: l.outputShape[0],
          split: od.split.length,
          added: od.added.length,
          removed: od.removed.length,
        },
      }),
    };
  });
  const afterIds = new Set(after.layers.map((l) => l.id));
  const known = (id: string) => afterIds.has(id) || (id.endsWith(OUTPUT_SUFFIX) && afterIds.has(id.slice(0, -OUTPUT_SUFFIX.length)));
  for (const id of diffs.keys()) if (!known(id)) ignored.push(`${id}: no such layer`);
  const removedLayers = event ? event.before.layers.filter((l) => !afterIds.has(l.id)).map((l) => l.id) : [];
  return { inputShape: after.inputShape, layers, removedLayers, ignored };
}

function inRange(i: number, width: number): boolean {
  return Number.isInteger(i) && i >= 0 && i < width;
}

/** How many neurons of each class the view highlights (the legend's counts). */
export function classCounts(view: ArchitectureView): Record<DiffClass, number> {
  const c: Record<DiffClass, number> = { kept: 0, split: 0, new: 0, removed: 0, inserted: 0 };
  for (const l of view.layers) {
    for (const n of l.neurons) c[n.state]++;
    c.removed += l.removed.length;
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface CellGeom {
  layer: string;
  index: number;
  cls: DiffClass;
  parent?: number;
  x: number;
  y: number;
  size: number;
}

export interface LinkGeom {
  layer: string;
  parent: number;
  /** Index of the split copy drawn as the parent's anchor, and of the copy it links to. */
  from: number;
  to: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface LayerGeom {
  view: LayerView;
  /** The layer's bar: its height (and, for wide layers, its width) grows with the number of neurons. */
  box: Rect;
  cells: CellGeom[];
  removedCells: CellGeom[];
  labelX: number;
}

/** A block of layers: collapsed, one box in place of its layers; expanded, a frame around them. */
export interface BlockGeom {
  block: BlockView;
  collapsed: boolean;
  box: Rect;
  labelX: number;
}

export interface ArchLayout {
  width: number;
  height: number;
  input: Rect;
  /** The layers drawn (those of collapsed blocks are not). */
  layers: LayerGeom[];
  blocks: BlockGeom[];
  links: LinkGeom[];
  /** Connections between consecutive columns: [x1, top1, bottom1, x2, top2, bottom2]. */
  bands: [number, number, number, number, number, number][];
  cell: number;
}

export interface LayoutOptions {
  height?: number;
  minCell?: number;
  maxCell?: number;
  /** Blocks of layers (archBlocks.ts) and which of them are expanded; the others are drawn as one box each. */
  blocks?: BlockView[];
  expanded?: ReadonlySet<string>;
}

const TOP = 34,
  BOTTOM = 46,
  MARGIN = 12,
  GAP = 40,
  MIN_COLUMN = 64,
  INPUT_W = 44,
  FREE_W = 14,
  BLOCK_W = 72,
  FRAME_PAD = 10,
  BLOCK_LABEL_H = 14;

export function layoutArchitecture(view: ArchitectureView, opts: LayoutOptions = {}): ArchLayout {
  const height = opts.height ?? 320;
  // An expanded block's label sits above its layers' labels.
  const top = TOP + ((opts.blocks ?? []).some((b) => opts.expanded?.has(b.id)) ? BLOCK_LABEL_H : 0);
  const avail = Math.max(40, height - top - BOTTOM);
  const maxWidth = Math.max(1, ...view.layers.map((l) => Math.max(l.width ?? 0, l.beforeWidth ?? 0)));
  const cell = Math.max(opts.minCell ?? 3, Math.min(opts.maxCell ?? 12, Math.floor(avail / maxWidth)));
  const rowsCap = Math.max(1, Math.floor(avail / cell));
  const mid = top + avail / 2;
  const inset = cell >= 5 ? 1 : cell >= 3 ? 0.5 : 0;

  let x = MARGIN;
  const inputH = avail * 0.6;
  const input: Rect = { x, y: mid - inputH / 2, w: INPUT_W, h: inputH };
  x += Math.max(INPUT_W, MIN_COLUMN) + GAP;
  const layers: LayerGeom[] = [];
  const links: LinkGeom[] = [];
  const blockGeoms: BlockGeom[] = [];
  /** Every drawn column in order (the input, layers, collapsed blocks) and what it draws right of its box. */
  const columns: { box: Rect; extra: number }[] = [{ box: input, extra: 0 }];
  const blockOf = new Map<string, BlockView>();
  for (const b of opts.blocks ?? []) for (const id of b.layers) blockOf.set(id, b);
  const expanded = opts.expanded ?? new Set<string>();
  const firstX = new Map<string, number>();
  for (const v of view.layers) {
    const block = blockOf.get(v.id);
    if (block && !expanded.has(block.id)) {
      if (block.layers[0] !== v.id) continue;
      const h = avail * 0.6;
      const box = { x, y: mid - h / 2, w: BLOCK_W, h };
      blockGeoms.push({ block, collapsed: true, box, labelX: x + BLOCK_W / 2 });
      columns.push({ box, extra: 0 });
      x += Math.max(BLOCK_W, MIN_COLUMN) + GAP;
      continue;
    }
    if (block && block.layers[0] === v.id) {
      x += FRAME_PAD;
      firstX.set(block.id, x);
    }
    const endFrame = (): void => {
      if (!block || block.layers[block.layers.length - 1] !== v.id) return;
      const x0 = firstX.get(block.id)! - FRAME_PAD;
      const right = x - GAP + FRAME_PAD;
      blockGeoms.push({ block, collapsed: false, box: { x: x0, y: 2, w: right - x0, h: height - 4 }, labelX: (x0 + right) / 2 });
      x += FRAME_PAD;
    };
    if (v.width === undefined) {
      const h = avail * 0.45;
      const box = { x, y: mid - h / 2, w: FREE_W, h };
      layers.push({ view: v, box, cells: [], removedCells: [], labelX: x + FREE_W / 2 });
      columns.push({ box, extra: 0 });
      x += Math.max(FREE_W, MIN_COLUMN) + GAP;
      endFrame();
      continue;
    }
    const n = Math.max(1, v.width);
    const rows = Math.min(n, rowsCap);
    const cols = Math.ceil(n / rowsCap);
    const box = { x, y: mid - (rows * cell) / 2, w: cols * cell, h: rows * cell };
    const at = (i: number, x0: number, y0: number): { x: number; y: number } => ({
      x: x0 + Math.floor(i / rowsCap) * cell + inset,
      y: y0 + (i % rowsCap) * cell + inset,
    });
    const size = cell - 2 * inset;
    const cells = v.neurons.map((nv): CellGeom => ({
      layer: v.id,
      index: nv.index,
      cls: nv.state,
      parent: nv.parent,
      size,
      ...at(nv.index, box.x, box.y),
    }));
    const removedX = box.x + box.w + Math.max(4, cell);
    const removedCells = v.removed.map((r, k): CellGeom => ({ layer: v.id, index: r, cls: 'removed', size, ...at(k, removedX, box.y) }));
    const removedW = v.removed.length ? Math.max(4, cell) + Math.ceil(v.removed.length / rowsCap) * cell : 0;
    // Split links: the copy that kept the parent's index (else the first copy) anchors the others.
    const byParent = new Map<number, CellGeom[]>();
    for (const c of cells) if (c.cls === 'split') byParent.set(c.parent!, [...(byParent.get(c.parent!) ?? []), c]);
    for (const [parent, copies] of byParent) {
      const anchor = copies.find((c) => c.index === parent) ?? copies[0];
      for (const c of copies) {
        if (c === anchor) continue;
        links.push({
          layer: v.id,
          parent,
          from: anchor.index,
          to: c.index,
          x1: anchor.x + size / 2,
          y1: anchor.y + size / 2,
          x2: c.x + size / 2,
          y2: c.y + size / 2,
        });
      }
    }
    layers.push({ view: v, box, cells, removedCells, labelX: box.x + box.w / 2 });
    columns.push({ box, extra: removedW });
    x += Math.max(box.w + removedW, MIN_COLUMN) + GAP;
    endFrame();
  }
  const bands: ArchLayout['bands'] = [];
  for (let i = 0; i + 1 < columns.length; i++) {
    const a = columns[i].box,
      b = columns[i + 1].box;
    bands.push([a.x + a.w + columns[i].extra + 3, a.y, a.y + a.h, b.x - 3, b.y, b.y + b.h]);
  }
  return { width: x - GAP + MARGIN + 40, height, input, layers, blocks: blockGeoms, links, bands, cell };
}
