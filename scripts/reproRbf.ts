/**
 * Reproduction of the Firefly paper's toy RBF experiment (Wu et al. 2020, §3 "Toy RBF Network",
 * Figure 3(a), App. B.1): grow a one-hidden-layer RBF network (σ(t) = exp(−t²/2)) on the 1-D
 * regression task `rbf-toy` (1000 points of a random 15-neuron RBF network per seed) from 1 to 10
 * neurons, one neuron per grow, with
 *   Firefly (split + up to m' = 5 new neurons), Firefly (split), Splitting (exact, Liu et al. 2019),
 *   RandSearch (split), RandSearch (split+new) (k = 3, 100 fine-tune iterations each), and Scratch
 *   (a fixed network of each size trained from scratch for as many steps as the growing runs took
 *   to reach that size),
 * and report the mean training loss (MSE on the 1000 points) per method and size over the seeds.
 *
 *   npm run repro:rbf -- --seeds 20 --out test-results/repro-rbf [--steps 400] [--jobs 2]
 *
 * Scaled down from App. B.1 so that 20 seeds of every method run in a few minutes on 2 cores:
 * `--steps` (default 400) Adam steps of batch 100 between grows instead of 10,000 iterations; the
 * other growth settings are the paper's (m' = 5, k = 3, 100 fine-tune / step-one iterations, N(0, 0.1)
 * new neurons). Our network has an output bias (the paper's eq. 6 has none). Writes results.json and
 * loss.svg (mean loss against the number of neurons, log scale) to the out folder. Seeds run in
 * `--jobs` child processes (default 2, one onnxruntime thread each); a method that is not registered
 * (e.g. `splitting` before its module exists) is skipped with a message.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { OrtExecutor, optimizerSlots } from '../server/engine';
import { loadDataset } from '../server/datasets';
import type { Dataset } from '../server/datasets/types';
import { GrowableModel } from '../server/model/growable';
import { specFromConfig } from '../server/model/spec';
import type { TrainingConfig } from '../common/protocol';
import { Rng } from '../server/random';
import { Trainer, optimizerSettings } from '../server/trainer/trainer';
import type { GrowOptions, GrowthMethod } from '../server/growth/types';

interface Args {
  seeds: number;
  out: string;
  steps: number;
  jobs: number;
  worker?: number[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: 20, out: 'test-results/repro-rbf', steps: 400, jobs: 2 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--') continue;
    const v = argv[i + 1];
    const int = () => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${k} needs a positive integer, got ${v}`);
      i++;
      return n;
    };
    if (k === '--seeds') a.seeds = int();
    else if (k === '--steps') a.steps = int();
    else if (k === '--jobs') a.jobs = int();
    else if (k === '--worker') {
      a.worker = (v ?? '').split(',').map(Number);
      i++;
    } else if (k === '--out') {
      if (!v) throw new Error('--out needs a folder');
      a.out = v;
      i++;
    } else throw new Error(`unknown argument ${k} (known: --seeds N, --out DIR, --steps N, --jobs N)`);
  }
  return a;
}

const SIZES = 10;
const TRAIN: TrainingConfig = {
  epochs: 1,
  batchSize: 100,
  optimizer: 'adam',
  learningRate: 0.01,
  momentum: 0,
  nesterov: false,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
  evalEvery: 1,
  shuffle: true,
};
/** Grow settings: one neuron per grow; App. B.1's 100 iterations for Firefly's step one and RandSearch's fine-tuning. */
const GROW: Record<string, GrowOptions> = {
  firefly: { neurons: 1, newNeurons: 5, steps: 100, scoreBatch: 1000 },
  'firefly-split': { neurons: 1, steps: 100, scoreBatch: 1000 },
  splitting: { neurons: 1, scoreBatch: 1000 },
  'random-split': { neurons: 1, k: 3, fineTuneSteps: 100, scoreBatch: 1000 },
  'random-split-new': { neurons: 1, k: 3, fineTuneSteps: 100, newNeurons: 5, scoreBatch: 1000 },
};
const LABELS: Record<string, string> = {
  firefly: 'Firefly',
  'firefly-split': 'Firefly (split)',
  splitting: 'Splitting',
  'random-split': 'RandSearch (split)',
  'random-split-new': 'RandSearch (split+new)',
  scratch: 'Scratch',
};

function newModel(data: Dataset, units: number, seed: number): GrowableModel {
  const spec = specFromConfig({ layers: [{ type: 'dense', units, activation: 'rbf' }], init: 'he' }, data.inputShape, 'regression', 1);
  return GrowableModel.create(spec, seed, optimizerSlots(optimizerSettings(TRAIN)));
}

/** `steps` Adam steps on shuffled minibatches (epoch order from rng). */
async function train(tr: Trainer, steps: number, rng: Rng): Promise<void> {
  const n = tr.data.train.n;
  const bs = TRAIN.batchSize;
  let order = rng.permutation(n);
  let start = 0;
  for (let s = 0; s < steps; s++) {
    if (start + bs > n) {
      order = rng.permutation(n);
      start = 0;
    }
    await tr.step(order, start, bs);
    start += bs;
  }
}

async function trainLoss(tr: Trainer): Promise<number> {
  return (await tr.evaluate(tr.data.train)).loss;
}

interface Run {
  losses: number[];
  widths: number[];
}

/**
 * Grow steps 1..9 with training in between; losses[g] and widths[g] after the training that follows
 * grow g (g = 0: the starting network). A method that declines to grow (exact splitting adds nothing
 * when no splitting matrix has a negative eigenvalue) keeps its width and trains on.
 */
async function growRun(method: GrowthMethod, data: Dataset, ex: OrtExecutor, seed: number, steps: number): Promise<Run> {
  const { growContext } = await import('../server/growth/context');
  const { runGrowStep } = await import('../server/growth/step');
  const tr = new Trainer(newModel(data, 1, seed), data, TRAIN, ex);
  const rng = new Rng(seed * 7919 + 1);
  const run: Run = { losses: [], widths: [] };
  const width = () => {
    const l = tr.model.spec.layers[0];
    return l.type === 'dense' ? l.units : NaN;
  };
  try {
    await train(tr, steps, rng);
    run.losses.push(await trainLoss(tr));
    run.widths.push(width());
    for (let g = 1; g < SIZES; g++) {
      const w0 = width();
      await runGrowStep(growContext(tr, seed * 1000 + g), method, GROW[method.name], { runId: 'repro', step: g, epoch: 0 });
      if (width() > w0 + 1) throw new Error(`${method.name} grew from ${w0} to ${width()} neurons with a budget of one`);
      await train(tr, steps, rng);
      run.losses.push(await trainLoss(tr));
      run.widths.push(width());
    }
  } finally {
    await tr.dispose();
  }
  return run;
}

async function scratchRun(data: Dataset, ex: OrtExecutor, seed: number, steps: number): Promise<Run> {
  const losses: number[] = [];
  for (let size = 1; size <= SIZES; size++) {
    const tr = new Trainer(newModel(data, size, seed), data, TRAIN, ex);
    try {
      await train(tr, size * steps, new Rng(seed * 7919 + 1));
      losses.push(await trainLoss(tr));
    } finally {
      await tr.dispose();
    }
  }
  return { losses, widths: losses.map((_, i) => i + 1) };
}

/** Every method and scratch on one seed. */
async function runSeed(seed: number, methods: GrowthMethod[], ex: OrtExecutor, steps: number): Promise<Record<string, Run>> {
  const data = await loadDataset({ name: 'rbf-toy', trainSize: 1000 }, { seed });
  const out: Record<string, Run> = {};
  for (const m of methods) out[m.name] = await growRun(m, data, ex, seed, steps);
  out.scratch = await scratchRun(data, ex, seed, steps);
  return out;
}

function progress(seed: number, r: Record<string, Run>, t0: number): void {
  const end = Object.entries(r).map(([k, v]) => `${k} ${v.losses[SIZES - 1].toExponential(2)}`);
  console.error(`seed ${seed} done (${((performance.now() - t0) / 1000).toFixed(0)} s); loss at 10 neurons: ${end.join(', ')}`);
}

/** A child process's part: one JSON line per seed on stdout. */
async function worker(seeds: number[], methods: GrowthMethod[], steps: number): Promise<void> {
  const ex = await OrtExecutor.create({ threads: 1 });
  const t0 = performance.now();
  for (const seed of seeds) {
    const r = await runSeed(seed, methods, ex, steps);
    progress(seed, r, t0);
    process.stdout.write(JSON.stringify({ seed, runs: r }) + '\n');
  }
}

/** All seeds, in `jobs` child processes (one ORT thread each) or in this one; results in seed order. */
async function runSeeds(args: Args, methods: GrowthMethod[], t0: number): Promise<Record<string, Run>[]> {
  const seeds = Array.from({ length: args.seeds }, (_, i) => i + 1);
  const jobs = Math.min(args.jobs, seeds.length);
  if (jobs <= 1) {
    const ex = await OrtExecutor.create({ threads: 1 });
    const out: Record<string, Run>[] = [];
    for (const seed of seeds) {
      out.push(await runSeed(seed, methods, ex, args.steps));
      progress(seed, out[out.length - 1], t0);
    }
    return out;
  }
  const bySeed = new Map<number, Record<string, Run>>();
  await Promise.all(
    Array.from(
      { length: jobs },
      (_, j) =>
        new Promise<void>((resolve, reject) => {
          const mine = seeds.filter((_, i) => i % jobs === j);
          const child = spawn(
            process.execPath,
            [...process.execArgv, __filename, '--worker', mine.join(','), '--steps', String(args.steps)],
            { stdio: ['ignore', 'pipe', 'inherit'] },
          );
          let buf = '';
          child.stdout.on('data', (d: Buffer) => {
            buf += d.toString();
            let nl;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (line.trim()) {
                const { seed, runs } = JSON.parse(line) as { seed: number; runs: Record<string, Run> };
                bySeed.set(seed, runs);
              }
            }
          });
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${j} exited with ${code}`))));
        }),
    ),
  );
  return seeds.map((s) => {
    const r = bySeed.get(s);
    if (!r) throw new Error(`no result for seed ${s}`);
    return r;
  });
}

async function loadMethods(quiet = false): Promise<{ methods: GrowthMethod[]; skipped: Record<string, string> }> {
  try {
    await import('../server/growth');
  } catch (e) {
    console.error(`server/growth/index.ts did not load (${(e as Error).message}); using the Firefly and RandSearch modules only`);
    await import('../server/growth/firefly');
    await import('../server/growth/randSearch');
  }
  const { growthMethod } = await import('../server/growth/registry');
  const methods: GrowthMethod[] = [];
  const skipped: Record<string, string> = {};
  for (const name of Object.keys(GROW)) {
    try {
      methods.push(growthMethod(name));
    } catch (e) {
      skipped[name] = (e as Error).message;
      if (!quiet) console.error(`skipping ${name}: it is not registered (${(e as Error).message})`);
    }
  }
  return { methods, skipped };
}

const COLORS: Record<string, string> = {
  firefly: '#d62728',
  'firefly-split': '#ff7f0e',
  splitting: '#9467bd',
  'random-split': '#2ca02c',
  'random-split-new': '#1f77b4',
  scratch: '#7f7f7f',
};

/** Mean loss against the mean number of neurons, log-scale y, as a hand-written SVG. */
export function lossPlot(series: Record<string, number[]>, neurons: Record<string, number[]>, title: string): string {
  const W = 640,
    H = 420,
    L = 70,
    R = 200,
    T = 40,
    B = 50;
  const all = Object.values(series)
    .flat()
    .filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.floor(Math.log10(Math.min(...all))),
    hi = Math.ceil(Math.log10(Math.max(...all)));
  const x = (n: number) => L + ((n - 1) / (SIZES - 1)) * (W - L - R);
  const y = (v: number) => T + ((hi - Math.log10(Math.max(v, 10 ** lo))) / Math.max(1, hi - lo)) * (H - T - B);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(L + W - R) / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">number of neurons</text>`,
    `<text x="18" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(T + H - B) / 2})">mean training loss (MSE, log scale)</text>`,
  ];
  for (let n = 1; n <= SIZES; n++) {
    out.push(
      `<line x1="${x(n).toFixed(1)}" y1="${H - B}" x2="${x(n).toFixed(1)}" y2="${H - B + 5}" stroke="black"/>`,
      `<text x="${x(n).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${n}</text>`,
    );
  }
  for (let e = lo; e <= hi; e++) {
    out.push(
      `<line x1="${L - 5}" y1="${y(10 ** e).toFixed(1)}" x2="${W - R}" y2="${y(10 ** e).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${L - 8}" y="${(y(10 ** e) + 4).toFixed(1)}" text-anchor="end">1e${e}</text>`,
    );
  }
  Object.entries(series).forEach(([name, vals], k) => {
    const c = COLORS[name] ?? '#000';
    const pts = vals.map((v, i) => `${x(neurons[name][i]).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(
      `<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"${name === 'scratch' ? ' stroke-dasharray="5,4"' : ''}/>`,
    );
    for (const p of pts.split(' ')) {
      const [px, py] = p.split(',');
      out.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${c}"/>`);
    }
    const ly = T + 10 + k * 20;
    out.push(
      `<line x1="${W - R + 15}" y1="${ly}" x2="${W - R + 40}" y2="${ly}" stroke="${c}" stroke-width="2"/>`,
      `<text x="${W - R + 46}" y="${ly + 4}">${esc(LABELS[name] ?? name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

/** JSON with two-space indentation and arrays of numbers on one line. */
function compactJson(v: unknown): string {
  return JSON.stringify(v, null, 2).replace(
    /\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g,
    (_m, inner: string) => `[${inner.split(/,\s+/).join(', ')}]`,
  );
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const { methods, skipped } = await loadMethods(args.worker !== undefined);
  if (args.worker) {
    await worker(args.worker, methods, args.steps);
    return;
  }
  const settings = {
    seeds: args.seeds,
    sizes: `1..${SIZES} neurons, one per grow`,
    network: '1 -> dense(n, rbf: exp(-t^2/2)) -> dense(1), He init (App. B.1 eq. 6, plus an output bias)',
    data: 'rbf-toy: 1000 training points per seed (seed = ground truth)',
    training: {
      optimizer: TRAIN.optimizer,
      learningRate: TRAIN.learningRate,
      batchSize: TRAIN.batchSize,
      stepsBetweenGrows: args.steps,
      paper: '10,000 iterations between grows (scaled down)',
    },
    scratch: `size n trained from scratch for n x ${args.steps} steps (the steps a growing run has taken at size n)`,
    grow: GROW,
    jobs: Math.min(args.jobs, args.seeds),
  };
  console.error(`settings: ${JSON.stringify(settings)}`);
  const runs: Record<string, Run[]> = {};
  for (const m of methods) runs[m.name] = [];
  runs.scratch = [];
  const perSeed = await runSeeds(args, methods, t0);
  for (const r of perSeed) for (const [k, v] of Object.entries(r)) runs[k].push(v);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const mean: Record<string, number[]> = {};
  const sem: Record<string, number[]> = {};
  const widths: Record<string, number[]> = {};
  for (const [name, rs] of Object.entries(runs)) {
    mean[name] = Array.from({ length: SIZES }, (_, i) => avg(rs.map((r) => r.losses[i])));
    widths[name] = Array.from({ length: SIZES }, (_, i) => avg(rs.map((r) => r.widths[i])));
    sem[name] = Array.from({ length: SIZES }, (_, i) => {
      const mu = mean[name][i];
      const v = rs.reduce((a, r) => a + (r.losses[i] - mu) ** 2, 0) / Math.max(1, rs.length - 1);
      return Math.sqrt(v / rs.length);
    });
  }
  const has = (n: string) => mean[n] !== undefined;
  const last = (n: string) => mean[n][SIZES - 1];
  const findings: Record<string, boolean> = {};
  if (has('firefly') && has('firefly-split')) findings['Firefly ends below Firefly (split)'] = last('firefly') < last('firefly-split');
  if (has('random-split') && has('random-split-new'))
    findings['RandSearch (split+new) ends below RandSearch (split)'] = last('random-split-new') < last('random-split');
  const newer = ['firefly', 'random-split-new'].filter(has);
  const splitOnly = ['firefly-split', 'splitting', 'random-split'].filter(has);
  findings['every new-neuron method ends below every split-only method'] = newer.every((a) => splitOnly.every((b) => last(a) < last(b)));
  findings['new-neuron methods drive the loss down (10 neurons below a tenth of 1 neuron)'] = newer.every(
    (n) => last(n) < 0.1 * mean[n][0],
  );
  findings['split-only methods stall (10 neurons above a third of 2 neurons)'] = splitOnly.every((n) => last(n) > mean[n][1] / 3);
  if (has('firefly') && has('random-split-new'))
    findings['Firefly at or below RandSearch (split+new) at 10 neurons'] = last('firefly') <= last('random-split-new');
  if (has('firefly-split') && has('random-split'))
    findings['Firefly (split) at or below RandSearch (split) at 10 neurons'] = last('firefly-split') <= last('random-split');
  const r4 = (x: number) => Number(x.toPrecision(4));
  const result = {
    settings,
    skipped,
    /** Mean training loss after the training that follows grow g (index 0: the 1-neuron start). */
    meanTrainLoss: Object.fromEntries(Object.entries(mean).map(([k, v]) => [k, v.map(r4)])),
    standardError: Object.fromEntries(Object.entries(sem).map(([k, v]) => [k, v.map((x) => Number(x.toPrecision(2)))])),
    /** Mean number of neurons at the same points (below 1..10 where a method declined to grow). */
    meanNeurons: Object.fromEntries(Object.entries(widths).map(([k, v]) => [k, v.map(r4)])),
    findings,
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  fs.mkdirSync(args.out, { recursive: true });
  const text = compactJson(result);
  fs.writeFileSync(path.join(args.out, 'results.json'), text + '\n');
  fs.writeFileSync(
    path.join(args.out, 'loss.svg'),
    lossPlot(mean, widths, `Toy RBF network: mean training loss over ${args.seeds} seeds`) + '\n',
  );
  console.log(text);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
