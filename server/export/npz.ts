/**
 * NumPy `.npz` files without NumPy: a ZIP archive (stored, uncompressed, with CRC-32) of `.npy` v1.0
 * arrays, which `numpy.load` reads; and a reader for the same (stored entries only) used by import.
 */
import { crc32 } from '../runs/crc32';
import { ExportError } from './files';

export type NpyArray =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'int64'; shape: number[]; data: BigInt64Array }
  | { dtype: 'uint8'; shape: number[]; data: Uint8Array };

const DESCR = { float32: '<f4', int64: '<i8', uint8: '|u1' } as const;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** One array as a `.npy` v1.0 file (little-endian, C order). */
export function encodeNpy(a: NpyArray): Uint8Array {
  const n = a.shape.reduce((x, y) => x * y, 1);
  if (a.data.length !== n) throw new ExportError(`npy: ${a.data.length} values for shape [${a.shape.join(', ')}]`, 'invalidArgument');
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[a.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Magic (6) + version (2) + length (2) + header + '\n' is padded with spaces to a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = Buffer.from(header, 'latin1');
  const body = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const out = new Uint8Array(10 + headerBytes.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = headerBytes.length & 0xff;
  out[9] = headerBytes.length >> 8;
  out.set(headerBytes, 10);
  out.set(body, 10 + headerBytes.length);
  return out;
}

export function decodeNpy(bytes: Uint8Array, what = 'npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new ExportError(`${what}: not a .npy file`, 'unsupported');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new ExportError(`${what}: unreadable .npy header`, 'unsupported');
  if (fortran === 'True') throw new ExportError(`${what}: Fortran-order arrays are not supported`, 'unsupported');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const n = shape.reduce((x, y) => x * y, 1);
  const data = bytes.slice(start + headerLen);
  if (descr === '<f4') {
    if (data.length !== n * 4) throw new ExportError(`${what}: ${data.length} bytes for shape [${shape.join(', ')}]`, 'unsupported');
    return { dtype: 'float32', shape, data: new Float32Array(data.buffer, data.byteOffset, n) };
  }
  if (descr === '<i8') {
    if (data.length !== n * 8) throw new ExportError(`${what}: ${data.length} bytes for shape [${shape.join(', ')}]`, 'unsupported');
    return { dtype: 'int64', shape, data: new BigInt64Array(data.buffer, data.byteOffset, n) };
  }
  if (descr === '|u1') {
    if (data.length !== n) throw new ExportError(`${what}: ${data.length} bytes for shape [${shape.join(', ')}]`, 'unsupported');
    return { dtype: 'uint8', shape, data };
  }
  throw new ExportError(`${what}: dtype ${descr} is not supported (float32 '<f4', int64 '<i8' and uint8 '|u1' are)`, 'unsupported');
}

/** A ZIP archive of `name.npy` entries (stored), in the order given. */
export function encodeNpz(arrays: [string, NpyArray][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [key, a] of arrays) {
    const name = Buffer.from(`${key}.npy`, 'utf8');
    const data = encodeNpy(a);
    if (offset + data.length > 0xfffffff0)
      throw new ExportError('npz: weights over 4 GiB need ZIP64, which is not supported', 'unsupported');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE(20, 4); // version made by
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(0x0800, 8);
    cen.writeUInt16LE(0, 10);
    cen.writeUInt16LE(0, 12);
    cen.writeUInt16LE(0x21, 14);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(data.length, 20);
    cen.writeUInt32LE(data.length, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(cen, name);
    offset += local.length + name.length + data.length;
  }
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(arrays.length, 8);
  end.writeUInt16LE(arrays.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

/** The arrays of an `.npz` made of stored (uncompressed) entries, CRCs checked. */
export function decodeNpz(bytes: Uint8Array, what = 'npz'): Map<string, NpyArray> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ExportError(`${what}: not a ZIP archive`, 'unsupported');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, NpyArray>();
  // Entries of a real archive do not overlap, so together they hold at most the file's bytes: a central
  // directory that points many entries at one member (a ZIP bomb without compression) is refused before
  // any of them is copied.
  let declared = 0;
  for (let k = 0, q = p; k < count; k++) {
    if (q + 46 > buf.length || buf.readUInt32LE(q) !== 0x02014b50)
      throw new ExportError(`${what}: damaged central directory`, 'unsupported');
    declared += buf.readUInt32LE(q + 20);
    if (declared > buf.length)
      throw new ExportError(
        `${what}: its entries declare more than the ${buf.length} bytes the file holds (overlapping entries)`,
        'unsupported',
      );
    q += 46 + buf.readUInt16LE(q + 28) + buf.readUInt16LE(q + 30) + buf.readUInt16LE(q + 32);
  }
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50)
      throw new ExportError(`${what}: damaged central directory`, 'unsupported');
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28),
      extraLen = buf.readUInt16LE(p + 30),
      commentLen = buf.readUInt16LE(p + 32);
    const localAt = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    if (method !== 0)
      throw new ExportError(`${what}: entry ${name} is compressed (np.savez_compressed); save with np.savez`, 'unsupported');
    if (localAt + 30 > buf.length || buf.readUInt32LE(localAt) !== 0x04034b50)
      throw new ExportError(`${what}: damaged entry ${name}`, 'unsupported');
    const dataAt = localAt + 30 + buf.readUInt16LE(localAt + 26) + buf.readUInt16LE(localAt + 28);
    if (dataAt + size > buf.length) throw new ExportError(`${what}: entry ${name} is truncated`, 'unsupported');
    const data = new Uint8Array(buf.subarray(dataAt, dataAt + size)); // copy: aligned for typed arrays
    if (crc32(data) !== crc) throw new ExportError(`${what}: entry ${name} fails its CRC check`, 'unsupported');
    out.set(name.replace(/\.npy$/, ''), decodeNpy(data, `${what}: ${name}`));
  }
  return out;
}
