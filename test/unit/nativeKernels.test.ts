/**
 * The native kernels' addon (server/engine/native/, `npm run build:native`) against a float64 sum of
 * the weight-gradient formula, its vector paths, its argument checks (in the loader and in C), and the
 * loader's reasons when there is no addon. Without a loadable addon the kernel tests skip, or fail
 * under GROWTH_LAB_NATIVE=required (.ci/run).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConvWeightGradientDims, NativeKernels, loadNativeKernels } from '../../server/engine/nativeKernels';

const loaded = loadNativeKernels();

/** The addon, or undefined after skipping the test (failing it under GROWTH_LAB_NATIVE=required). */
function kernelsFor(t: TestContext): NativeKernels | undefined {
  if (loaded.kernels) return loaded.kernels;
  if (process.env.GROWTH_LAB_NATIVE === 'required') assert.fail(`GROWTH_LAB_NATIVE=required, but ${loaded.reason}`);
  t.skip(loaded.reason);
  return undefined;
}

/** Uniform numbers in [-0.5, 0.5) from a seed (mulberry32). */
function randoms(length: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 2 ** 32 - 0.5;
  });
}

const outputMap = (d: ConvWeightGradientDims) => ({
  oh: d.h + d.padTop + d.padBottom - d.kh + 1,
  ow: d.w + d.padLeft + d.padRight - d.kw + 1,
});

/** dW[o][c][i][j] = Σ_n Σ_y<oh Σ_x<ow g[n][o][y][x] · xpad[n][c][y + i][x + j], in float64. */
function reference(x: Float32Array, g: Float32Array, d: ConvWeightGradientDims): Float64Array {
  const { n, c, h, w, o, kh, kw, padTop, padLeft } = d;
  const { oh, ow } = outputMap(d);
  const dw = new Float64Array(o * c * kh * kw);
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let ic = 0; ic < c; ic++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            let s = 0;
            for (let y = 0; y < oh; y++) {
              const yy = y + i - padTop;
              if (yy < 0 || yy >= h) continue;
              for (let xx = 0; xx < ow; xx++) {
                const xq = xx + j - padLeft;
                if (xq < 0 || xq >= w) continue;
                s += g[((b * o + oc) * oh + y) * ow + xx] * x[((b * c + ic) * h + yy) * w + xq];
              }
            }
            dw[((oc * c + ic) * kh + i) * kw + j] += s;
          }
  return dw;
}

/** Largest |a - b| relative to the largest |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let err = 0,
    top = 0;
  for (let k = 0; k < a.length; k++) {
    err = Math.max(err, Math.abs(a[k] - b[k]));
    top = Math.max(top, Math.abs(b[k]));
  }
  return err / (top || 1);
}

function dims(n: number, c: number, h: number, w: number, o: number, kh: number, kw: number, pads: number[]): ConvWeightGradientDims {
  const [padTop, padLeft, padBottom, padRight] = pads;
  return { n, c, h, w, o, kh, kw, padTop, padLeft, padBottom, padRight };
}

function inputs(d: ConvWeightGradientDims, seed: number) {
  const { oh, ow } = outputMap(d);
  return { x: randoms(d.n * d.c * d.h * d.w, seed), g: randoms(d.n * d.o * oh * ow, seed + 1) };
}

function assertMatchesReference(k: NativeKernels, d: ConvWeightGradientDims, threads: number, seed: number) {
  const { x, g } = inputs(d, seed);
  const dw = k.convWeightGradient(x, g, d, threads);
  assert.equal(dw.length, d.o * d.c * d.kh * d.kw);
  const err = relativeError(dw, reference(x, g, d));
  assert.ok(err < 1e-4, `${JSON.stringify(d)}, ${threads} thread(s): relative error ${err.toExponential(2)} (${k.isa})`);
}

const CASES: [string, ConvWeightGradientDims, number][] = [
  ['3x3 pad 1, 16 -> 16 on 8x8, batch 3', dims(3, 16, 8, 8, 16, 3, 3, [1, 1, 1, 1]), 2],
  ['3x3 pad 1, odd channels 5 -> 7', dims(2, 5, 6, 6, 7, 3, 3, [1, 1, 1, 1]), 2],
  ['1x1 pad 0', dims(2, 12, 5, 5, 9, 1, 1, [0, 0, 0, 0]), 2],
  ['5x5 pad 2', dims(2, 8, 7, 7, 6, 5, 5, [2, 2, 2, 2]), 2],
  ['2x3 kernel, pads top 0 left 1 bottom 2 right 0', dims(2, 6, 5, 7, 4, 2, 3, [0, 1, 2, 0]), 2],
  ['3x3 pad 1 on a 5x9 map (H != W)', dims(2, 16, 5, 9, 8, 3, 3, [1, 1, 1, 1]), 1],
  ['batch 1 on 2 threads', dims(1, 16, 6, 6, 16, 3, 3, [1, 1, 1, 1]), 2],
  ['3x3 pad 1, 32 -> 24 on 6x6', dims(2, 32, 6, 6, 24, 3, 3, [1, 1, 1, 1]), 2],
  ['3x3 pad 1, 64 -> 64 on 8x8 (the widest tiles)', dims(2, 64, 8, 8, 64, 3, 3, [1, 1, 1, 1]), 2],
  ['3x3 pad 0, 3 -> 5 on 4x4 to a 2x2 map, batch 5 on 3 threads', dims(5, 3, 4, 4, 5, 3, 3, [0, 0, 0, 0]), 3],
  ['a kernel as large as the padded map (1x1 output)', dims(2, 4, 3, 3, 3, 5, 4, [1, 0, 1, 1]), 2],
];

for (const [name, d, threads] of CASES) {
  test(`convWeightGradient equals the float64 sum: ${name}`, (t) => {
    const k = kernelsFor(t);
    if (k) assertMatchesReference(k, d, threads, d.c * 101 + d.o);
  });
}

test('convWeightGradient on 1 and on 2 threads agrees up to rounding, and writes the given out', (t) => {
  const k = kernelsFor(t);
  if (!k) return;
  const d = dims(6, 32, 8, 8, 16, 3, 3, [1, 1, 1, 1]);
  const { x, g } = inputs(d, 7);
  const one = k.convWeightGradient(x, g, d, 1);
  const out = new Float32Array(one.length).fill(NaN);
  assert.equal(k.convWeightGradient(x, g, d, 2, out), out, 'returns the out it was given');
  assert.ok(relativeError(out, one) < 1e-5, `relative difference ${relativeError(out, one)}`);
  assert.deepEqual(k.convWeightGradient(x, g, d, 2), out, 'the same threads give the same sums');
  const shifted = new Float32Array(x.length + 5);
  shifted.set(x, 3);
  assert.deepEqual(k.convWeightGradient(shifted.subarray(3, 3 + x.length), g, d, 2), out, 'a view at an offset reads from its offset');
});

test('the loader checks the arguments and names the problem', (t) => {
  const k = kernelsFor(t);
  if (!k) return;
  const d = dims(2, 3, 4, 4, 2, 3, 3, [1, 1, 1, 1]);
  const { x, g } = inputs(d, 3);
  assert.throws(() => k.convWeightGradient(x.subarray(1), g, d, 2), {
    name: 'RangeError',
    message: /x has length 95, expected n\*c\*h\*w = .* = 96/,
  });
  assert.throws(() => k.convWeightGradient(x, g, { ...d, padTop: -1 }, 2), {
    name: 'RangeError',
    message: /dims\.padTop must be an integer .* got -1/,
  });
  assert.throws(() => k.convWeightGradient(x, g, { ...d, kh: 7 }, 2), { name: 'RangeError', message: /output map is 0x4/ });
  assert.throws(() => k.convWeightGradient(x, g, d, 0), { name: 'RangeError', message: /threads must be an integer from 1 to 64, got 0/ });
  assert.throws(() => k.convWeightGradient(x, g, { ...d, c: 2.5 }, 2), { name: 'RangeError', message: /dims\.c must be an integer/ });
  assert.throws(() => k.convWeightGradient(Float64Array.from(x) as unknown as Float32Array, g, d, 2), {
    name: 'TypeError',
    message: /x must be a Float32Array, got Float64Array/,
  });
  assert.throws(() => k.convWeightGradient(x, g, d, 2, new Float32Array(3)), {
    name: 'RangeError',
    message: /out has length 3, expected o\*c\*kh\*kw/,
  });
});

test('the addon checks its arguments itself and names the problem', (t) => {
  const k = kernelsFor(t);
  if (!k) return;
  const addon = require(k.path) as {
    convWeightGradient(...args: unknown[]): void;
    isa(): string;
    version: number;
  };
  assert.equal(addon.version, 1);
  assert.equal(addon.isa(), k.isa);
  assert.ok(['avx512f', 'avx2', 'generic'].includes(k.isa), k.isa);
  const d = [2, 3, 4, 4, 2, 3, 3, 1, 1, 1, 1];
  const x = new Float32Array(96),
    g = new Float32Array(64),
    out = new Float32Array(54);
  const call =
    (...args: unknown[]) =>
    () =>
      addon.convWeightGradient(...args);
  const withDim = (k: number, v: number) => Int32Array.from(d, (u, i) => (i === k ? v : u));
  assert.doesNotThrow(call(x, g, Int32Array.from(d), 2, out));
  assert.throws(call(x, g, Int32Array.from(d), 2), { name: 'TypeError', message: /expected 5 arguments .* got 4/ });
  assert.throws(call(x.subarray(1), g, Int32Array.from(d), 2, out), {
    name: 'RangeError',
    message: /x has length 95, expected N\*C\*H\*W = 2\*3\*4\*4 = 96/,
  });
  assert.throws(call(x, g.subarray(1), Int32Array.from(d), 2, out), {
    name: 'RangeError',
    message: /g has length 63, expected N\*O\*OH\*OW = 2\*2\*4\*4 = 64/,
  });
  assert.throws(call(x, g, Int32Array.from(d), 2, new Float32Array(55)), {
    name: 'RangeError',
    message: /out has length 55, expected .* = 54/,
  });
  assert.throws(call(x, g, withDim(7, -1), 2, out), { name: 'RangeError', message: /dims\[7\] \(padTop\) must be >= 0, got -1/ });
  assert.throws(call(x, g, withDim(1, 0), 2, out), { name: 'RangeError', message: /dims\[1\] \(C\) must be >= 1, got 0/ });
  assert.throws(call(x, g, withDim(5, 7), 2, out), { name: 'RangeError', message: /output height .* = 0 must be >= 1/ });
  assert.throws(call(x, g, withDim(6, 9), 2, out), { name: 'RangeError', message: /output width .* = -2 must be >= 1/ });
  assert.throws(call(x, g, Int32Array.from(d), 0, out), { name: 'RangeError', message: /threads must be an integer from 1 to 64, got 0/ });
  assert.throws(call(x, g, Int32Array.from(d), 65, out), { name: 'RangeError', message: /threads .* got 65/ });
  assert.throws(call(x, g, Int32Array.from(d), 1.5, out), { name: 'RangeError', message: /threads .* got 1\.5/ });
  assert.throws(call(x, g, Int32Array.from(d), '2', out), { name: 'TypeError', message: /threads must be a number, got string/ });
  assert.throws(call(Array.from(x), g, Int32Array.from(d), 2, out), { name: 'TypeError', message: /x must be a Float32Array, got Array/ });
  assert.throws(call(x, g, Float64Array.from(d), 2, out), { name: 'TypeError', message: /dims must be an Int32Array, got Float64Array/ });
  assert.throws(call(x, g, Int32Array.from(d.slice(1)), 2, out), { name: 'RangeError', message: /dims must hold 11 values .* got 10/ });
  // sizes whose products overflow are refused before anything is read
  const huge = Int32Array.from([2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 1, 1, 1, 0, 0, 0, 0]);
  assert.throws(call(x, g, huge, 1, out), { name: 'RangeError', message: /too large|has length/ });
});

/** The vector paths narrower than the one this CPU picked (GROWTH_LAB_NATIVE_ISA can force them). */
const narrowerPaths = (isa: string) => ['avx512f', 'avx2', 'generic'].slice(['avx512f', 'avx2', 'generic'].indexOf(isa) + 1);

if (process.env.GROWTH_LAB_NATIVE_ISA) {
  test('GROWTH_LAB_NATIVE_ISA picks the addon path', (t) => {
    const k = kernelsFor(t);
    if (k) assert.equal(k.isa, process.env.GROWTH_LAB_NATIVE_ISA);
  });
} else {
  test("each narrower vector path passes this file's tests (a child process per path)", (t) => {
    const k = kernelsFor(t);
    if (!k) return;
    const paths = narrowerPaths(k.isa);
    if (!paths.length) return t.skip(`${k.isa} is the only path here`);
    for (const isa of paths) {
      // NODE_TEST_CONTEXT (set by this file's runner) would make the child report to it instead of its stdout.
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        GROWTH_LAB_NATIVE_ISA: isa,
        GROWTH_LAB_NATIVE: 'required',
        GROWTH_LAB_NATIVE_PATH: k.path,
      };
      delete env.NODE_TEST_CONTEXT;
      const run: SpawnSyncReturns<string> = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', __filename], {
        encoding: 'utf8',
        env,
        timeout: 120_000,
      });
      assert.equal(run.status, 0, `${isa}:\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /# fail 0/);
    }
  });
}

/** What loadNativeKernels() answers in a fresh process under `env`. */
function loadIn(env: Record<string, string>): { isa?: string; reason?: string } {
  const script = `const r = require(${JSON.stringify(path.join(__dirname, '..', '..', 'server', 'engine', 'nativeKernels.ts'))}).loadNativeKernels();
process.stdout.write(JSON.stringify(r.kernels ? { isa: r.kernels.isa } : { reason: r.reason }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { isa?: string; reason?: string };
}

test('without a loadable addon the loader says why', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-native-'));
  try {
    const bad = path.join(dir, 'growth-lab-kernels-bad.node');
    fs.writeFileSync(bad, 'not a shared library');
    assert.deepEqual(loadIn({ GROWTH_LAB_NATIVE: '0' }), { reason: 'GROWTH_LAB_NATIVE=0 turns the native kernels off' });
    const missing = path.join(dir, 'none.node');
    assert.deepEqual(loadIn({ GROWTH_LAB_NATIVE: '', GROWTH_LAB_NATIVE_PATH: missing }), {
      reason: `GROWTH_LAB_NATIVE_PATH=${missing}: no such file`,
    });
    const { reason } = loadIn({ GROWTH_LAB_NATIVE: '', GROWTH_LAB_NATIVE_PATH: bad });
    assert.match(reason ?? '', new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not load: .+`));
    assert.doesNotMatch(reason ?? '', /\n/, 'one line');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(loadNativeKernels(), loaded, 'the first answer is kept');
});
