/**
 * The batch-norm layer alone: BatchNormTrain forward and its VJP (loss = Σ y·c, gradients for x, gamma
 * and beta) on onnxruntime, ms per run. With --base=<checkout>, the same graph built by that checkout's
 * engine too, the two interleaved in one process (rounds of 5 runs each, alternating), and the median of
 * the per-round ratios printed: the A/B that survives a loaded machine better than separate processes.
 *
 *   node --import tsx scripts/benchBatchNorm.ts [--shape=N,C,H] [--rounds=15] [--base=/path/to/other/checkout]
 */
import * as path from 'node:path';
import * as engine from '../server/engine';
import { median } from './stats';

type Engine = typeof engine;
const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1];
const [N, C, H] = (arg('shape') ?? '128,16,32').split(',').map(Number);
const ROUNDS = Number(arg('rounds') ?? 15);

async function build(E: Engine): Promise<() => Promise<void>> {
  const g = new E.Graph('bn');
  const x = g.input('x', 'float32', [N, C, H, H]);
  const gamma = g.input('gamma', 'float32', [C]);
  const beta = g.input('beta', 'float32', [C]);
  const c = g.input('c', 'float32', [N, C, H, H]);
  const [y] = E.batchNormTrain(x, gamma, beta, 1e-5);
  const loss = E.reduceSum(E.mul(y, c), [0, 1, 2, 3]);
  const [gx, gg, gb] = E.gradients(loss, [x, gamma, beta]);
  const ex = await E.OrtExecutor.create();
  const cg = await ex.compile(g, { loss, gx, gg, gb });
  const rnd = (n: number) => Array.from({ length: n }, () => Math.random() * 2 - 1);
  const feeds = {
    x: E.hostTensor('float32', [N, C, H, H], rnd(N * C * H * H)),
    gamma: E.hostTensor('float32', [C], rnd(C)),
    beta: E.hostTensor('float32', [C], rnd(C)),
    c: E.hostTensor('float32', [N, C, H, H], rnd(N * C * H * H)),
  };
  return async () => {
    await cg.run(feeds);
  };
}

async function main() {
  const base = arg('base');
  const fb = await build(engine);
  const fa = base ? await build((await import(path.resolve(base, 'server/engine/index.ts'))) as Engine) : undefined;
  const ta: number[] = [],
    tb: number[] = [];
  const time = async (f: () => Promise<void>, into: number[]) => {
    const t = performance.now();
    for (let i = 0; i < 5; i++) await f();
    into.push((performance.now() - t) / 5);
  };
  for (let i = 0; i < 3; i++) {
    await fb();
    await fa?.();
  }
  for (let r = 0; r < ROUNDS; r++) {
    if (fa) await time(fa, ta);
    await time(fb, tb);
  }
  const out: Record<string, unknown> = { shape: [N, C, H, H], ms: +median(tb).toFixed(2) };
  if (fa) {
    out.baseMs = +median(ta).toFixed(2);
    out.medianRatioToBase = +median(tb.map((b, i) => b / ta[i])).toFixed(3);
  }
  console.log(JSON.stringify(out));
}

void main();
