/**
 * Dataset download over the protocol (issue 20): `growthLab/downloadDataset` fetches an official archive
 * into a folder, `growthLab/downloadProgress` reports its bytes, `growthLab/cancelDownload` stops it.
 * The method names, the request table's entries and the error codes are in requests.ts.
 */

/** The datasets that can be downloaded (their official archives; server/datasets/download/sources.ts). */
export type DownloadDatasetName = 'cifar-10' | 'cifar-100' | 'svhn';
export const DOWNLOAD_DATASETS: readonly DownloadDatasetName[] = ['cifar-10', 'cifar-100', 'svhn'];

export interface DownloadDatasetParams {
  /** cifar-10 | cifar-100 | svhn (another name is answered with downloadFailed). */
  name: DownloadDatasetName;
  /** The parent folder: absolute, or relative to the workspace folder. Default `<workspace>/data`. */
  to?: string;
  /** svhn: also extra_32x32.mat (1.3 GB). */
  extra?: boolean;
  /** Download again even when a complete copy is already there. */
  force?: boolean;
}

/** The `dataset` block of an experiment file that reads the downloaded files. */
export interface DownloadedDatasetBlock {
  name: DownloadDatasetName;
  path: string;
  extra?: true;
}

export interface DownloadDatasetResult {
  name: DownloadDatasetName;
  /** The folder `dataset.path` points at (e.g. `<to>/cifar-10-batches-bin`). */
  path: string;
  /** false: a complete copy was already there and nothing was fetched. */
  downloaded: boolean;
  /** The files of the dataset in `path`. */
  files: string[];
  dataset: DownloadedDatasetBlock;
}

export type DownloadPhase = 'download' | 'unpack';

/** `growthLab/downloadProgress`: at most a few per second per download, and one at the end of each file. */
export interface DownloadProgressParams {
  name: DownloadDatasetName;
  phase: DownloadPhase;
  /** The remote file being fetched or the archive being unpacked. */
  file: string;
  /** 0-based index of `file` among the `fileCount` files of this download. */
  fileIndex: number;
  fileCount: number;
  receivedBytes: number;
  /** From Content-Length; absent when the server does not say. */
  totalBytes?: number;
}

export interface CancelDownloadParams {
  name: DownloadDatasetName;
}
export interface CancelDownloadResult {
  /** false: no download of that dataset was running. */
  cancelled: boolean;
}
