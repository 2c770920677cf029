/**
 * Large datasets are parsed once per backend process and shared by its runs: a small cache keyed by
 * what was loaded (kind, resolved path, options) and checked against the files' stat signature, so a
 * file changed on disk is read again. Failed loads are not kept.
 */
import { promises as fsp } from 'fs';

/** Entries kept at most (the oldest used goes first); each may hold hundreds of MB. */
export const MAX_CACHED_DATASETS = 3;

interface Entry {
  signature: string;
  value: Promise<unknown>;
}

const entries = new Map<string, Entry>();

/** size, mtime and inode of each file ('-' for one that cannot be stat'ed); 256 stats at a time. */
export async function statSignature(files: string[]): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < files.length; i += 256) {
    const chunk = await Promise.all(
      files.slice(i, i + 256).map(async (f) => {
        try {
          const s = await fsp.stat(f);
          return `${s.size}:${s.mtimeMs}:${s.ino}`;
        } catch {
          return '-';
        }
      }),
    );
    parts.push(...chunk);
  }
  return parts.join('|');
}

/** The cached value for `key` when its signature still matches; otherwise `load()` (kept on success). */
export function cachedLoad<T>(key: string, signature: string, load: () => Promise<T>): Promise<T> {
  const hit = entries.get(key);
  if (hit && hit.signature === signature) {
    entries.delete(key); // most recently used goes last
    entries.set(key, hit);
    return hit.value as Promise<T>;
  }
  const value = load();
  const entry: Entry = { signature, value };
  entries.delete(key);
  entries.set(key, entry);
  while (entries.size > MAX_CACHED_DATASETS) entries.delete(entries.keys().next().value as string);
  value.catch(() => {
    if (entries.get(key) === entry) entries.delete(key);
  });
  return value;
}

/** Forgets every cached dataset (tests). */
export function clearDatasetCache(): void {
  entries.clear();
}
