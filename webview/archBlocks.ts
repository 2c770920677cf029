/**
 * Blocks of the architecture view (pure: unit-tested without a browser). A network of 20–50 layers (VGG,
 * ResNet, MobileNet) is drawn as blocks the user can collapse: the layers a preset placed in one block
 * (`LayerSummary.block`), else, past a size where one row of layers stops being readable, the stages of
 * the network (a stage ends after each pooling or flatten layer). A block is marked when the shown grow
 * event changed any of its layers, so the diff says which block grew.
 */
import { OUTPUT_SUFFIX, type LayerView } from './architecture';

/** Up to this many layers the view draws every layer and no blocks. */
export const BLOCK_THRESHOLD = 12;

export interface BlockView {
  /** Stable across grow steps while the block keeps its first layer: "block:<first layer id>". */
  id: string;
  label: string;
  /** Ids of the block's layers, in network order. */
  layers: string[];
  params: number;
  /** Width-carrying layers' widths after the step, in order (for the collapsed box's caption). */
  widths: number[];
  /** Whether the shown step changed a layer of the block (inserted, widened, narrowed, split, new neurons). */
  changed: boolean;
  /** What changed, one entry per changed layer, e.g. "conv2d_5 32 → 40", "residual_2 inserted". */
  changes: string[];
}

const STAGE_END = new Set(['maxpool', 'avgpool', 'globalavgpool', 'flatten']);

function layerChanged(l: LayerView): string[] {
  return [ownChange(l), outputChange(l)].filter((c): c is string => c !== undefined);
}

function ownChange(l: LayerView): string | undefined {
  if (l.inserted) return `${l.id} inserted`;
  if (l.beforeWidth !== undefined && l.width !== undefined && l.beforeWidth !== l.width) return `${l.id} ${l.beforeWidth} → ${l.width}`;
  if (l.removed.length > 0) return `${l.id} ${l.removed.length} removed`;
  if (l.neurons.some((n) => n.state === 'split' || n.state === 'new')) return `${l.id} split`;
  return undefined;
}

/** A resblock's output channels (`<id>/out`), e.g. "resblock_4/out 8 → 12". */
function outputChange(l: LayerView): string | undefined {
  const o = l.output;
  if (!o || l.inserted) return undefined;
  const id = `${l.id}${OUTPUT_SUFFIX}`;
  if (o.before !== undefined && o.before !== o.after) return `${id} ${o.before} → ${o.after}`;
  if (o.removed > 0) return `${id} ${o.removed} removed`;
  if (o.split + o.added > 0) return `${id} split`;
  return undefined;
}

/**
 * Groups the view's layers into blocks. `names` maps a layer id to the block a preset placed it in; layers
 * without one follow the automatic rule. Returns no blocks for a network of at most `threshold` layers
 * (unless it names blocks); a group of one layer is not a block.
 */
export function architectureBlocks(
  layers: LayerView[],
  names: ReadonlyMap<string, string> = new Map(),
  threshold = BLOCK_THRESHOLD,
): BlockView[] {
  const named = layers.some((l) => names.has(l.id));
  if (!named && layers.length <= threshold) return [];
  const groups: { label: string; members: LayerView[] }[] = [];
  let stage = 1;
  let open: { label: string; members: LayerView[] } | undefined;
  for (const l of layers) {
    const name = names.get(l.id);
    if (named) {
      if (!name || l.type === 'output') {
        open = undefined;
        groups.push({ label: '', members: [l] });
        continue;
      }
      if (!open || open.label !== name) {
        open = { label: name, members: [] };
        groups.push(open);
      }
      open.members.push(l);
      continue;
    }
    if (l.type === 'output') {
      open = undefined;
      groups.push({ label: '', members: [l] });
      continue;
    }
    if (!open) {
      open = { label: `stage ${stage++}`, members: [] };
      groups.push(open);
    }
    open.members.push(l);
    if (STAGE_END.has(l.type)) open = undefined;
  }
  const blocks: BlockView[] = [];
  for (const g of groups) {
    if (g.members.length < 2) continue;
    const changes = g.members.flatMap(layerChanged);
    blocks.push({
      id: `block:${g.members[0].id}`,
      label: g.label,
      layers: g.members.map((l) => l.id),
      params: g.members.reduce((a, l) => a + l.params, 0),
      widths: g.members.filter((l) => l.width !== undefined).map((l) => l.width!),
      changed: changes.length > 0,
      changes,
    });
  }
  return blocks;
}

/** The collapsed box's caption: "4 layers · 64–128 ch", or the one width when all are equal. */
export function blockCaption(b: BlockView): string {
  const n = `${b.layers.length} layers`;
  if (b.widths.length === 0) return n;
  const lo = Math.min(...b.widths),
    hi = Math.max(...b.widths);
  return `${n} · ${lo === hi ? lo : `${lo}–${hi}`} wide`;
}

/**
 * Which blocks start expanded: those the shown step changed (the diff is visible without a click), and
 * every block when there are at most two.
 */
export function initiallyExpanded(blocks: BlockView[]): Set<string> {
  if (blocks.length <= 2) return new Set(blocks.map((b) => b.id));
  return new Set(blocks.filter((b) => b.changed).map((b) => b.id));
}
