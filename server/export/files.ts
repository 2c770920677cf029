/**
 * Where exports go and how they are written: every path is resolved and must stay inside its folder,
 * existing files are only replaced with `force`, and the files of one export are written into a temp
 * folder next to the destination and then renamed into place, so that a failed export leaves nothing
 * behind (and a forced one restores the files it was replacing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export type ExportErrorKind =
  /** A path that leaves its folder (`..`, an absolute path elsewhere) or is otherwise unusable. */
  | 'invalidPath'
  /** A file of the export exists and `force` was not given. */
  | 'exists'
  /** An unknown format or a bad argument. */
  | 'invalidArgument'
  /** A model that cannot be exported (or imported) in the requested form. */
  | 'unsupported'
  /** The file system refused (disk full, permissions, ...). */
  | 'io';

export class ExportError extends Error {
  override readonly name = 'ExportError';
  constructor(
    message: string,
    readonly kind: ExportErrorKind = 'io',
    readonly files: string[] = [],
  ) {
    super(message);
  }
}

/** One file of an export: a name relative to the export folder and its bytes (or UTF-8 text). */
export interface ExportFile {
  name: string;
  data: Uint8Array | string;
}

/** True when `target` is `root` itself or inside it (both absolute and normalized). */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * `rel` resolved against `root`; throws ('invalidPath') when the result is not inside `root`: `..`
 * segments that climb out, and absolute paths elsewhere, are refused with the offending path named.
 */
export function resolveInside(root: string, rel: string, what = 'path'): string {
  if (typeof rel !== 'string' || rel.length === 0) throw new ExportError(`${what} must be a non-empty string`, 'invalidPath');
  if (rel.includes('\0')) throw new ExportError(`${what} ${JSON.stringify(rel)} contains a NUL character`, 'invalidPath');
  const base = path.resolve(root);
  const target = path.resolve(base, rel);
  if (!isInside(base, target)) {
    throw new ExportError(
      `${what} ${JSON.stringify(rel)} leaves the folder ${base} (resolved to ${target}); use a path inside it`,
      'invalidPath',
    );
  }
  return target;
}

/**
 * Writes `files` into `dir` (created if needed) as one unit. Without `force`, an existing file is an
 * error naming it and nothing is written. Returns the absolute paths written, in the order given.
 */
export function writeExportFiles(dir: string, files: ExportFile[], opts: { force?: boolean } = {}): string[] {
  const dest = path.resolve(dir);
  if (files.length === 0) throw new ExportError('nothing to export', 'invalidArgument');
  const targets = files.map((f) => resolveInside(dest, f.name, 'export file name'));
  if (new Set(targets).size !== targets.length) throw new ExportError('export file names must be distinct', 'invalidArgument');
  for (const t of targets) {
    if (path.dirname(t) !== dest)
      throw new ExportError(`export file ${path.relative(dest, t)} must be directly in the export folder`, 'invalidPath');
  }

  let destStat: fs.Stats | undefined;
  try {
    destStat = fs.statSync(dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('cannot use export folder', dest, err);
  }
  if (destStat && !destStat.isDirectory()) throw new ExportError(`${dest} exists and is not a folder`, 'invalidPath');
  const existing = destStat ? targets.filter((t) => fs.existsSync(t)) : [];
  if (existing.length && !opts.force) {
    throw new ExportError(`${existing.length === 1 ? 'file exists' : 'files exist'}: ${existing.join(', ')}`, 'exists', existing);
  }
  for (const t of existing) {
    if (!fs.lstatSync(t).isFile()) throw new ExportError(`${t} exists and is not a regular file; not replacing it`, 'invalidPath');
  }

  const parent = path.dirname(dest);
  try {
    fs.mkdirSync(parent, { recursive: true });
  } catch (err) {
    throw ioError('cannot create', parent, err);
  }
  const temp = path.join(parent, `.${path.basename(dest)}.export-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.mkdirSync(temp);
  } catch (err) {
    throw ioError('cannot create a temp folder in', parent, err);
  }
  try {
    files.forEach((f) =>
      fs.writeFileSync(path.join(temp, path.basename(f.name)), typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data),
    );
  } catch (err) {
    removeQuietly(temp);
    throw ioError('cannot write the export in', parent, err);
  }

  if (!destStat) {
    // A new folder: one rename makes the whole export appear at once.
    try {
      fs.renameSync(temp, dest);
      return targets;
    } catch (err) {
      removeQuietly(temp);
      throw ioError('cannot move the export to', dest, err);
    }
  }

  // An existing folder: move replaced files aside, move the new ones in, restore on any failure.
  const backup = path.join(temp, '.replaced');
  const movedIn: string[] = [];
  const movedAside: string[] = [];
  try {
    if (existing.length) fs.mkdirSync(backup);
    for (const t of existing) {
      fs.renameSync(t, path.join(backup, path.basename(t)));
      movedAside.push(t);
    }
    for (const t of targets) {
      fs.renameSync(path.join(temp, path.basename(t)), t);
      movedIn.push(t);
    }
  } catch (err) {
    for (const t of movedIn) {
      try {
        fs.unlinkSync(t);
      } catch {
        /* best effort */
      }
    }
    for (const t of movedAside) {
      try {
        fs.renameSync(path.join(backup, path.basename(t)), t);
      } catch {
        /* best effort */
      }
    }
    removeQuietly(temp);
    throw ioError('cannot move the export to', dest, err);
  }
  removeQuietly(temp);
  return targets;
}

function removeQuietly(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}

function ioError(what: string, where: string, err: unknown): ExportError {
  const e = err as NodeJS.ErrnoException;
  return new ExportError(`${what} ${where}: ${e?.code ? `${e.message}` : String(err)}`, 'io');
}
