import * as fs from 'fs';
import * as path from 'path';
import { DatasetError } from './errors';

export interface PackageInfo {
  dir: string;
  version: string;
}

/** Finds an installed npm package by name (its folder and version) or says why not. */
export function findPackage(name: string): PackageInfo | { error: string } {
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${name}/package.json`);
  } catch (e) {
    return { error: `npm package "${name}" cannot be resolved from ${__dirname} (${(e as Error).message.split('\n')[0]})` };
  }
  try {
    const version = String(JSON.parse(fs.readFileSync(pkgJson, 'utf8')).version ?? 'unknown');
    return { dir: path.dirname(pkgJson), version };
  } catch (e) {
    return { error: `${pkgJson}: cannot be read (${(e as Error).message})` };
  }
}

export function requirePackage(name: string): PackageInfo {
  const p = findPackage(name);
  if ('error' in p) throw new DatasetError(p.error);
  return p;
}
