/**
 * Persistent run storage. Each run lives in `<outDir>/runs/<runId>/`:
 *
 *   config.json          the resolved ExperimentConfig (pretty JSON, written atomically)
 *   run.json             { formatVersion, runId, createdAt, configPath? } (written atomically)
 *   events.jsonl         one RunEvent per line, append-only (see eventsFile.ts)
 *   checkpoints/         <tag>-<NNNN>.ckpt files (see checkpointFormat.ts), written atomically, and
 *   checkpoints/latest   { file, seq, writtenAt }: the newest checkpoint
 *
 * Every run id that comes in is validated before it becomes a path, so no id can reach outside runsDir.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExperimentConfig, RunEvent, RunSummary } from '../../common/protocol';
import { RunStoreError, errnoCode, ioError } from './errors';
import { assertValidRunId, isValidRunId, makeRunId, quoteId, runIdTime } from './runId';
import { fsyncDir, removeStaleTempFiles, writeFileAtomicData } from './atomicFile';
import { type Checkpoint, type CheckpointHeader, decodeCheckpoint, isCheckpointFileName, readCheckpointHeader } from './checkpointFormat';
import { EVENTS_FILE, type EventsPage, EventsWriter, type EventsWriterIo, readEventsFile, readEventsPage } from './eventsFile';
import { type EventsDigest, type EventsDigestState, digestEventsFile } from './eventsDigest';
import { type RunFacts, emptyDigest, summarizeRun } from './runSummary';
import { type OpeningDigest, type RunHandle, RunHandleImpl } from './runHandle';
import { acquireRunLock, lockedElsewhere } from './runLock';
import { MAX_CHECKPOINT_BYTES, MAX_CONFIG_BYTES, checkFolder, readRegularFile, untrusted } from './safeFs';
import {
  CHECKPOINTS_DIR,
  CONFIG_FILE,
  LATEST_FILE,
  RUN_INFO_FILE,
  type RunInfo,
  externalTool,
  isRunFolder,
  listCheckpointFiles,
  readJson,
  readPointer,
  statOrUndefined,
} from './runFolder';

export type { Checkpoint } from './checkpointFormat';
export type { RunHandle } from './runHandle';
export { CONFIG_FILE, RUN_INFO_FILE, CHECKPOINTS_DIR, LATEST_FILE } from './runFolder';

export interface RunStoreOptions {
  /** Whether a run is being driven by this backend right now (runs with an open handle always are). */
  isLive?: (runId: string) => boolean;
  /** Test seam for the events writer (simulating short writes). */
  eventsIo?: EventsWriterIo;
}

interface CachedDigest extends RunFacts {
  /** Sizes and times of config.json and events.jsonl when digested. */
  key: string;
  warnings: string[];
  /** Where the next digest of a grown events.jsonl continues from. */
  events?: EventsDigestState;
  /** Bytes of events.jsonl the latest digest read. */
  lastBytesRead: number;
}

export class RunStore {
  readonly runsDir: string;
  private readonly isLiveOutside: (runId: string) => boolean;
  private readonly eventsIo: EventsWriterIo | undefined;
  private readonly handles = new Map<string, RunHandleImpl>();
  private readonly digests = new Map<string, CachedDigest>();
  private lastWarnings: string[] = [];

  constructor(
    readonly outDir: string,
    opts: RunStoreOptions = {},
  ) {
    this.runsDir = path.resolve(outDir, 'runs');
    this.isLiveOutside = opts.isLive ?? (() => false);
    this.eventsIo = opts.eventsIo;
  }

  /** Problems met by the latest `listRuns` (skipped folders, unreadable files, dropped event lines). */
  get warnings(): readonly string[] {
    return this.lastWarnings;
  }

  /** Makes `runs/<new id>/` with config.json, run.json, an empty events.jsonl and checkpoints/. */
  createRun(config: ExperimentConfig, opts: { configPath?: string; now?: Date } = {}): RunHandle {
    const now = opts.now ?? new Date();
    try {
      fs.mkdirSync(this.runsDir, { recursive: true });
    } catch (err) {
      throw ioError('cannot create the runs folder', this.runsDir, err);
    }
    let runId = '';
    let dir = '';
    for (let attempt = 0; ; attempt++) {
      runId = makeRunId(typeof config?.name === 'string' ? config.name : 'run', now);
      dir = path.join(this.runsDir, runId);
      try {
        fs.mkdirSync(dir);
        break;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST' || attempt >= 50) throw ioError('cannot create a run folder in', this.runsDir, err);
      }
    }
    let unlock: (() => void) | undefined;
    try {
      unlock = acquireRunLock(dir, runId);
      fs.mkdirSync(path.join(dir, CHECKPOINTS_DIR));
      writeFileAtomicData(dir, CONFIG_FILE, 'config', `${JSON.stringify(config, null, 2)}\n`);
      const info: RunInfo = { formatVersion: 1, runId, createdAt: now.toISOString() };
      if (opts.configPath !== undefined) info.configPath = opts.configPath;
      writeFileAtomicData(dir, RUN_INFO_FILE, 'run info', `${JSON.stringify(info, null, 2)}\n`);
      const events = new EventsWriter(path.join(dir, EVENTS_FILE), this.eventsIo);
      try {
        fsyncDir(dir);
        fsyncDir(this.runsDir);
      } catch (err) {
        events.close();
        throw err;
      }
      const opening = { digest: emptyDigest(), warnings: [], eventsBytes: 0 };
      const handle = new RunHandleImpl(runId, dir, events, (h) => this.released(h), unlock, opening);
      this.handles.set(runId, handle);
      return handle;
    } catch (err) {
      unlock?.();
      // Nothing of the run was recorded yet: do not leave a half-made folder behind.
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
      throw ioError('cannot create run folder', dir, err);
    }
  }

  /** Opens an existing run for appending (resuming). Throws if it is already open in this store. */
  openRun(runId: string): RunHandle {
    const dir = this.runDir(runId);
    if (this.handles.has(runId)) throw new RunStoreError(`run ${quoteId(runId)} is already open for writing`, 'invalidState');
    // Another process (the CLI, another backend) training this run holds its lock: refused before anything is written.
    const unlock = acquireRunLock(dir, runId);
    try {
      const checkpoints = path.join(dir, CHECKPOINTS_DIR);
      if (!checkFolder(checkpoints, dir)) {
        try {
          fs.mkdirSync(checkpoints);
        } catch (err) {
          throw ioError('cannot create', checkpoints, err);
        }
      }
      removeStaleTempFiles(checkpoints);
      removeStaleTempFiles(dir);
      const events = new EventsWriter(path.join(dir, EVENTS_FILE), this.eventsIo);
      const handle = new RunHandleImpl(runId, dir, events, (h) => this.released(h), unlock, this.openingDigest(runId, dir));
      this.handles.set(runId, handle);
      return handle;
    } catch (err) {
      unlock();
      throw err;
    }
  }

  /** The run's events; damaged lines are dropped and described in `warnings`. Throws only for bad/unknown ids. */
  readEvents(runId: string): { events: RunEvent[]; warnings: string[] } {
    return readEventsFile(path.join(this.runDir(runId), EVENTS_FILE));
  }

  /** One page of a run's events, read in chunks (see readEventsPage). */
  readEventsPage(runId: string, opts: { offset: number; limit?: number; stopAfter: number }): Promise<EventsPage> {
    return readEventsPage(path.join(this.runDir(runId), EVENTS_FILE), opts);
  }

  readConfig(runId: string): ExperimentConfig {
    const file = path.join(this.runDir(runId), CONFIG_FILE);
    let text: string;
    try {
      text = readRegularFile(file, MAX_CONFIG_BYTES).toString('utf8');
    } catch (err) {
      throw ioError('cannot read', file, err);
    }
    try {
      return JSON.parse(text) as ExperimentConfig;
    } catch {
      throw new RunStoreError(`${file} is corrupt: not valid JSON`, 'corrupt');
    }
  }

  /** Summaries of every run, newest first. Folders that are not runs are skipped (see `warnings`). */
  listRuns(): RunSummary[] {
    const warnings: string[] = [];
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.runsDir, { withFileTypes: true });
    } catch (err) {
      this.lastWarnings = warnings;
      if (errnoCode(err) === 'ENOENT') return [];
      throw ioError('cannot list', this.runsDir, err);
    }
    const seen = new Set<string>();
    const summaries: RunSummary[] = [];
    for (const entry of entries) {
      const name = entry.name;
      if (name.startsWith('.')) continue;
      if (!isValidRunId(name)) {
        warnings.push(`skipped runs/${name}: not a valid run id`);
      } else {
        const summary = this.folderSummary(name, entry.isSymbolicLink(), entry.isDirectory(), warnings);
        if (summary) {
          seen.add(name);
          summaries.push(summary);
        }
      }
    }
    for (const id of this.digests.keys()) if (!seen.has(id)) this.digests.delete(id);
    this.lastWarnings = warnings;
    const time = (s: RunSummary) => Date.parse(s.startedAt) || 0;
    return summaries.sort((a, b) => time(b) - time(a) || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0));
  }

  /** One run's summary, as listRuns reports it, without reading the other runs; undefined when the folder is not a run. */
  runSummary(runId: string): RunSummary | undefined {
    assertValidRunId(runId);
    const st = statOrUndefined(path.join(this.runsDir, runId));
    if (!st) return undefined;
    return this.folderSummary(runId, st.isSymbolicLink(), st.isDirectory(), []);
  }

  /** The summary of the entry `name` of runs/ (a symlink or unreadable run: listed as unreadable, with the reason). */
  private folderSummary(name: string, link: boolean, folder: boolean, warnings: string[]): RunSummary | undefined {
    if (link) {
      const why = `refusing ${path.join(this.runsDir, name)}: the run folder is a symbolic link`;
      warnings.push(`run ${name}: ${why}`);
      return unreadableSummary(name, why);
    }
    if (!folder) {
      warnings.push(`skipped runs/${name}: not a folder`);
      return undefined;
    }
    try {
      const facts = this.digestRun(name, warnings);
      if (!facts) return undefined;
      const elsewhere = this.handles.has(name) ? undefined : lockedElsewhere(path.join(this.runsDir, name));
      const summary = summarizeRun(facts, this.isLive(name) || elsewhere !== undefined);
      if (elsewhere !== undefined) summary.runningElsewhere = elsewhere;
      return summary;
    } catch (err) {
      // One bad run never hides the others: it is listed as unreadable, with the reason.
      const why = err instanceof Error ? err.message : String(err);
      warnings.push(`run ${name}: ${why}`);
      return unreadableSummary(name, why);
    }
  }

  /** The file `checkpoints/latest` names, or the newest intact checkpoint when that one is missing or corrupt. */
  readLatestCheckpoint(runId: string): { checkpoint: Checkpoint; file: string; warnings: string[] } | undefined {
    const dir = path.join(this.runDir(runId), CHECKPOINTS_DIR);
    const warnings: string[] = [];
    const files = listCheckpointFiles(dir);
    const pointer = readPointer(dir);
    let tried: string | undefined;
    if (pointer.file !== undefined) {
      tried = pointer.file;
      try {
        return { checkpoint: this.readCheckpointFile(runId, dir, pointer.file), file: pointer.file, warnings };
      } catch (err) {
        if (!(err instanceof RunStoreError) || err.kind === 'invalidRunId') throw err;
        warnings.push(`latest checkpoint unusable: ${err.message}`);
      }
    } else if (pointer.problem !== undefined) {
      warnings.push(pointer.problem);
    } else if (files.length > 0) {
      warnings.push(`${CHECKPOINTS_DIR}/${LATEST_FILE} is missing`);
    }

    const candidates: { file: string; header: CheckpointHeader }[] = [];
    for (const file of files) {
      if (file === tried) continue;
      try {
        candidates.push({ file, header: readCheckpointHeader(path.join(dir, file), file) });
      } catch (err) {
        warnings.push(err instanceof RunStoreError ? err.message : `checkpoint ${file} is unreadable: ${String(err)}`);
      }
    }
    candidates.sort((a, b) => b.header.seq - a.header.seq || (a.file < b.file ? 1 : -1));
    for (const { file } of candidates) {
      try {
        const checkpoint = this.readCheckpointFile(runId, dir, file);
        warnings.push(`fell back to checkpoint ${file}, the newest intact one`);
        return { checkpoint, file, warnings };
      } catch (err) {
        warnings.push(err instanceof RunStoreError ? err.message : String(err));
      }
    }
    if (files.length === 0 && tried === undefined) return undefined;
    throw new RunStoreError(`run ${quoteId(runId)} has no intact checkpoint: ${warnings.join('; ')}`, 'corrupt');
  }

  /** Reads and verifies one checkpoint by file name (e.g. "epoch-0003.ckpt"). */
  readCheckpoint(runId: string, file: string): Checkpoint {
    return this.readCheckpointFile(runId, path.join(this.runDir(runId), CHECKPOINTS_DIR), file);
  }

  /** `runs/<runId>` after checking the id and that the run exists. */
  runDir(runId: string): string {
    assertValidRunId(runId);
    const dir = path.join(this.runsDir, runId);
    if (!isRunFolder(dir)) {
      if (statOrUndefined(dir)?.isSymbolicLink()) throw untrusted(dir, 'the run folder is a symbolic link');
      throw new RunStoreError(`unknown run ${quoteId(runId)}`, 'unknownRun');
    }
    checkFolder(dir, this.runsDir);
    return dir;
  }

  isLive(runId: string): boolean {
    return this.handles.has(runId) || this.isLiveOutside(runId);
  }

  /** Called by a handle's close(). */
  private released(handle: RunHandleImpl): void {
    if (this.handles.get(handle.runId) === handle) this.handles.delete(handle.runId);
  }

  private readCheckpointFile(runId: string, dir: string, file: string): Checkpoint {
    if (!isCheckpointFileName(file)) throw new RunStoreError(`invalid checkpoint file name ${JSON.stringify(file)}`, 'invalidArgument');
    let bytes: Buffer;
    try {
      checkFolder(dir, path.dirname(dir));
      bytes = readRegularFile(path.join(dir, file), MAX_CHECKPOINT_BYTES);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new RunStoreError(`run ${quoteId(runId)} has no checkpoint ${file}`, 'notFound');
      throw ioError(`cannot read checkpoint ${file} in`, dir, err);
    }
    return decodeCheckpoint(bytes, file).checkpoint;
  }

  /** The digest of a run's events as a handle opens it for appending; undefined when it cannot be read. */
  private openingDigest(runId: string, dir: string): OpeningDigest | undefined {
    try {
      const d = digestEventsFile(dir, this.digests.get(runId)?.events);
      return d.state ? { digest: d.state.complete, warnings: d.state.completeWarnings, eventsBytes: d.state.completeEnd } : undefined;
    } catch {
      return undefined;
    }
  }

  /** Bytes of events.jsonl that the latest listRuns read for a run (what a digest spares; for tests and docs). */
  digestBytesRead(runId: string): number | undefined {
    return this.digests.get(runId)?.lastBytesRead;
  }

  /** Config + digested events of one run folder, cached while its files are unchanged. */
  private digestRun(runId: string, warnings: string[]): CachedDigest | undefined {
    const dir = path.join(this.runsDir, runId);
    const configStat = statOrUndefined(path.join(dir, CONFIG_FILE));
    const eventsStat = statOrUndefined(path.join(dir, EVENTS_FILE));
    for (const [file, st] of [
      [CONFIG_FILE, configStat],
      [EVENTS_FILE, eventsStat],
    ] as const) {
      if (st?.isSymbolicLink()) throw untrusted(path.join(dir, file), 'it is a symbolic link');
      if (st && !st.isFile()) throw untrusted(path.join(dir, file), 'it is not a regular file');
    }
    const checkpointsStat = statOrUndefined(path.join(dir, CHECKPOINTS_DIR));
    if (checkpointsStat?.isSymbolicLink()) throw untrusted(path.join(dir, CHECKPOINTS_DIR), 'it is a symbolic link');
    if (!configStat && !eventsStat) {
      warnings.push(`skipped runs/${runId}: not a run (no ${CONFIG_FILE} or ${EVENTS_FILE})`);
      return undefined;
    }
    const key = [configStat?.mtimeMs, configStat?.size, eventsStat?.ino, eventsStat?.mtimeMs, eventsStat?.size].join(':');
    const cached = this.digests.get(runId);
    if (cached?.key === key) {
      warnings.push(...cached.warnings);
      return cached;
    }
    const own: string[] = [];
    let events: EventsDigest;
    try {
      // Only what was appended since the last listing (or since the writer's digest.json) is read.
      events = digestEventsFile(dir, cached?.events);
    } catch (err) {
      if (errnoCode(err) === 'EUNTRUSTED') throw err; // swapped in since the lstat above, or over the size cap
      own.push(`run ${runId}: ${err instanceof Error ? err.message : String(err)}`);
      events = { digest: emptyDigest(), warnings: [], bytesRead: 0 };
    }
    let config = readJson<ExperimentConfig>(path.join(dir, CONFIG_FILE));
    const configUsable = () => config.value !== undefined && config.value !== null && typeof config.value === 'object';
    if (!configUsable() && !events.digest.startConfig && events.state && events.bytesRead < events.state.completeEnd) {
      // The config's fallback is the start event, which a digest that began part-way has not seen.
      events = digestEventsFile(dir, undefined, false);
    }
    for (const w of events.warnings) own.push(`run ${runId}: ${w}`);
    const digest = events.digest;
    if (!configUsable()) {
      if (!digest.startConfig) {
        warnings.push(...own);
        this.digests.delete(runId);
        throw new RunStoreError(`${config.problem ?? `${CONFIG_FILE} is not an object`}, and no start event holds the config`, 'corrupt');
      }
      own.push(`run ${runId}: ${config.problem ?? `${CONFIG_FILE} is not an object`}; using the config of its start event`);
      config = { value: digest.startConfig };
    }
    const info = readJson<Partial<RunInfo>>(path.join(dir, RUN_INFO_FILE)).value;
    const facts: CachedDigest = {
      key,
      runId,
      config: config.value as ExperimentConfig,
      digest,
      warnings: own,
      lastBytesRead: events.bytesRead,
    };
    if (events.state) facts.events = events.state;
    if (typeof info?.configPath === 'string') facts.configPath = info.configPath;
    const external = externalTool(info);
    if (external !== undefined) facts.external = external;
    const createdAt =
      typeof info?.createdAt === 'string' ? info.createdAt : (runIdTime(runId) ?? (configStat ?? eventsStat)?.mtime.toISOString());
    if (createdAt !== undefined) facts.createdAt = createdAt;
    this.digests.set(runId, facts);
    warnings.push(...own);
    return facts;
  }
}

/** How listRuns shows a run folder it cannot read: failed, with the reason in `unreadable`. */
function unreadableSummary(runId: string, why: string): RunSummary {
  return {
    runId,
    name: runId,
    status: 'failed',
    dataset: '' as RunSummary['dataset'],
    engine: '' as RunSummary['engine'],
    executionProvider: '' as RunSummary['executionProvider'],
    startedAt: runIdTime(runId) ?? '',
    epochs: 0,
    epochsDone: 0,
    params: 0,
    growSteps: 0,
    unreadable: why.length > 500 ? `${why.slice(0, 500)}…` : why,
  };
}
