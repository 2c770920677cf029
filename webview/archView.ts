/**
 * The architecture view: an SVG drawn from `layoutArchitecture` (input to output, each layer a bar of
 * neurons, the selected grow event's diff highlighted). Colours come from CSS classes, so the view
 * follows the VS Code theme without redrawing.
 */
import { architectureBlocks, blockCaption, initiallyExpanded, type BlockView } from './archBlocks';
import { classCounts, classifyArchitecture, layoutArchitecture, type ArchitectureView, type DiffClass } from './architecture';
import type { GrowEvent } from '../common/monitor/runModel';
import type { Architecture } from '../common/protocol';

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  parent?: Element,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

function text(parent: Element, x: number, y: number, content: string, cls: string): SVGTextElement {
  const t = el('text', { x, y, class: cls, 'text-anchor': 'middle' }, parent);
  t.textContent = content;
  return t;
}

export const CLASS_LABELS: Record<DiffClass, string> = {
  kept: 'kept',
  split: 'split (linked to parent)',
  new: 'new',
  removed: 'removed',
  inserted: 'inserted layer',
};

export interface ArchRender {
  view: ArchitectureView;
  counts: Record<DiffClass, number>;
  blocks: BlockView[];
  expanded: ReadonlySet<string>;
}

/**
 * Replaces the content of `host` with the architecture after `event` (or `arch` when there is no event).
 * `expanded`: the blocks to draw layer by layer (default: those the event changed; archBlocks.ts).
 */
export function renderArchitecture(
  host: HTMLElement,
  arch: Architecture | undefined,
  event: GrowEvent | undefined,
  height = 320,
  expanded?: ReadonlySet<string>,
): ArchRender | undefined {
  host.replaceChildren();
  const after = event?.after ?? arch;
  if (!after) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = 'No architecture yet: the run has not built its model.';
    host.appendChild(p);
    return undefined;
  }
  const view = classifyArchitecture(after, event);
  const names = new Map(after.layers.filter((l) => l.block !== undefined).map((l) => [l.id, l.block!]));
  const blocks = architectureBlocks(view.layers, names);
  const open = expanded ?? initiallyExpanded(blocks);
  const layout = layoutArchitecture(view, { height, blocks, expanded: open });
  const svg = el('svg', {
    width: layout.width,
    height: layout.height,
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    role: 'group',
    class: 'arch',
  }); // a group, not an img: its layers are buttons
  const title = el('title', {}, svg);
  title.textContent = event ? `Architecture after ${event.kind} ${event.method} at step ${event.step}` : 'Architecture';

  // Expanded blocks: a frame behind their layers, its label a button that collapses the block.
  const frames = el('g', { class: 'block-frames' }, svg);
  for (const bg of layout.blocks) {
    if (bg.collapsed) continue;
    const b = bg.block;
    const g = el('g', blockAttrs(b, true), frames);
    el('rect', { class: `block-frame${b.changed ? ' grown' : ''}`, x: bg.box.x, y: bg.box.y, width: bg.box.w, height: bg.box.h, rx: 4 }, g);
    text(g, bg.labelX, bg.box.y + 12, `▾ ${b.label || 'block'}${b.changed ? ' · grew' : ''}`, 'block-label');
  }

  const bands = el('g', { class: 'bands' }, svg);
  for (const [x1, t1, b1, x2, t2, b2] of layout.bands) {
    el('polygon', { class: 'band', points: `${x1},${t1} ${x2},${t2} ${x2},${b2} ${x1},${b1}` }, bands);
  }

  const input = layout.input;
  el('rect', { class: 'layer-box input', x: input.x, y: input.y, width: input.w, height: input.h, rx: 3 }, svg);
  text(svg, input.x + input.w / 2, input.y - 8, 'input', 'layer-label');
  text(svg, input.x + input.w / 2, input.y + input.h + 16, view.inputShape.join('×'), 'layer-sub');

  for (const lg of layout.layers) {
    const v = lg.view;
    // Each layer is a button: click, or focus it and press Enter or Space, for its details (the panel wires it).
    const g = el(
      'g',
      {
        class: `layer${v.inserted ? ' inserted' : ''}`,
        'data-layer': v.id,
        'data-width': v.width ?? '',
        tabindex: 0,
        role: 'button',
        'aria-label': `${v.id}: ${v.type}${v.width !== undefined ? `, width ${v.width}` : ''}, ${v.params} parameters. Show details`,
      },
      svg,
    );
    const b = lg.box;
    el(
      'rect',
      {
        class: `layer-box${v.width === undefined ? ' width-free' : ''}${v.inserted ? ' inserted' : ''}`,
        x: b.x - 2,
        y: b.y - 2,
        width: b.w + 4,
        height: b.h + 4,
        rx: 2,
      },
      g,
    );
    const cells = el('g', { class: 'neurons' }, g);
    for (const c of lg.cells) {
      const r = el(
        'rect',
        {
          class: `neuron ${c.cls}`,
          x: c.x,
          y: c.y,
          width: c.size,
          height: c.size,
          'data-layer': c.layer,
          'data-index': c.index,
          'data-state': c.cls,
        },
        cells,
      );
      if (c.parent !== undefined) r.setAttribute('data-parent', String(c.parent));
    }
    for (const c of lg.removedCells) {
      el(
        'rect',
        {
          class: 'neuron removed',
          x: c.x,
          y: c.y,
          width: c.size,
          height: c.size,
          'data-layer': c.layer,
          'data-index': c.index,
          'data-state': 'removed',
        },
        cells,
      );
    }
    text(g, lg.labelX, b.y - 10, v.id, 'layer-label');
    const widths =
      v.width === undefined
        ? v.type
        : v.beforeWidth !== undefined && v.beforeWidth !== v.width
          ? `${v.beforeWidth} → ${v.width}`
          : String(v.width);
    text(g, lg.labelX, b.y + b.h + 16, widths, 'layer-sub');
    const act = v.activation && v.activation !== 'linear' ? v.activation : '';
    const detail = v.width === undefined ? '' : v.type === 'output' ? act : `${v.type}${act ? ` ${act}` : ''}`;
    if (detail) text(g, lg.labelX, b.y + b.h + 30, detail, 'layer-sub muted');
  }

  // Collapsed blocks: one box each, a button that expands it.
  for (const bg of layout.blocks) {
    if (!bg.collapsed) continue;
    const b = bg.block;
    const g = el('g', blockAttrs(b, false), svg);
    el('rect', { class: `block-box${b.changed ? ' grown' : ''}`, x: bg.box.x, y: bg.box.y, width: bg.box.w, height: bg.box.h, rx: 4 }, g);
    text(g, bg.labelX, bg.box.y - 10, `▸ ${b.label || 'block'}`, 'layer-label');
    text(g, bg.labelX, bg.box.y + bg.box.h + 16, blockCaption(b), 'layer-sub');
    if (b.changed) text(g, bg.labelX, bg.box.y + bg.box.h + 30, 'grew', 'layer-sub grown');
  }

  const links = el('g', { class: 'links' }, svg);
  for (const l of layout.links) {
    const cx = Math.min(l.x1, l.x2) - Math.max(8, Math.abs(l.y2 - l.y1) * 0.25);
    el(
      'path',
      {
        class: 'split-link',
        d: `M ${l.x1} ${l.y1} Q ${cx} ${(l.y1 + l.y2) / 2} ${l.x2} ${l.y2}`,
        'data-layer': l.layer,
        'data-parent': l.parent,
        'data-from': l.from,
        'data-to': l.to,
      },
      links,
    );
  }
  host.appendChild(svg);
  return { view, counts: classCounts(view), blocks, expanded: open };
}

/** A block's group: a button (click, Enter or Space) that collapses or expands it, saying what grew. */
function blockAttrs(b: BlockView, expanded: boolean): Record<string, string | number> {
  const what = b.changed ? `; this step changed ${b.changes.join(', ')}` : '';
  return {
    class: `block${expanded ? ' expanded' : ' collapsed'}${b.changed ? ' grown' : ''}`,
    'data-block': b.id,
    tabindex: 0,
    role: 'button',
    'aria-expanded': String(expanded),
    'aria-label': `${b.label || 'block'}: ${b.layers.length} layers (${b.layers[0]} to ${b.layers[b.layers.length - 1]}), ${b.params} parameters${what}. ${expanded ? 'Collapse' : 'Expand'}`,
  };
}

/** Text for a hovered neuron cell, e.g. "dense_1 #25: split from #3". */
export function describeCell(target: Element): string | undefined {
  const layer = target.getAttribute('data-layer');
  const index = target.getAttribute('data-index');
  const state = target.getAttribute('data-state');
  if (layer === null || index === null || !state) return undefined;
  switch (state) {
    case 'split':
      return `${layer} #${index}: split from #${target.getAttribute('data-parent')}`;
    case 'new':
      return `${layer} #${index}: new neuron`;
    case 'removed':
      return `${layer}: neuron #${index} of the previous model was removed`;
    case 'inserted':
      return `${layer} #${index}: in an inserted layer`;
    default:
      return `${layer} #${index}`;
  }
}
