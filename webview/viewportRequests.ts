/**
 * A step chart's viewport requests to the extension (`viewport` → `chartData`, about 2 points per
 * pixel of the visible range): asked at once when the view changed (run, x axis, smoothing, zoom,
 * width), and while only live data came at most every LIVE_REQUEST_MS.
 */
import type { ChartViewportMessage } from '../common/protocol';
import type { RunModel } from '../common/monitor/runModel';
import type { ChartSettings, StepChartSpec } from './stepChartSpec';
import type { XRange } from './zoom';

/** A viewport request, without the sequence number the panel adds. */
export type ViewportRequest = Omit<ChartViewportMessage, 'type' | 'seq'>;

/** Live data re-asks the extension at most this often per chart (zoom and pan ask at once). */
export const LIVE_REQUEST_MS = 250;

/** The chart whose view is asked for. */
export interface ViewportHost {
  readonly spec: StepChartSpec;
  readonly settings: ChartSettings;
  readonly zoom: XRange | undefined;
  /** Posts a viewport request and returns its sequence number (set by the panel); without it nothing is asked. */
  readonly requester?: (req: ViewportRequest) => number;
  /** Plot width in pixels. */
  pixels(): number;
}

export class ViewportRequests {
  /** Sequence number of the last request. */
  requestedSeq = -1;
  private requestKey = '';
  private requestedVersion = -1;
  private lastRequestAt = 0;
  private throttle: ReturnType<typeof setTimeout> | undefined;
  /** The model of the last redraw (a throttled request asks for it). */
  private latest: RunModel | undefined;

  constructor(private readonly host: ViewportHost) {}

  private request(model: RunModel, key: string): void {
    const h = this.host;
    this.requestKey = key;
    this.requestedVersion = model.version;
    this.lastRequestAt = performance.now();
    const req: ViewportRequest = {
      runId: model.runId,
      chart: h.spec.id,
      series: h.spec.series.map((s) => s.name),
      xAxis: h.settings.xAxis,
      pixels: h.pixels(),
      smoothing: h.settings.smoothing,
    };
    if (h.zoom) {
      req.xMin = h.zoom.min;
      req.xMax = h.zoom.max;
    }
    if (h.requester) this.requestedSeq = h.requester(req);
  }

  /** Asks the extension for the current view: at once when the view changed, throttled when only data came. */
  ask(model: RunModel | undefined): void {
    const h = this.host;
    this.latest = model;
    if (!model || !h.requester) return;
    const key = `${model.runId}|${h.settings.xAxis}|${h.settings.smoothing}|${h.zoom?.min}|${h.zoom?.max}|${h.pixels()}`;
    if (key !== this.requestKey) {
      clearTimeout(this.throttle);
      this.throttle = undefined;
      this.request(model, key);
      return;
    }
    if (model.version === this.requestedVersion || this.throttle) return;
    const wait = LIVE_REQUEST_MS - (performance.now() - this.lastRequestAt);
    if (wait <= 0) {
      this.request(model, key);
      return;
    }
    this.throttle = setTimeout(() => {
      this.throttle = undefined;
      const m = this.latest;
      if (m && m.version !== this.requestedVersion) this.request(m, this.requestKey);
    }, wait);
  }
}
