/**
 * The checkpoint file format (`*.ckpt`):
 *
 *   bytes 0..7    magic "GLCKPT01"
 *   bytes 8..11   uint32 LE: header length H (the header is padded with spaces so 12 + H is a multiple of 4)
 *   bytes 12..    UTF-8 JSON header: { seq, createdAt, meta, tensors: [{ name, offset, length }], dataBytes,
 *                 crc32, headerCrc32 }
 *                 - offset: byte offset of the tensor in the data section; length: number of float32 values
 *                 - crc32: CRC-32 of the data section
 *                 - headerCrc32: CRC-32 of JSON.stringify({ seq, createdAt, meta, tensors, dataBytes, crc32 })
 *   12 + H ..     data section: the tensors' raw little-endian float32 values, back to back, dataBytes long
 *
 * `seq` counts checkpoints within a run (it orders them when the `latest` pointer cannot be trusted).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { crc32 } from './crc32';
import { RunStoreError } from './errors';
import { openRegularFile } from './safeFs';

export interface Checkpoint {
  /** Anything JSON-serializable: architecture spec, epoch, step, optimizer name, rng state... */
  meta: Record<string, unknown>;
  tensors: Record<string, Float32Array>;
}

export interface CheckpointHeader {
  seq: number;
  createdAt: string;
  meta: Record<string, unknown>;
  tensors: { name: string; offset: number; length: number }[];
  dataBytes: number;
  crc32: number;
  headerCrc32: number;
}

export const CHECKPOINT_MAGIC = 'GLCKPT01';
const PREAMBLE_BYTES = 12;
const MAX_HEADER_BYTES = 256 * 1024 * 1024;
const LITTLE_ENDIAN = os.endianness() === 'LE';

const TAG_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
/** Names `checkpointFileName` can produce; anything else is refused before it becomes a path. */
export const CHECKPOINT_FILE_PATTERN = /^[a-z][a-z0-9_]{0,31}-\d{4,16}\.ckpt$/;

/** `checkpointFileName('epoch', 3)` is "epoch-0003.ckpt". Tags: lowercase letter, then [a-z0-9_], at most 32. */
export function checkpointFileName(tag: string, index: number): string {
  if (typeof tag !== 'string' || !TAG_PATTERN.test(tag)) {
    throw new RunStoreError(
      `invalid checkpoint tag ${JSON.stringify(tag)} (use a lowercase word such as "epoch" or "grow")`,
      'invalidArgument',
    );
  }
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RunStoreError(`invalid checkpoint index ${String(index)} (use a non-negative integer)`, 'invalidArgument');
  }
  return `${tag}-${String(index).padStart(4, '0')}.ckpt`;
}

export function isCheckpointFileName(file: unknown): file is string {
  return typeof file === 'string' && CHECKPOINT_FILE_PATTERN.test(file);
}

/** The header (padded) and the data chunks of a checkpoint, ready to be written in order. */
export function encodeCheckpointParts(
  ckpt: Checkpoint,
  info: { seq: number; createdAt: string },
): { header: Buffer; chunks: Uint8Array[] } {
  if (ckpt === null || typeof ckpt !== 'object' || ckpt.meta === null || typeof ckpt.meta !== 'object' || Array.isArray(ckpt.meta)) {
    throw new RunStoreError('checkpoint meta must be a plain object', 'invalidArgument');
  }
  if (ckpt.tensors === null || typeof ckpt.tensors !== 'object') {
    throw new RunStoreError('checkpoint tensors must be an object of Float32Arrays', 'invalidArgument');
  }
  const tensors: CheckpointHeader['tensors'] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  let dataCrc = 0;
  for (const [name, values] of Object.entries(ckpt.tensors)) {
    if (!(values instanceof Float32Array)) {
      throw new RunStoreError(`checkpoint tensor ${JSON.stringify(name)} is not a Float32Array`, 'invalidArgument');
    }
    const bytes = littleEndianBytes(values);
    tensors.push({ name, offset, length: values.length });
    chunks.push(bytes);
    dataCrc = crc32(bytes, dataCrc);
    offset += bytes.length;
  }
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(JSON.stringify(ckpt.meta)) as Record<string, unknown>;
  } catch (err) {
    throw new RunStoreError(`checkpoint meta is not JSON-serializable: ${(err as Error).message}`, 'invalidArgument');
  }
  const covered = { seq: info.seq, createdAt: info.createdAt, meta, tensors, dataBytes: offset, crc32: dataCrc };
  const headerCrc32 = crc32(Buffer.from(JSON.stringify(covered), 'utf8'));
  const json = Buffer.from(JSON.stringify({ ...covered, headerCrc32 }), 'utf8');
  const padded = Math.ceil((PREAMBLE_BYTES + json.length) / 4) * 4 - PREAMBLE_BYTES;
  const header = Buffer.alloc(PREAMBLE_BYTES + padded, 0x20);
  header.write(CHECKPOINT_MAGIC, 0, 'latin1');
  header.writeUInt32LE(padded, 8);
  json.copy(header, PREAMBLE_BYTES);
  return { header, chunks };
}

/** The whole file as one buffer (tests and small checkpoints; the store writes the parts directly). */
export function encodeCheckpoint(
  ckpt: Checkpoint,
  info: { seq: number; createdAt: string } = { seq: 0, createdAt: new Date(0).toISOString() },
): Buffer {
  const { header, chunks } = encodeCheckpointParts(ckpt, info);
  return Buffer.concat([header, ...chunks]);
}

/** Parses and fully verifies a checkpoint file's bytes. `file` names it in errors. */
export function decodeCheckpoint(bytes: Uint8Array, file: string): { checkpoint: Checkpoint; header: CheckpointHeader } {
  const header = parseHeader(bytes, bytes.length, file);
  const dataStart = PREAMBLE_BYTES + new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const expected = dataStart + header.dataBytes;
  if (bytes.length < expected) throw corrupt(file, `truncated (file is ${bytes.length} bytes, expected ${expected})`);
  if (bytes.length > expected) throw corrupt(file, `${bytes.length - expected} unexpected bytes after the data section`);
  const data = bytes.subarray(dataStart, expected);
  if (crc32(data) !== header.crc32) throw corrupt(file, 'CRC mismatch');
  const tensors: Record<string, Float32Array> = {};
  for (const t of header.tensors) tensors[t.name] = readFloats(data, t.offset, t.length);
  return { checkpoint: { meta: header.meta, tensors }, header };
}

/** Reads and verifies only the header of a checkpoint file (cheap: the data section is not read). */
export function readCheckpointHeader(filePath: string, file: string): CheckpointHeader {
  const { fd, size } = openRegularFile(filePath);
  try {
    const preamble = Buffer.alloc(PREAMBLE_BYTES);
    const got = fs.readSync(fd, preamble, 0, PREAMBLE_BYTES, 0);
    checkPreamble(preamble.subarray(0, got), size, file);
    const headerLength = preamble.readUInt32LE(8);
    const buf = Buffer.alloc(PREAMBLE_BYTES + headerLength);
    preamble.copy(buf);
    fs.readSync(fd, buf, PREAMBLE_BYTES, headerLength, PREAMBLE_BYTES);
    return parseHeader(buf, size, file);
  } finally {
    fs.closeSync(fd);
  }
}

function checkPreamble(bytes: Uint8Array, fileSize: number, file: string): number {
  if (bytes.length < PREAMBLE_BYTES) throw corrupt(file, `truncated (file is ${fileSize} bytes)`);
  if (Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1') !== CHECKPOINT_MAGIC)
    throw corrupt(file, 'bad magic (not a Growth Lab checkpoint)');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES) throw corrupt(file, `implausible header length ${headerLength}`);
  if (PREAMBLE_BYTES + headerLength > fileSize)
    throw corrupt(file, `truncated (file is ${fileSize} bytes, the header alone needs ${PREAMBLE_BYTES + headerLength})`);
  return headerLength;
}

/** `bytes` holds at least the preamble and header; `fileSize` is the size of the whole file. */
function parseHeader(bytes: Uint8Array, fileSize: number, file: string): CheckpointHeader {
  const headerLength = checkPreamble(bytes, fileSize, file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + PREAMBLE_BYTES, headerLength).toString('utf8'));
  } catch {
    throw corrupt(file, 'header is not valid JSON');
  }
  const h = parsed as Partial<CheckpointHeader> | null;
  const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (
    h === null ||
    typeof h !== 'object' ||
    !isUint(h.seq) ||
    typeof h.createdAt !== 'string' ||
    h.meta === null ||
    typeof h.meta !== 'object' ||
    Array.isArray(h.meta) ||
    !Array.isArray(h.tensors) ||
    !isUint(h.dataBytes) ||
    !isUint(h.crc32) ||
    !isUint(h.headerCrc32)
  ) {
    throw corrupt(file, 'header is missing fields');
  }
  const covered = { seq: h.seq, createdAt: h.createdAt, meta: h.meta, tensors: h.tensors, dataBytes: h.dataBytes, crc32: h.crc32 };
  if (crc32(Buffer.from(JSON.stringify(covered), 'utf8')) !== h.headerCrc32) throw corrupt(file, 'header CRC mismatch');
  const names = new Set<string>();
  for (const t of h.tensors as unknown[]) {
    const e = t as { name?: unknown; offset?: unknown; length?: unknown } | null;
    if (e === null || typeof e !== 'object' || typeof e.name !== 'string' || !isUint(e.offset) || !isUint(e.length) || e.offset % 4 !== 0) {
      throw corrupt(file, 'header has a malformed tensor entry');
    }
    if (names.has(e.name)) throw corrupt(file, `tensor ${JSON.stringify(e.name)} appears twice`);
    names.add(e.name);
    if (e.offset + e.length * 4 > h.dataBytes) throw corrupt(file, `tensor ${JSON.stringify(e.name)} lies outside the data section`);
  }
  return h as CheckpointHeader;
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

function readFloats(data: Uint8Array, offset: number, length: number): Float32Array {
  const out = new Float32Array(length);
  if (LITTLE_ENDIAN) {
    // A byte copy (not a float conversion) keeps every bit, NaN payloads included.
    new Uint8Array(out.buffer).set(data.subarray(offset, offset + length * 4));
  } else {
    const view = new DataView(data.buffer, data.byteOffset + offset, length * 4);
    for (let i = 0; i < length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

function corrupt(file: string, problem: string): RunStoreError {
  return new RunStoreError(`checkpoint ${file} is corrupt: ${problem}`, 'corrupt');
}
