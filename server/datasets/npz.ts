/**
 * NumPy `.npz` files as datasets: a ZIP archive (entries stored, as np.savez writes them, or
 * deflated, as np.savez_compressed does; ZIP64 sizes understood) of `.npy` arrays (NumPy's
 * format.py: magic "\x93NUMPY", version, a little header dict with descr, fortran_order and shape,
 * then the values in C order). The export code's npz reader (server/export/npz.ts) reads only
 * stored float32/int64 entries for weights, so datasets have this one: uint8 and float32 images,
 * any integer labels, deflate, and bounded reads with errors that name the file.
 */
import { promises as fsp } from 'fs';
import { inflateRawSync } from 'zlib';
import { DatasetError, parsing } from './errors';
import { fmtBytes } from './imageSplits';

/** Most bytes an .npz file, or one entry of it, may hold here. */
export const MAX_NPZ_BYTES = 2 ** 31 - 1;

interface ZipEntry {
  name: string;
  method: number;
  compressed: number;
  size: number;
  localHeader: number;
}

/** The entries of a ZIP archive's central directory. */
export function zipEntries(buf: Uint8Array, file: string): Map<string, ZipEntry> {
  return parsing(file, 'ZIP directory', () => readDirectory(buf, file));
}

function readDirectory(buf: Uint8Array, file: string): Map<string, ZipEntry> {
  if (buf.length < 22) throw new DatasetError(`${file}: not an .npz file (${buf.length} bytes; a ZIP archive ends with a 22-byte record)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // the end-of-central-directory record: the last 22 bytes, or earlier by a comment of up to 65,535 bytes
  let eocd = -1;
  for (let at = buf.length - 22; at >= Math.max(0, buf.length - 22 - 65535); at--) {
    if (view.getUint32(at, true) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new DatasetError(`${file}: not an .npz file (no ZIP end-of-central-directory record)`);
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) {
    // ZIP64: the locator sits just before the EOCD and points at the ZIP64 EOCD record
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== 0x07064b50) throw new DatasetError(`${file}: ZIP64 archive without its locator`);
    const z = Number(view.getBigUint64(loc + 8, true));
    if (z + 56 > buf.length || view.getUint32(z, true) !== 0x06064b50)
      throw new DatasetError(`${file}: bad ZIP64 end-of-central-directory record`);
    count = Number(view.getBigUint64(z + 32, true));
    cdSize = Number(view.getBigUint64(z + 40, true));
    cdOffset = Number(view.getBigUint64(z + 48, true));
  }
  if (cdOffset + cdSize > buf.length) throw new DatasetError(`${file}: truncated: the ZIP directory lies past the end of the file`);
  const out = new Map<string, ZipEntry>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > buf.length || view.getUint32(at, true) !== 0x02014b50)
      throw new DatasetError(`${file}: corrupt ZIP directory (entry ${i})`);
    const method = view.getUint16(at + 10, true);
    let compressed = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    let localHeader = view.getUint32(at + 42, true);
    const name = Buffer.from(buf.subarray(at + 46, at + 46 + nameLen)).toString('utf8');
    // ZIP64 extended information: the 0xffffffff fields, in order, as 8-byte values
    let e = at + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let p = e + 4;
        if (size === 0xffffffff) ((size = Number(view.getBigUint64(p, true))), (p += 8));
        if (compressed === 0xffffffff) ((compressed = Number(view.getBigUint64(p, true))), (p += 8));
        if (localHeader === 0xffffffff) localHeader = Number(view.getBigUint64(p, true));
      }
      e += 4 + len;
    }
    out.set(name, { name, method, compressed, size, localHeader });
    at = eEnd + commentLen;
  }
  return out;
}

/** The uncompressed bytes of one entry (a view for stored entries). */
export function zipEntryData(buf: Uint8Array, entry: ZipEntry, file: string): Uint8Array {
  return parsing(file, `ZIP entry ${entry.name}`, () => entryData(buf, entry, file));
}

function entryData(buf: Uint8Array, entry: ZipEntry, file: string): Uint8Array {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = entry.localHeader;
  if (h + 30 > buf.length || view.getUint32(h, true) !== 0x04034b50) throw new DatasetError(`${file}: corrupt ZIP entry ${entry.name}`);
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  const end = start + entry.compressed;
  if (end > buf.length) throw new DatasetError(`${file}: truncated: entry ${entry.name} needs ${entry.compressed} bytes at byte ${start}`);
  if (entry.size > MAX_NPZ_BYTES)
    throw new DatasetError(`${file}: entry ${entry.name} is ${fmtBytes(entry.size)}, more than the ${fmtBytes(MAX_NPZ_BYTES)} read here`);
  const raw = buf.subarray(start, end);
  if (entry.method === 0) return raw;
  if (entry.method !== 8)
    throw new DatasetError(
      `${file}: entry ${entry.name} uses ZIP method ${entry.method}; only stored (np.savez) and deflate (np.savez_compressed) are read`,
    );
  let out: Buffer;
  try {
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
  } catch (e) {
    throw new DatasetError(`${file}: cannot decompress entry ${entry.name}: ${(e as Error).message}`);
  }
  if (out.length !== entry.size)
    throw new DatasetError(`${file}: entry ${entry.name} inflates to ${out.length} bytes, the directory says ${entry.size}`);
  return out;
}

export interface NpyArray {
  /** NumPy's type string, e.g. '|u1', '<f4', '<i8'. */
  descr: string;
  shape: number[];
  /** The values' bytes (C order, little-endian). */
  bytes: Uint8Array;
}

const ITEM_BYTES: Record<string, number> = { u1: 1, i1: 1, b1: 1, u2: 2, i2: 2, u4: 4, i4: 4, f4: 4, u8: 8, i8: 8, f8: 8 };

/** Parses a .npy file's header; `what` names the array in errors. */
export function parseNpy(bytes: Uint8Array, what: string): NpyArray {
  return parsing(what, '.npy array', () => npyArray(bytes, what));
}

function npyArray(bytes: Uint8Array, what: string): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new DatasetError(`${what}: not a .npy array (no \\x93NUMPY magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new DatasetError(`${what}: .npy version ${major}.${bytes[7]} is not known`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (headerLen > 65536 || start + headerLen > bytes.length) throw new DatasetError(`${what}: truncated .npy header`);
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new DatasetError(`${what}: unreadable .npy header ${JSON.stringify(header.trim().slice(0, 200))}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new DatasetError(`${what}: bad shape (${shapeText})`);
  if (fortran === 'True') throw new DatasetError(`${what}: a Fortran-order array; save it in C order (np.ascontiguousarray)`);
  const kind = descr.slice(1);
  const per = ITEM_BYTES[kind];
  if (!per || (descr[0] === '>' && per > 1))
    throw new DatasetError(`${what}: dtype ${descr} is not read here (uint8, float32 images; integer labels)`);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(start + headerLen);
  if (data.length !== n * per) {
    throw new DatasetError(`${what}: shape [${shape.join(', ')}] of ${descr} needs ${n * per} bytes, the array holds ${data.length}`);
  }
  return { descr, shape, bytes: data };
}

/** Reads an .npz file (bounded) and the arrays named in `wanted` that it has. */
export async function readNpz(p: string, file: string, wanted: readonly string[]): Promise<Map<string, NpyArray>> {
  let size: number;
  try {
    const s = await fsp.stat(p);
    if (!s.isFile()) throw new DatasetError(`${file}: is not a file`);
    size = s.size;
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(`${file}: file not found (${p})`);
  }
  if (size > MAX_NPZ_BYTES) throw new DatasetError(`${file}: is ${fmtBytes(size)}, more than the ${fmtBytes(MAX_NPZ_BYTES)} read here`);
  const buf = await fsp.readFile(p);
  const entries = zipEntries(buf, file);
  const out = new Map<string, NpyArray>();
  for (const name of wanted) {
    const e = entries.get(`${name}.npy`);
    if (e) out.set(name, parseNpy(zipEntryData(buf, e, file), `${file}: ${name}`));
  }
  return out;
}

/** uint8 or float32 values of an array (a copy when unaligned or needing conversion). */
export function npyPixels(a: NpyArray, what: string): Uint8Array | Float32Array {
  const k = a.descr.slice(1);
  if (k === 'u1') return a.bytes;
  if (k === 'f4') {
    const b = a.bytes;
    if (b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
    const aligned = new Uint8Array(b.length); // (Buffer#slice would be a view, still unaligned)
    aligned.set(b);
    return new Float32Array(aligned.buffer);
  }
  throw new DatasetError(`${what}: dtype ${a.descr}; images must be uint8 or float32`);
}

/** Integer class labels (any integer dtype, or floats holding integers), checked non-negative. */
export function npyLabels(a: NpyArray, what: string): Int32Array {
  const n = a.shape.reduce((x, y) => x * y, 1);
  const v = new DataView(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
  const k = a.descr.slice(1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let x: number;
    switch (k) {
      case 'u1':
      case 'b1':
        x = v.getUint8(i);
        break;
      case 'i1':
        x = v.getInt8(i);
        break;
      case 'u2':
        x = v.getUint16(2 * i, true);
        break;
      case 'i2':
        x = v.getInt16(2 * i, true);
        break;
      case 'u4':
        x = v.getUint32(4 * i, true);
        break;
      case 'i4':
        x = v.getInt32(4 * i, true);
        break;
      case 'u8':
        x = Number(v.getBigUint64(8 * i, true));
        break;
      case 'i8':
        x = Number(v.getBigInt64(8 * i, true));
        break;
      case 'f4':
        x = v.getFloat32(4 * i, true);
        break;
      default:
        x = v.getFloat64(8 * i, true);
    }
    if (!Number.isInteger(x) || x < 0 || x > 1_000_000)
      throw new DatasetError(`${what}[${i}] is ${x}; labels must be class indices 0, 1, 2, ...`);
    out[i] = x;
  }
  return out;
}
