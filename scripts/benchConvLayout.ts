/**
 * What onnxruntime's NCHWc convolutions would buy: two 3x3 conv + ReLU layers (forward only, batch N,
 * C -> O -> O channels, H x H, "same" padding) with the weights as graph inputs (as the engine's
 * training graphs have them: onnxruntime keeps plain NCHW Conv) against the same weights as constants
 * (onnxruntime's layout transformer then runs its blocked NCHWc kernels), interleaved in one process,
 * median of the per-round ratios.
 *
 *   node --import tsx scripts/benchConvLayout.ts [--shape=N,C,O,H] [--rounds=9]
 */
import * as E from '../server/engine';
import { median } from './stats';

const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
const [N, C, O, H] = (arg('shape') ?? '128,16,16,32').split(',').map(Number);
const ROUNDS = Number(arg('rounds') ?? 9);
const rnd = (n: number) => Array.from({ length: n }, () => Math.random() * 2 - 1);
const w1 = E.hostTensor('float32', [O, C, 3, 3], rnd(O * C * 9));
const w2 = E.hostTensor('float32', [O, O, 3, 3], rnd(O * O * 9));
const xv = E.hostTensor('float32', [N, C, H, H], rnd(N * C * H * H));

async function build(constW: boolean): Promise<() => Promise<void>> {
  const g = new E.Graph('convs');
  const x = g.input('x', 'float32', [N, C, H, H]);
  const a = constW ? g.constant(w1) : g.input('w1', 'float32', [O, C, 3, 3]);
  const b = constW ? g.constant(w2) : g.input('w2', 'float32', [O, O, 3, 3]);
  const pads = [1, 1, 1, 1];
  const y = E.relu(E.conv(E.relu(E.conv(x, a, { pads })), b, { pads }));
  const ex = await E.OrtExecutor.create();
  const cg = await ex.compile(g, { y });
  const feeds: Record<string, E.HostTensor> = constW ? { x: xv } : { x: xv, w1, w2 };
  return async () => {
    await cg.run(feeds);
  };
}

async function main() {
  const fa = await build(false),
    fb = await build(true);
  for (let i = 0; i < 3; i++) {
    await fa();
    await fb();
  }
  const ta: number[] = [],
    tb: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [f, into] of [
      [fa, ta],
      [fb, tb],
    ] as const) {
      const t = performance.now();
      for (let i = 0; i < 3; i++) await f();
      into.push((performance.now() - t) / 3);
    }
  }
  console.log(
    JSON.stringify({
      shape: [N, C, O, H],
      weightsInputMs: +median(ta).toFixed(2),
      weightsConstantMs: +median(tb).toFixed(2),
      medianRatio: +median(tb.map((b, i) => b / ta[i])).toFixed(3),
    }),
  );
}

void main();
