/**
 * Records the event streams the webview tests replay, from REAL runs of the backend (dist/cli.js
 * serve over stdio, as the extension drives it): a small Fashion-MNIST MLP grown and pruned through
 * the protocol's grow/prune requests with several methods while it trains, and a baseline run
 * without growth (for the "all runs" comparison chart). Writes each run's `getRunHistory` answer
 * to test/webview/fixtures/<name>.jsonl (one RunEvent per line, exactly what the extension sends).
 *
 * Usage: node scripts/build.mjs && node --import tsx test/webview/recordFixtures.ts [continual | torchrun]
 * (`continual`: only the continual-learning run, test/webview/fixtures/continual-run.jsonl;
 * `torchrun`: only an external job, fixtures/torchrun-job.jsonl: a small Fashion-MNIST conv net trained
 * one epoch by the CLI, exported with --format torchrun and retrained by its train.py under real
 * `torchrun --nproc_per_node 2`, then read back through the backend as the extension reads it)
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Methods, Notifications, type GrowEventParams, type RunEvent } from '../../common/protocol';
import { BackendClient } from '../integration/backendClient';
import { TORCHRUN, TORCHRUN_STD, jobRunId, trainAndExportTorchrun } from '../helpers/torchrunJob';

const OUT = path.join(__dirname, 'fixtures');

const base = {
  seed: 11,
  dataset: { name: 'fashion-mnist', trainSize: 12000, testSize: 2000 },
  model: {
    layers: [
      { type: 'dense', units: 24, activation: 'tanh' },
      { type: 'dense', units: 12, activation: 'tanh' },
    ],
  },
  training: { epochs: 8, batchSize: 8, optimizer: 'adam', learningRate: 0.002 },
};

/** (epoch reached, request) pairs issued while the grown run trains. */
const STEPS: { epoch: number; kind: 'grow' | 'prune'; method: string; options?: Record<string, unknown> }[] = [
  { epoch: 2, kind: 'grow', method: 'splitting', options: { neurons: 6 } },
  { epoch: 3, kind: 'grow', method: 'net2net-wider', options: { neurons: 4, layers: ['dense_2'] } },
  { epoch: 4, kind: 'grow', method: 'net2net-deeper' },
  { epoch: 5, kind: 'prune', method: 'prune-taylor', options: { neurons: 5 } },
  { epoch: 6, kind: 'grow', method: 'gauss-newton' },
  { epoch: 7, kind: 'grow', method: 'random-split-new', options: { neurons: 4 } },
];

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-record-'));
  const client = new BackendClient();
  const grows: GrowEventParams[] = [];
  client.conn.onNotification(Notifications.growEvent, (e: GrowEventParams) => grows.push(e));
  try {
    const init = await client.initialize(work);
    console.log(`growth methods: ${init.capabilities.experimental.growthLab.growthMethods.join(', ')}`);
    fs.mkdirSync(OUT, { recursive: true });
    if (process.argv.includes('torchrun')) {
      await recordTorchrunJob(work, client);
      await client.shutdown();
      return;
    }
    if (process.argv.includes('continual')) {
      // A continual-learning run: split-MNIST, every method, small tasks (the heatmap test).
      const cl = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
        config: { name: 'split-mnist-cl', seed: 5, continual: { stream: 'split-mnist', trainPerTask: 400, testPerTask: 200, epochs: 2 } },
      });
      await client.until(() => client.statusOf(cl.runId, 'completed') || client.statusOf(cl.runId, 'failed'), 300000, 'continual run end');
      await write('continual-run', cl.runId, client);
      await client.shutdown();
      return;
    }

    const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
      config: { ...base, name: 'fashion-grown' },
    });
    for (const s of STEPS) {
      await client.until(() => client.metrics.find((m) => m.runId === runId && m.epoch >= s.epoch + 1), 120000, `epoch ${s.epoch + 1}`);
      try {
        const e =
          s.kind === 'grow'
            ? await client.conn.sendRequest<GrowEventParams>(Methods.grow, { runId, method: s.method, options: s.options ?? {} })
            : await client.conn.sendRequest<GrowEventParams>(Methods.prune, { runId, options: { method: s.method, ...(s.options ?? {}) } });
        const d = e.diff
          .map(
            (x) =>
              `${x.id}: kept ${x.kept} split ${x.split.length} added ${x.added.length} removed ${x.removed.length}${x.inserted ? ' inserted' : ''}`,
          )
          .join('; ');
        console.log(`${s.kind} ${s.method} at step ${e.step}: ${e.before.params} -> ${e.after.params} params; ${d}`);
      } catch (err) {
        console.log(`${s.kind} ${s.method}: failed: ${(err as Error).message}`);
      }
    }
    await client.until(() => client.statusOf(runId, 'completed') || client.statusOf(runId, 'failed'), 300000, 'grown run end');
    await write('grown-run', runId, client);

    const baseline = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
      config: {
        ...base,
        name: 'fashion-baseline',
        model: { layers: [{ type: 'dense', units: 48, activation: 'tanh' }] },
        training: { ...base.training, epochs: 5 },
      },
    });
    await client.until(
      () => client.statusOf(baseline.runId, 'completed') || client.statusOf(baseline.runId, 'failed'),
      300000,
      'baseline run end',
    );
    await write('baseline-run', baseline.runId, client);
    console.log(`grow notifications: ${grows.length}`);
    await client.shutdown();
  } finally {
    client.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function recordTorchrunJob(work: string, client: BackendClient): Promise<void> {
  const { dir } = trainAndExportTorchrun(work, path.join(work, '.growth-lab'), {
    name: 'fashion-cnn',
    seed: 4,
    dataset: { name: 'fashion-mnist', trainSize: 2000, testSize: 500 },
    model: {
      layers: [
        { type: 'conv2d', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' },
        { type: 'batchnorm' },
        { type: 'maxpool', size: 2 },
        { type: 'dense', units: 32, activation: 'relu' },
      ],
    },
    training: { epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 0.002 },
  } as { name: string });
  const args = [
    ...TORCHRUN_STD,
    '--nproc_per_node',
    '2',
    '--master_addr',
    '127.0.0.1',
    '--master_port',
    '29531',
    'train.py',
    '--epochs',
    '6',
  ];
  const r = spawnSync(TORCHRUN, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  const runId = r.status === 0 ? jobRunId(r.stdout) : undefined;
  if (!runId) throw new Error(`torchrun ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  await write('torchrun-job', runId, client);
}

async function write(name: string, runId: string, client: BackendClient): Promise<void> {
  const events = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.type] = (counts[e.type] ?? 0) + 1;
  fs.writeFileSync(path.join(OUT, `${name}.jsonl`), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  console.log(`${name}: ${runId}: ${JSON.stringify(counts)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
