/**
 * Task streams for continual learning (task-incremental, a head per task, as in Firefly §2.4 / App. A):
 * - split-mnist / split-fashion-mnist: 5 tasks of 2 classes, labels 0/1 within a task: {0,1}, {2,3}, …
 *   (classOrder `ordered`), or pairs of a seeded permutation of the 10 classes (`shuffled`: the reference
 *   continual-learning code of van de Ven & Tolias draws a new class-to-task assignment for every seed);
 * - permuted-mnist: N tasks of all 10 digits, each with its own seeded pixel permutation (task 1 is
 *   the identity, as is usual).
 * - custom: one dataset per task (any classification dataset config, e.g. csv files), all with the
 *   same number of input features; each task's head has as many outputs as the largest task has classes.
 * - split-cifar-100 (Firefly §3 "Continual Learning", Table 2 / Fig. 5): the 100 fine classes of the
 *   `cifar-100` dataset (binary version, `path`) partitioned into `tasks` = 10 or 20 tasks of 10 or 5
 *   classes, by a permutation drawn from the seed (`shuffled`, the paper's random partitions) or in
 *   order (`ordered`); images [3, 32, 32].
 * Each task is subsampled (seeded) to trainPerTask / testPerTask examples. `inputShape` is the image
 * shape of a row ([1, 28, 28] for the MNIST streams), which a conv model reads.
 */
import * as path from 'path';
import { loadDataset } from '../datasets';
import { DatasetError } from '../datasets/errors';
import { isFile, isFolder } from '../datasets/folders';
import type { ContinualStreamName, DatasetConfig, SplitClassOrder } from '../../common/protocol';
import { copyRow } from '../datasets/rows';
import type { DataSplit } from '../datasets/types';
import { Rng } from '../random';
import type { TaskSplit } from './training';

export const CONTINUAL_STREAMS: readonly ContinualStreamName[] = [
  'split-mnist',
  'split-fashion-mnist',
  'permuted-mnist',
  'split-cifar-100',
  'custom',
];
export type { ContinualStreamName };
/** The streams loadStream reads (the experiment's). */
export type StreamName = ContinualStreamName;

/** The 10 classes of a split stream, paired into 5 tasks in this order. */
export function splitClassOrder(order: SplitClassOrder, seed: number): number[] {
  // Its own generator, so `ordered` streams draw exactly what they drew before this option existed.
  if (order === 'shuffled') return Array.from(new Rng(seed ^ 0xc1a55).permutation(10));
  return Array.from({ length: 10 }, (_, i) => i);
}

export interface ContinualTask {
  name: string;
  /** Original class of each within-task label. */
  classes: number[];
  train: TaskSplit;
  test: TaskSplit;
}

export interface TaskStream {
  name: StreamName;
  features: number;
  /** The shape of one row as an image [C, H, W] (custom streams: the first dataset's input shape). */
  inputShape?: number[];
  /** Output units of each task's head. */
  classesPerTask: number;
  tasks: ContinualTask[];
}

export interface StreamOptions {
  seed: number;
  trainPerTask?: number;
  testPerTask?: number;
  /** permuted-mnist: number of tasks (default 5). */
  tasks?: number;
  /** custom: one dataset per task; csv paths resolve against baseDir. */
  datasets?: DatasetConfig[];
  /** split streams: classes paired in order (default) or by a permutation drawn from the seed. */
  classOrder?: SplitClassOrder;
  baseDir?: string;
  /** split-cifar-100: the cifar-100 folder (train.bin, test.bin), relative to baseDir (the experiment file's folder). */
  path?: string;
}

/** Seeded subsample (without replacement, kept in order) of the rows of `split` whose label is in `classes`. */
export function selectTask(
  split: DataSplit,
  classes: number[],
  limit: number | undefined,
  rng: Rng,
  features: number,
  permutation?: Int32Array,
): TaskSplit {
  const rows: number[] = [];
  for (let i = 0; i < split.n; i++) if (classes.includes(split.y[i])) rows.push(i);
  let pick = rows;
  if (limit !== undefined && limit < rows.length) {
    const p = rng.permutation(rows.length).subarray(0, limit);
    pick = Array.from(p)
      .sort((a, b) => a - b)
      .map((k) => rows[k]);
  }
  const x = new Float32Array(pick.length * features);
  const y = new Float32Array(pick.length);
  const src = new Float32Array(features);
  pick.forEach((r, i) => {
    if (permutation) {
      copyRow(split, r, features, src, 0);
      for (let k = 0; k < features; k++) x[i * features + k] = src[permutation[k]];
    } else copyRow(split, r, features, x, i * features);
    y[i] = classes.indexOf(split.y[r]);
  });
  return { x, y, n: pick.length };
}

/** The stream, cut to its first `opts.tasks` tasks when given (permuted-mnist makes that many). */
export async function loadStream(name: StreamName, opts: StreamOptions): Promise<TaskStream> {
  if (name === 'split-cifar-100') return loadSplitCifar100(opts);
  const stream = await loadFullStream(name, opts);
  if (opts.tasks !== undefined && name !== 'permuted-mnist') {
    if (opts.tasks > stream.tasks.length)
      throw new DatasetError(`continual.tasks: ${name} has ${stream.tasks.length} tasks, ${opts.tasks} asked for`);
    stream.tasks = stream.tasks.slice(0, opts.tasks);
  }
  return stream;
}

async function loadFullStream(name: Exclude<ContinualStreamName, 'split-cifar-100'>, opts: StreamOptions): Promise<TaskStream> {
  const rng = new Rng(opts.seed ^ 0x5eed);
  const features = 784;
  if (name === 'split-mnist' || name === 'split-fashion-mnist') {
    const ds = await loadDataset({ name: name === 'split-mnist' ? 'mnist' : 'fashion-mnist' }, { seed: opts.seed });
    const order = splitClassOrder(opts.classOrder ?? 'ordered', opts.seed);
    const tasks: ContinualTask[] = [];
    for (let t = 0; t < 5; t++) {
      const classes = [order[2 * t], order[2 * t + 1]];
      tasks.push({
        name: `${classes[0]}/${classes[1]}`,
        classes,
        train: selectTask(ds.train, classes, opts.trainPerTask, rng.fork(2 * t), features),
        test: selectTask(ds.test, classes, opts.testPerTask, rng.fork(2 * t + 1), features),
      });
    }
    return { name, features, inputShape: [1, 28, 28], classesPerTask: 2, tasks };
  }
  if (name === 'permuted-mnist') {
    const ds = await loadDataset({ name: 'mnist' }, { seed: opts.seed });
    const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const tasks: ContinualTask[] = [];
    const n = opts.tasks ?? 5;
    for (let t = 0; t < n; t++) {
      const perm = t === 0 ? Int32Array.from({ length: features }, (_, i) => i) : rng.fork(1000 + t).permutation(features);
      tasks.push({
        name: `perm ${t + 1}`,
        classes: all,
        train: selectTask(ds.train, all, opts.trainPerTask, rng.fork(2 * t), features, perm),
        test: selectTask(ds.test, all, opts.testPerTask, rng.fork(2 * t + 1), features, perm),
      });
    }
    return { name, features, inputShape: [1, 28, 28], classesPerTask: 10, tasks };
  }
  if (name === 'custom') return loadCustomStream(opts, rng);
  throw new Error(`unknown continual stream ${JSON.stringify(name)}; known: ${CONTINUAL_STREAMS.join(', ')}`);
}

const CIFAR100_FOLDER = 'the CIFAR-100 binary folder with train.bin and test.bin';

/** split-cifar-100: 10 or 20 tasks of the 100 fine classes (see the file's comment). */
async function loadSplitCifar100(opts: StreamOptions): Promise<TaskStream> {
  const T = opts.tasks ?? 10;
  if (T !== 10 && T !== 20) throw new DatasetError(`continual.tasks: split-cifar-100 has 10 or 20 tasks, ${T} asked for`);
  if (typeof opts.path !== 'string' || opts.path.trim() === '')
    throw new DatasetError(`split-cifar-100: continual.path is required (${CIFAR100_FOLDER}, relative to the experiment file)`);
  const dir = path.resolve(opts.baseDir ?? process.cwd(), opts.path);
  // The folder is the user's: say which field points where, before the dataset reader names its own files.
  const where = `continual.path ${JSON.stringify(opts.path)} (${dir})`;
  if (!(await isFolder(dir))) {
    const what = (await isFile(dir)) ? 'is a file' : 'is not a folder that exists';
    throw new DatasetError(`split-cifar-100: ${where} ${what}; want ${CIFAR100_FOLDER} (growth-lab data download cifar-100)`);
  }
  const rng = new Rng(opts.seed ^ 0x5eed);
  let ds;
  try {
    ds = await loadDataset({ name: 'cifar-100', path: dir }, { seed: opts.seed, baseDir: opts.baseDir });
  } catch (e) {
    if (e instanceof DatasetError) throw new DatasetError(`split-cifar-100: ${where}: ${e.message}`);
    throw e;
  }
  const features = 3 * 32 * 32;
  const order =
    (opts.classOrder ?? 'shuffled') === 'shuffled'
      ? Array.from(new Rng(opts.seed ^ 0xc1a55).permutation(100))
      : Array.from({ length: 100 }, (_, i) => i);
  const per = 100 / T;
  const tasks: ContinualTask[] = [];
  for (let t = 0; t < T; t++) {
    const classes = order.slice(t * per, (t + 1) * per);
    tasks.push({
      name: `${t + 1}: ${classes.join(',')}`,
      classes,
      train: selectTask(ds.train, classes, opts.trainPerTask, rng.fork(2 * t), features),
      test: selectTask(ds.test, classes, opts.testPerTask, rng.fork(2 * t + 1), features),
    });
  }
  return { name: 'split-cifar-100', features, inputShape: [3, 32, 32], classesPerTask: per, tasks };
}

async function loadCustomStream(opts: StreamOptions, rng: Rng): Promise<TaskStream> {
  const configs = opts.datasets ?? [];
  if (configs.length < 2) throw new DatasetError('continual.datasets: a custom stream needs at least 2 datasets (one per task)');
  const loaded = [];
  for (let t = 0; t < configs.length; t++) {
    const ds = await loadDataset(configs[t], { seed: opts.seed + t, baseDir: opts.baseDir });
    if (ds.task !== 'classification')
      throw new DatasetError(`continual.datasets[${t}]: ${ds.description} is a regression dataset; continual tasks are classification`);
    loaded.push(ds);
  }
  const features = loaded[0].inputShape.reduce((a, b) => a * b, 1);
  loaded.forEach((ds, t) => {
    const f = ds.inputShape.reduce((a, b) => a * b, 1);
    if (f !== features)
      throw new DatasetError(`continual.datasets[${t}]: ${f} input features, but task 0 has ${features}; every task needs the same number`);
  });
  const classesPerTask = Math.max(...loaded.map((ds) => ds.numClasses));
  const tasks: ContinualTask[] = loaded.map((ds, t) => {
    const classes = Array.from({ length: ds.numClasses }, (_, i) => i);
    const cfg = configs[t];
    const label = cfg.path ? cfg.path.split(/[\\/]/).pop()! : cfg.name;
    return {
      name: `${t + 1}: ${label}`,
      classes,
      train: selectTask(ds.train, classes, opts.trainPerTask, rng.fork(2 * t), features),
      test: selectTask(ds.test, classes, opts.testPerTask, rng.fork(2 * t + 1), features),
    };
  });
  return { name: 'custom', features, inputShape: [...loaded[0].inputShape], classesPerTask, tasks };
}
