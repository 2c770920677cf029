/** The writing side of one run: its events and checkpoints. */
import * as path from 'node:path';
import type { RunEvent } from '../../common/protocol';
import { RunStoreError } from './errors';
import { quoteId } from './runId';
import { writeAll, writeFileAtomic, writeFileAtomicData } from './atomicFile';
import { type Checkpoint, checkpointFileName, encodeCheckpointParts } from './checkpointFormat';
import { digestRecord, writeDigestFile } from './digestFile';
import type { EventsWriter } from './eventsFile';
import { type RunDigest, digestEvent } from './runSummary';
import { CHECKPOINTS_DIR, LATEST_FILE, highestSeq } from './runFolder';
import { checkFolder } from './safeFs';

/** Writing side of one run. One handle per run at a time; `close()` when the run ends. */
export interface RunHandle {
  readonly runId: string;
  readonly dir: string;
  /** Appends one event to events.jsonl (durably for every type but metrics). */
  append(event: RunEvent): void;
  /**
   * Writes `checkpoints/<tag>-<index padded to 4>.ckpt` atomically and points `checkpoints/latest` at it;
   * returns the file name (e.g. "epoch-0003.ckpt"). Tags: a lowercase word such as "epoch" or "grow".
   */
  writeCheckpoint(tag: string, index: number, ckpt: Checkpoint): string;
  close(): void;
}

/** The digest of events.jsonl as the handle opens it, which it keeps up to date in digest.json. */
export interface OpeningDigest {
  digest: RunDigest;
  warnings: string[];
  /** The file's size the digest covers; digest.json is kept only when that is the whole file. */
  eventsBytes: number;
}

/** digest.json is rewritten after every event but metrics, and after metrics when this long has passed. */
const DIGEST_WRITE_INTERVAL_MS = 10_000;

/** Made by RunStore.createRun / openRun; `onClose` tells the store the run is no longer open. */
export class RunHandleImpl implements RunHandle {
  private nextSeq: number | undefined;
  private readonly checkpointsDir: string;
  private readonly digest: OpeningDigest | undefined;
  private digestWrittenAt = 0;

  constructor(
    readonly runId: string,
    readonly dir: string,
    private readonly events: EventsWriter,
    private readonly onClose: (handle: RunHandleImpl) => void,
    /** Removes the run's lock (run.lock). */
    private readonly unlock: () => void = () => undefined,
    opening?: OpeningDigest,
  ) {
    this.checkpointsDir = path.join(dir, CHECKPOINTS_DIR);
    // A digest that does not cover the whole file (a torn line being repaired) is not kept up to date.
    if (opening && opening.eventsBytes === events.bytes) this.digest = { ...opening, digest: { ...opening.digest } };
  }

  append(event: RunEvent): void {
    if (this.events.closed) throw new RunStoreError(`run ${quoteId(this.runId)} is closed`, 'invalidState');
    this.events.append(event);
    if (!this.digest) return;
    digestEvent(this.digest.digest, event);
    this.digest.eventsBytes = this.events.bytes;
    const now = Date.now();
    if (event.type !== 'metrics' || now - this.digestWrittenAt >= DIGEST_WRITE_INTERVAL_MS) this.saveDigest(now);
  }

  /** Best effort: digest.json only spares readers a scan; a failure to write it loses nothing. */
  private saveDigest(now = Date.now()): void {
    if (!this.digest) return;
    try {
      const record = digestRecord(this.events.filePath, this.digest.eventsBytes, this.digest.digest, this.digest.warnings);
      if (record) writeDigestFile(this.dir, record);
      this.digestWrittenAt = now;
    } catch {
      /* e.g. disk full: readers scan events.jsonl instead */
    }
  }

  writeCheckpoint(tag: string, index: number, ckpt: Checkpoint): string {
    if (this.events.closed) throw new RunStoreError(`run ${quoteId(this.runId)} is closed`, 'invalidState');
    const file = checkpointFileName(tag, index);
    // The folder may have been swapped for a symlink since the run opened: never write through one.
    checkFolder(this.checkpointsDir, this.dir);
    const seq = (this.nextSeq ??= highestSeq(this.checkpointsDir) + 1);
    const writtenAt = new Date().toISOString();
    const { header, chunks } = encodeCheckpointParts(ckpt, { seq, createdAt: writtenAt });
    writeFileAtomic(this.checkpointsDir, file, 'checkpoint', (fd) => {
      writeAll(fd, header);
      for (const chunk of chunks) writeAll(fd, chunk);
    });
    this.nextSeq = seq + 1;
    writeFileAtomicData(this.checkpointsDir, LATEST_FILE, 'checkpoint pointer', `${JSON.stringify({ file, seq, writtenAt })}\n`);
    return file;
  }

  close(): void {
    try {
      if (!this.events.closed) this.saveDigest();
      this.events.close();
    } finally {
      this.unlock();
      this.onClose(this);
    }
  }
}
