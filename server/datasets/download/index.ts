/** Dataset download (issue 20): the official archives fetched, checked and unpacked into place. */
export { downloadDataset, isComplete, MARKER_FILE, TEMP_PREFIX, type DownloadOptions } from './download';
export { DownloadError, type DownloadErrorKind } from './errors';
export { datasetSource, isDownloadName, MIRROR_ENV, MIRROR_MD5_ENV, type DatasetSource } from './sources';
export { DownloadService } from './service';
