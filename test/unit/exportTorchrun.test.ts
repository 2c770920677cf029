// The torchrun export's pieces without PyTorch: what reaches job.json from an (untrusted) run config,
// data.npz's arrays, the README, the fixed train.py; external runs in summaries, controls and the
// Experiments tree; the monitor's follower of an external job. (test/integration/torchrun.test.ts runs
// the script under real torchrun.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LrScheduleConfig, RunEvent, RunHistoryParams } from '../../common/protocol';
import { initialLrState, learningRateAt } from '../../server/training/lrSchedule';
import { ExportError } from '../../server/export';
import { decodeNpz } from '../../server/export/npz';
import {
  MAX_TORCHRUN_DATA_VALUES,
  TORCHRUN_JOB_FORMAT,
  buildTorchrunExport,
  torchrunConfig,
  torchrunDataArrays,
  torchrunJob,
  torchrunReadme,
} from '../../server/export/torchrun';
import { TORCHRUN_TRAIN_PY } from '../../server/export/torchrunTrainPy';
import type { Dataset } from '../../server/datasets';
import { architectureOf } from '../../server/model/spec';
import { externalTool } from '../../server/runs/runFolder';
import { emptyDigest, summarizeRun } from '../../server/runs/runSummary';
import { controlStates } from '../../webview/controls';
import { runNode } from '../../extension/experimentsTree';
import { ExternalRunFollower } from '../../extension/externalFollow';
import { until } from '../helpers/until';
import { TEST_MODELS, makeModel, sourceOf } from './exportHelpers';

const config = {
  name: 'mlp',
  seed: 3,
  dataset: { name: 'rbf-toy', trainSize: 10, testSize: 4 },
  model: { layers: [{ type: 'dense', units: 4, activation: 'rbf' }] },
  training: { epochs: 3, batchSize: 5, optimizer: 'adamw', learningRate: 0.01, weightDecay: 0.1 },
};

function tinyDataset(task: 'classification' | 'regression' = 'classification'): Dataset {
  return {
    name: 'csv',
    task,
    inputShape: [2],
    numClasses: task === 'classification' ? 3 : 0,
    targetSize: 1,
    train: { x: Float32Array.from([1, 2, 3, 4, 5, 6]), y: Float32Array.from([0, 2, 1]), n: 3 },
    test: { x: Float32Array.from([7, 8]), y: Float32Array.from([1]), n: 1 },
    description: 'tiny',
  };
}

test('job.json takes the run config only through validation; continual runs and invalid configs are refused', () => {
  const c = torchrunConfig(config, 'r1');
  assert.equal(c.training.optimizer, 'adamw');
  assert.equal(c.training.momentum, 0.9, 'defaults filled in as for a new experiment');
  assert.throws(
    () => torchrunConfig({ ...config, training: { ...config.training, learningRate: 'rm -rf /' } }, 'r1'),
    (e: unknown) => e instanceof ExportError && /run r1: its config\.json is not a valid experiment \(.*learningRate/.test(e.message),
  );
  assert.throws(
    () => torchrunConfig({ name: 'cl', continual: { stream: 'split-mnist' } }, 'r2'),
    (e: unknown) => e instanceof ExportError && /run r2 is a continual-learning run/.test(e.message),
  );
  const src = sourceOf(makeModel(TEST_MODELS[0]));
  const job = torchrunJob(src, c, tinyDataset(), '../../runs');
  assert.equal(job.format, TORCHRUN_JOB_FORMAT);
  assert.deepEqual(job.training, {
    epochs: 3,
    batchSize: 5,
    optimizer: 'adamw',
    learningRate: 0.01,
    momentum: 0.9,
    nesterov: false,
    weightDecay: 0.1,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
    evalEvery: 1,
    shuffle: true,
  });
  assert.deepEqual(job.data, { file: 'data.npz', train: 3, test: 1, description: 'tiny' });
  assert.equal(job.architecture.params, architectureOf(src.spec).params);
  assert.deepEqual(job.config, c);
  // augmentation: crop and flip pass through, normalisation is resolved; the schedule and smoothing are the run's
  const vision = torchrunConfig(
    {
      ...config,
      dataset: { name: 'mnist' },
      training: {
        ...config.training,
        labelSmoothing: 0.1,
        lrSchedule: { type: 'step', milestones: [2] },
        augment: { crop: { pad: 2 }, flip: true, normalize: { mean: [0.1], std: [0.3] } },
      },
    },
    'r3',
  );
  const vjob = torchrunJob(src, vision, tinyDataset(), '.');
  assert.deepEqual(vjob.training.augment, { crop: { pad: 2 }, flip: true });
  assert.deepEqual(vjob.training.normalize, { mean: [0.1], std: [0.3] });
  assert.equal(vjob.training.labelSmoothing, 0.1);
  assert.deepEqual(vjob.training.lrSchedule, vision.training.lrSchedule);
  assert.equal(vjob.training.lrSchedule!.type, 'step');
});

test('data.npz: float32 inputs in the model shape, int64 class indices or float32 targets; oversized sets refused', () => {
  const arrays = new Map(torchrunDataArrays(tinyDataset(), [2]));
  assert.deepEqual([...arrays.keys()], ['x_train', 'y_train', 'x_test', 'y_test']);
  assert.deepEqual(arrays.get('x_train'), { dtype: 'float32', shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  assert.deepEqual(arrays.get('y_train'), { dtype: 'int64', shape: [3], data: BigInt64Array.from([0n, 2n, 1n]) });
  const reg = new Map(torchrunDataArrays(tinyDataset('regression'), [2]));
  assert.deepEqual(reg.get('y_test'), { dtype: 'float32', shape: [1, 1], data: Float32Array.from([1]) });
  assert.throws(() => torchrunDataArrays(tinyDataset(), [3]), /the train split has 6 values, want 3 x 3 for input \[3\]/);
  const huge = { ...tinyDataset(), train: { x: new Float32Array(0), y: new Float32Array(0), n: MAX_TORCHRUN_DATA_VALUES } };
  assert.throws(() => torchrunDataArrays(huge, [2]), /more than the 268,435,456 a data\.npz may hold; use trainSize\/testSize/);
});

test('the export: the fixed train.py, job.json as data (a hostile run name stays a JSON string), data.npz, README', async () => {
  const name = 'x"""\nimport os; os.system("boom")\n`';
  const m = makeModel({ name: 'reg', inputShape: [1], outputs: 1, layers: [{ type: 'dense', units: 4, activation: 'rbf' }] });
  m.spec.task = 'regression';
  const input = { config, dir: '/w/.growth-lab/exports/run-1', runsDir: '/w/.growth-lab/runs' };
  const files = await buildTorchrunExport({ ...sourceOf(m, 'run-1'), name }, input);
  const byName = new Map(files.map((f) => [f.name, f.data]));
  assert.deepEqual([...byName.keys()], ['model.py', 'weights.npz', 'architecture.json', 'train.py', 'job.json', 'data.npz', 'README.md']);
  assert.equal(byName.get('train.py'), TORCHRUN_TRAIN_PY, 'train.py never embeds run data');
  const job = JSON.parse(byName.get('job.json') as string);
  assert.equal(job.name, name);
  assert.equal(job.runsDir, '../../runs');
  assert.equal(job.task, 'regression');
  assert.deepEqual(job.data, { file: 'data.npz', train: 10, test: 4, description: job.data.description });
  const data = decodeNpz(byName.get('data.npz') as Uint8Array);
  assert.deepEqual(
    [...data].map(([k, a]) => [k, a.dtype, a.shape]),
    [
      ['x_train', 'float32', [10, 1]],
      ['y_train', 'float32', [10, 1]],
      ['x_test', 'float32', [4, 1]],
      ['y_test', 'float32', [4, 1]],
    ],
  );
  const readme = byName.get('README.md') as string;
  assert.doesNotMatch(readme.split('\n')[0], /`|\n/);
  assert.match(readme, /torchrun --nproc_per_node 4 train\.py/);
  assert.match(readme, /torchrun --nnodes 2 --nproc_per_node 4 --rdzv_backend c10d --rdzv_endpoint HOST:29400/);
  assert.match(readme, /--save retrained\.npz/);
  assert.match(readme, /"model": \{"init": \{"from": "<this folder>\/retrained\.architecture\.json"\}\}/);
  assert.equal(torchrunReadme(job), readme);
  // A model that does not fit the run's dataset is refused, naming both.
  const cls = makeModel({ name: 'cls', inputShape: [1], outputs: 1, layers: [{ type: 'dense', units: 4, activation: 'rbf' }] });
  await assert.rejects(
    buildTorchrunExport(sourceOf(cls, 'run-2'), input),
    /run run-2: its dataset is regression with 1 outputs but the model is classification with 1/,
  );
});

test("train.py is valid Python (compiled by the machine's python3)", (t) => {
  const py = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!py) return t.skip('no python3 on this machine');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-trainpy-'));
  try {
    fs.writeFileSync(path.join(dir, 'train.py'), TORCHRUN_TRAIN_PY);
    const r = spawnSync(py, ['-m', 'py_compile', path.join(dir, 'train.py')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("external runs: run.json names the tool; the summary keeps the job's own status; controls and tree are read-only", () => {
  assert.equal(externalTool({ external: { tool: 'torchrun', sourceRunId: 'x' } }), 'torchrun');
  for (const bad of [{ external: { tool: 'Torch Run' } }, { external: { tool: 7 } }, { external: 'torchrun' }, {}, undefined])
    assert.equal(externalTool(bad as never), undefined, JSON.stringify(bad));
  const digest = { ...emptyDigest(), status: 'running' as const, epochsDone: 2 };
  const facts = { runId: 'job-1', config: config as never, digest };
  assert.deepEqual(
    [summarizeRun(facts, false).status, summarizeRun(facts, false).stale],
    ['failed', true],
    'an own run left running is stale',
  );
  const ext = summarizeRun({ ...facts, external: 'torchrun' }, false);
  assert.deepEqual([ext.status, ext.stale, ext.external], ['running', undefined, 'torchrun'], 'an external job is not judged stale');

  const states = controlStates({ runId: 'job-1', status: 'running', growthMethods: ['firefly'], hasCheckpoint: true, external: true });
  assert.deepEqual(states, { start: true, pause: false, resume: false, stop: false, grow: false, prune: false, export: false });
  const node = runNode({ ...ext, name: 'mlp (torchrun)', epochs: 4, params: 10, startedAt: '2026-12-05T00:00:00Z' } as never);
  assert.equal(node.contextValue, 'run.external');
  assert.match(node.description!, /external: torchrun/);
  assert.match(node.tooltip!, /an external torchrun job: followed here, not resumed, grown or exported/);
});

test('the follower polls the events after the shown ones until the job stops running', async () => {
  const file: RunEvent[] = [{ type: 'status', time: 't0', runId: 'job', status: 'running' }];
  const seen: RunEvent[] = [];
  const asked: RunHistoryParams[] = [];
  const f = new ExternalRunFollower(
    {
      readPage: async (p) => {
        asked.push(p);
        return file.slice(p.offset ?? 0, (p.offset ?? 0) + (p.limit ?? file.length));
      },
      onEvents: (_id, events) => seen.push(...events),
      log: (m) => assert.fail(m),
    },
    5,
  );
  f.follow('job', 1);
  await until('a poll', () => asked.length >= 2);
  assert.deepEqual(seen, []);
  const metrics = {
    type: 'metrics',
    time: 't1',
    runId: 'job',
    epoch: 1,
    step: 4,
    trainLoss: 1,
    params: 3,
    samplesPerSecond: 1,
    elapsedMs: 1,
  } as RunEvent;
  file.push(metrics);
  await until('the metrics', () => seen.length === 1);
  assert.deepEqual(seen, [metrics]);
  file.push({ type: 'status', time: 't2', runId: 'job', status: 'completed' });
  await until('the end', () => f.following === undefined);
  assert.equal(seen.length, 2);
  assert.deepEqual(
    asked.slice(0, 2).map((p) => p.offset),
    [1, 1],
  );
});

test("train.py's learning-rate schedule is Growth Lab's: the same rate at every step for warmup, step and cosine", (t) => {
  const py = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!py) return t.skip('no python3 on this machine');
  const fn = /\ndef lr_at\([\s\S]*?\n\n\n/.exec(TORCHRUN_TRAIN_PY)![0];
  const schedules: LrScheduleConfig[] = [
    { type: 'constant', milestones: [], gamma: 0.1, minLearningRate: 0, warmupEpochs: 0 },
    { type: 'constant', milestones: [], gamma: 0.1, minLearningRate: 0, warmupEpochs: 2 },
    { type: 'step', milestones: [2, 4], gamma: 0.2, minLearningRate: 0, warmupEpochs: 1 },
    { type: 'cosine', milestones: [], gamma: 0.1, minLearningRate: 0.001, warmupEpochs: 1.5 },
    { type: 'cosine', milestones: [], gamma: 0.1, minLearningRate: 0, warmupEpochs: 0 },
  ];
  const epochs = 6,
    steps = 7,
    base = 0.1;
  const points: [number, number][] = [];
  for (let e = 0; e < epochs; e++) for (let i = 0; i < steps; i++) points.push([e + i / steps, 1 / steps]);
  const script = `import json, math, sys\n${fn}\nfor s in json.loads(sys.argv[1]):\n    job = {"training": {"lrSchedule": s}}\n    print(json.dumps([lr_at(job, ${base}, ${epochs}, t, dt) for t, dt in json.loads(sys.argv[2])]))\n`;
  const r = spawnSync(py, ['-c', script, JSON.stringify(schedules), JSON.stringify(points)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as number[]);
  schedules.forEach((s, k) => {
    const want = points.map(([t, dt]) => learningRateAt(s, initialLrState(s, base), epochs, t, dt));
    got[k].forEach((v, i) =>
      assert.ok(Math.abs(v - want[i]) <= 1e-15, `${s.type} warmup ${s.warmupEpochs} at t=${points[i][0]}: ${v} vs ${want[i]}`),
    );
  });
});
