import { promises as fsp } from 'fs';
import { gunzip } from 'zlib';
import { promisify } from 'util';
import { DatasetError } from './errors';

/**
 * The IDX format of the MNIST files (http://yann.lecun.com/exdb/mnist/): a big-endian uint32 magic
 * number (two zero bytes, a type byte, the number of dimensions), one big-endian uint32 per dimension,
 * then the values in row-major order. Only unsigned-byte files (type 0x08) are used here.
 */
export const IDX_MAGIC_LABELS = 0x00000801; // uint8, 1-D: labels
export const IDX_MAGIC_IMAGES = 0x00000803; // uint8, 3-D: images (n, rows, cols)

export interface IdxTensor {
  magic: number;
  dims: number[];
  /** A view of the values (no copy). */
  data: Uint8Array;
}

const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');
const describeMagic = (m: number) =>
  m === IDX_MAGIC_LABELS
    ? 'uint8 1-D labels'
    : m === IDX_MAGIC_IMAGES
      ? 'uint8 3-D images'
      : `type 0x${((m >>> 8) & 0xff).toString(16)}, ${m & 0xff}-D`;

/** Parses an IDX buffer; `name` (the file) starts every error message. */
export function parseIdx(buf: Uint8Array, name: string, expectedMagic: number): IdxTensor {
  if (buf.length < 4) {
    throw new DatasetError(`${name}: truncated: an IDX file starts with a 4-byte magic number, file has ${buf.length} bytes`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new DatasetError(
      `${name}: wrong magic number ${hex(magic)}, expected ${hex(expectedMagic)} (IDX ${describeMagic(expectedMagic)})`,
    );
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) {
    throw new DatasetError(`${name}: truncated: the header needs ${headerBytes} bytes, file has ${buf.length}`);
  }
  const dims: number[] = [];
  let size = 1;
  for (let d = 0; d < ndims; d++) {
    const v = view.getUint32(4 + 4 * d, false);
    dims.push(v);
    size *= v;
  }
  const have = buf.length - headerBytes;
  if (have < size) {
    throw new DatasetError(`${name}: truncated: header says ${size} bytes of data (dims ${dims.join('x')}), file has ${have}`);
  }
  if (have > size) {
    throw new DatasetError(
      `${name}: size mismatch: header says ${size} bytes of data (dims ${dims.join('x')}), file has ${have} (${have - size} extra)`,
    );
  }
  return { magic, dims, data: buf.subarray(headerBytes, headerBytes + size) };
}

/** Reads `file`, or `file.gz` when only the gzipped form exists; gzip is recognised by its content. */
export async function readIdxFile(file: string, expectedMagic: number): Promise<IdxTensor> {
  let name = file;
  let raw: Buffer;
  try {
    raw = await fsp.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new DatasetError(`${file}: cannot read: ${(e as Error).message}`);
    name = file + '.gz';
    try {
      raw = await fsp.readFile(name);
    } catch {
      throw new DatasetError(`${file}: file not found (nor ${name})`);
    }
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = await promisify(gunzip)(raw);
    } catch (e) {
      throw new DatasetError(`${name}: corrupt gzip data: ${(e as Error).message}`);
    }
  }
  return parseIdx(raw, name, expectedMagic);
}
