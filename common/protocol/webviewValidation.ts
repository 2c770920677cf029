/**
 * Validation of what the webview posts: the panel is untrusted input, nothing it posts is used before
 * `validateWebviewMessage` has checked it and returned a fresh copy.
 */

import {
  CHART_COLOR_NAMES,
  CHART_X_AXES,
  COMPARE_MAX_RUNS,
  type ChartColorName,
  type ChartViewportMessage,
  type ChartXAxis,
  MAX_CHART_PIXELS,
  MAX_EXPORT_PNG_BASE64,
  MAX_EXPORT_RUNS,
  MAX_EXPORT_SVG,
  MAX_SMOOTHING,
  METRIC_SERIES,
  type MetricSeriesName,
  PRUNE_METHODS,
  type PruneMethodName,
  type WebviewMessageValidation,
} from './webview';
import { isRunId } from './runId';

const WEBVIEW_METHOD = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Checks a message posted by the webview and returns a fresh copy holding only the known fields
 * (run ids as the backend accepts them, method names as [a-z0-9-]); anything else is rejected with
 * a reason. The webview is untrusted input: nothing it posts is used before this check.
 */
export function validateWebviewMessage(value: unknown): WebviewMessageValidation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'message is not an object' };
  const v = value as Record<string, unknown>;
  const fail = (error: string): WebviewMessageValidation => ({ ok: false, error: `${String(v.type).slice(0, 40)}: ${error}` });
  const runId = (): string | undefined => (typeof v.runId === 'string' && isRunId(v.runId) ? v.runId : undefined);
  switch (v.type) {
    case 'ready': {
      if (v.state === undefined || v.state === null) return { ok: true, message: { type: 'ready' } };
      if (typeof v.state !== 'object' || Array.isArray(v.state)) return fail('state is not an object');
      const s = v.state as Record<string, unknown>;
      if (s.runId === undefined) return { ok: true, message: { type: 'ready', state: {} } };
      if (typeof s.runId !== 'string' || !isRunId(s.runId)) return fail('state.runId is not a valid run id');
      return { ok: true, message: { type: 'ready', state: { runId: s.runId } } };
    }
    case 'start':
      return { ok: true, message: { type: 'start' } };
    case 'selectRun':
    case 'pause':
    case 'resume':
    case 'stop':
    case 'export': {
      const id = runId();
      return id ? { ok: true, message: { type: v.type, runId: id } } : fail('runId is not a valid run id');
    }
    case 'grow': {
      const id = runId();
      if (!id) return fail('runId is not a valid run id');
      if (typeof v.method !== 'string' || !WEBVIEW_METHOD.test(v.method)) return fail('method is not a growth method name');
      return { ok: true, message: { type: 'grow', runId: id, method: v.method } };
    }
    case 'prune': {
      const id = runId();
      if (!id) return fail('runId is not a valid run id');
      if (!PRUNE_METHODS.includes(v.method as PruneMethodName)) return fail(`method must be one of ${PRUNE_METHODS.join(', ')}`);
      return { ok: true, message: { type: 'prune', runId: id, method: v.method as PruneMethodName } };
    }
    case 'viewport':
    case 'exportSeries':
    case 'exportChart':
      return validateChartMessage(v);
    case 'compareRuns': {
      if (!Array.isArray(v.runIds)) return fail('runIds is not an array');
      if (v.runIds.length > COMPARE_MAX_RUNS) return fail(`at most ${COMPARE_MAX_RUNS} runs can be compared`);
      const ids: string[] = [];
      for (const id of v.runIds) {
        if (typeof id !== 'string' || !isRunId(id)) return fail('runIds holds an invalid run id');
        if (!ids.includes(id)) ids.push(id);
      }
      return { ok: true, message: { type: 'compareRuns', runIds: ids } };
    }
    case 'setRunColor': {
      const id = runId();
      if (!id) return fail('runId is not a valid run id');
      if (v.color !== null && !CHART_COLOR_NAMES.includes(v.color as ChartColorName))
        return fail(`color must be null or one of ${CHART_COLOR_NAMES.join(', ')}`);
      return { ok: true, message: { type: 'setRunColor', runId: id, color: v.color as ChartColorName | null } };
    }
    default:
      return {
        ok: false,
        error: `unknown message type ${typeof v.type === 'string' ? JSON.stringify(v.type.slice(0, 40)) : typeof v.type}`,
      };
  }
}

const CHART_ID = /^[a-z][a-z0-9-]{0,31}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Validates the chart messages (viewport, exportSeries, exportChart); called by validateWebviewMessage. */
export function validateChartMessage(v: Record<string, unknown>): WebviewMessageValidation {
  const fail = (error: string): WebviewMessageValidation => ({ ok: false, error: `${String(v.type).slice(0, 40)}: ${error}` });
  const runIdOk = (id: unknown): id is string => typeof id === 'string' && isRunId(id);
  switch (v.type) {
    case 'viewport': {
      if (!runIdOk(v.runId)) return fail('runId is not a valid run id');
      if (typeof v.chart !== 'string' || !CHART_ID.test(v.chart)) return fail('chart is not a chart id');
      if (!Array.isArray(v.series) || v.series.length === 0 || v.series.length > METRIC_SERIES.length)
        return fail('series must list 1 to 6 metric names');
      const series: MetricSeriesName[] = [];
      for (const s of v.series) {
        if (!METRIC_SERIES.includes(s as MetricSeriesName)) return fail('series holds an unknown metric');
        if (!series.includes(s as MetricSeriesName)) series.push(s as MetricSeriesName);
      }
      if (!CHART_X_AXES.includes(v.xAxis as ChartXAxis)) return fail(`xAxis must be one of ${CHART_X_AXES.join(', ')}`);
      for (const k of ['xMin', 'xMax'] as const)
        if (v[k] !== undefined && v[k] !== null && !(typeof v[k] === 'number' && Number.isFinite(v[k])))
          return fail(`${k} is not a finite number`);
      const xMin = typeof v.xMin === 'number' ? v.xMin : undefined,
        xMax = typeof v.xMax === 'number' ? v.xMax : undefined;
      if (xMin !== undefined && xMax !== undefined && !(xMin < xMax)) return fail('xMin must be below xMax');
      if (!Number.isInteger(v.pixels) || (v.pixels as number) < 1 || (v.pixels as number) > MAX_CHART_PIXELS)
        return fail(`pixels must be an integer from 1 to ${MAX_CHART_PIXELS}`);
      if (typeof v.smoothing !== 'number' || !(v.smoothing >= 0 && v.smoothing <= MAX_SMOOTHING))
        return fail(`smoothing must be from 0 to ${MAX_SMOOTHING}`);
      if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 0) return fail('seq is not a non-negative integer');
      const message: ChartViewportMessage = {
        type: 'viewport',
        runId: v.runId,
        chart: v.chart,
        series,
        xAxis: v.xAxis as ChartXAxis,
        pixels: v.pixels as number,
        smoothing: v.smoothing,
        seq: v.seq as number,
      };
      if (xMin !== undefined) message.xMin = xMin;
      if (xMax !== undefined) message.xMax = xMax;
      return { ok: true, message };
    }
    case 'exportSeries': {
      if (v.format !== 'csv' && v.format !== 'json') return fail('format must be csv or json');
      if (!Array.isArray(v.runIds) || v.runIds.length === 0 || v.runIds.length > MAX_EXPORT_RUNS)
        return fail(`runIds must list 1 to ${MAX_EXPORT_RUNS} runs`);
      const ids: string[] = [];
      for (const id of v.runIds) {
        if (!runIdOk(id)) return fail('runIds holds an invalid run id');
        if (!ids.includes(id)) ids.push(id);
      }
      return { ok: true, message: { type: 'exportSeries', format: v.format, runIds: ids } };
    }
    case 'exportChart': {
      if (v.format !== 'png' && v.format !== 'svg') return fail('format must be png or svg');
      if (!runIdOk(v.runId)) return fail('runId is not a valid run id');
      if (typeof v.chart !== 'string' || !CHART_ID.test(v.chart)) return fail('chart is not a chart id');
      if (typeof v.data !== 'string' || v.data.length === 0) return fail('data is not a string');
      if (v.format === 'png' && (v.data.length > MAX_EXPORT_PNG_BASE64 || v.data.length % 4 !== 0 || !BASE64.test(v.data)))
        return fail('data is not base64 PNG of an accepted size');
      if (v.format === 'png' && !v.data.startsWith('iVBORw0KGgo')) return fail('data is not a PNG');
      if (v.format === 'svg' && (v.data.length > MAX_EXPORT_SVG || !/^<svg[\s>]/.test(v.data)))
        return fail('data is not an SVG document of an accepted size');
      return { ok: true, message: { type: 'exportChart', format: v.format, runId: v.runId, chart: v.chart, data: v.data } };
    }
    default:
      return { ok: false, error: `unknown chart message ${String(v.type).slice(0, 40)}` };
  }
}
