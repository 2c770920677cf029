/**
 * Issue 24's remaining gap is the weight gradient (dW) of the stride-1 3x3 convolutions. This times,
 * per shape, batch 128, 2 threads:
 *  - `engine`: the engine's own dW (the gradient of a conv graph, whichever per-shape form
 *    `kernelGradient1` picks), in onnxruntime;
 *  - `transposedConv`: dW as one ungrouped onnxruntime Conv of xᵀ [C, N, H, W] with gᵀ [O, N, H, W];
 *  - `probe`: scripts/probes/convWeightGradient.c, a kernel outside onnxruntime that reads the shifted
 *    windows in place (compiled here with gcc -O3 -march=native; skipped with a message where gcc is
 *    missing or the CPU has no AVX-512).
 * The two onnxruntime forms alternate in one process (the median of the rounds' times and of their
 * paired ratios); the probe runs in its own process right after, twice (before and after a second
 * block of onnxruntime rounds), so that a neighbour's load moves both sides alike. Both outputs are
 * checked against each other (the probe checks itself against a float64 sum).
 *
 *   node --import tsx scripts/benchConvWeightGradient.ts [--shapes=16x16@32,32x32@16] [--rounds=15]
 *
 * Writes test-results/bench-conv-dw.json.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Graph, OrtExecutor, conv, gradients, mul, reduceSum, reshape, transpose, type CompiledGraph } from '../server/engine';
import { largestDifference, normalFeeds } from '../test/helpers/engineFeeds';
import { median } from './stats';

const BATCH = 128;
const THREADS = 2;
/** ResNet-20's and the VGGs' stride-1 3x3 shapes: C -> O channels on H x H maps. */
const DEFAULT_SHAPES = ['16x16@32', '32x32@16', '64x64@8', '64x64@32', '128x128@16', '256x256@8'];
const PROBE = path.join(__dirname, 'probes', 'convWeightGradient.c');

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

/** The probe's binary, or why there is none. */
function buildProbe(): { binary?: string; why?: string } {
  if (os.platform() !== 'linux' || os.arch() !== 'x64')
    return { why: `the probe is AVX-512 code built with gcc on Linux x64; this is ${os.platform()} ${os.arch()}` };
  if (!fs.readFileSync('/proc/cpuinfo', 'utf8').includes('avx512f')) return { why: 'this CPU has no AVX-512' };
  if (spawnSync('gcc', ['--version']).status !== 0) return { why: 'gcc is not installed (apt-get install gcc)' };
  const binary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-conv-dw-')), 'conv-dw');
  execFileSync('gcc', ['-O3', '-march=native', '-pthread', '-o', binary, PROBE, '-lm']);
  return { binary };
}

function runProbe(binary: string, { c, o, h }: Shape, rounds: number): { medianMs: number; maxRelErr: number } | { unsupported: string } {
  const r = spawnSync(binary, [c, o, h, THREADS, rounds, BATCH].map(String), { encoding: 'utf8' });
  if (r.status === 2) return { unsupported: r.stderr.trim() };
  if (r.status !== 0) throw new Error(`probe failed on ${c}x${o}@${h}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim());
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
  const probe = buildProbe();
  if (probe.why) console.log(`probe skipped: ${probe.why}`);
  const ex = await OrtExecutor.create({ threads: THREADS });
  const rows: Record<string, unknown>[] = [];
  for (const shape of shapes) {
    const feed = normalFeeds(1);
    const feeds = {
      x: feed([BATCH, shape.c, shape.h, shape.h]),
      w: feed([shape.o, shape.c, 3, 3]),
      g: feed([BATCH, shape.o, shape.h, shape.h]),
    };
    const forms = { engine: await engineForm(ex, shape), transposedConv: await transposedConvForm(ex, shape) };
    const { err, scale } = largestDifference((await forms.transposedConv.run(feeds)).dw, (await forms.engine.run(feeds)).dw);
    const agreement = err / scale;
    const times: Record<keyof typeof forms, number[]> = { engine: [], transposedConv: [] };
    const probeMs: number[] = [];
    let probeNote: string | undefined;
    let probeErr: number | undefined;
    for (let block = 0; block < 2; block++) {
      for (let r = 0; r < rounds; r++) {
        for (const [name, form] of Object.entries(forms) as [keyof typeof forms, CompiledGraph][]) {
          const t0 = performance.now();
          await form.run(feeds);
          times[name].push(performance.now() - t0);
        }
      }
      if (probe.binary) {
        const p = runProbe(probe.binary, shape, rounds);
        if ('unsupported' in p) probeNote = p.unsupported;
        else {
          probeMs.push(p.medianMs);
          probeErr = p.maxRelErr;
        }
      }
    }
    const engineMs = median(times.engine);
    const row = {
      shape: `${shape.c}x${shape.o}@${shape.h}`,
      engineMs: +engineMs.toFixed(2),
      transposedConvMs: +median(times.transposedConv).toFixed(2),
      engineOverTransposedConv: +median(times.engine.map((t, i) => t / times.transposedConv[i])).toFixed(2),
      formsMaxRelDiff: +agreement.toExponential(1),
      probeMs: probeMs.length ? +median(probeMs).toFixed(2) : null,
      engineOverProbe: probeMs.length ? +(engineMs / median(probeMs)).toFixed(2) : null,
      probeMaxRelErr: probeErr ?? null,
      ...(probeNote ? { probeNote } : {}),
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    for (const f of Object.values(forms)) await f.dispose();
  }
  const out = path.join('test-results', 'bench-conv-dw.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    JSON.stringify({ batch: BATCH, threads: THREADS, rounds, probe: probe.binary ? PROBE : probe.why, rows }, null, 1) + '\n',
  );
  console.log(`wrote ${out}`);
  if (probe.binary) fs.rmSync(path.dirname(probe.binary), { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
