/**
 * The architecture section: the scrubber and per-layer charts over the run's grow events
 * (timelineView.ts), the shown architecture drawn as a diff (archView.ts) under its heading, the
 * legend with each class's count, and the layer the user picked (click, or Enter/Space on a
 * focused layer) marked and detailed (layerPanel.ts).
 */
import type { Architecture } from '../common/protocol';
import type { GrowEvent, RunModel } from '../common/monitor/runModel';
import { CLASS_LABELS, renderArchitecture, type ArchRender } from './archView';
import { DIFF_CLASSES } from './architecture';
import type { LayerDetail } from './layerDetails';
import { renderLayerDetail } from './layerPanel';
import { archTitle } from './panelText';
import { timelinePoints, type TimelinePoint } from './timeline';
import { ArchTimeline } from './timelineView';
import type { ThemeColors } from './theme';

/** What the section shows. */
export interface ArchShown {
  model: RunModel | undefined;
  /** The grow event shown (undefined: none, or the start of the run). */
  ev: GrowEvent | undefined;
  /** The architecture the run started with is shown. */
  atStart: boolean;
  selectedLayer: string | undefined;
  themeKind: ThemeColors['kind'];
}

export class ArchSection {
  readonly timeline: ArchTimeline;
  lastArch: ArchRender | undefined;
  lastLayerDetail: LayerDetail | undefined;
  private key = '';
  /** The blocks drawn layer by layer, for the step shown (`expandedFor`); reset when another step is shown. */
  private expanded: Set<string> | undefined;
  private expandedFor = '';
  private lastShown: ArchShown | undefined;

  /** `onScrub`: the timeline point the user moved to; `onPickLayer`: the layer the user picked. */
  constructor(
    private readonly $: (id: string) => HTMLElement,
    theme: ThemeColors,
    onScrub: (point: TimelinePoint) => void,
    onPickLayer: (id: string | undefined) => void,
  ) {
    this.timeline = new ArchTimeline($('arch-timeline'), $('arch-tracks'), theme, (_pos, p) => onScrub(p));
    const host = $('arch');
    const toggle = (target: EventTarget | null): boolean => {
      const g = target instanceof Element ? target.closest<SVGGElement>('g.block[data-block]') : null;
      const id = g?.dataset.block;
      if (!id || !this.expanded || !this.lastShown) return false;
      if (!this.expanded.delete(id)) this.expanded.add(id);
      this.key = '';
      this.render(this.lastShown);
      host.querySelector<SVGGElement>(`g.block[data-block="${CSS.escape(id)}"]`)?.focus();
      return true;
    };
    const pick = (target: EventTarget | null): boolean => {
      const g = target instanceof Element ? target.closest<SVGGElement>('g.layer[data-layer]') : null;
      if (!g) return false;
      onPickLayer(g.dataset.layer);
      return true;
    };
    host.addEventListener('click', (e) => {
      if (!toggle(e.target)) pick(e.target);
    });
    host.addEventListener('keydown', (e) => {
      if ((e.key === 'Enter' || e.key === ' ') && (toggle(e.target) || pick(e.target))) e.preventDefault();
    });
  }

  /** Forget what was drawn (theme change): the next render redraws. */
  reset(): void {
    this.key = '';
  }

  /** Moves the scrubber; redraws the architecture when what is shown changed (returns whether it did). */
  render(s: ArchShown): boolean {
    const { model, ev, atStart } = s;
    const arch = atStart ? (model?.startArchitecture ?? model?.grows[0].before) : model?.architecture;
    this.renderTimeline(model, ev);
    this.lastShown = s;
    const shownFor = `${model?.runId}|${ev ? `${ev.step}|${ev.method}|${ev.after.params}` : `${atStart ? 'start' : 'none'}|${arch?.params}`}`;
    if (shownFor !== this.expandedFor) {
      this.expandedFor = shownFor;
      this.expanded = undefined;
    }
    const key = `${shownFor}|${[...(this.expanded ?? [])].join(',')}|${s.selectedLayer}|${s.themeKind}`;
    if (key === this.key) return false;
    this.key = key;
    this.lastArch = renderArchitecture(this.$('arch'), ev ? undefined : arch, ev, undefined, this.expanded);
    this.expanded = new Set(this.lastArch?.expanded ?? []);
    this.$('arch-title').textContent = archTitle(ev, atStart);
    this.renderLayer(ev, ev?.after ?? arch, s.selectedLayer);
    const legend = this.$('arch-legend');
    const counts = this.lastArch?.counts;
    legend.replaceChildren(
      ...DIFF_CLASSES.map((c) => {
        const li = document.createElement('li');
        li.dataset.class = c;
        const sw = document.createElement('span');
        sw.className = `swatch ${c}`;
        const label = document.createElement('span');
        label.textContent = `${CLASS_LABELS[c]}${counts ? ` (${counts[c]})` : ''}`;
        li.append(sw, label);
        return li;
      }),
    );
    return true;
  }

  /** The architecture timeline's scrubber at the shown architecture, its charts up to the latest step. */
  private renderTimeline(model: RunModel | undefined, ev: GrowEvent | undefined): void {
    const points = model ? timelinePoints(model.startArchitecture, model.grows) : [];
    const position = ev ? points.findIndex((p) => p.event === ev) : 0;
    this.timeline.update(points, Math.max(0, position), model?.lastMetrics?.step);
  }

  /** The selected layer, marked in the architecture view, and its details. */
  private renderLayer(ev: GrowEvent | undefined, shown: Architecture | undefined, selected: string | undefined): void {
    for (const g of Array.from(this.$('arch').querySelectorAll<SVGGElement>('g.layer'))) {
      const on = g.dataset.layer === selected;
      g.classList.toggle('selected', on);
      g.setAttribute('aria-pressed', String(on));
    }
    this.lastLayerDetail = renderLayerDetail(this.$('layer-detail'), shown, selected, ev);
  }
}
