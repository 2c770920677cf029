/**
 * The list of grow and prune events (#timeline): one button per event, the shown one pressed;
 * clicking one shows its architecture and detail. Rebuilt only when the run, the number of events
 * or the shown event changed.
 */
import type { GrowEvent } from '../common/monitor/runModel';
import type { GrowMarker } from './markers';
import { growEntryText } from './panelText';

export class GrowEventList {
  private key = '';

  /** `onPick`: the grow index the user clicked; undefined for the latest event (follow the latest). */
  constructor(
    private readonly ol: HTMLElement,
    private readonly onPick: (selected: number | undefined) => void,
  ) {}

  /** Forget what was drawn (theme change): the next render rebuilds the list. */
  reset(): void {
    this.key = '';
  }

  render(
    runId: string | undefined,
    hasRun: boolean,
    grows: readonly GrowEvent[],
    markers: readonly GrowMarker[],
    current: GrowEvent | undefined,
  ): void {
    const key = `${runId}|${grows.length}|${current ? grows.indexOf(current) : -1}`;
    if (key === this.key) return;
    this.key = key;
    if (!grows.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = hasRun ? 'No grow or prune step in this run yet.' : 'No run.';
      this.ol.replaceChildren(li);
      return;
    }
    this.ol.replaceChildren(
      ...markers.map((m) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.className = `timeline-item ${m.kind}`;
        b.dataset.index = String(m.index);
        b.setAttribute('aria-pressed', String(grows[m.index] === current));
        const text = growEntryText(m);
        const head = document.createElement('span');
        head.className = 'head';
        head.textContent = text.head;
        const sub = document.createElement('span');
        sub.className = 'sub';
        sub.textContent = text.sub;
        b.append(head, sub);
        b.addEventListener('click', () => this.onPick(m.index === grows.length - 1 ? undefined : m.index));
        li.appendChild(b);
        return li;
      }),
    );
  }
}
