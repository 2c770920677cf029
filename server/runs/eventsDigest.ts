/**
 * The digest of a run's events.jsonl (what listRuns shows), read without re-reading what is known:
 * from the previous digest of the same file when it has only grown, else from the writer's digest.json
 * when it matches the file, else from the start. Reads go through the safe scanner (no links, bounded).
 */
import * as path from 'node:path';
import type { RunEvent } from '../../common/protocol';
import { DIGEST_FILE, eventsFingerprint, readDigestFile } from './digestFile';
import { EVENTS_FILE, scanEventsFrom } from './eventsFile';
import { type RunDigest, digestEvent, emptyDigest } from './runSummary';

/** Where a digest of events.jsonl stands: the complete lines up to `completeEnd` of the file `ino`. */
export interface EventsDigestState {
  ino: number;
  completeEnd: number;
  fingerprint: string;
  complete: RunDigest;
  completeWarnings: string[];
}

export interface EventsDigest {
  /** The digest of everything readable, the unfinished last line included. */
  digest: RunDigest;
  warnings: string[];
  /** Where a later call can continue from; undefined when the file is missing. */
  state?: EventsDigestState;
  /** Bytes of events.jsonl this call read (for tests and the docs' figures). */
  bytesRead: number;
}

const MAX_KEPT_WARNINGS = 100;

/**
 * Digests `<dir>/events.jsonl`. `prev` is this process's digest of an earlier call; `useDigestFile`
 * (default true) allows starting from digest.json. Throws what the scanner throws (RunStoreError).
 */
export function digestEventsFile(dir: string, prev?: EventsDigestState, useDigestFile = true): EventsDigest {
  const file = path.join(dir, EVENTS_FILE);
  let start = { digest: emptyDigest(), offset: 0, warnings: [] as string[] };
  if (prev && prev.completeEnd > 0 && eventsFingerprint(file, prev.completeEnd) === prev.fingerprint) {
    start = { digest: { ...prev.complete }, offset: prev.completeEnd, warnings: [...prev.completeWarnings] };
  } else if (useDigestFile) {
    const record = readDigestFile(path.join(dir, DIGEST_FILE), file);
    if (record && record.eventsBytes > 0)
      start = { digest: { ...record.digest }, offset: record.eventsBytes, warnings: [...record.warnings] };
  }
  let result: ReturnType<typeof scanEventsFrom>;
  const tail: RunEvent[] = [];
  try {
    result = scanEventsFrom(file, start.offset, (event, complete) => {
      if (complete) digestEvent(start.digest, event);
      else tail.push(event);
    });
  } catch (err) {
    // The known prefix no longer lines up (the file was replaced in the meantime): read it all.
    if (start.offset > 0) return digestEventsFile(dir, undefined, false);
    throw err;
  }
  if (prev && start.offset > 0 && result.ino !== prev.ino) return digestEventsFile(dir, undefined, false);
  const completeWarnings = [...start.warnings, ...result.warnings].slice(0, MAX_KEPT_WARNINGS);
  let digest = start.digest;
  if (tail.length) {
    digest = { ...digest };
    for (const e of tail) digestEvent(digest, e);
  }
  const fingerprint = eventsFingerprint(file, result.completeEnd);
  const state: EventsDigestState | undefined =
    fingerprint === undefined
      ? undefined
      : { ino: result.ino, completeEnd: result.completeEnd, fingerprint, complete: start.digest, completeWarnings };
  return { digest, warnings: [...completeWarnings, ...result.tailWarnings], ...(state ? { state } : {}), bytesRead: result.bytesRead };
}
