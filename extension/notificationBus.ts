/**
 * The notification bus (pure: no VS Code imports, unit-tested): the one place the backend's
 * notifications (metrics, runStatus, growEvent) and its lifecycle (ready, crashed) arrive, fanned
 * out to whoever subscribed (the run tracker, the status bar, the Experiments view, the monitors…),
 * in the order they subscribed. The Backend knows only the bus; nobody else wires a handler into it.
 */
import type { DownloadProgressParams, GrowEventParams, MetricsParams, RunStatusParams } from '../common/protocol';

/** Each event and what its listeners receive. */
export interface BusEvents {
  /** growthLab/metrics */
  metrics: MetricsParams;
  /** growthLab/runStatus */
  runStatus: RunStatusParams;
  /** growthLab/growEvent */
  growEvent: GrowEventParams;
  /** growthLab/downloadProgress */
  downloadProgress: DownloadProgressParams;
  /** The backend (re)started and answers requests. */
  backendReady: void;
  /** The backend's connection closed unexpectedly (the runs of that process are gone). */
  backendCrashed: void;
}

export type BusListener<K extends keyof BusEvents> = (payload: BusEvents[K]) => void;

export interface Subscription {
  dispose(): void;
}

export class NotificationBus {
  private readonly listeners: { [K in keyof BusEvents]?: BusListener<K>[] } = {};

  /** Listens to one event until the returned subscription is disposed. */
  on<K extends keyof BusEvents>(event: K, listener: BusListener<K>): Subscription {
    const list = (this.listeners[event] ??= []) as BusListener<K>[];
    list.push(listener);
    return {
      dispose: () => {
        const i = list.indexOf(listener);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }

  /**
   * Calls every listener of `event` in subscription order. A listener that throws does not keep the
   * event from the others; what it threw goes to `onError`.
   */
  emit<K extends keyof BusEvents>(event: K, ...payload: BusEvents[K] extends void ? [] : [BusEvents[K]]): void {
    const list = this.listeners[event] as BusListener<K>[] | undefined;
    if (!list) return;
    for (const listener of [...list]) {
      try {
        listener(payload[0] as BusEvents[K]);
      } catch (err) {
        this.onError(event, err);
      }
    }
  }

  /** Where a listener's exception goes (the Ctx logs it to the output channel). */
  onError: (event: keyof BusEvents, err: unknown) => void = () => undefined;

  /** Drops every listener. */
  clear(): void {
    for (const key of Object.keys(this.listeners) as (keyof BusEvents)[]) delete this.listeners[key];
  }
}
