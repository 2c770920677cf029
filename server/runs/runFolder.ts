/**
 * The files of one run folder, `<outDir>/runs/<runId>/`: their names, and the readers both the store
 * (reading and listing runs) and a run's handle (writing it) use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode, ioError } from './errors';
import { isCheckpointFileName, readCheckpointHeader } from './checkpointFormat';
import { EVENTS_FILE } from './eventsFile';
import { MAX_SMALL_JSON_BYTES, readRegularFile, untrusted } from './safeFs';

export const CONFIG_FILE = 'config.json';
export const RUN_INFO_FILE = 'run.json';
export const CHECKPOINTS_DIR = 'checkpoints';
export const LATEST_FILE = 'latest';

/** run.json */
export interface RunInfo {
  formatVersion: 1;
  runId: string;
  createdAt: string;
  configPath?: string;
  /** Written by a tool outside Growth Lab (a torchrun export's train.py): listed and followed, never resumed here. */
  external?: { tool: string; sourceRunId?: string };
}

/** The tool named by run.json's `external` (untrusted: a short lowercase name), or undefined. */
export function externalTool(info: Partial<RunInfo> | undefined): string | undefined {
  const tool = info?.external && typeof info.external === 'object' ? (info.external as { tool?: unknown }).tool : undefined;
  return typeof tool === 'string' && /^[a-z][a-z0-9-]{0,31}$/.test(tool) ? tool : undefined;
}

export function isRunFolder(dir: string): boolean {
  try {
    if (!fs.lstatSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  return statOrUndefined(path.join(dir, CONFIG_FILE)) !== undefined || statOrUndefined(path.join(dir, EVENTS_FILE)) !== undefined;
}

/** The checkpoint files of a checkpoints folder (which must be a real folder, not a symlink). */
export function listCheckpointFiles(dir: string): string[] {
  const st = statOrUndefined(dir);
  if (st?.isSymbolicLink()) throw untrusted(dir, 'it is a symbolic link');
  if (st && !st.isDirectory()) throw untrusted(dir, 'it is not a folder');
  try {
    return fs.readdirSync(dir).filter(isCheckpointFileName);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw ioError('cannot list', dir, err);
  }
}

/** The pointer's file, or a problem to report (undefined both when there simply is no pointer). */
export function readPointer(dir: string): { file?: string; problem?: string } {
  const { value, problem, missing } = readJson<{ file?: unknown }>(path.join(dir, LATEST_FILE));
  if (missing) return {};
  if (problem !== undefined) return { problem: `${CHECKPOINTS_DIR}/${LATEST_FILE} is unusable: ${problem}` };
  const file = value?.file;
  if (!isCheckpointFileName(file)) return { problem: `${CHECKPOINTS_DIR}/${LATEST_FILE} is unusable: it names no checkpoint file` };
  return { file };
}

/** The highest seq among existing checkpoints (and the pointer), or 0 when there are none. */
export function highestSeq(dir: string): number {
  let max = 0;
  for (const file of listCheckpointFiles(dir)) {
    try {
      max = Math.max(max, readCheckpointHeader(path.join(dir, file), file).seq);
    } catch {
      /* a damaged checkpoint cannot claim a seq */
    }
  }
  const pointer = readJson<{ seq?: unknown }>(path.join(dir, LATEST_FILE)).value;
  if (Number.isSafeInteger(pointer?.seq)) max = Math.max(max, pointer?.seq as number);
  return max;
}

export function readJson<T>(file: string, maxBytes = MAX_SMALL_JSON_BYTES): { value?: T; problem?: string; missing?: boolean } {
  let text: string;
  try {
    text = readRegularFile(file, maxBytes).toString('utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { missing: true, problem: `${path.basename(file)} is missing` };
    return { problem: `cannot read ${path.basename(file)}: ${(err as Error).message}` };
  }
  try {
    return { value: JSON.parse(text) as T };
  } catch {
    return { problem: `${path.basename(file)} is not valid JSON` };
  }
}

/** lstat (a symlink is reported as one, never followed), or undefined when nothing is there. */
export function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}
