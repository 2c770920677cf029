/**
 * Continual learning on split-MNIST (5 tasks of 2 classes, task-incremental, a head per task):
 * Firefly CL (Wu et al. 2020, §2.4 / App. A, Algorithm 2) against fine-tuning, EWC, Progressive
 * Networks and one network per task. Prints a JSON table (average accuracy, mean and worst forgetting
 * in points, backward transfer, parameters, wall time per method; means over the seeds, with the
 * per-seed values) and each method's accuracy matrix for the first seed, and writes it to --out
 * (default test-results/repro-cl/<stream>-<model>.json). An unknown flag, a flag without its value or
 * a number out of range is named on stderr and the script exits 2.
 *
 *   npm run repro:cl [-- --stream split-mnist --class-order shuffled --train 100000 --test 100000
 *                        --epochs 20 --batch 128 --lr 0.001 --hidden 400,400 --init uniform --optimizer-state keep
 *                        --seeds 3 --seed 1 --methods a,b --ewc-lambda 1e5 --threads 2 --out FILE]
 *
 * The defaults are the split-MNIST protocol of van de Ven & Tolias (2018, 2019; their
 * continual-learning code's defaults), which the usual fine-tuning lower bound comes from: every
 * training and test image of each task, MLPs with two hidden layers of 400 ReLU units, Adam
 * (β 0.9/0.999, lr 0.001, batch 128) created once and kept through the stream, torch.nn.Linear's
 * uniform initialisation, ~2,000 iterations per task (here 20 epochs: 1,760–1,980 iterations), and a
 * new assignment of digits to tasks for every seed (their data/load.py permutes the class labels with
 * the seed; `--class-order ordered` keeps 0/1, 2/3, …).
 * Firefly CL starts from its own 32-32 network and grows (server/continual/fireflyCl.ts).
 * `--iterations N` trains the baselines exactly N full minibatches per task (reshuffled each pass, the
 * last incomplete batch dropped, as the reference's DataLoader) instead of epochs; `--adam-epsilon E`
 * sets Adam's ε for every method (ours 1e-7, torch's 1e-8).
 * `--train` / `--test` cut each task to a seeded subset for quicker runs.
 *
 * `--model conv` (Firefly Table 2 / Fig. 5's setting, on split Fashion-MNIST or split-MNIST here):
 * every method uses a conv net on the images [1, 28, 28] (server/continual/convTrunk.ts: 3×3 convs of
 * `--channels` (default 8,16), a 2×2 max pool after each, a global average pool into the heads);
 * Firefly CL starts from `--initial-width` channels (default 4,8) and grows (fireflyClConv.ts), with
 * `--eta`, `--candidates` (m'), `--grow-rounds` and `--target`. Default stream then split-fashion-mnist.
 *
 * `--stream split-cifar-100 --data DIR [--tasks 10|20] [--vgg-scale 0.25]` (Firefly §3, Table 2 / Fig. 5):
 * the 100 classes of the CIFAR-100 binary folder DIR (train.bin, test.bin; `growth-lab data download
 * cifar-100`) in 10 tasks of 10 classes or 20 of 5; the model is then conv by default, the paper's thin
 * VGG-16 (its 13 conv layers at `--vgg-scale` of their widths, a pool after each block) unless
 * `--channels` is given (a pool after each layer), and Firefly CL starts from half its widths. `--tasks`
 * on the other streams: permuted-mnist makes that many, the split streams keep their first tasks.
 */
import { UsageError } from './usage';
import fs from 'node:fs';
import path from 'node:path';
import { OrtExecutor } from '../server/engine';
import {
  CONTINUAL_METHODS,
  CONTINUAL_STREAMS,
  thinVgg16,
  FireflyCl,
  FireflyClConv,
  type ContinualMethod,
  type ConvSpec,
  type ContinualResult,
  type ContinualStreamName,
  loadStream,
  makeLearner,
  runContinual,
} from '../server/continual';
import type { LayerInit } from '../server/continual/tensors';
import { Rng } from '../server/random';
import { round2 } from './round';

/** Every flag the script reads; each takes a value. */
export const KNOWN_FLAGS = [
  'model',
  'stream',
  'data',
  'tasks',
  'vgg-scale',
  'class-order',
  'train',
  'test',
  'epochs',
  'batch',
  'lr',
  'hidden',
  'init',
  'optimizer-state',
  'iterations',
  'adam-epsilon',
  'seeds',
  'seed',
  'methods',
  'ewc-lambda',
  'threads',
  'channels',
  'initial-width',
  'eta',
  'candidates',
  'grow-rounds',
  'target',
  'score-examples',
  'out',
] as const;

/** Rejects an unknown flag, a flag given twice, a flag without its value and a stray argument, naming it. */
export function checkFlags(argv: readonly string[]): void {
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    const name = k.startsWith('--') ? k.slice(2) : undefined;
    if (name === undefined) throw new UsageError(`unexpected argument ${k} (flags: ${KNOWN_FLAGS.map((f) => '--' + f).join(', ')})`);
    if (!(KNOWN_FLAGS as readonly string[]).includes(name))
      throw new UsageError(`unknown flag ${k} (known: ${KNOWN_FLAGS.map((f) => '--' + f).join(', ')})`);
    if (seen.has(name)) throw new UsageError(`${k} is given twice`);
    seen.add(name);
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${k} needs a value`);
  }
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

/** A numeric flag: finite, at least `min`, an integer where `integer`; its default otherwise. */
function num(name: string, def: number, { min = 0, integer = false }: { min?: number; integer?: boolean } = {}): number {
  const text = arg(name, String(def));
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v)))
    throw new UsageError(`--${name} needs ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${text}`);
  return v;
}

const pts = (v: number) => Math.round(v * 10000) / 100;
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

async function main(): Promise<void> {
  checkFlags(process.argv.slice(2));
  const cifar = arg('stream', '') === 'split-cifar-100';
  const model = arg('model', cifar ? 'conv' : 'mlp');
  if (model !== 'mlp' && model !== 'conv') throw new UsageError(`--model: ${model} is not mlp or conv`);
  const streamName = arg('stream', model === 'conv' ? 'split-fashion-mnist' : 'split-mnist') as ContinualStreamName;
  if (!CONTINUAL_STREAMS.includes(streamName) || streamName === 'custom')
    throw new UsageError(`--stream: ${streamName} is not one of ${CONTINUAL_STREAMS.filter((n) => n !== 'custom').join(', ')}`);
  const data = process.argv.includes('--data') ? arg('data', '') : undefined;
  if (cifar && !data)
    throw new UsageError('--data: split-cifar-100 reads the CIFAR-100 binary folder (train.bin, test.bin) given by --data DIR');
  if (!cifar && data !== undefined) throw new UsageError(`--data: only split-cifar-100 reads a folder; ${streamName} is built in`);
  const tasks = process.argv.includes('--tasks') ? Number(arg('tasks', '')) : undefined;
  if (tasks !== undefined && !(Number.isInteger(tasks) && tasks >= 2)) throw new UsageError('--tasks: an integer of at least 2');
  if (cifar && tasks !== undefined && tasks !== 10 && tasks !== 20)
    throw new UsageError(`--tasks: split-cifar-100 has 10 or 20 tasks, got ${tasks}`);
  const vggScale = Number(arg('vgg-scale', '0.25'));
  if (!(vggScale > 0 && vggScale <= 1)) throw new UsageError(`--vgg-scale: a width multiplier in (0, 1], got ${arg('vgg-scale', '')}`);
  const seeds = num('seeds', 3, { min: 1, integer: true });
  const firstSeed = num('seed', 1, { integer: true });
  const trainPerTask = num('train', 100000, { min: 1, integer: true });
  const testPerTask = num('test', 100000, { min: 1, integer: true });
  const epochs = num('epochs', 20, { min: 1, integer: true });
  const ewcLambda = num('ewc-lambda', 1e5);
  const methods = arg('methods', CONTINUAL_METHODS.join(',')).split(',') as ContinualMethod[];
  const unknown = methods.filter((m) => !CONTINUAL_METHODS.includes(m));
  if (unknown.length) throw new UsageError(`--methods: unknown ${unknown.join(', ')} (known: ${CONTINUAL_METHODS.join(', ')})`);
  const threads = num('threads', 2, { min: 1, integer: true });
  const executor = await OrtExecutor.create({ threads });
  const batchSize = num('batch', 128, { min: 1, integer: true });
  const learningRate = num('lr', 0.001);
  const init = arg('init', 'uniform') as LayerInit;
  if (init !== 'uniform' && init !== 'he-normal') throw new UsageError(`--init: ${init} is not uniform or he-normal`);
  const optimizerState = arg('optimizer-state', 'keep');
  if (optimizerState !== 'keep' && optimizerState !== 'reset')
    throw new UsageError(`--optimizer-state: ${optimizerState} is not keep or reset`);
  const iterations = process.argv.includes('--iterations') ? Number(arg('iterations', '')) : undefined;
  if (iterations !== undefined && !(Number.isInteger(iterations) && iterations > 0))
    throw new UsageError('--iterations: a positive integer (minibatches per task for the baselines)');
  const adamEpsilon = process.argv.includes('--adam-epsilon') ? Number(arg('adam-epsilon', '')) : undefined;
  if (adamEpsilon !== undefined && !(adamEpsilon > 0)) throw new UsageError('--adam-epsilon: a positive number');
  const classOrder = arg('class-order', 'shuffled');
  if (classOrder !== 'ordered' && classOrder !== 'shuffled')
    throw new UsageError(`--class-order: ${classOrder} is not ordered or shuffled`);
  const ints = (v: string, flag: string) => {
    const r = v.split(',').map(Number);
    if (r.some((k) => !(Number.isInteger(k) && k > 0))) throw new UsageError(`--${flag}: positive integers separated by commas, got ${v}`);
    return r;
  };
  const hidden = ints(arg('hidden', '400,400'), 'hidden');
  // The conv net reads the stream's images: [3, 32, 32] for split-cifar-100 (the paper's thin VGG-16 by default), [1, 28, 28] otherwise.
  const input: [number, number, number] = cifar ? [3, 32, 32] : [1, 28, 28];
  const vgg = cifar && model === 'conv' && !process.argv.includes('--channels') ? thinVgg16(input, vggScale) : undefined;
  const channels = vgg ? vgg.channels : ints(arg('channels', '8,16'), 'channels');
  const conv: ConvSpec | undefined = model === 'conv' ? (vgg ?? { input, channels, pool: channels.map(() => true) }) : undefined;
  const firefly =
    model === 'conv'
      ? {
          initialWidth: ints(
            arg('initial-width', cifar ? channels.map((c) => Math.max(1, Math.round(c / 2))).join(',') : '4,8'),
            'initial-width',
          ),
          eta: num('eta', 8, { min: 1, integer: true }),
          newCandidates: num('candidates', 8, { min: 1, integer: true }),
          maxGrowRounds: num('grow-rounds', 2, { integer: true }),
          targetAccuracy: num('target', 0.98),
          scoreExamples: num('score-examples', 256, { min: 1, integer: true }),
        }
      : undefined;
  if (firefly && firefly.initialWidth.length !== channels.length)
    throw new UsageError(`--initial-width: ${firefly.initialWidth.length} layers, --channels has ${channels.length}`);
  const settings = { hidden, epochs, batchSize, learningRate, init, optimizerState, iterations, adamEpsilon, conv } as const;
  const results = new Map<string, ContinualResult[]>();
  const fireflyLogs: (FireflyCl['log'] | FireflyClConv['log'])[] = [];
  /** Each seed's tasks (its digit pairs). */
  const taskNames: string[][] = [];
  for (let s = 0; s < seeds; s++) {
    const seed = firstSeed + s;
    const stream = await loadStream(streamName, { seed, trainPerTask, testPerTask, classOrder, tasks, path: data, baseDir: process.cwd() });
    const names = stream.tasks.map((t) => t.name);
    taskNames.push(names);
    process.stderr.write(`seed ${seed} tasks: ${names.join(', ')}\n`);
    for (const m of methods) {
      const learner = makeLearner(
        m,
        { executor, features: stream.features, classes: stream.classesPerTask, tasks: stream.tasks.length, rng: new Rng(seed), settings },
        { ewcLambda, firefly },
      );
      const r = await runContinual(learner, stream);
      if (learner instanceof FireflyCl || learner instanceof FireflyClConv) fireflyLogs.push(learner.log);
      results.set(m, [...(results.get(m) ?? []), r]);
      process.stderr.write(
        `seed ${seed} ${m}: average ${(100 * r.averageAccuracy).toFixed(2)}%, forgetting ${(100 * r.forgetting).toFixed(2)} points, ${r.parameters} parameters, ${r.seconds.toFixed(1)} s\n`,
      );
    }
  }
  const table = [...results.entries()].map(([method, rs]) => ({
    method,
    averageAccuracy: round2(mean(rs.map((r) => pts(r.averageAccuracy)))),
    forgetting: round2(mean(rs.map((r) => pts(r.forgetting)))),
    maxForgetting: round2(Math.max(...rs.map((r) => pts(Math.max(...r.forgettingPerTask))))),
    backwardTransfer: round2(mean(rs.map((r) => pts(r.backwardTransfer)))),
    parameters: Math.round(mean(rs.map((r) => r.parameters))),
    seconds: round2(mean(rs.map((r) => r.seconds))),
    perSeed: rs.map((r) => ({
      averageAccuracy: pts(r.averageAccuracy),
      forgetting: pts(r.forgetting),
      parameters: r.parameters,
      taskParameters: r.taskParameters,
      seconds: round2(r.seconds),
    })),
  }));
  const out = {
    command:
      `npm run repro:cl -- --model ${model} --stream ${streamName}` +
      (data !== undefined ? ` --data ${data}` : '') +
      (tasks !== undefined ? ` --tasks ${tasks}` : '') +
      (vgg ? ` --vgg-scale ${vggScale}` : '') +
      ` --class-order ${classOrder} --train ${trainPerTask} --test ${testPerTask} --epochs ${epochs} --batch ${batchSize} --lr ${learningRate}` +
      ` --hidden ${hidden.join(',')} --init ${init} --optimizer-state ${optimizerState} --seeds ${seeds} --seed ${firstSeed}` +
      ` --methods ${methods.join(',')} --ewc-lambda ${ewcLambda} --threads ${threads}` +
      (iterations !== undefined ? ` --iterations ${iterations}` : '') +
      (adamEpsilon !== undefined ? ` --adam-epsilon ${adamEpsilon}` : '') +
      (firefly
        ? (vgg ? '' : ` --channels ${channels.join(',')}`) +
          ` --initial-width ${firefly.initialWidth.join(',')} --eta ${firefly.eta} --candidates ${firefly.newCandidates}` +
          ` --grow-rounds ${firefly.maxGrowRounds} --target ${firefly.targetAccuracy} --score-examples ${firefly.scoreExamples}`
        : ''),
    stream: streamName,
    settings: {
      ...settings,
      model,
      firefly,
      classOrder,
      trainPerTask,
      testPerTask,
      seeds: Array.from({ length: seeds }, (_, s) => firstSeed + s),
      ewcLambda,
    },
    tasks: taskNames,
    units:
      'accuracy, forgetting and backward transfer in points (%); forgetting per task = best earlier accuracy − final; seconds of wall time per run',
    table,
    fireflyCl: fireflyLogs.map((log) => log.map((l) => ({ ...l, trainAccuracy: pts(l.trainAccuracy) }))),
    accuracyMatrices: Object.fromEntries([...results.entries()].map(([m, rs]) => [m, rs[0].accuracyMatrix.map((row) => row.map(pts))])),
  };
  const text = JSON.stringify(out, null, 1);
  const file = arg('out', `test-results/repro-cl/${streamName}-${model}.json`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file + '.tmp', text + '\n');
  fs.renameSync(file + '.tmp', file);
  console.log(text);
  process.stderr.write(`JSON: ${file}\n`);
}

if (require.main === module)
  main().catch((e) => {
    console.error(e instanceof UsageError ? `repro:cl: ${e.message}` : e);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
