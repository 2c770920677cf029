/** What can go wrong while downloading a dataset, each kind with a message that says what happened. */

export type DownloadErrorKind =
  /** Bad arguments: an unknown dataset, a mirror that is no http(s) URL, a target that is a file. */
  | 'invalid'
  /** The connection failed, was cut, timed out or redirected too often. */
  | 'network'
  /** The server answered with an HTTP error status. */
  | 'http'
  /** The bytes do not have the published md5. */
  | 'checksum'
  /** Writing failed: disk full (ENOSPC), quota, permissions, read-only file system. */
  | 'disk'
  /** The archive is not what the dataset needs (missing files, too large). */
  | 'format'
  /** Stopped by the caller (AbortSignal). */
  | 'cancelled'
  /** A download of the same dataset is already running in this backend. */
  | 'busy';

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const DISK_CODES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
};

/**
 * A file-system error (one with an errno code) as a DownloadError naming `what` (e.g. "writing
 * /data/x.tar.gz"); other errors (bugs) pass through.
 */
export function diskError(e: unknown, what: string): unknown {
  if (e instanceof DownloadError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return e;
  const reason = DISK_CODES[code] ?? (e as Error).message?.split(',')[0] ?? code;
  return new DownloadError('disk', `${reason} while ${what} (${code})`);
}
