/**
 * The backend's downloads: at most one per dataset at a time, each cancellable by name
 * (`growthLab/cancelDownload`), progress sent as `growthLab/downloadProgress` notifications.
 */
import * as path from 'path';
import type {
  CancelDownloadParams,
  CancelDownloadResult,
  DownloadDatasetName,
  DownloadDatasetParams,
  DownloadDatasetResult,
  DownloadProgressParams,
} from '../../../common/protocol';
import { downloadDataset, type DownloadOptions } from './download';
import { DownloadError } from './errors';
import { isDownloadName } from './sources';

/** The folder under the workspace that downloads go to when the request names none. */
export const DEFAULT_DOWNLOAD_FOLDER = 'data';

export class DownloadService {
  private readonly running = new Map<DownloadDatasetName, { abort: AbortController; done: Promise<unknown> }>();

  constructor(
    private readonly workspaceDir: string,
    private readonly notify: (p: DownloadProgressParams) => void,
    private readonly extra: Pick<DownloadOptions, 'env' | 'fetch' | 'progressIntervalMs'> = {},
  ) {}

  async download(p: DownloadDatasetParams): Promise<DownloadDatasetResult> {
    if (!isDownloadName(p.name))
      throw new DownloadError('invalid', `unknown dataset "${String(p.name).slice(0, 100)}" (want cifar-10, cifar-100 or svhn)`);
    if (p.to !== undefined && (p.to.length === 0 || p.to.length > 4096 || p.to.includes('\0')))
      throw new DownloadError('invalid', 'to must be a non-empty path of at most 4096 characters');
    if (this.running.has(p.name)) throw new DownloadError('busy', `a download of ${p.name} is already running`);
    const to = path.resolve(this.workspaceDir, p.to ?? DEFAULT_DOWNLOAD_FOLDER);
    const abort = new AbortController();
    const done = downloadDataset({
      ...this.extra,
      name: p.name,
      to,
      extra: p.extra,
      force: p.force,
      signal: abort.signal,
      onProgress: this.notify,
    });
    this.running.set(p.name, { abort, done });
    try {
      return await done;
    } finally {
      this.running.delete(p.name);
    }
  }

  cancel(p: CancelDownloadParams): CancelDownloadResult {
    const running = isDownloadName(p.name) ? this.running.get(p.name) : undefined;
    running?.abort.abort();
    return { cancelled: !!running };
  }

  /** Cancels every download (the backend shuts down) and resolves once their temporary folders are removed. */
  async cancelAll(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort();
    await Promise.allSettled(all.map((r) => r.done));
  }
}
