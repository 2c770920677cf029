/**
 * events.jsonl: one RunEvent per line, append-only.
 *
 * Writing: the file is opened once in append mode and each event goes out as one `writeSync` of the
 * whole line, so a crash leaves at most one torn line at the end. A short or failed write is undone by
 * truncating back to the previous size. Every event but `metrics` (the frequent one) is followed by
 * fdatasync, so status changes, grow steps and checkpoint records survive a power cut.
 *
 * Reading never throws on content: a torn last line and corrupt lines are dropped with warnings.
 */
import * as fs from 'node:fs';
import { RUN_STATUSES, isRunId, type RunEvent, type RunEventType } from '../../common/protocol';
import { isCheckpointFileName } from './checkpointFormat';
import { RunStoreError, describeCause, errnoCode, ioError } from './errors';
import { MAX_EVENTS_BYTES, openAppendRegular, openRegularFile, readRegularFile, untrusted } from './safeFs';

export const EVENTS_FILE = 'events.jsonl';

const EVENT_TYPES: ReadonlySet<string> = new Set<RunEventType>(['start', 'metrics', 'status', 'grow', 'checkpoint']);

/** The subset of `fs` the writer uses, replaceable in tests to simulate short writes. */
export interface EventsWriterIo {
  writeSync(fd: number, buffer: Uint8Array): number;
}

export class EventsWriter {
  private fd: number | undefined;
  private size: number;

  /** Opens (creating if needed) `filePath` for appending. */
  constructor(
    readonly filePath: string,
    private readonly io: EventsWriterIo = fs,
  ) {
    try {
      this.fd = openAppendRegular(filePath);
      this.size = fs.fstatSync(this.fd).size;
    } catch (err) {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      throw ioError('cannot open', filePath, err);
    }
    // A line torn by an earlier crash must not swallow the next event: end it first (the reader then
    // reports it as one corrupt line; its bytes are kept, never deleted).
    if (this.size > 0 && lastByte(filePath, this.size) !== 0x0a) {
      try {
        this.writeLine(Buffer.from('\n'), true);
      } catch (err) {
        this.close();
        throw err;
      }
    }
  }

  /** Appends one event as one line; throws RunStoreError (and leaves the file as it was) on failure. */
  append(event: RunEvent): void {
    // `type` first, so a line says what it is in its first bytes.
    const line = Buffer.from(`${JSON.stringify(Object.assign({ type: event.type }, event))}\n`, 'utf8');
    this.writeLine(line, event.type !== 'metrics');
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.closeSync(fd);
    } catch (err) {
      throw ioError('cannot close', this.filePath, err);
    }
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Bytes in the file: where the next line will start. */
  get bytes(): number {
    return this.size;
  }

  private writeLine(line: Buffer, sync: boolean): void {
    const fd = this.fd;
    if (fd === undefined) throw new RunStoreError(`cannot append to ${this.filePath}: the file is closed`, 'invalidState');
    const before = this.size;
    let written = 0;
    try {
      written = this.io.writeSync(fd, line);
      if (written !== line.length) {
        throw Object.assign(new Error(`short write (${written} of ${line.length} bytes; disk full?)`), { code: 'ENOSPC' });
      }
      if (sync) fs.fdatasyncSync(fd);
    } catch (err) {
      this.undo(fd, before);
      const cause =
        errnoCode(err) === 'ENOSPC' && written > 0 ? `disk full (ENOSPC): wrote ${written} of ${line.length} bytes` : describeCause(err);
      throw new RunStoreError(`cannot append to ${this.filePath}: ${cause}`, 'io', errnoCode(err), { cause: err });
    }
    this.size = before + written;
  }

  /** Truncates back to `size` after a failed write; best effort (the reader drops a torn last line anyway). */
  private undo(fd: number, size: number): void {
    try {
      if (fs.fstatSync(fd).size > size) fs.ftruncateSync(fd, size);
    } catch {
      /* e.g. not a regular file */
    }
  }
}

/** The byte at `size - 1` (read through its own descriptor: the append one is write-only). */
function lastByte(filePath: string, size: number): number | undefined {
  const b = Buffer.alloc(1);
  let fd: number | undefined;
  try {
    fd = openRegularFile(filePath).fd;
    return fs.readSync(fd, b, 0, 1, size - 1) === 1 ? b[0] : undefined;
  } catch {
    return undefined; // e.g. not a regular file; nothing to repair
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Parses the text of an events.jsonl file. */
export function parseEvents(text: string): { events: RunEvent[]; warnings: string[] } {
  const events: RunEvent[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  // After the final newline `split` yields '' ; anything else there is a line the writer never finished.
  const last = lines.length - 1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '') continue;
    const event = parseEventLine(line);
    if (event) {
      events.push(event);
    } else if (i === last) {
      warnings.push(
        `${EVENTS_FILE}: dropped a partial last line (line ${i + 1}, ${Buffer.byteLength(line)} bytes), probably cut off by a crash`,
      );
    } else {
      warnings.push(`${EVENTS_FILE}: skipped corrupt line ${i + 1}: ${describeBadLine(line)}`);
    }
  }
  return { events, warnings };
}

/** Reads and parses an events.jsonl file; a missing file is an empty history. Throws only on I/O errors. */
export function readEventsFile(filePath: string): { events: RunEvent[]; warnings: string[] } {
  let text: string;
  try {
    text = readRegularFile(filePath, MAX_EVENTS_BYTES).toString('utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { events: [], warnings: [] };
    throw ioError('cannot read', filePath, err);
  }
  return parseEvents(text);
}

/** One page of an events.jsonl file: `events` are those at indices [offset, offset + limit) of the valid events. */
export interface EventsPage {
  events: RunEvent[];
  warnings: string[];
  /** Valid events seen (all of them unless the read stopped early at `stopAfter`). */
  seen: number;
  /** The read stopped because more than `stopAfter` events would have been kept. */
  overflow: boolean;
}

const PAGE_CHUNK_BYTES = 1024 * 1024;

/**
 * Walks an events.jsonl file in 1 MiB chunks through the safe opener (lstat, O_NOFOLLOW|O_NONBLOCK,
 * fstat, the same size cap as readEventsFile), never holding the whole file: each line is validated as
 * parseEvents validates it (same warnings), and each valid event goes to `onEvent` (return false to
 * stop). `step()` reads one chunk and says whether there is more. A missing file is an empty history.
 */
class EventsScanner {
  readonly warnings: string[] = [];
  private fd: number | undefined;
  private size = 0;
  private pos = 0;
  private carry: Buffer = Buffer.alloc(0);
  private chunk: Buffer = Buffer.alloc(0);
  private lineNo = 0;
  private going = true;
  /** Byte offset just past the last newline handled: where a later scan of the grown file can start. */
  completeEnd = 0;
  /** Identity of the file read (inode), to tell a grown file from a replaced one. */
  ino = 0;
  /** How many of `warnings` are about complete lines (the rest: the unfinished last line). */
  completeWarnings = 0;

  constructor(
    private readonly filePath: string,
    private readonly onEvent: (event: RunEvent, complete: boolean) => boolean,
    /** Start here instead of at 0: a line boundary (the byte before it must be a newline). */
    private readonly startAt = 0,
  ) {
    let opened: { fd: number; size: number };
    try {
      opened = openRegularFile(filePath);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        this.going = false;
        return;
      }
      throw ioError('cannot read', filePath, err);
    }
    this.fd = opened.fd;
    this.size = opened.size;
    if (this.size > MAX_EVENTS_BYTES) {
      this.close();
      throw untrusted(filePath, `it is ${opened.size} bytes, more than the ${MAX_EVENTS_BYTES} allowed`);
    }
    this.ino = fs.fstatSync(opened.fd).ino;
    if (startAt > 0) {
      const before = Buffer.alloc(1);
      if (startAt > this.size || fs.readSync(opened.fd, before, 0, 1, startAt - 1) !== 1 || before[0] !== 0x0a) {
        this.close();
        throw new RunStoreError(`cannot continue reading ${filePath} at byte ${startAt}: not a line boundary`, 'corrupt');
      }
      this.pos = this.completeEnd = startAt;
    }
    this.chunk = Buffer.alloc(Math.min(PAGE_CHUNK_BYTES, Math.max(this.size, 1)));
  }

  /** Bytes read so far. */
  get bytesRead(): number {
    return this.pos - this.startAt;
  }

  /** Reads and handles one chunk; false when done (the file is closed then). */
  step(): boolean {
    if (this.fd === undefined) return false;
    try {
      if (!this.going || this.pos >= this.size) return this.finish();
      const chunk = this.chunk;
      const n = fs.readSync(this.fd, chunk, 0, Math.min(chunk.length, this.size - this.pos), this.pos);
      if (n <= 0) return this.finish();
      this.pos += n;
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, 0); nl !== -1 && nl < n; nl = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, nl);
        const line = this.carry.length ? Buffer.concat([this.carry, piece]) : piece;
        this.carry = Buffer.alloc(0);
        start = nl + 1;
        const lineStart = this.completeEnd;
        this.completeEnd = this.pos - n + start;
        if (!this.take(line, false, lineStart)) {
          this.going = false;
          return this.finish();
        }
      }
      if (start < n) this.carry = Buffer.concat([this.carry, chunk.subarray(start, n)]);
      return this.pos < this.size ? true : this.finish();
    } catch (err) {
      this.close();
      if (err instanceof RunStoreError) throw err;
      throw ioError('cannot read', this.filePath, err);
    }
  }

  private finish(): boolean {
    this.completeWarnings = this.warnings.length;
    if (this.going && this.carry.length) this.take(this.carry, true, this.completeEnd);
    this.carry = Buffer.alloc(0);
    this.close();
    return false;
  }

  private close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }

  private take(bytes: Buffer, isLast: boolean, lineStart: number): boolean {
    this.lineNo++;
    // A scan that starts part-way counts lines from there, so it names the byte offset instead.
    const where = this.startAt > 0 ? `line at byte ${lineStart}` : `line ${this.lineNo}`;
    let line = bytes.toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') return true;
    const event = parseEventLine(line);
    if (event) return this.onEvent(event, !isLast);
    this.warnings.push(
      isLast
        ? `${EVENTS_FILE}: dropped a partial last line (${where}, ${Buffer.byteLength(line)} bytes), probably cut off by a crash`
        : `${EVENTS_FILE}: skipped corrupt ${where}: ${describeBadLine(line)}`,
    );
    return true;
  }
}

/**
 * Reads one page of an events.jsonl file without holding the whole file (EventsScanner): indices count
 * valid events only, so a page lines up with the unpaged array; only the page is kept. Yields to the
 * event loop between chunks. With no `limit`, everything from `offset` is kept unless that is more than
 * `stopAfter` events: then it stops with `overflow`.
 */
export async function readEventsPage(filePath: string, opts: { offset: number; limit?: number; stopAfter: number }): Promise<EventsPage> {
  const page: EventsPage = { events: [], warnings: [], seen: 0, overflow: false };
  const end = opts.limit === undefined ? Infinity : opts.offset + opts.limit;
  const scanner = new EventsScanner(filePath, (event) => {
    const index = page.seen++;
    if (index >= opts.offset && index < end) {
      if (opts.limit === undefined && page.events.length >= opts.stopAfter) {
        page.overflow = true;
        return false;
      }
      page.events.push(event);
    }
    return opts.limit === undefined || page.seen < end;
  });
  while (scanner.step()) await new Promise((resolve) => setImmediate(resolve));
  page.warnings = scanner.warnings;
  return page;
}

/** Passes every valid event of an events.jsonl file to `onEvent`, chunk by chunk (synchronous); returns the warnings. */
export function scanEventsFile(filePath: string, onEvent: (event: RunEvent) => void): string[] {
  const end = scanEventsFrom(filePath, 0, (event) => onEvent(event));
  return [...end.warnings, ...end.tailWarnings];
}

/** What `scanEventsFrom` read: where the complete lines end (a later scan of the grown file starts there). */
export interface EventsScanEnd {
  /** About complete lines (what a later scan from `completeEnd` will not see again). */
  warnings: string[];
  /** About the unfinished last line. */
  tailWarnings: string[];
  /** Bytes read from the file by this scan. */
  bytesRead: number;
  completeEnd: number;
  ino: number;
}

/**
 * Like scanEventsFile, from byte `startAt` (a line boundary, else RunStoreError 'corrupt'). `complete` is
 * false for an event on a last line without its newline (a line being written, or cut by a crash): a
 * later scan from `completeEnd` reads that line again.
 */
export function scanEventsFrom(filePath: string, startAt: number, onEvent: (event: RunEvent, complete: boolean) => void): EventsScanEnd {
  const scanner = new EventsScanner(
    filePath,
    (event, complete) => {
      onEvent(event, complete);
      return true;
    },
    startAt,
  );
  while (scanner.step());
  const w = scanner.warnings;
  return {
    warnings: w.slice(0, scanner.completeWarnings),
    tailWarnings: w.slice(scanner.completeWarnings),
    completeEnd: scanner.completeEnd,
    ino: scanner.ino,
    bytesRead: scanner.bytesRead,
  };
}

function parseEventLine(line: string): RunEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return isRunEvent(value) ? value : undefined;
}

function isRunEvent(value: unknown): value is RunEvent {
  return eventProblem(value) === undefined;
}

const MAX_TEXT = 64 * 1024;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
/** Losses may be recorded as null (JSON has no NaN) or left out. */
const isOptNum = (v: unknown): boolean => v === undefined || v === null || isNum(v);
const isText = (v: unknown): boolean => typeof v === 'string' && v.length <= MAX_TEXT;
const isOptText = (v: unknown): boolean => v === undefined || isText(v);
const isTextList = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.length <= 10000 && v.every(isText));
const isArch = (v: unknown): boolean => isObj(v) && isNum(v.params) && Array.isArray(v.layers);

/**
 * What is wrong with an event read back from events.jsonl (undefined when nothing): every field the
 * extension reads is checked for its type, statuses and kinds against their sets, numbers are finite,
 * ids and file names match their patterns, text is bounded.
 */
export function eventProblem(value: unknown): string | undefined {
  if (!isObj(value)) return 'not an object';
  const type = value.type;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) return 'unknown "type"';
  if (!isText(value.time) || (value.time as string).length > 64) return 'bad "time"';
  if (!isRunId(value.runId)) return 'bad "runId"';
  switch (type) {
    case 'start':
      if (!isObj(value.config)) return 'bad "config"';
      if (!isArch(value.architecture)) return 'bad "architecture"';
      if (!isTextList(value.warnings)) return 'bad "warnings"';
      return undefined;
    case 'metrics':
      for (const k of ['epoch', 'step', 'params'] as const) if (!isNum(value[k])) return `bad "${k}"`;
      for (const k of [
        'trainLoss',
        'trainAccuracy',
        'testLoss',
        'testAccuracy',
        'samplesPerSecond',
        'learningRate',
        'elapsedMs',
        'task',
      ] as const)
        if (!isOptNum(value[k])) return `bad "${k}"`;
      if (!isOptText(value.engine) || !isOptText(value.executionProvider)) return 'bad engine name';
      if (value.continual !== undefined && !isObj(value.continual)) return 'bad "continual"';
      return undefined;
    case 'status':
      if (typeof value.status !== 'string' || !(RUN_STATUSES as readonly string[]).includes(value.status)) return 'bad "status"';
      if (!isOptText(value.message)) return 'bad "message"';
      if (!isTextList(value.warnings)) return 'bad "warnings"';
      return undefined;
    case 'grow':
      if (value.kind !== 'grow' && value.kind !== 'prune') return 'bad "kind"';
      if (!isText(value.method)) return 'bad "method"';
      for (const k of ['epoch', 'step'] as const) if (!isNum(value[k])) return `bad "${k}"`;
      for (const k of ['lossBefore', 'lossAfter', 'maxOutputChange', 'durationMs'] as const) if (!isOptNum(value[k])) return `bad "${k}"`;
      if (!isArch(value.before) || !isArch(value.after)) return 'bad architecture';
      for (const k of ['diff', 'selected', 'rejected'] as const)
        if (value[k] !== undefined && !Array.isArray(value[k])) return `bad "${k}"`;
      return undefined;
    case 'checkpoint':
      for (const k of ['epoch', 'step'] as const) if (!isNum(value[k])) return `bad "${k}"`;
      if (!isCheckpointFileName(value.file)) return 'bad "file"';
      return undefined;
  }
  return 'unknown "type"';
}

function describeBadLine(line: string): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  return `not a run event (${eventProblem(value) ?? 'invalid'})`;
}
