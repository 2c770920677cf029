/**
 * Reading and opening the files of a run folder, which is untrusted: anything in it may have been
 * replaced by a symbolic link, a FIFO or a device. Every file is checked with lstat BEFORE it is opened
 * (a symlink or anything but a regular file is refused, naming the file), then opened with O_NOFOLLOW and
 * O_NONBLOCK (so a swap between the check and the open can neither follow a link nor block the event
 * loop), checked again with fstat, and read up to a size cap. Folders are checked with lstat and must
 * resolve (realpath) inside the folder that holds them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunStoreError, errnoCode, ioError } from './errors';

/** 0 where the platform has no such flag (Windows): the lstat check before the open still applies. */
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/** Caps on what is read from a run folder. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
export const MAX_SMALL_JSON_BYTES = 1024 * 1024;
export const MAX_EVENTS_BYTES = 256 * 1024 * 1024;
export const MAX_CHECKPOINT_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** Thrown for a path that is a symlink or not a regular file / folder. */
export function untrusted(file: string, why: string): RunStoreError {
  return new RunStoreError(`refusing ${file}: ${why}`, 'corrupt', 'EUNTRUSTED');
}

/** lstat, or undefined when nothing is there. */
export function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw ioError('cannot inspect', file, err);
  }
}

/** Throws unless `file` is a regular file (not a symlink, FIFO, device, socket or folder). Missing: ENOENT error. */
export function assertRegularFile(file: string, st: fs.Stats | undefined = lstatOrUndefined(file)): fs.Stats {
  if (!st) throw Object.assign(new Error(`${file} does not exist`), { code: 'ENOENT' });
  if (st.isSymbolicLink()) throw untrusted(file, 'it is a symbolic link');
  if (!st.isFile()) throw untrusted(file, `it is not a regular file (${kindOf(st)})`);
  return st;
}

/**
 * Throws unless `dir` is a real folder (not a symlink) whose real path lies inside `root`'s real path.
 * Returns false when `dir` does not exist.
 */
export function checkFolder(dir: string, root: string): boolean {
  const st = lstatOrUndefined(dir);
  if (!st) return false;
  if (st.isSymbolicLink()) throw untrusted(dir, 'it is a symbolic link');
  if (!st.isDirectory()) throw untrusted(dir, `it is not a folder (${kindOf(st)})`);
  let real: string;
  let realRoot: string;
  try {
    real = fs.realpathSync(dir);
    realRoot = fs.realpathSync(root);
  } catch (err) {
    throw ioError('cannot resolve', dir, err);
  }
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) {
    throw untrusted(dir, `it resolves to ${real}, outside ${realRoot}`);
  }
  return true;
}

/** Opens a regular file for reading (lstat first, then O_NOFOLLOW|O_NONBLOCK, then fstat). */
export function openRegularFile(file: string): { fd: number; size: number } {
  assertRegularFile(file);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') throw untrusted(file, 'it is a symbolic link');
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw untrusted(file, `it is not a regular file (${kindOf(st)})`);
    return { fd, size: st.size };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** The whole of a regular file, refused when larger than `maxBytes`. ENOENT passes through (as an errno error). */
export function readRegularFile(file: string, maxBytes: number): Buffer {
  const { fd, size } = openRegularFile(file);
  try {
    if (size > maxBytes) throw untrusted(file, `it is ${size} bytes, more than the ${maxBytes} allowed`);
    const buf = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, buf, done, size - done, done);
      if (n <= 0) break;
      done += n;
    }
    return done === size ? buf : buf.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens (creating if needed) a regular file for appending, never through a symlink and never blocking. */
export function openAppendRegular(file: string): number {
  const st = lstatOrUndefined(file);
  if (st) assertRegularFile(file, st);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') throw untrusted(file, 'it is a symbolic link');
    throw err;
  }
  try {
    const fst = fs.fstatSync(fd);
    if (!fst.isFile()) throw untrusted(file, `it is not a regular file (${kindOf(fst)})`);
    // A hard link would let appends reach another file (e.g. a shell start-up file) just as a symlink would.
    if (fst.nlink > 1) throw untrusted(file, `it has ${fst.nlink} hard links (appending would change another file)`);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a file';
}
