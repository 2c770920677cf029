/**
 * The Growth Monitor's file exports (pure: no VS Code imports): a chart as PNG or SVG and the
 * selected runs' series as CSV or JSON, written where the host's save dialog says; each answered
 * with an `exportResult`.
 */
import { Methods, type ExtensionToWebviewMessage, type RunSummary, type WebviewToExtensionMessage } from '../common/protocol';
import type { MonitorHost } from './monitorController';
import { seriesCsv, seriesJson } from './seriesExport';
import { RunSeries, type SeriesStore } from './seriesStore';
import { readRunHistory } from './runHistory';

export interface SaveFileRequest {
  title: string;
  /** A file name (no folder) the save dialog proposes. */
  defaultName: string;
  filters: Record<string, string[]>;
  content: string | Uint8Array;
}

export class MonitorExports {
  constructor(
    private readonly host: MonitorHost,
    /** The shown runs' series (runs not kept there are read from the backend). */
    private readonly series: SeriesStore,
    /** The latest listRuns answer (for run names). */
    private readonly runs: () => readonly RunSummary[],
    private readonly post: (msg: ExtensionToWebviewMessage) => void,
  ) {}

  /** A chart the page drew, as the PNG (base64) or SVG it sent. */
  exportChart(msg: Extract<WebviewToExtensionMessage, { type: 'exportChart' }>): Promise<void> {
    return this.save(`the ${msg.chart} chart`, {
      title: `Save the ${msg.chart} chart as ${msg.format.toUpperCase()}`,
      defaultName: `${fileSafe(this.series.get(msg.runId)?.name ?? msg.runId)}-${msg.chart}.${msg.format}`,
      filters: msg.format === 'png' ? { 'PNG image': ['png'] } : { 'SVG image': ['svg'] },
      content: msg.format === 'png' ? new Uint8Array(Buffer.from(msg.data, 'base64')) : msg.data,
    });
  }

  /** Every selected run's full series as one CSV or JSON file (runs not kept in the store are read). */
  async exportSeries(format: 'csv' | 'json', runIds: string[]): Promise<void> {
    const runs: RunSeries[] = [];
    for (const runId of runIds) {
      let run = this.series.get(runId);
      if (!run) {
        try {
          run = RunSeries.fromEvents(
            runId,
            await readRunHistory((p) => this.host.request(Methods.getRunHistory, p), runId),
            this.runs().find((r) => r.runId === runId)?.name,
          );
        } catch (err) {
          const message = `Growth Lab: could not read the history of run ${runId} for the export: ${this.host.errorText(err)}`;
          this.post({ type: 'exportResult', ok: false, message });
          return;
        }
      }
      runs.push(run);
    }
    const name = runs.length === 1 ? fileSafe(runs[0].name) : `${runs.length}-runs`;
    await this.save(`${runs.length === 1 ? 'the series' : `the series of ${runs.length} runs`}`, {
      title: `Save the series as ${format.toUpperCase()}`,
      defaultName: `${name}-series.${format}`,
      filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] },
      content: format === 'csv' ? seriesCsv(runs) : seriesJson(runs),
    });
  }

  private async save(what: string, file: SaveFileRequest): Promise<void> {
    if (!this.host.saveFile) {
      this.post({ type: 'exportResult', ok: false, message: 'Growth Lab: saving files is not available here.' });
      return;
    }
    try {
      const path = await this.host.saveFile(file);
      if (path) this.post({ type: 'exportResult', ok: true, message: `Saved ${what} to ${path}.`, path });
      else this.post({ type: 'exportResult', ok: false, message: `Not saved: no file was chosen for ${what}.` });
    } catch (err) {
      const message = `Growth Lab: could not save ${what}: ${this.host.errorText(err)}`;
      this.host.notify('error', message);
      this.post({ type: 'exportResult', ok: false, message });
    }
  }
}

/** A run name as a file name: letters, digits, dot, dash and underscore. */
export function fileSafe(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[-.]+|-+$/g, '')
      .slice(0, 80) || 'run'
  );
}
