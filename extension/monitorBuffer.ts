/**
 * What the monitor posts while its webview is hidden (pure: no VS Code imports, unit-tested).
 *
 * VS Code delivers no message to a hidden webview, so the controller posts through this buffer:
 * visible, a message goes out at once; hidden, it is kept and replayed, in order, when the page is
 * shown again. Kept messages are coalesced so that a panel hidden for hours costs little:
 * - `events` of a run are appended to the run's pending `events` (one message, order kept);
 * - a `history` replaces every pending `history` and `events` (the panel starts over from it);
 * - `runs`, `capabilities`, `comparison`, `compare` and `noRun` keep only their latest copy;
 * - `actionResult` messages are all kept.
 * Beyond `maxEvents` pending live events the events are dropped and `overflowed` is set: the owner
 * then sends the run's full history on show instead (nothing is lost, the replay stays bounded).
 */
import type { ExtensionToWebviewMessage, RunEvent } from '../common/protocol';

/** Live events kept for a hidden panel before falling back to a full history on show. */
export const HIDDEN_EVENTS_LIMIT = 50_000;

const LATEST_ONLY = new Set<ExtensionToWebviewMessage['type']>(['runs', 'capabilities', 'comparison', 'compare', 'noRun']);

export class MonitorBuffer {
  private visible = true;
  private pending: ExtensionToWebviewMessage[] = [];
  private pendingEvents = 0;
  /** Live events were dropped while hidden: the run's history must be sent again. */
  overflowed = false;

  constructor(
    private readonly send: (msg: ExtensionToWebviewMessage) => void,
    private readonly maxEvents = HIDDEN_EVENTS_LIMIT,
  ) {}

  get isVisible(): boolean {
    return this.visible;
  }

  /** Messages waiting for the page to be shown. */
  get size(): number {
    return this.pending.length;
  }

  post(msg: ExtensionToWebviewMessage): void {
    if (this.visible) {
      this.send(msg);
      return;
    }
    if (msg.type === 'events') {
      if (this.overflowed) return;
      if (this.pendingEvents + msg.events.length > this.maxEvents) {
        this.overflowed = true;
        this.pending = this.pending.filter((m) => m.type !== 'events');
        this.pendingEvents = 0;
        return;
      }
      this.pendingEvents += msg.events.length;
      const last = this.pending[this.pending.length - 1];
      if (last?.type === 'events' && last.runId === msg.runId) {
        this.pending[this.pending.length - 1] = { ...last, events: ([] as RunEvent[]).concat(last.events, msg.events) };
      } else {
        this.pending.push({ ...msg, events: msg.events.slice() });
      }
      return;
    }
    if (msg.type === 'history') {
      this.pending = this.pending.filter((m) => m.type !== 'history' && m.type !== 'events');
      this.pendingEvents = 0;
      this.overflowed = false;
    } else if (LATEST_ONLY.has(msg.type)) {
      this.pending = this.pending.filter((m) => m.type !== msg.type);
    }
    this.pending.push(msg);
  }

  /** The page was hidden: keep what is posted from now on. */
  hide(): void {
    this.visible = false;
  }

  /** The page is shown: replay what was kept, in order. Returns whether events were dropped (see `overflowed`). */
  show(): boolean {
    this.visible = true;
    const out = this.pending;
    const overflowed = this.overflowed;
    this.pending = [];
    this.pendingEvents = 0;
    this.overflowed = false;
    for (const m of out) this.send(m);
    return overflowed;
  }

  /** Forgets what was kept (the page was discarded and will ask for everything again). */
  clear(): void {
    this.pending = [];
    this.pendingEvents = 0;
    this.overflowed = false;
  }
}
