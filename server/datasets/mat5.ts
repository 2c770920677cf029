/**
 * A small, bounded reader of MATLAB level-5 MAT-files (The MathWorks, "MAT-File Format", the
 * Level 5 chapter), enough for numeric arrays such as SVHN's: a 128-byte header (text, subsystem
 * offset, version 0x0100, endian indicator 'IM' for little-endian), then data elements, each an
 * 8-byte tag (type, byte count; or the 4-byte "small element" form) and its data padded to 8 bytes.
 * A miMATRIX element holds array flags (class), dimensions, the name and the real part; miCOMPRESSED
 * wraps one element in a zlib stream (MATLAB's -v7 files, and SVHN's). Dimensions are column-major.
 *
 * Only the variables asked for are decompressed: a compressed element's first bytes are inflated to
 * read its name. Not supported (clear errors): big-endian files, v7.3 (HDF5) files, complex, sparse,
 * cell and struct arrays.
 */
import { constants, inflateSync } from 'zlib';
import { DatasetError, parsing } from './errors';

export const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
} as const;

/** Bytes per value of each numeric element type. */
const ELEMENT_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };
const CLASS_NAMES: Record<number, string> = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
};

export interface MatArray {
  name: string;
  /** 'double', 'uint8', ... */
  className: string;
  /** Column-major dimensions as stored. */
  dims: number[];
  /** The real part as stored: its element type and its bytes (a view; little-endian). */
  type: number;
  bytes: Uint8Array;
}

/** Most bytes one variable may inflate to (4 GiB less one: what Node's buffers hold). */
export const MAX_VARIABLE_BYTES = 2 ** 32 - 1;

interface Tag {
  type: number;
  size: number;
  /** Offset of the data. */
  data: number;
  /** Offset just past the element (and its padding). */
  next: number;
}

function readTag(buf: Uint8Array, view: DataView, at: number, file: string, what: string): Tag {
  if (at + 8 > buf.length)
    throw new DatasetError(`${file}: truncated: ${what} needs an 8-byte tag at byte ${at}, the data ends at ${buf.length}`);
  const first = view.getUint32(at, true);
  if (first >>> 16 !== 0) {
    // small data element: type and size in one word, up to 4 bytes of data
    const size = first >>> 16;
    if (size > 4) throw new DatasetError(`${file}: bad small data element at byte ${at} (${size} bytes, at most 4)`);
    return { type: first & 0xffff, size, data: at + 4, next: at + 8 };
  }
  const size = view.getUint32(at + 4, true);
  const end = at + 8 + size;
  if (end > buf.length) {
    throw new DatasetError(`${file}: truncated: ${what} at byte ${at} says ${size} bytes, only ${buf.length - at - 8} follow`);
  }
  return { type: first, size, data: at + 8, next: first === MI.COMPRESSED ? end : end + ((8 - (size % 8)) % 8) };
}

/** Checks the 128-byte header; throws for v7.3 (HDF5) and big-endian files. */
export function checkMatHeader(buf: Uint8Array, file: string): void {
  if (buf.length < 128)
    throw new DatasetError(`${file}: not a MAT-file: ${buf.length} bytes, a level-5 MAT-file starts with a 128-byte header`);
  const text = Buffer.from(buf.subarray(0, 116)).toString('latin1');
  const endian = String.fromCharCode(buf[126], buf[127]);
  const version = buf[124] | (buf[125] << 8);
  if (text.startsWith('MATLAB 7.3') || version === 0x0200) {
    throw new DatasetError(`${file}: a MATLAB v7.3 (HDF5) file; save it with -v7 (or -v6), the level-5 format`);
  }
  if (endian === 'MI') throw new DatasetError(`${file}: a big-endian MAT-file; only little-endian files are read`);
  if (endian !== 'IM' || !text.startsWith('MATLAB')) {
    throw new DatasetError(`${file}: not a level-5 MAT-file (want the text "MATLAB 5.0 MAT-file" and the endian indicator "IM")`);
  }
}

/** The name inside a miMATRIX element's data (flags, dims, name), or undefined when it cannot be read from `buf`. */
function matrixHeader(buf: Uint8Array, file: string): { flags: Tag; dims: Tag; name: Tag; view: DataView } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const flags = readTag(buf, view, 0, file, 'the array flags');
  const dims = readTag(buf, view, flags.next, file, 'the dimensions');
  const name = readTag(buf, view, dims.next, file, 'the array name');
  return { flags, dims, name, view };
}

function nameOf(buf: Uint8Array, name: Tag): string {
  return Buffer.from(buf.subarray(name.data, name.data + name.size)).toString('latin1');
}

/** Parses one miMATRIX element's data into a MatArray. */
function parseMatrix(body: Uint8Array, file: string): MatArray {
  const { flags, dims, name, view } = matrixHeader(body, file);
  if (flags.type !== MI.UINT32 || flags.size < 8) throw new DatasetError(`${file}: bad array flags (want miUINT32, 8 bytes)`);
  const word = view.getUint32(flags.data, true);
  const classId = word & 0xff;
  const complex = (word & 0x800) !== 0;
  const varName = nameOf(body, name);
  const className = CLASS_NAMES[classId] ?? `class ${classId}`;
  if (classId < 6 || classId > 15)
    throw new DatasetError(`${file}: variable "${varName}" is a ${className} array; only numeric arrays are read`);
  if (complex) throw new DatasetError(`${file}: variable "${varName}" is complex; only real arrays are read`);
  if (dims.type !== MI.INT32 || dims.size % 4 !== 0 || dims.size === 0)
    throw new DatasetError(`${file}: variable "${varName}": bad dimensions element`);
  const shape: number[] = [];
  for (let k = 0; k < dims.size / 4; k++) {
    const v = view.getInt32(dims.data + 4 * k, true);
    if (v < 0) throw new DatasetError(`${file}: variable "${varName}": negative dimension ${v}`);
    shape.push(v);
  }
  const real = readTag(body, view, name.next, file, `the values of "${varName}"`);
  const per = ELEMENT_BYTES[real.type];
  if (!per) throw new DatasetError(`${file}: variable "${varName}": values stored as element type ${real.type}, not a numeric type`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (real.size !== count * per) {
    throw new DatasetError(
      `${file}: variable "${varName}" is [${shape.join(', ')}] (${count} values) but holds ${real.size} bytes of ${per}-byte values`,
    );
  }
  return { name: varName, className, dims: shape, type: real.type, bytes: body.subarray(real.data, real.data + real.size) };
}

/** Peeks at a compressed element's variable name by inflating only its first bytes. */
function compressedName(z: Uint8Array, file: string): string | undefined {
  let head: Uint8Array;
  try {
    head = inflateSync(z.subarray(0, Math.min(z.length, 512)), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (e) {
    throw new DatasetError(`${file}: corrupt compressed variable: ${(e as Error).message}`);
  }
  if (head.length < 8) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(0, true) !== MI.MATRIX) return undefined;
  try {
    const { name } = matrixHeader(head.subarray(8), file);
    return nameOf(head.subarray(8), name);
  } catch {
    return undefined; // the name lies beyond the peeked bytes: inflate it all
  }
}

/** The variables of a MAT-file's bytes named in `wanted` (others are skipped, compressed ones unread). */
export function readMatVariables(buf: Uint8Array, file: string, wanted: readonly string[]): Map<string, MatArray> {
  return parsing(file, 'MAT-file', () => readVariables(buf, file, wanted));
}

function readVariables(buf: Uint8Array, file: string, wanted: readonly string[]): Map<string, MatArray> {
  checkMatHeader(buf, file);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Map<string, MatArray>();
  let at = 128;
  while (at < buf.length && out.size < wanted.length) {
    if (buf.length - at < 8) break; // trailing padding
    const tag = readTag(buf, view, at, file, 'a data element');
    let body: Uint8Array | undefined;
    if (tag.type === MI.MATRIX) {
      body = buf.subarray(tag.data, tag.data + tag.size);
    } else if (tag.type === MI.COMPRESSED) {
      const z = buf.subarray(tag.data, tag.data + tag.size);
      const peek = compressedName(z, file);
      if (peek === undefined || wanted.includes(peek)) {
        let inner: Buffer;
        try {
          inner = inflateSync(z, { maxOutputLength: MAX_VARIABLE_BYTES });
        } catch (e) {
          throw new DatasetError(`${file}: cannot decompress the variable at byte ${at}: ${(e as Error).message}`);
        }
        const iv = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
        const it = readTag(inner, iv, 0, file, 'a compressed element');
        if (it.type === MI.MATRIX) body = inner.subarray(it.data, it.data + it.size);
      }
    }
    if (body && body.length > 0) {
      const arr = parseMatrix(body, file);
      if (wanted.includes(arr.name) && !out.has(arr.name)) out.set(arr.name, arr);
    }
    at = tag.next;
  }
  return out;
}

/** A variable's values as numbers (any numeric storage type), for small arrays such as labels. */
export function matNumbers(a: MatArray): Float64Array {
  const n = a.bytes.length / (ELEMENT_BYTES[a.type] ?? 1);
  const v = new DataView(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (a.type) {
      case MI.INT8:
        out[i] = v.getInt8(i);
        break;
      case MI.UINT8:
        out[i] = v.getUint8(i);
        break;
      case MI.INT16:
        out[i] = v.getInt16(2 * i, true);
        break;
      case MI.UINT16:
        out[i] = v.getUint16(2 * i, true);
        break;
      case MI.INT32:
        out[i] = v.getInt32(4 * i, true);
        break;
      case MI.UINT32:
        out[i] = v.getUint32(4 * i, true);
        break;
      case MI.SINGLE:
        out[i] = v.getFloat32(4 * i, true);
        break;
      case MI.DOUBLE:
        out[i] = v.getFloat64(8 * i, true);
        break;
      case MI.INT64:
        out[i] = Number(v.getBigInt64(8 * i, true));
        break;
      default:
        out[i] = Number(v.getBigUint64(8 * i, true));
    }
  }
  return out;
}
