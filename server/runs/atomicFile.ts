/**
 * Atomic file replacement: write a temp file in the same folder, fsync it, rename it over the target,
 * then fsync the folder. Readers see the old file or the new one, never a mix; on any failure the temp
 * file is removed and nothing else changes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ioError } from './errors';

/** Temp files start with a dot and end in `.tmp`, so folder listings can skip (and clean up) leftovers. */
export const TEMP_FILE_PATTERN = /^\..+\.tmp$/;

/**
 * Replaces `dir/name` with what `write(fd)` writes to a fresh temp file. `what` names the file in
 * errors: "cannot write <what> in <dir>: disk full (ENOSPC)".
 */
export function writeFileAtomic(dir: string, name: string, what: string, write: (fd: number) => void): void {
  const temp = path.join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx', 0o644);
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, path.join(dir, name));
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      fs.unlinkSync(temp);
    } catch {
      /* never created, or already renamed */
    }
    throw ioError(`cannot write ${what} in`, dir, err);
  }
  fsyncDir(dir);
}

/** `writeFileAtomic` for a whole buffer or string. */
export function writeFileAtomicData(dir: string, name: string, what: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  writeFileAtomic(dir, name, what, (fd) => writeAll(fd, bytes));
}

/** Writes the whole buffer, looping over short writes (fine for temp files, which are discarded on failure). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    const n = fs.writeSync(fd, bytes, done, bytes.length - done);
    if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += n;
  }
}

/**
 * Makes a rename or file creation in `dir` durable. Platforms that cannot open a folder for fsync
 * (Windows) are skipped; a real fsync failure is reported.
 */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw ioError('cannot sync folder', dir, err);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes temp files left in `dir` by a crash in the middle of `writeFileAtomic`. Best effort. */
export function removeStaleTempFiles(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (TEMP_FILE_PATTERN.test(name)) {
      try {
        fs.unlinkSync(path.join(dir, name));
      } catch {
        /* another writer's, or gone */
      }
    }
  }
}
