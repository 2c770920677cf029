/**
 * torchrun export: the PyTorch export (model.py, weights.npz, architecture.json) plus what retrains it
 * with torch.distributed outside Growth Lab:
 *
 *   train.py    a fixed DDP training script (numpy + torch only; torchrunTrainPy.ts)
 *   job.json    the run's training settings, seed, architecture and config, read by train.py
 *   data.npz    the run's training and test sets (x_train, y_train, x_test, y_test)
 *   README.md   the exact torchrun commands for one machine and for several, and the round trip back
 *
 * The run's config.json is untrusted (a cloned repository): only settings that pass validation reach
 * job.json, and job.json is data that train.py parses, never code.
 */
import * as path from 'node:path';
import type { ExperimentConfig, TrainingConfig } from '../../common/protocol';
import { channelStats, imageShape } from '../trainer/augment';
import { OPTIMIZERS } from '../../common/protocol';
import { validateExperiment } from '../config';
import { loadDataset, type Dataset } from '../datasets';
import { architectureOf } from '../model/spec';
import { ExportError, type ExportFile } from './files';
import { NpyArray, encodeNpz } from './npz';
import { buildPytorchExport } from './pytorch';
import { type ExportSource, checkSource } from './source';
import { TORCHRUN_TRAIN_FILE, TORCHRUN_TRAIN_PY } from './torchrunTrainPy';

export const TORCHRUN_JOB_FILE = 'job.json';
export const TORCHRUN_DATA_FILE = 'data.npz';
export const TORCHRUN_README_FILE = 'README.md';
export const TORCHRUN_JOB_FORMAT = 'growth-lab-torchrun-job';
/** data.npz is held in memory while it is written: datasets above this many values are refused. */
export const MAX_TORCHRUN_DATA_VALUES = 256 * 1024 * 1024;

/** What the torchrun export needs beyond the model: the run's config and where its experiment file was. */
export interface TorchrunInput {
  config: unknown;
  /** The experiment file the run started from (relative dataset paths resolve against its folder). */
  configPath?: string;
  /** Folder receiving the export; train.py's default `--runs` is the run store's runs/ folder relative to it. */
  dir: string;
  /** The run store's runs/ folder. */
  runsDir: string;
}

/**
 * The training settings train.py uses (job.json "training"): the run's validated `training`, with
 * `augment` reduced to crop and flip and its normalisation resolved into `normalize`.
 */
export type TorchrunTraining = Omit<TrainingConfig, 'augment'> & {
  /** Crop and flip of training batches (the run's training.augment without normalize). */
  augment?: { crop?: { pad: number }; flip?: boolean };
  /** Per-channel normalisation, resolved ("auto" computed from the training set as the run did). */
  normalize?: { mean: number[]; std: number[] };
};

export interface TorchrunJob {
  format: typeof TORCHRUN_JOB_FORMAT;
  formatVersion: 1;
  sourceRunId: string;
  name: string;
  task: 'classification' | 'regression';
  seed: number;
  inputShape: number[];
  numOutputs: number;
  training: TorchrunTraining;
  data: { file: string; train: number; test: number; description: string };
  /** Folder of run folders, relative to the export folder (train.py's default --runs). */
  runsDir: string;
  architecture: ReturnType<typeof architectureOf>;
  /** The run's config, recorded in the job's own run folder (so the panel lists it with its dataset). */
  config: ExperimentConfig;
}

/** The run's config, validated exactly as a new experiment is (it may come from a cloned repository). */
export function torchrunConfig(raw: unknown, runId: string): ExperimentConfig {
  const v = validateExperiment(raw);
  if (!v.ok)
    throw new ExportError(`run ${runId}: its config.json is not a valid experiment (${v.errors[0]?.message ?? 'invalid'})`, 'unsupported');
  if (v.config.continual)
    throw new ExportError(`run ${runId} is a continual-learning run; torchrun export applies to ordinary runs`, 'unsupported');
  if (!OPTIMIZERS.includes(v.config.training.optimizer))
    throw new ExportError(
      `run ${runId}: optimizer ${JSON.stringify(v.config.training.optimizer)} has no PyTorch counterpart`,
      'unsupported',
    );
  return v.config;
}

export function torchrunJob(src: ExportSource, config: ExperimentConfig, data: Dataset, runsDirRelative: string): TorchrunJob {
  const { augment, ...training } = config.training;
  return {
    format: TORCHRUN_JOB_FORMAT,
    formatVersion: 1,
    sourceRunId: src.runId,
    name: src.name,
    task: src.spec.task,
    seed: config.seed,
    inputShape: [...src.spec.inputShape],
    numOutputs: src.spec.output.units,
    training: {
      ...training,
      ...(augment?.crop || augment?.flip
        ? { augment: { ...(augment.crop ? { crop: { pad: augment.crop.pad } } : {}), ...(augment.flip ? { flip: true } : {}) } }
        : {}),
      ...(augment?.normalize ? { normalize: resolvedNormalization(data, augment.normalize) } : {}),
    },
    data: { file: TORCHRUN_DATA_FILE, train: data.train.n, test: data.test.n, description: data.description },
    runsDir: runsDirRelative,
    architecture: architectureOf(src.spec),
    config,
  };
}

/** training.augment.normalize as numbers: "auto" is computed from the training set exactly as a run computes it. */
function resolvedNormalization(data: Dataset, n: { mean: number[]; std: number[] } | 'auto'): { mean: number[]; std: number[] } {
  if (n !== 'auto') return { mean: [...n.mean], std: [...n.std] };
  const shape = imageShape(data.inputShape);
  if (!shape)
    throw new ExportError(`training.augment.normalize needs image inputs; the dataset has [${data.inputShape.join(', ')}]`, 'unsupported');
  const t = data.train;
  return channelStats(t.x, t.n, shape, t.x instanceof Uint8Array ? (t.byteValues ?? null) : null);
}

/** The dataset's splits as data.npz: x as float32 [N, ...inputShape], y as int64 class indices or float32 targets. */
export function torchrunDataArrays(data: Dataset, inputShape: number[]): [string, NpyArray][] {
  const features = inputShape.reduce((a, b) => a * b, 1);
  const total = (data.train.n + data.test.n) * features;
  if (total > MAX_TORCHRUN_DATA_VALUES)
    throw new ExportError(
      `the dataset has ${total.toLocaleString('en-US')} input values, more than the ${MAX_TORCHRUN_DATA_VALUES.toLocaleString('en-US')} a data.npz may hold; use trainSize/testSize or point train.py --data at your own .npz`,
      'unsupported',
    );
  const bytes = data.train.x instanceof Uint8Array;
  if (bytes !== data.test.x instanceof Uint8Array)
    throw new ExportError('the train and test splits hold different pixel types', 'unsupported');
  const lut = data.train.byteValues;
  if (bytes && (!lut || lut.length !== 256 || !data.test.byteValues || data.test.byteValues.some((v, i) => v !== lut[i])))
    throw new ExportError('the byte splits do not share one table of byte values', 'unsupported');
  const split = (name: 'train' | 'test'): [string, NpyArray][] => {
    const s = data[name];
    if (s.x.length !== s.n * features)
      throw new ExportError(
        `the ${name} split has ${s.x.length} values, want ${s.n} x ${features} for input [${inputShape.join(', ')}]`,
        'unsupported',
      );
    const y: NpyArray =
      data.task === 'classification'
        ? { dtype: 'int64', shape: [s.n], data: BigInt64Array.from(s.y, (v) => BigInt(Math.round(v))) }
        : { dtype: 'float32', shape: [s.n, s.y.length / s.n], data: Float32Array.from(s.y) };
    const x: NpyArray =
      s.x instanceof Uint8Array
        ? { dtype: 'uint8', shape: [s.n, ...inputShape], data: s.x }
        : { dtype: 'float32', shape: [s.n, ...inputShape], data: s.x };
    return [
      [`x_${name}`, x],
      [`y_${name}`, y],
    ];
  };
  // Byte pixels stay bytes (one per pixel); byte_values[v] is the float Growth Lab feeds for byte v.
  const table: [string, NpyArray][] = bytes ? [['byte_values', { dtype: 'float32', shape: [256], data: Float32Array.from(lut!) }]] : [];
  return [...split('train'), ...split('test'), ...table];
}

export function torchrunReadme(job: TorchrunJob): string {
  const b = job.training.batchSize;
  return [
    `# Retrain "${job.name.replace(/[\r\n`]/g, ' ')}" with torchrun`,
    '',
    `Exported by Growth Lab from run \`${job.sourceRunId}\`: ${job.architecture.params.toLocaleString('en-US')} parameters,`,
    `${job.data.train.toLocaleString('en-US')} training and ${job.data.test.toLocaleString('en-US')} test examples in \`${TORCHRUN_DATA_FILE}\` (${job.data.description.replace(/[\r\n`]/g, ' ')}).`,
    `\`${TORCHRUN_TRAIN_FILE}\` needs only numpy and torch; the run's settings are in \`${TORCHRUN_JOB_FILE}\` and each has a command-line override (\`python3 ${TORCHRUN_TRAIN_FILE} --help\`).`,
    '',
    '## One machine',
    '',
    '```sh',
    `python3 ${TORCHRUN_TRAIN_FILE}                                  # one process`,
    `torchrun --nproc_per_node 4 ${TORCHRUN_TRAIN_FILE}              # 4 processes (GPUs, or CPU with gloo)`,
    `torchrun --nproc_per_node 4 ${TORCHRUN_TRAIN_FILE} --epochs 200 --amp   # longer, mixed precision on CUDA`,
    '```',
    '',
    '## Several machines',
    '',
    'Run the same command on every machine (each with this folder); HOST is the first machine:',
    '',
    '```sh',
    `torchrun --nnodes 2 --nproc_per_node 4 --rdzv_backend c10d --rdzv_endpoint HOST:29400 --rdzv_id retrain ${TORCHRUN_TRAIN_FILE}`,
    '```',
    '',
    `The global batch size (${b}, \`--batch-size\`) is split evenly over all processes, so the result does not`,
    'depend on how many there are (batch-norm statistics are per process, as in plain DDP).',
    '',
    '## Following it, stopping it, continuing it',
    '',
    `Rank 0 writes a Growth Lab run folder under \`--runs\` (default \`${job.runsDir}\`): \`events.jsonl\`, and a`,
    'checkpoint after every epoch in `torchrun/`. Open the workspace in VS Code (locally or through Remote) and the job',
    'shows in the Growth Lab panel as an external run; its monitor follows it live.',
    '',
    `If the job stops (a process killed, a node lost), run the same command with \`--resume\`: it continues`,
    'from the last checkpoint of the last run started here (or `--run-dir DIR`) and, on CPU with the same',
    'seed and process count, ends with the same weights as an uninterrupted run.',
    '',
    '## Back to Growth Lab',
    '',
    '```sh',
    `torchrun --nproc_per_node 4 ${TORCHRUN_TRAIN_FILE} --save retrained.npz`,
    '```',
    '',
    'writes `retrained.npz` and `retrained.architecture.json`; in an experiment file,',
    '`"model": {"init": {"from": "<this folder>/retrained.architecture.json"}}` starts a new run from the',
    'retrained weights, and growth continues from there.',
    '',
  ].join('\n');
}

/** The torchrun export's files (nothing written). */
export async function buildTorchrunExport(
  src: ExportSource,
  input: TorchrunInput,
  generatedAt = new Date().toISOString(),
): Promise<ExportFile[]> {
  checkSource(src);
  const config = torchrunConfig(input.config, src.runId);
  const baseDir = input.configPath ? path.dirname(input.configPath) : process.cwd();
  let data: Dataset;
  try {
    data = await loadDataset(config.dataset, { seed: config.seed, baseDir });
  } catch (err) {
    throw new ExportError(
      `run ${src.runId}: cannot load its dataset for data.npz: ${err instanceof Error ? err.message : String(err)}`,
      'unsupported',
    );
  }
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same(data.inputShape, src.spec.inputShape))
    throw new ExportError(
      `run ${src.runId}: its dataset gives inputs [${data.inputShape.join(', ')}] but the model takes [${src.spec.inputShape.join(', ')}]`,
      'unsupported',
    );
  const outputs = data.task === 'classification' ? data.numClasses : data.targetSize;
  if (data.task !== src.spec.task || outputs !== src.spec.output.units)
    throw new ExportError(
      `run ${src.runId}: its dataset is ${data.task} with ${outputs} outputs but the model is ${src.spec.task} with ${src.spec.output.units}`,
      'unsupported',
    );
  const runsRelative = path.relative(path.resolve(input.dir), path.resolve(input.runsDir)).split(path.sep).join('/') || '.';
  const job = torchrunJob(src, config, data, runsRelative);
  return [
    ...buildPytorchExport(src, generatedAt),
    { name: TORCHRUN_TRAIN_FILE, data: TORCHRUN_TRAIN_PY },
    { name: TORCHRUN_JOB_FILE, data: `${JSON.stringify(job, null, 2)}\n` },
    { name: TORCHRUN_DATA_FILE, data: encodeNpz(torchrunDataArrays(data, src.spec.inputShape)) },
    { name: TORCHRUN_README_FILE, data: torchrunReadme(job) },
  ];
}
