/**
 * Issue 24's remaining gap was the weight gradient (dW) of the stride-1 3x3 convolutions. This times,
 * per shape, batch 128, 2 threads, alternating in one process:
 *  - `engine`: the engine's onnxruntime forms (the gradient of a conv graph, whichever per-shape form
 *    `kernelGradient1` picks; the graph is built without host kernels);
 *  - `transposedConv`: dW as one ungrouped onnxruntime Conv of xᵀ [C, N, H, W] with gᵀ [O, N, H, W];
 *  - `native`: the native kernel (server/engine/native/convWeightGradient.c, `npm run build:native`),
 *    which reads the shifted windows in place; skipped with the loader's reason where it is missing.
 * Medians of the rounds' times and of their paired ratios; every output is checked against the engine's.
 * (The training step's onnxruntime session before the kernel is made to sleep rather than spin for the
 * same reason; here the kernel's first call after the onnxruntime forms is left out of the timing.)
 *
 *   node --import tsx scripts/benchConvWeightGradient.ts [--shapes=16x16@32,32x32@16] [--rounds=15]
 *
 * Writes test-results/bench-conv-dw.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  Graph,
  OrtExecutor,
  conv,
  gradients,
  mul,
  reduceSum,
  reshape,
  transpose,
  type CompiledGraph,
  type HostTensor,
} from '../server/engine';
import { loadNativeKernels } from '../server/engine/nativeKernels';
import { largestDifference, normalFeeds } from '../test/helpers/engineFeeds';
import { median } from './stats';

const BATCH = 128;
const THREADS = 2;
/** ResNet-20's and the VGGs' stride-1 3x3 shapes: C -> O channels on H x H maps. */
const DEFAULT_SHAPES = ['16x16@32', '32x32@16', '64x64@8', '64x64@32', '128x128@16', '256x256@8'];

interface Shape {
  c: number;
  o: number;
  h: number;
}

function parseShape(s: string): Shape {
  const m = /^(\d+)x(\d+)@(\d+)$/.exec(s);
  if (!m) throw new Error(`shape "${s}" is not C x O @ H (e.g. 16x16@32)`);
  return { c: Number(m[1]), o: Number(m[2]), h: Number(m[3]) };
}

async function engineForm(ex: OrtExecutor, { c, o, h }: Shape): Promise<CompiledGraph> {
  const g = new Graph('dw-engine');
  const x = g.input('x', 'float32', [BATCH, c, h, h]);
  const w = g.input('w', 'float32', [o, c, 3, 3]);
  const cot = g.input('g', 'float32', [BATCH, o, h, h]);
  const [dw] = gradients(reduceSum(mul(conv(x, w, { pads: [1, 1, 1, 1] }), cot), [0, 1, 2, 3]), [w]);
  return ex.compile(g, { dw });
}

async function transposedConvForm(ex: OrtExecutor, { c, o, h }: Shape): Promise<CompiledGraph> {
  const g = new Graph('dw-transposed-conv');
  const x = g.input('x', 'float32', [BATCH, c, h, h]);
  g.input('w', 'float32', [o, c, 3, 3]);
  const cot = g.input('g', 'float32', [BATCH, o, h, h]);
  const y = conv(transpose(x, [1, 0, 2, 3]), transpose(cot, [1, 0, 2, 3]), { pads: [1, 1, 1, 1] }); // [C, O, 3, 3]
  return ex.compile(g, { dw: transpose(reshape(y, [c, o, 3, 3]), [1, 0, 2, 3]) });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const shapes = (
    args
      .find((a) => a.startsWith('--shapes='))
      ?.slice('--shapes='.length)
      .split(',') ?? DEFAULT_SHAPES
  ).map(parseShape);
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length) ?? 15);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, not ${rounds}`);
  const loaded = loadNativeKernels();
  if (!loaded.kernels) console.log(`native kernel skipped: ${loaded.reason}`);
  const ex = await OrtExecutor.create({ threads: THREADS });
  const rows: Record<string, unknown>[] = [];
  for (const shape of shapes) {
    const feed = normalFeeds(1);
    const feeds = {
      x: feed([BATCH, shape.c, shape.h, shape.h]),
      w: feed([shape.o, shape.c, 3, 3]),
      g: feed([BATCH, shape.o, shape.h, shape.h]),
    };
    const compiled = { engine: await engineForm(ex, shape), transposedConv: await transposedConvForm(ex, shape) };
    const forms: Record<string, () => Promise<HostTensor>> = {
      engine: async () => (await compiled.engine.run(feeds)).dw,
      transposedConv: async () => (await compiled.transposedConv.run(feeds)).dw,
    };
    const k = loaded.kernels;
    if (k) {
      const d = {
        n: BATCH,
        c: shape.c,
        h: shape.h,
        w: shape.h,
        o: shape.o,
        kh: 3,
        kw: 3,
        padTop: 1,
        padLeft: 1,
        padBottom: 1,
        padRight: 1,
      };
      forms.native = async () => ({
        dtype: 'float32',
        shape: [shape.o, shape.c, 3, 3],
        data: k.convWeightGradient(feeds.x.data as Float32Array, feeds.g.data as Float32Array, d, THREADS),
      });
    }
    const reference = await forms.engine();
    const agreement: Record<string, number> = {};
    for (const [name, form] of Object.entries(forms)) {
      const { err, scale } = largestDifference(await form(), reference);
      agreement[name] = +(err / scale).toExponential(1);
    }
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(forms).map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, form] of Object.entries(forms)) {
        // The native kernel right after an onnxruntime run competes with onnxruntime's spinning
        // threads (1.5-2x slower): its first call of each round is not timed.
        if (name === 'native') await form();
        const t0 = performance.now();
        await form();
        times[name].push(performance.now() - t0);
      }
    }
    const ratio = (a: string, b: string) => +median(times[a].map((t, i) => t / times[b][i])).toFixed(2);
    const row = {
      shape: `${shape.c}x${shape.o}@${shape.h}`,
      engineMs: +median(times.engine).toFixed(2),
      transposedConvMs: +median(times.transposedConv).toFixed(2),
      engineOverTransposedConv: ratio('engine', 'transposedConv'),
      nativeMs: k ? +median(times.native).toFixed(2) : null,
      engineOverNative: k ? ratio('engine', 'native') : null,
      nativeGflops: k ? +((2 * BATCH * shape.o * shape.c * 9 * shape.h * shape.h) / median(times.native) / 1e6).toFixed(0) : null,
      maxRelDiffFromEngine: agreement,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    for (const f of Object.values(compiled)) await f.dispose();
  }
  const out = path.join('test-results', 'bench-conv-dw.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    JSON.stringify({ batch: BATCH, threads: THREADS, rounds, native: loaded.kernels ? loaded.kernels.isa : loaded.reason, rows }, null, 1) +
      '\n',
  );
  console.log(`wrote ${out}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
