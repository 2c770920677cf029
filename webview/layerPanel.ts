/**
 * The layer details box under the architecture view: what layerDetail (layerDetails.ts) computes for
 * the layer the user clicked (or focused and pressed Enter or Space on), as a definition list.
 */
import type { Architecture, GrowEventParams } from '../common/protocol';
import { formatInt, formatPct } from './format';
import { indexRanges, layerDetail, shapeText, splitText, type LayerDetail } from './layerDetails';

function row(term: string, value: string, key: string): DocumentFragment {
  const f = document.createDocumentFragment();
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  dd.dataset.field = key;
  f.append(dt, dd);
  return f;
}

/** Fills `host` with the details of layer `id` of `arch` (after `event` when given); returns them. */
export function renderLayerDetail(
  host: HTMLElement,
  arch: Architecture | undefined,
  id: string | undefined,
  event?: Pick<GrowEventParams, 'before' | 'diff'>,
): LayerDetail | undefined {
  const title = document.createElement('h3');
  title.className = 'layer-detail-title';
  if (!id || !arch) {
    host.dataset.layer = '';
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = 'Click a layer (or focus it and press Enter) for its details.';
    host.replaceChildren(p);
    return undefined;
  }
  const d = layerDetail(arch, id, event);
  host.dataset.layer = id;
  if (!d) {
    title.textContent = id;
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = `${id} is not part of the network at this point.`;
    host.replaceChildren(title, p);
    return undefined;
  }
  title.textContent = `Layer ${d.id}`;
  const dl = document.createElement('dl');
  dl.className = 'stats';
  dl.append(
    row(
      'Type',
      `${d.type}${d.kernelSize ? ` ${d.kernelSize}×${d.kernelSize}` : ''}${d.activation && d.activation !== 'linear' ? ` · ${d.activation}` : ''}`,
      'type',
    ),
    row('Width', d.width === undefined ? '–' : String(d.width), 'width'),
    row('Input shape', shapeText(d.inputShape), 'inputShape'),
    row('Output shape', shapeText(d.outputShape), 'outputShape'),
    row('Parameters', `${formatInt(d.params)} (${formatPct(d.paramShare, 1)} of all)`, 'params'),
    row('FLOPs (mult-adds)', Number.isFinite(d.flops) ? `${formatInt(d.flops)} (${formatPct(d.flopShare, 1)} of all)` : '–', 'flops'),
  );
  const o = d.origins;
  if (o) {
    if (o.inserted) dl.append(row('Neurons', `all ${o.added.length} new: the layer was inserted by this step`, 'origin-inserted'));
    else {
      dl.append(row('Kept', o.kept.length ? `${o.kept.length}: ${indexRanges(o.kept)}` : '0', 'origin-kept'));
      if (o.split.length) dl.append(row('Split (parent → copies)', `${o.split.length}: ${splitText(o.split)}`, 'origin-split'));
      if (o.added.length) dl.append(row('New', `${o.added.length}: ${indexRanges(o.added)}`, 'origin-new'));
      if (o.removed.length)
        dl.append(row('Removed (of the previous layer)', `${o.removed.length}: ${indexRanges(o.removed)}`, 'origin-removed'));
    }
  }
  host.replaceChildren(title, dl);
  return d;
}
