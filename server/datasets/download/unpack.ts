/**
 * A tar.gz unpacked with the `tar` package into a fresh folder. Only plain files and folders are written
 * (links, devices and the like are skipped), paths stay inside the folder (tar strips absolute paths and
 * `..`), and the entries and bytes are bounded so that a hostile archive cannot fill the disk.
 */
import * as tar from 'tar';
import { DownloadError, diskError } from './errors';

export const MAX_ENTRIES = 10_000;
/** More than the largest official archive unpacks to (CIFAR-100 binary: about 185 MB). */
export const MAX_UNPACKED_BYTES = 2 * 1024 ** 3;

export interface UnpackOptions {
  signal?: AbortSignal;
  maxEntries?: number;
  maxBytes?: number;
  onProgress?: (unpackedBytes: number) => void;
}

export async function unpackTarGz(archive: string, into: string, label: string, opts: UnpackOptions = {}): Promise<void> {
  const maxEntries = opts.maxEntries ?? MAX_ENTRIES;
  const maxBytes = opts.maxBytes ?? MAX_UNPACKED_BYTES;
  let entries = 0;
  let bytes = 0;
  let tooBig: string | undefined;
  try {
    await tar.x({
      file: archive,
      cwd: into,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      filter: (_p, entry) => {
        if (opts.signal?.aborted || tooBig) return false;
        const type = 'type' in entry ? entry.type : undefined;
        if (type !== 'File' && type !== 'OldFile' && type !== 'Directory') return false;
        entries++;
        bytes += 'size' in entry && typeof entry.size === 'number' ? entry.size : 0;
        if (entries > maxEntries) tooBig = `more than ${maxEntries.toLocaleString('en-US')} entries`;
        else if (bytes > maxBytes) tooBig = `more than ${maxBytes.toLocaleString('en-US')} bytes unpacked`;
        if (tooBig) return false;
        opts.onProgress?.(bytes);
        return true;
      },
    });
  } catch (e) {
    if (opts.signal?.aborted) throw new DownloadError('cancelled', 'the download was cancelled');
    const disk = diskError(e, `unpacking ${label} into ${into}`);
    if (disk instanceof DownloadError) throw disk;
    throw new DownloadError('format', `${label} is not a valid tar.gz archive: ${(e as Error)?.message ?? e}`);
  }
  if (opts.signal?.aborted) throw new DownloadError('cancelled', 'the download was cancelled');
  if (tooBig) throw new DownloadError('format', `${label} has ${tooBig}; refused`);
}
