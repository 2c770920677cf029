/**
 * digest.json: what listRuns needs to know about a run's events.jsonl up to a byte offset, kept by the
 * run's writer so that a listing reads only the events written after it, not the whole history.
 *
 * It is untrusted like everything in a run folder: it is used only when it is a small regular file
 * whose every field checks out, whose offset lies on a line boundary of events.jsonl, and whose
 * fingerprint (SHA-256 of the 256 bytes before that offset) matches the file. Otherwise the reader
 * scans events.jsonl from the start, as without it. A forged digest can make a run's summary lie, as a
 * forged events.jsonl can; it cannot make the reader follow a link, block or read without bound.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { RUN_STATUSES, type RunStatus } from '../../common/protocol';
import { writeFileAtomicData } from './atomicFile';
import type { RunDigest } from './runSummary';
import { openRegularFile, readRegularFile } from './safeFs';

export const DIGEST_FILE = 'digest.json';
const MAX_DIGEST_BYTES = 64 * 1024;
const FINGERPRINT_BYTES = 256;
const MAX_WARNINGS = 20;
const MAX_TEXT = 500;

/** The digest of events.jsonl's first `eventsBytes` bytes (complete lines only). */
export interface DigestRecord {
  formatVersion: 1;
  eventsBytes: number;
  fingerprint: string;
  /** Without `startConfig`: the config comes from config.json (a reader that needs the start event's scans). */
  digest: Omit<RunDigest, 'startConfig'>;
  /** Problems met reading those bytes (corrupt lines), as listRuns reports them. */
  warnings: string[];
}

/** SHA-256 (hex) of the up to 256 bytes of `file` that end at `offset`; undefined when they cannot be read. */
export function eventsFingerprint(file: string, offset: number): string | undefined {
  let opened: { fd: number; size: number } | undefined;
  try {
    opened = openRegularFile(file);
    if (offset > opened.size) return undefined;
    const len = Math.min(FINGERPRINT_BYTES, offset);
    const buf = Buffer.alloc(len);
    if (len > 0 && fs.readSync(opened.fd, buf, 0, len, offset - len) !== len) return undefined;
    return createHash('sha256').update(buf).digest('hex');
  } catch {
    return undefined;
  } finally {
    if (opened) fs.closeSync(opened.fd);
  }
}

/** Writes digest.json atomically (temp file + rename). */
export function writeDigestFile(dir: string, record: DigestRecord): void {
  writeFileAtomicData(dir, DIGEST_FILE, 'run digest', `${JSON.stringify(record)}\n`);
}

/**
 * digest.json of a run folder when it is present and valid for `eventsFile`; undefined otherwise (a
 * missing, oversized, linked, malformed or out-of-date file is the same as none).
 */
export function readDigestFile(file: string, eventsFile: string): DigestRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readRegularFile(file, MAX_DIGEST_BYTES).toString('utf8'));
  } catch {
    return undefined; // missing, a link, too large, not JSON: as if there were none
  }
  const record = validDigestRecord(value);
  if (!record) return undefined;
  return eventsFingerprint(eventsFile, record.eventsBytes) === record.fingerprint ? record : undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 64;

/** The record when every field has its type and range; undefined otherwise. Pure. */
export function validDigestRecord(value: unknown): DigestRecord | undefined {
  if (!isObj(value) || value.formatVersion !== 1) return undefined;
  const { eventsBytes, fingerprint, digest, warnings } = value;
  if (!isCount(eventsBytes) || typeof fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(fingerprint)) return undefined;
  if (!Array.isArray(warnings) || warnings.length > MAX_WARNINGS) return undefined;
  if (!warnings.every((w) => typeof w === 'string' && w.length <= MAX_TEXT)) return undefined;
  if (!isObj(digest) || !isCount(digest.epochsDone) || !isCount(digest.growSteps)) return undefined;
  const out: DigestRecord['digest'] = { epochsDone: digest.epochsDone, growSteps: digest.growSteps };
  for (const key of ['startedAt', 'lastEventAt', 'statusAt'] as const) {
    const v = digest[key];
    if (v === undefined) continue;
    if (!isTime(v)) return undefined;
    out[key] = v;
  }
  if (digest.status !== undefined) {
    if (!RUN_STATUSES.includes(digest.status as RunStatus)) return undefined;
    out.status = digest.status as RunStatus;
  }
  for (const key of ['params', 'bestTestAccuracy', 'lastTestAccuracy'] as const) {
    const v = digest[key];
    if (v === undefined) continue;
    if (!isFinite(v)) return undefined;
    out[key] = v;
  }
  return { formatVersion: 1, eventsBytes, fingerprint, digest: out, warnings: warnings as string[] };
}

/** A record of `digest` at `eventsBytes` of `eventsFile`; undefined when the fingerprint cannot be taken. */
export function digestRecord(
  eventsFile: string,
  eventsBytes: number,
  digest: RunDigest,
  warnings: readonly string[],
): DigestRecord | undefined {
  const fingerprint = eventsFingerprint(eventsFile, eventsBytes);
  if (fingerprint === undefined) return undefined;
  const { startConfig: _omit, ...rest } = digest;
  return {
    formatVersion: 1,
    eventsBytes,
    fingerprint,
    digest: rest,
    warnings: warnings.slice(0, MAX_WARNINGS).map((w) => (w.length > MAX_TEXT ? `${w.slice(0, MAX_TEXT - 1)}…` : w)),
  };
}
