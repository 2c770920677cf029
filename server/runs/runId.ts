/**
 * Run ids: `20261123-104512-mnist-a1b2` (UTC start time, sanitized experiment name, 4 random hex digits).
 * They sort by start time and double as folder names, so every id that comes from outside is checked
 * with `assertValidRunId` before it touches a path. The rule itself is the protocol's one run-id rule
 * (common/protocol/runId.ts), shared with the extension and the webview.
 */
import { randomBytes } from 'node:crypto';
import { isRunId } from '../../common/protocol/runId';
import { RunStoreError } from './errors';

const MAX_NAME_LENGTH = 40;

/** The one run-id rule: only [A-Za-z0-9._-], no leading dot (so no "." / ".." / hidden folders), 1 to 100 characters. */
export const isValidRunId: (id: unknown) => id is string = isRunId;

/** Throws `RunStoreError` ('invalidRunId') unless `isValidRunId(id)`. */
export function assertValidRunId(id: unknown): asserts id is string {
  if (!isValidRunId(id)) throw new RunStoreError(`invalid run id ${quoteId(id)}`, 'invalidRunId');
}

/** The id as shown in messages: JSON-quoted, shortened when very long. */
export function quoteId(id: unknown): string {
  if (typeof id !== 'string') return String(id);
  return JSON.stringify(id.length > 120 ? `${id.slice(0, 120)}…` : id);
}

/** Lowercase, [a-z0-9-] only (accents dropped, other runs of characters become one dash), at most 40 characters. */
export function sanitizeName(name: string): string {
  const ascii = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const slug = ascii
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, MAX_NAME_LENGTH).replace(/-+$/, '') || 'run';
}

/** A new run id for an experiment named `name` that starts at `date`. */
export function makeRunId(name: string, date: Date = new Date(), suffix: string = randomBytes(2).toString('hex')): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp =
    `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}` +
    `-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
  return `${stamp}-${sanitizeName(name)}-${suffix}`;
}

/** The start time encoded in a run id made by `makeRunId`, as an ISO string; undefined for other ids. */
export function runIdTime(id: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-/.exec(id);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
