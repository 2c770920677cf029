/** Finding a path-based dataset's folder and files, with errors that name what was looked for. */
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { DatasetConfig } from '../../common/protocol';
import { quoted } from '../messages';
import { DatasetError } from './errors';

/** dataset.path resolved against the experiment file's folder; an error names the dataset when absent. */
export function datasetPath(cfg: DatasetConfig, baseDir: string, what: string): string {
  if (typeof cfg.path !== 'string' || cfg.path.trim() === '') {
    throw new DatasetError(`${cfg.name}: dataset.path is required (${what}, relative to the experiment file)`);
  }
  return path.resolve(baseDir, cfg.path);
}

export async function isFolder(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * The folder holding `first` (a file every copy of the dataset has): `dir` itself, or one of the
 * `subfolders` the official archive unpacks into (e.g. cifar-10-batches-bin). Throws naming the folder.
 */
export async function findDataFolder(
  name: string,
  dir: string,
  given: string,
  first: string,
  subfolders: string[],
  want: string,
): Promise<string> {
  if (!(await isFolder(dir))) {
    if (await isFile(dir)) {
      const archive = /\.(tar\.gz|tgz|tar|zip)$/i.test(dir)
        ? ' (an archive: unpack it, e.g. tar xzf, and point dataset.path at its folder)'
        : '';
      throw new DatasetError(`${name}: dataset.path ${dir} is a file${archive}; want the folder that holds ${want}`);
    }
    throw new DatasetError(`${name}: folder ${dir} not found (dataset.path ${quoted(given)})`);
  }
  for (const d of [dir, ...subfolders.map((s) => path.join(dir, s))]) {
    if (await isFile(path.join(d, first))) return d;
  }
  return dir;
}

/** Throws when `file` (in `dir`) is missing, naming the folder and what the dataset needs. */
export async function requireFile(name: string, dir: string, file: string, want: string): Promise<string> {
  const p = path.join(dir, file);
  if (!(await isFile(p))) throw new DatasetError(`${name}: ${file} not found in ${dir} (want ${want})`);
  return p;
}
