/**
 * One writer per run: `run.lock` in the run folder holds `{ pid, token, since }` of the process training
 * the run. It is created atomically (a temp file hard-linked into place, which fails if the lock exists,
 * so the lock is never seen half-written; O_EXCL where hard links are not supported) and removed when the
 * run ends. A lock whose process is gone (process.kill(pid, 0) fails with ESRCH), or that is unreadable,
 * is stale and reclaimed. Process ids are reused: where the system says when a process started (Linux's
 * /proc/<pid>/stat, with the boot id), the lock records it too, and a live pid whose start differs is
 * another process that happens to have the same id, so the lock is stale as well.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RunStoreError, errnoCode, ioError } from './errors';
import { quoteId } from './runId';
import { readRegularFile } from './safeFs';

export const LOCK_FILE = 'run.lock';

export interface LockOwner {
  pid: number;
  token?: string;
  since?: string;
  /** When the owner process started ("<boot id>:<start ticks>"), where the system says. */
  started?: string;
}

/** "<boot id>:<start time in clock ticks>" of a process, from Linux's /proc; undefined elsewhere or when gone. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = rest[19]; // field 22, starttime
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return ticks && /^\d+$/.test(ticks) ? `${boot}:${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner is a live process: its pid is alive and, where both are known, started when the lock says. */
export function isOwnerAlive(owner: LockOwner): boolean {
  if (!isProcessAlive(owner.pid)) return false;
  if (owner.started === undefined) return true;
  const now = processStart(owner.pid);
  return now === undefined || now === owner.started;
}

/** Whether a process with this id exists (EPERM: it does, but is another user's). Ids below 1 are never alive. */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 1) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** The lock's owner, or undefined when there is no lock or it is unreadable (not JSON, no valid pid, a symlink...). */
export function readLockOwner(dir: string): LockOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readRegularFile(path.join(dir, LOCK_FILE), 4096).toString('utf8'));
  } catch {
    return undefined;
  }
  const pid = (value as { pid?: unknown } | null)?.pid;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 1) return undefined;
  const { token, started } = value as { token?: unknown; started?: unknown };
  const owner: LockOwner = { pid, token: typeof token === 'string' ? token : undefined };
  if (typeof started === 'string' && started.length <= 100) owner.started = started;
  return owner;
}

/** The pid of another live process that holds the run's lock, else undefined. */
export function lockedElsewhere(dir: string): number | undefined {
  const owner = readLockOwner(dir);
  return owner && owner.pid !== process.pid && isOwnerAlive(owner) ? owner.pid : undefined;
}

/** Takes the run's lock for this process; throws invalidState while another live process holds it. Returns a release function. */
export function acquireRunLock(dir: string, runId: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const token = randomBytes(8).toString('hex');
  const started = processStart(process.pid);
  const body = `${JSON.stringify({ pid: process.pid, token, since: new Date().toISOString(), ...(started ? { started } : {}) })}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      createExclusive(dir, file, body);
      break;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST' || attempt >= 3) throw ioError('cannot lock run in', dir, err);
    }
    const owner = readLockOwner(dir);
    if (owner && isOwnerAlive(owner)) {
      throw new RunStoreError(
        owner.pid === process.pid
          ? `run ${quoteId(runId)} is already open for writing in this process`
          : `run ${quoteId(runId)} is being trained by another process (pid ${owner.pid}, ${LOCK_FILE}); it cannot be resumed here until that one ends`,
        'invalidState',
      );
    }
    // Stale (its process is gone) or unreadable: reclaim it. unlink removes a symlink itself, never its target.
    try {
      fs.unlinkSync(file);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw ioError('cannot remove the stale lock', file, err);
    }
  }
  return () => {
    const owner = readLockOwner(dir);
    if (owner?.pid !== process.pid || owner.token !== token) return; // not ours any more
    try {
      fs.unlinkSync(file);
    } catch {
      /* best effort: a stale lock is reclaimed anyway */
    }
  };
}

/** Writes `body` to `file`, failing with EEXIST when it exists; never leaves a partial lock behind. */
function createExclusive(dir: string, file: string, body: string): void {
  const temp = path.join(dir, `.${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  fs.writeFileSync(temp, body, { flag: 'wx', mode: 0o644 });
  try {
    fs.linkSync(temp, file);
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    fs.writeFileSync(file, body, { flag: 'wx', mode: 0o644 }); // no hard links here: O_EXCL
  } finally {
    try {
      fs.unlinkSync(temp);
    } catch {
      /* gone */
    }
  }
}
