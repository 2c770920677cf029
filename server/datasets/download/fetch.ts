/**
 * One remote file streamed to a local file: redirects followed (at most MAX_REDIRECTS), an idle timeout,
 * cancellation by AbortSignal, progress callbacks and the md5 computed on the way. A cut connection (fewer
 * bytes than Content-Length, or the socket closed mid-body) is an error, never a short file passed as whole.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import { Transform, type Writable } from 'stream';
import { pipeline } from 'stream/promises';
import { DownloadError, diskError } from './errors';

export const MAX_REDIRECTS = 5;
/** No byte for this long: the connection is given up. */
export const IDLE_TIMEOUT_MS = 30_000;
/** The largest file accepted (the largest official one, SVHN extra, is 1.3 GB). */
export const MAX_FILE_BYTES = 4 * 1024 ** 3;

export interface FetchOptions {
  signal?: AbortSignal;
  /** Bytes so far and the total when the server says (Content-Length). */
  onProgress?: (received: number, total: number | undefined) => void;
  idleTimeoutMs?: number;
  maxBytes?: number;
  /** Where the bytes are written (tests inject a failing stream to simulate a full disk). */
  createWriteStream?: (file: string) => Writable;
}

export interface FetchResult {
  bytes: number;
  md5: string;
}

const cancelled = () => new DownloadError('cancelled', 'the download was cancelled');

/** GET `url` into `dest` (created or truncated). On failure `dest` may hold a partial file: the caller removes it. */
export async function fetchToFile(url: string, dest: string, opts: FetchOptions = {}): Promise<FetchResult> {
  if (opts.signal?.aborted) throw cancelled();
  const res = await get(url, opts, 0);
  const total = contentLength(res);
  const max = opts.maxBytes ?? MAX_FILE_BYTES;
  if (total !== undefined && total > max) {
    res.destroy();
    throw new DownloadError(
      'format',
      `${url} is ${total.toLocaleString('en-US')} bytes, more than the ${max.toLocaleString('en-US')} allowed`,
    );
  }
  const hash = createHash('md5');
  let received = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (received > max) return done(new DownloadError('format', `${url} sent more than ${max.toLocaleString('en-US')} bytes`));
      hash.update(chunk);
      opts.onProgress?.(received, total);
      done(null, chunk);
    },
  });
  // A socket closed mid-body ends the response without an error in some Node versions: check 'aborted' / complete.
  let cut = false;
  res.on('aborted', () => (cut = true));
  const out = (opts.createWriteStream ?? ((f: string) => fs.createWriteStream(f)))(dest);
  // Errors of the file side are the disk's; every other error of the pipeline is the connection's.
  let writeError: unknown;
  out.once('error', (e: Error) => (writeError = e));
  try {
    await pipeline(res, count, out, { signal: opts.signal });
  } catch (e) {
    res.destroy();
    throw translate(writeError ?? e, writeError !== undefined, url, dest, received, total, opts.signal);
  }
  if (cut || !res.complete || (total !== undefined && received !== total))
    throw new DownloadError('network', `the connection to ${host(url)} was cut after ${progressText(received, total)} of ${url}`);
  return { bytes: received, md5: hash.digest('hex') };
}

function translate(
  e: unknown,
  fromFile: boolean,
  url: string,
  dest: string,
  received: number,
  total: number | undefined,
  signal?: AbortSignal,
): unknown {
  if (signal?.aborted) return cancelled();
  if (e instanceof DownloadError) return e;
  if (fromFile) {
    const disk = diskError(e, `writing ${dest}`);
    if (disk instanceof DownloadError) return disk;
  }
  const code = (e as NodeJS.ErrnoException)?.code;
  return new DownloadError(
    'network',
    `the connection to ${host(url)} was cut after ${progressText(received, total)} of ${url} (${code ?? (e as Error)?.message ?? e})`,
  );
}

function progressText(received: number, total: number | undefined): string {
  return `${received.toLocaleString('en-US')}${total === undefined ? '' : ` of ${total.toLocaleString('en-US')}`} bytes`;
}

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function contentLength(res: http.IncomingMessage): number | undefined {
  const v = res.headers['content-length'];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** The 200 response for `url`, following redirects. */
function get(url: string, opts: FetchOptions, redirects: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new DownloadError('invalid', `not a URL: ${url}`));
      return;
    }
    const lib = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!lib) {
      reject(new DownloadError('invalid', `unsupported protocol ${parsed.protocol} in ${url}`));
      return;
    }
    const idle = opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    const req = lib.get(parsed, { signal: opts.signal, headers: { 'user-agent': 'growth-lab' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new DownloadError('network', `more than ${MAX_REDIRECTS} redirects fetching ${url}`));
          return;
        }
        let next: string;
        try {
          next = new URL(res.headers.location, parsed).href;
        } catch {
          reject(new DownloadError('network', `${url} redirected to an invalid location`));
          return;
        }
        get(next, opts, redirects + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new DownloadError('http', `${url} answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
        return;
      }
      resolve(res);
    });
    // Idle timeout: no connection, headers or body bytes for `idle` ms.
    req.setTimeout(idle, () => req.destroy(new DownloadError('network', `no data from ${parsed.host} for ${idle / 1000} s (${url})`)));
    req.on('error', (e) => {
      if (opts.signal?.aborted) reject(cancelled());
      else if (e instanceof DownloadError) reject(e);
      else reject(new DownloadError('network', `cannot fetch ${url}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
  });
}
