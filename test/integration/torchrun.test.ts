// The torchrun export end to end with real PyTorch (Debian's python3-torch; skipped with the reason where
// it cannot be installed): train.py under `torchrun` with 2 processes agrees with 1 process at the same
// global batch, two "nodes" on loopback agree with one node, a killed rank fails the job cleanly and
// --resume ends bit-identical to an uninterrupted run, the job's events are listed by the real backend as
// an external run, Growth Lab's engine evaluates the retrained weights to the accuracy train.py reported,
// and the weights import back with model.init.from and grow with the function kept.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Methods, type MetricsParams, type RunEvent, type RunSummary } from '../../common/protocol';
import { loadDataset } from '../../server/datasets';
import { decodeNpz } from '../../server/export/npz';
import { importModel, modelFromImport } from '../../server/export';
import { Trainer, optimizerSettings } from '../../server/trainer/trainer';
import { optimizerSlots } from '../../server/engine';
import { createExecutor } from '../../server/training/executors';
import { validateExperiment } from '../../server/config';
import { BackendClient, ROOT } from './backendClient';
import { PY, ensureTorch } from '../helpers/torch';
import { until } from '../helpers/until';
import { TORCHRUN, TORCHRUN_STD, jobRunId, trainAndExportTorchrun } from '../helpers/torchrunJob';

const BIN = path.join(ROOT, 'bin', 'growth-lab.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-torchrun-it-'));
const ws = path.join(work, 'ws');
const out = path.join(ws, '.growth-lab');
fs.mkdirSync(ws);
after(() => fs.rmSync(work, { recursive: true, force: true }));

const skip = ensureTorch() ?? (fs.existsSync(TORCHRUN) ? undefined : `${TORCHRUN} is missing (it comes with python3-torch)`);
const it = (name: string, fn: (t: import('node:test').TestContext) => Promise<void> | void) => test(name, { skip }, fn);

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ws, encoding: 'utf8', timeout: 180000 });
}

const mlpConfig = {
  name: 'mlp',
  seed: 5,
  dataset: { name: 'mnist', trainSize: 1024, testSize: 300 },
  model: { layers: [{ type: 'dense', units: 32, activation: 'relu' }] },
  training: { epochs: 1, batchSize: 64, optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 0.0005 },
};
const cnnConfig = {
  name: 'cnn-bn',
  seed: 6,
  dataset: { name: 'mnist', trainSize: 512, testSize: 200 },
  model: {
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
      { type: 'batchnorm' },
      { type: 'maxpool', size: 2 },
      { type: 'dense', units: 16, activation: 'relu' },
    ],
  },
  training: { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 0.002 },
};

/** Trains `cfg` with the CLI and exports it with --format torchrun: the run and the export folder. */
function trainAndExport(cfg: object & { name: string }): { runId: string; dir: string } {
  const { runId, dir, files } = trainAndExportTorchrun(ws, out, cfg);
  assert.deepEqual(files.map((f) => path.basename(f)).sort(), [
    'README.md',
    'architecture.json',
    'data.npz',
    'job.json',
    'model.py',
    'train.py',
    'weights.npz',
  ]);
  return { runId, dir };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function launch(cwd: string, args: string[]): { proc: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
  const proc = spawn(args[0], args.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => proc.on('exit', (code) => resolve({ code, output })));
  return { proc, done };
}

async function torchrun(cwd: string, nproc: number, trainArgs: string[]): Promise<string> {
  const port = await freePort();
  const { done } = launch(cwd, [
    TORCHRUN,
    ...TORCHRUN_STD,
    '--nproc_per_node',
    String(nproc),
    '--master_addr',
    '127.0.0.1',
    '--master_port',
    String(port),
    'train.py',
    ...trainArgs,
  ]);
  const r = await done;
  assert.equal(r.code, 0, r.output.slice(-3000));
  return r.output;
}

function python(cwd: string, trainArgs: string[]): string {
  const r = spawnSync(PY, ['train.py', ...trainArgs], {
    cwd,
    encoding: 'utf8',
    timeout: 180000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.slice(-3000));
  return r.stdout;
}

function runIdFrom(output: string): string {
  const id = jobRunId(output);
  assert.ok(id, `no run id in:\n${output.slice(-2000)}`);
  return id;
}

function events(runId: string): RunEvent[] {
  return fs
    .readFileSync(path.join(out, 'runs', runId, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);
}
const metricsOf = (runId: string) => events(runId).filter((e): e is Extract<RunEvent, { type: 'metrics' }> => e.type === 'metrics');

function npzArrays(file: string): Map<string, Float32Array | BigInt64Array | Uint8Array> {
  const m = new Map<string, Float32Array | BigInt64Array | Uint8Array>();
  for (const [k, a] of decodeNpz(new Uint8Array(fs.readFileSync(file)))) m.set(k, a.data);
  return m;
}

/** Growth Lab's own engine (onnxruntime) evaluates the retrained weights to the test accuracy and loss train.py reported. */
async function assertEngineAgrees(architectureFile: string, config: object, reported: MetricsParams): Promise<void> {
  const imported = importModel(architectureFile);
  const v = validateExperiment(config);
  assert.ok(v.ok);
  const data = await loadDataset(v.config.dataset, { seed: v.config.seed });
  const slots = optimizerSlots(optimizerSettings(v.config.training));
  const trainer = new Trainer(
    modelFromImport(imported.spec, imported.tensors, 1, slots),
    data,
    v.config.training,
    await createExecutor('onnxruntime', 'cpu'),
  );
  const ev = await trainer.evaluate();
  await trainer.dispose();
  assert.ok(Math.abs(ev.accuracy! - reported.testAccuracy!) <= 1e-9, `engine ${ev.accuracy} vs train.py ${reported.testAccuracy}`);
  assert.ok(Math.abs(ev.loss - reported.testLoss!) <= 1e-4 * ev.loss, `engine loss ${ev.loss} vs train.py ${reported.testLoss}`);
}

let mlp: { runId: string; dir: string };
let cnn: { runId: string; dir: string };
before(() => {
  if (skip) return;
  mlp = trainAndExport(mlpConfig);
  cnn = trainAndExport(cnnConfig);
});

const jobRuns: Record<string, string> = {};

it('an MLP: 2 processes under torchrun give the loss curve of 1 process at the same global batch', async (t) => {
  const one = runIdFrom(python(mlp.dir, ['--epochs', '2', '--save', 'one.npz']));
  const two = runIdFrom(await torchrun(mlp.dir, 2, ['--epochs', '2', '--save', 'two.npz']));
  jobRuns.mlpTwo = two;
  const [a, b] = [metricsOf(one), metricsOf(two)];
  assert.deepEqual(
    a.map((m) => m.epoch),
    [1, 2],
  );
  assert.deepEqual(
    b.map((m) => m.step),
    a.map((m) => m.step),
  );
  // Each step sees the same 64 examples (DistributedSampler hands rank r positions r, r+2, ... of one
  // seeded permutation) and DDP averages the two halves' mean gradients: the same update up to float
  // summation order, so the curves agree to float32 rounding accumulated over 32 steps.
  for (let i = 0; i < 2; i++) {
    assert.ok(
      Math.abs(a[i].trainLoss - b[i].trainLoss) <= 1e-4 * Math.abs(a[i].trainLoss),
      `epoch ${i + 1}: ${a[i].trainLoss} vs ${b[i].trainLoss}`,
    );
    assert.ok(
      Math.abs(a[i].testAccuracy! - b[i].testAccuracy!) <= 1 / 300 + 1e-9,
      `epoch ${i + 1}: ${a[i].testAccuracy} vs ${b[i].testAccuracy}`,
    );
  }
  assert.ok(b[1].trainLoss < b[0].trainLoss, 'it trains');
  t.diagnostic(`MLP train loss, 1 process: ${a.map((m) => m.trainLoss).join(', ')}; 2 processes: ${b.map((m) => m.trainLoss).join(', ')}`);

  await assertEngineAgrees(path.join(mlp.dir, 'two.architecture.json'), mlpConfig, b[1]);
});

it('a conv net with batch norm: 2 processes agree with 1 within the batch-statistics difference', async (t) => {
  const one = runIdFrom(python(cnn.dir, ['--epochs', '2']));
  const two = runIdFrom(await torchrun(cnn.dir, 2, ['--epochs', '2', '--save', 'cnn.npz']));
  const [a, b] = [metricsOf(one), metricsOf(two)];
  // Batch norm normalises each process's 32 examples by their own statistics (plain DDP, no SyncBatchNorm
  // on CPU), where 1 process uses all 64: the gradients differ by the sampling noise of the batch mean and
  // variance, so the curves agree to a few percent, not to rounding (measured: 0.18% and 0.10%; bound 5%).
  for (let i = 0; i < 2; i++) {
    const rel = Math.abs(a[i].trainLoss - b[i].trainLoss) / a[i].trainLoss;
    assert.ok(rel < 0.05, `epoch ${i + 1}: ${a[i].trainLoss} vs ${b[i].trainLoss} (${(rel * 100).toFixed(2)}%)`);
    t.diagnostic(
      `conv+BN epoch ${i + 1} train loss: 1 process ${a[i].trainLoss}, 2 processes ${b[i].trainLoss} (${(rel * 100).toFixed(2)}% apart)`,
    );
  }
  assert.ok(b[1].trainLoss < b[0].trainLoss && a[1].trainLoss < a[0].trainLoss, 'both train');
  // batch norm's running statistics come back through the export's momentum convention
  await assertEngineAgrees(path.join(cnn.dir, 'cnn.architecture.json'), cnnConfig, b[1]);
});

it('two nodes on loopback (c10d rendezvous) train to the result of one node with 2 processes', async () => {
  const port = await freePort();
  const node = () =>
    launch(mlp.dir, [
      TORCHRUN,
      ...TORCHRUN_STD,
      '--nnodes',
      '2',
      '--nproc_per_node',
      '1',
      '--rdzv_backend',
      'c10d',
      '--rdzv_endpoint',
      `127.0.0.1:${port}`,
      '--rdzv_id',
      'two-nodes',
      'train.py',
      '--epochs',
      '2',
      '--save',
      'nodes.npz',
    ]);
  const [n1, n2] = [node(), node()];
  const [r1, r2] = await Promise.all([n1.done, n2.done]);
  assert.equal(r1.code, 0, r1.output.slice(-3000));
  assert.equal(r2.code, 0, r2.output.slice(-3000));
  const two = metricsOf(jobRuns.mlpTwo);
  const nodes = metricsOf(runIdFrom(r1.output + r2.output));
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(nodes[i].trainLoss - two[i].trainLoss) <= 1e-6 * two[i].trainLoss, `epoch ${i + 1}`);
  const [x, y] = [npzArrays(path.join(mlp.dir, 'nodes.npz')), npzArrays(path.join(mlp.dir, 'two.npz'))];
  for (const [k, v] of y) assert.deepEqual(x.get(k), v, `weight ${k}`);
});

it('a rank killed mid-epoch fails the job cleanly; --resume ends with the weights of an uninterrupted run', async () => {
  const reference = runIdFrom(await torchrun(mlp.dir, 2, ['--epochs', '4', '--save', 'uninterrupted.npz']));
  const port = await freePort();
  const job = launch(mlp.dir, [
    TORCHRUN,
    ...TORCHRUN_STD,
    '--nproc_per_node',
    '2',
    '--master_addr',
    '127.0.0.1',
    '--master_port',
    String(port),
    'train.py',
    '--epochs',
    '4',
    '--save',
    'killed.npz',
  ]);
  let output = '';
  job.proc.stdout!.on('data', (d) => (output += d));
  const runId = await until('the job to start', () => /train\.py: run (\S+) started/.exec(output)?.[1], 60000);
  // after the first checkpoint, kill local rank 1 (a child of torchrun whose environment says LOCAL_RANK=1)
  await until('the first checkpoint', () => events(runId).some((e) => e.type === 'checkpoint'), 60000);
  const rank1 = await until('rank 1', () => workerWithLocalRank(job.proc.pid!, 1), 10000);
  process.kill(rank1, 'SIGKILL');
  const failed = await job.done;
  assert.notEqual(failed.code, 0, 'the job fails');
  const atKill = events(runId);
  const checkpoints = atKill.filter((e) => e.type === 'checkpoint').length;
  assert.ok(checkpoints >= 1 && checkpoints < 4, `killed after ${checkpoints} of 4 epochs`);
  assert.ok(!fs.existsSync(path.join(mlp.dir, 'killed.npz')), 'no weights saved by the failed job');
  const last = atKill[atKill.length - 1];
  assert.equal(last.type === 'status' && last.status, 'failed', `the job says it failed: ${JSON.stringify(last)}`);

  const resumed = await torchrun(mlp.dir, 2, ['--epochs', '4', '--resume', '--save', 'killed.npz']);
  assert.equal(runIdFrom(resumed), runId, 'the same run folder continues');
  const [x, y] = [npzArrays(path.join(mlp.dir, 'killed.npz')), npzArrays(path.join(mlp.dir, 'uninterrupted.npz'))];
  assert.equal(x.size, y.size);
  for (const [k, v] of y) assert.deepEqual(x.get(k), v, `weight ${k} is bit-identical`);
  const final = metricsOf(runId).at(-1)!;
  const ref = metricsOf(reference).at(-1)!;
  assert.equal(final.epoch, 4);
  assert.equal(final.step, ref.step);
  assert.equal(final.testAccuracy, ref.testAccuracy);
  jobRuns.killed = runId;
});

function workerWithLocalRank(parent: number, localRank: number): number | undefined {
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`LOCAL_RANK=${localRank}`)) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

it('the backend lists the jobs as external runs, serves their history, and refuses to resume them', async () => {
  const client = new BackendClient();
  try {
    await client.initialize(ws);
    const runs = await client.conn.sendRequest<RunSummary[]>(Methods.listRuns, {});
    const two = runs.find((r) => r.runId === jobRuns.mlpTwo)!;
    assert.equal(two.external, 'torchrun');
    assert.equal(two.status, 'completed');
    assert.equal(two.epochsDone, 2);
    assert.equal(two.dataset, 'mnist');
    assert.ok(two.bestTestAccuracy! > 0.5);
    const killed = runs.find((r) => r.runId === jobRuns.killed)!;
    assert.equal(killed.status, 'completed', 'resumed to the end');
    assert.equal(killed.epochsDone, 4);
    assert.equal(runs.find((r) => r.runId === mlp.runId)!.external, undefined);
    const history = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId: jobRuns.killed });
    const statuses = history.filter((e) => e.type === 'status').map((e) => (e as { status: string }).status);
    assert.deepEqual(statuses, ['running', 'failed', 'running', 'completed']);
    const epochs = history.filter((e) => e.type === 'metrics').map((e) => (e as MetricsParams).epoch);
    assert.deepEqual([...new Set(epochs)], [1, 2, 3, 4], "every epoch reported, the resumed ones after the first attempt's");
    await assert.rejects(client.conn.sendRequest(Methods.resumeRun, { runId: jobRuns.killed }), /external torchrun job/);
  } finally {
    await client.shutdown();
  }
});

it('round trip: the retrained weights import with model.init.from and a Firefly grow at ε = 0 keeps the function', () => {
  const file = path.join(ws, 'continue.growth.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      name: 'continue',
      seed: 5,
      dataset: mlpConfig.dataset,
      model: { init: { from: path.relative(ws, path.join(mlp.dir, 'killed.architecture.json')) } },
      training: { epochs: 2, batchSize: 64 },
      // Firefly's ε must be positive; at 1e-12 its splits move weights far below float32 resolution (ε → 0).
      growth: { method: 'firefly', schedule: { every: 1 }, options: { epsilon: 1e-12 } },
    }),
  );
  const r = cli('run', file, '--json', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const grow = lines.find((l) => l.type === 'grow');
  assert.ok(grow, `a grow step: ${r.stdout.slice(-1000)}`);
  assert.ok(grow.after.params > grow.before.params, 'it grew');
  assert.ok(grow.maxOutputChange < 1e-5, `output kept: ${grow.maxOutputChange}`);
});
