/**
 * The engine's native kernels: a Node-API addon in C (server/engine/native/convWeightGradient.c) that
 * `npm run build:native` compiles into dist/native/growth-lab-kernels-<platform>-<arch>.node. Optional:
 * where it is missing or does not load, loadNativeKernels() says why and the engine keeps its
 * onnxruntime forms.
 *
 *   GROWTH_LAB_NATIVE=0                turns the kernels off.
 *   GROWTH_LAB_NATIVE_PATH=file.node   loads that file (and looks nowhere else).
 *   GROWTH_LAB_NATIVE_ISA=avx2|generic the addon's narrower vector paths, for tests (read by the addon).
 */
import * as fs from 'fs';
import * as path from 'path';

/** The addon's `version` this loader speaks to. */
export const NATIVE_KERNELS_VERSION = 1;
/** The addon's file name for this platform and CPU architecture. */
export const NATIVE_KERNELS_FILE = `growth-lab-kernels-${process.platform}-${process.arch}.node`;
/** Most threads one call may use. */
export const NATIVE_MAX_THREADS = 64;

/** A stride-1, dilation-1, ungrouped convolution of x [n, c, h, w] by a [o, c, kh, kw] kernel, with zero pads. */
export interface ConvWeightGradientDims {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

export interface NativeKernels {
  /** The .node file loaded. */
  readonly path: string;
  /** The vector path it picked for this CPU: 'avx512f', 'avx2' or 'generic'. */
  readonly isa: string;
  /**
   * The kernel gradient dW [o, c, kh, kw] of that convolution from its input x [n, c, h, w] and output
   * cotangent g [n, o, oh, ow] (oh = h + padTop + padBottom - kh + 1, ow likewise), float32 NCHW:
   * dW[o][c][i][j] = Σ_n Σ_y Σ_x g[n][o][y][x] · xpad[n][c][y + i][x + j]. Runs synchronously on
   * `threads` threads (1 to 64, at most n used) and writes `out` (allocated when not given).
   */
  convWeightGradient(x: Float32Array, g: Float32Array, d: ConvWeightGradientDims, threads: number, out?: Float32Array): Float32Array;
}

export type NativeKernelsLoad = { kernels: NativeKernels } | { kernels: undefined; reason: string };

/** What the addon exports (convWeightGradient.c's binding). */
interface Addon {
  version: unknown;
  isa(): string;
  convWeightGradient(x: Float32Array, g: Float32Array, dims: Int32Array, threads: number, out: Float32Array): void;
}

const DIM_ORDER = ['n', 'c', 'h', 'w', 'o', 'kh', 'kw', 'padTop', 'padLeft', 'padBottom', 'padRight'] as const;

let cached: NativeKernelsLoad | undefined;

/** The native kernels, loaded on the first call (the answer, kernels or the reason there are none, is kept). */
export function loadNativeKernels(): NativeKernelsLoad {
  cached ??= load();
  return cached;
}

/**
 * Where the addon may be: the bundled backend's own folder (dist/cli.js -> dist/native/), then the
 * repository's dist/native/ from this source file (server/engine/ under tsx).
 */
function candidates(): string[] {
  const places = [path.join(__dirname, 'native'), path.join(__dirname, '..', '..', 'dist', 'native')];
  return [...new Set(places.map((dir) => path.resolve(dir, NATIVE_KERNELS_FILE)))];
}

const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0];

function load(): NativeKernelsLoad {
  if (process.env.GROWTH_LAB_NATIVE === '0') return { kernels: undefined, reason: 'GROWTH_LAB_NATIVE=0 turns the native kernels off' };
  const given = process.env.GROWTH_LAB_NATIVE_PATH;
  let file: string | undefined;
  if (given) {
    file = path.resolve(given);
    if (!fs.existsSync(file)) return { kernels: undefined, reason: `GROWTH_LAB_NATIVE_PATH=${given}: no such file` };
  } else {
    const places = candidates();
    file = places.find((f) => fs.existsSync(f));
    if (!file) {
      const dirs = places.map((f) => path.dirname(f)).join(', ');
      return { kernels: undefined, reason: `${NATIVE_KERNELS_FILE} is not in ${dirs}; run \`npm run build:native\`` };
    }
  }
  let addon: Addon;
  try {
    // A computed path: esbuild leaves this require to Node, which loads the .node file.
    addon = require(file) as Addon;
  } catch (e) {
    return { kernels: undefined, reason: `${file} does not load: ${firstLine(e)}` };
  }
  if (addon.version !== NATIVE_KERNELS_VERSION) {
    const reason = `${file} is version ${String(addon.version)}, this engine needs ${NATIVE_KERNELS_VERSION}; run \`npm run build:native\``;
    return { kernels: undefined, reason };
  }
  return { kernels: wrap(file, addon) };
}

function wrap(file: string, addon: Addon): NativeKernels {
  return {
    path: file,
    isa: addon.isa(),
    convWeightGradient(x, g, d, threads, out) {
      const { dims, oh, ow } = checkDims(d);
      const { n, c, h, w, o, kh, kw } = d;
      if (!Number.isInteger(threads) || threads < 1 || threads > NATIVE_MAX_THREADS)
        throw new RangeError(`convWeightGradient: threads must be an integer from 1 to ${NATIVE_MAX_THREADS}, got ${threads}`);
      checkArray('x', x, n * c * h * w, `n*c*h*w = ${n}*${c}*${h}*${w}`);
      checkArray('g', g, n * o * oh * ow, `n*o*oh*ow = ${n}*${o}*${oh}*${ow}`);
      out ??= new Float32Array(o * c * kh * kw);
      checkArray('out', out, o * c * kh * kw, `o*c*kh*kw = ${o}*${c}*${kh}*${kw}`);
      addon.convWeightGradient(x, g, dims, threads, out);
      return out;
    },
  };
}

/** The dims as the addon's Int32Array and the output map, after checking each. */
function checkDims(d: ConvWeightGradientDims): { dims: Int32Array; oh: number; ow: number } {
  if (typeof d !== 'object' || d === null) throw new TypeError(`convWeightGradient: dims must be an object, got ${describe(d)}`);
  const values = DIM_ORDER.map((key, k) => {
    const v = d[key];
    const least = k < 7 ? 1 : 0;
    if (!Number.isInteger(v) || v < least || v > 0x7fffffff)
      throw new RangeError(`convWeightGradient: dims.${key} must be an integer from ${least} to 2^31 - 1, got ${String(v)}`);
    return v;
  });
  const oh = d.h + d.padTop + d.padBottom - d.kh + 1;
  const ow = d.w + d.padLeft + d.padRight - d.kw + 1;
  if (oh < 1 || ow < 1)
    throw new RangeError(
      `convWeightGradient: the output map is ${oh}x${ow} (h + padTop + padBottom - kh + 1 by w + padLeft + padRight - kw + 1); it must be at least 1x1`,
    );
  return { dims: Int32Array.from(values), oh, ow };
}

function checkArray(name: string, a: unknown, expected: number, formula: string): void {
  if (!(a instanceof Float32Array)) throw new TypeError(`convWeightGradient: ${name} must be a Float32Array, got ${describe(a)}`);
  if (a.length !== expected) throw new RangeError(`convWeightGradient: ${name} has length ${a.length}, expected ${formula} = ${expected}`);
}

/** A value's class name (Float64Array, Array, ...) or typeof, for messages. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'object';
}
