/**
 * `growth-lab data download` and `growthLab/downloadDataset`: fetch a dataset's official files into a
 * temporary folder inside the target folder, check their md5, unpack the CIFAR archives, and only then move
 * the dataset folder into place with one rename. Whatever fails (a bad checksum, a cut connection, a full
 * disk, a cancel) the temporary folder is removed and an existing dataset folder is left as it was: no
 * half-written dataset is ever at the path an experiment reads.
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { DownloadDatasetResult, DownloadProgressParams } from '../../../common/protocol';
import { DownloadError, diskError } from './errors';
import { fetchToFile, type FetchOptions } from './fetch';
import { datasetSource, type DatasetSource } from './sources';
import { unpackTarGz } from './unpack';

/** Written into a downloaded dataset folder: which files, of which sizes, from where. */
export const MARKER_FILE = '.growth-lab-download.json';
const MARKER_MAX_BYTES = 64 * 1024;
/** Temporary folders are `<to>/.growth-lab-download-<name>-XXXXXX`. */
export const TEMP_PREFIX = '.growth-lab-download-';
/** In each temporary folder: the host and pid of the process downloading into it. */
const OWNER_FILE = 'owner.json';

export interface DownloadOptions {
  name: string;
  /** The parent folder; the dataset goes to `<to>/<folder>` (cifar-10-batches-bin, cifar-100-binary, svhn). */
  to: string;
  extra?: boolean;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgressParams) => void;
  /** Least time between two progress calls for the same file (default 200 ms); each file's last one always comes. */
  progressIntervalMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Network and write details (timeouts, an injected write stream for tests). */
  fetch?: Pick<FetchOptions, 'idleTimeoutMs' | 'createWriteStream' | 'maxBytes'>;
}

export async function downloadDataset(opts: DownloadOptions): Promise<DownloadDatasetResult> {
  const source = datasetSource(opts.name, !!opts.extra, opts.env ?? process.env);
  const to = path.resolve(opts.to);
  await ensureFolder(to);
  const target = path.join(to, source.folder);
  const result = (downloaded: boolean): DownloadDatasetResult => ({
    name: source.name,
    path: target,
    downloaded,
    files: source.files,
    dataset: { name: source.name, path: target, ...(opts.extra ? { extra: true as const } : {}) },
  });
  if (!opts.force && (await isComplete(source, target))) return result(false);
  if (opts.signal?.aborted) throw new DownloadError('cancelled', 'the download was cancelled');

  let tmp: string;
  try {
    await removeAbandoned(to);
    tmp = await fsp.mkdtemp(path.join(to, `${TEMP_PREFIX}${source.name}-`));
    await fsp.writeFile(path.join(tmp, OWNER_FILE), JSON.stringify({ host: os.hostname(), pid: process.pid }));
  } catch (e) {
    throw diskError(e, `creating a temporary folder in ${to}`);
  }
  try {
    const fresh = await fetchAll(source, tmp, opts);
    await writeMarker(source, fresh);
    await place(fresh, target, tmp);
  } catch (e) {
    throw asDownloadError(e, target);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
  return result(true);
}

/** Fetches (and unpacks) into `tmp`; answers the folder that holds the dataset's files. */
async function fetchAll(source: DatasetSource, tmp: string, opts: DownloadOptions): Promise<string> {
  const interval = opts.progressIntervalMs ?? 200;
  const fileCount = source.remote.length;
  const files = source.kind === 'files' ? path.join(tmp, source.folder) : path.join(tmp, 'files');
  await mkdir(files);
  for (const [fileIndex, remote] of source.remote.entries()) {
    const dest = path.join(files, remote.file);
    let last = 0;
    let lastSent: DownloadProgressParams | undefined;
    const report = (receivedBytes: number, totalBytes: number | undefined, force = false) => {
      const now = Date.now();
      if (!force && now - last < interval) return;
      last = now;
      lastSent = { name: source.name, phase: 'download', file: remote.file, fileIndex, fileCount, receivedBytes, totalBytes };
      opts.onProgress?.(lastSent);
    };
    report(0, undefined, true);
    const got = await fetchToFile(remote.url, dest, { ...opts.fetch, signal: opts.signal, onProgress: (r, t) => report(r, t) });
    if (lastSent?.receivedBytes !== got.bytes) report(got.bytes, got.bytes, true);
    if (got.md5 !== remote.md5)
      throw new DownloadError(
        'checksum',
        `${remote.file} from ${remote.url} has md5 ${got.md5}, want ${remote.md5}: the download is corrupt or the file changed; nothing was kept`,
      );
  }
  if (source.kind === 'files') return await checkFiles(source, files, source.remote[0].file);

  const archive = source.remote[0].file;
  const unpacked = path.join(tmp, 'unpacked');
  await mkdir(unpacked);
  let last = 0;
  opts.onProgress?.({ name: source.name, phase: 'unpack', file: archive, fileIndex: 0, fileCount, receivedBytes: 0 });
  await unpackTarGz(path.join(files, archive), unpacked, archive, {
    signal: opts.signal,
    onProgress: (bytes) => {
      const now = Date.now();
      if (now - last < interval) return;
      last = now;
      opts.onProgress?.({ name: source.name, phase: 'unpack', file: archive, fileIndex: 0, fileCount, receivedBytes: bytes });
    },
  });
  // The archive is no longer needed: free its space before the rename.
  await fsp.rm(path.join(files, archive), { force: true });
  return await checkFiles(source, path.join(unpacked, source.folder), archive);
}

async function checkFiles(source: DatasetSource, folder: string, from: string): Promise<string> {
  for (const f of source.files) {
    const st = await fsp.stat(path.join(folder, f)).catch(() => undefined);
    if (!st?.isFile())
      throw new DownloadError(
        'format',
        `${from} has no ${path.posix.join(source.kind === 'tar.gz' ? source.folder : '', f)} (want ${source.files.join(', ')})`,
      );
  }
  return folder;
}

interface Marker {
  name: string;
  files: Record<string, number>;
  sources: { url: string; md5: string }[];
  downloadedAt: string;
}

async function writeMarker(source: DatasetSource, folder: string): Promise<void> {
  const files: Record<string, number> = {};
  for (const f of source.files) files[f] = (await fsp.stat(path.join(folder, f))).size;
  const marker: Marker = {
    name: source.name,
    files,
    sources: source.remote.map((r) => ({ url: r.url, md5: r.md5 })),
    downloadedAt: new Date().toISOString(),
  };
  try {
    await fsp.writeFile(path.join(folder, MARKER_FILE), JSON.stringify(marker, null, 2) + '\n');
  } catch (e) {
    throw diskError(e, `writing ${path.join(folder, MARKER_FILE)}`);
  }
}

/**
 * Whether `target` already holds the complete dataset: every file of a download's marker with its recorded
 * size or, in a folder without a marker (files put there by hand), every file present and not empty.
 */
export async function isComplete(source: DatasetSource, target: string): Promise<boolean> {
  const sizes = await Promise.all(source.files.map((f) => fileSize(path.join(target, f))));
  if (sizes.some((s) => s === undefined || s === 0)) return false;
  const marker = await readMarker(target);
  if (!marker) return true;
  return source.files.every((f, i) => marker.files[f] === sizes[i]);
}

async function fileSize(p: string): Promise<number | undefined> {
  const st = await fsp.stat(p).catch(() => undefined);
  return st?.isFile() ? st.size : undefined;
}

async function readMarker(folder: string): Promise<Marker | undefined> {
  const p = path.join(folder, MARKER_FILE);
  const size = await fileSize(p);
  if (size === undefined || size > MARKER_MAX_BYTES) return undefined;
  try {
    const m = JSON.parse(await fsp.readFile(p, 'utf8')) as Partial<Marker>;
    if (typeof m !== 'object' || m === null || typeof m.files !== 'object' || m.files === null) return undefined;
    return m as Marker;
  } catch {
    return undefined;
  }
}

/** `fresh` becomes `target` by rename; an old `target` is moved into `tmp` first (and put back if the rename fails). */
async function place(fresh: string, target: string, tmp: string): Promise<void> {
  const old = path.join(tmp, 'previous');
  const hadOld = await fsp.stat(target).then(
    () => true,
    () => false,
  );
  try {
    if (hadOld) await fsp.rename(target, old);
  } catch (e) {
    throw diskError(e, `moving the old ${target} aside`);
  }
  try {
    await fsp.rename(fresh, target);
  } catch (e) {
    if (hadOld) await fsp.rename(old, target).catch(() => undefined);
    throw diskError(e, `moving the download into ${target}`);
  }
}

/** A file-system error nothing named yet (ENOTEMPTY, EISDIR…) as a DownloadError; a bug's error passes through. */
function asDownloadError(e: unknown, target: string): unknown {
  return diskError(e, `downloading into ${target}`);
}

/**
 * Removes the temporary folders of downloads whose process died without cleaning up (killed outright):
 * those whose owner.json names this host and a pid that no longer runs. Folders of live processes, of
 * other hosts (a shared file system) and without a readable owner are left alone.
 */
async function removeAbandoned(to: string): Promise<void> {
  const names = await fsp.readdir(to).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const dir = path.join(to, name);
    let owner: { host?: unknown; pid?: unknown };
    try {
      const p = path.join(dir, OWNER_FILE);
      if (((await fileSize(p)) ?? Infinity) > 1024) continue;
      owner = JSON.parse(await fsp.readFile(p, 'utf8')) as { host?: unknown; pid?: unknown };
    } catch {
      continue;
    }
    if (owner.host !== os.hostname() || !Number.isSafeInteger(owner.pid) || isAlive(owner.pid as number)) continue;
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ensureFolder(dir: string): Promise<void> {
  const st = await fsp.stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new DownloadError('invalid', `${dir} is a file; want the folder to download into`);
  await mkdir(dir);
}

async function mkdir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    throw diskError(e, `creating ${dir}`);
  }
}
