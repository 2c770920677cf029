/** The writing side of one run: its events and checkpoints. */
import * as path from 'node:path';
import type { RunEvent } from '../../common/protocol';
import { RunStoreError } from './errors';
import { quoteId } from './runId';
import { writeAll, writeFileAtomic, writeFileAtomicData } from './atomicFile';
import { type Checkpoint, checkpointFileName, encodeCheckpointParts } from './checkpointFormat';
import type { EventsWriter } from './eventsFile';
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

/** Made by RunStore.createRun / openRun; `onClose` tells the store the run is no longer open. */
export class RunHandleImpl implements RunHandle {
  private nextSeq: number | undefined;
  private readonly checkpointsDir: string;

  constructor(
    readonly runId: string,
    readonly dir: string,
    private readonly events: EventsWriter,
    private readonly onClose: (handle: RunHandleImpl) => void,
    /** Removes the run's lock (run.lock). */
    private readonly unlock: () => void = () => undefined,
  ) {
    this.checkpointsDir = path.join(dir, CHECKPOINTS_DIR);
  }

  append(event: RunEvent): void {
    if (this.events.closed) throw new RunStoreError(`run ${quoteId(this.runId)} is closed`, 'invalidState');
    this.events.append(event);
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
      this.events.close();
    } finally {
      this.unlock();
      this.onClose(this);
    }
  }
}
