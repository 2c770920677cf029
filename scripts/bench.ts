/**
 * npm run bench: training throughput of the onnxruntime engine (cpu) against the tfjs executor (wasm)
 * in one run, the cost of metric streaming, session build time after a width change, how fast the real
 * backend answers stopExperiment on a training run, and listRuns over 200 runs x 1000 events. Prints
 * JSON. Ratios, not absolute times, are the pass targets (the machines are shared and noisy); the
 * latencies are reported against their targets (the tests assert behaviour, never wall-clock time).
 * `--only=stop,listRuns` runs just those two parts; `--only=vision` the CIFAR steps against PyTorch and
 * the Firefly grow on VGG-19 at 16 channels (scripts/benchVision.ts), which the full run includes.
 */
import { loadDataset } from '../server/datasets';
import type { Dataset } from '../server/datasets/types';
import { Executor, OrtExecutor, TfjsExecutor } from '../server/engine';
import { GrowableModel } from '../server/model/growable';
import { specFromConfig } from '../server/model/spec';
import type { LayerConfig, TrainingConfig } from '../common/protocol';
import { Rng } from '../server/random';
import { Trainer } from '../server/trainer/trainer';
import { RunStore } from '../server/runs';
import { ExperimentRun } from '../server/training/experiment';
import { validateExperiment } from '../server/config/validate';
import { Methods, type Architecture, type RunEvent } from '../common/protocol';
import { BackendClient, ROOT } from '../test/integration/backendClient';
import { execFileSync } from 'child_process';
import { benchVision } from './benchVision';
import { samplesPerSecond } from './benchSteps';
import { trainingConfig } from '../test/unit/fixtures';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { median } from './stats';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');

const training = (batchSize: number): TrainingConfig => trainingConfig({ batchSize, learningRate: 0.01 });

const MODELS: { name: string; batch: number; layers: LayerConfig[] }[] = [
  { name: 'mlp 784-256-10', batch: 128, layers: [{ type: 'dense', units: 256, activation: 'relu' }] },
  { name: 'mlp 784-1024-10', batch: 256, layers: [{ type: 'dense', units: 1024, activation: 'relu' }] },
  {
    name: 'cnn conv32-conv64-maxpool-dense10',
    batch: 128,
    layers: [
      { type: 'conv2d', filters: 32, kernelSize: 3, stride: 1, padding: 'valid', activation: 'relu' },
      { type: 'conv2d', filters: 64, kernelSize: 3, stride: 1, padding: 'valid', activation: 'relu' },
      { type: 'maxpool', size: 2 },
    ],
  },
];

/** Samples per second over `seconds` of training (after 3 warm-up steps). */
async function throughput(data: Dataset, layers: LayerConfig[], batch: number, ex: Executor, seconds: number): Promise<number> {
  const spec = specFromConfig({ layers, init: 'he' }, data.inputShape, 'classification', 10);
  const tr = new Trainer(GrowableModel.create(spec, 1, ['momentum']), data, training(batch), ex);
  const sps = await samplesPerSecond(tr, batch, seconds);
  await tr.dispose();
  return sps;
}

/**
 * Duration of the second epoch of an MNIST run (between the two epoch-end metrics, so dataset loading
 * and session building are left out), with metrics streamed and serialised as the server does, or not.
 */
async function epochMs(stream: boolean, dir: string): Promise<number> {
  const v = validateExperiment({ dataset: { name: 'mnist', testSize: 1000 }, training: { epochs: 2 } });
  if (!v.ok) throw new Error('bench config invalid');
  const epochEnds: number[] = [];
  const run = new ExperimentRun({
    config: v.config,
    store: new RunStore(dir),
    metricsIntervalMs: stream ? 100 : Number.POSITIVE_INFINITY,
    listener: {
      metrics: (m) => {
        JSON.stringify(m);
        if (m.testAccuracy !== undefined) epochEnds.push(m.elapsedMs);
      },
      status: () => undefined,
    },
  });
  const s = await run.start();
  if (s.status !== 'completed' || epochEnds.length !== 2) throw new Error(`bench run ${s.status}: ${s.message}`);
  return epochEnds[1] - epochEnds[0];
}

/**
 * How long the real backend (dist/cli.js serve, built first, over stdio JSON-RPC as the extension
 * talks to it) takes to answer stopExperiment on a run that is training MNIST; `n` runs.
 */
async function stopLatency(n: number) {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-bench-stop-'));
  const client = new BackendClient();
  const ms: number[] = [];
  try {
    await client.initialize(work);
    for (let i = 0; i < n; i++) {
      const config = { dataset: { name: 'mnist' }, training: { epochs: 50, batchSize: 64 } };
      const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
      await client.until(() => client.metrics.find((m) => m.runId === runId), 120000, 'first metrics');
      const t0 = performance.now();
      await client.conn.sendRequest(Methods.stopExperiment, { runId });
      ms.push(performance.now() - t0);
      await client.until(() => client.statusOf(runId, 'stopped'), 30000, 'stopped');
    }
    await client.shutdown();
  } finally {
    client.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { runs: n, medianMs: +median(ms).toFixed(1), maxMs: +Math.max(...ms).toFixed(1), target: '< 200 ms', met: Math.max(...ms) < 200 };
}

/** RunStore.listRuns (first call and cached) and readEvents of every run, over 200 runs x 1000 events. */
function listRunsTiming() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-bench-runs-'));
  try {
    const v = validateExperiment({
      dataset: { name: 'mnist' },
      model: { layers: [{ type: 'dense', units: 32, activation: 'relu' }] },
      training: { epochs: 1000 },
    });
    if (!v.ok) throw new Error('bench config invalid');
    const arch = (params: number): Architecture => ({ inputShape: [784], outputSize: 10, layers: [], params, flops: params });
    const store = new RunStore(dir);
    let bytes = 0;
    for (let i = 0; i < 200; i++) {
      const time = new Date(Date.UTC(2026, 0, 1, 0, 0, i));
      const run = store.createRun({ ...v.config, name: `bench ${i}` }, { now: time });
      run.close();
      const runId = run.runId;
      const events: RunEvent[] = [
        { type: 'start', time: time.toISOString(), runId, config: v.config, architecture: arch(25450), warnings: [] },
      ];
      for (let e = 1; e < 999; e++) {
        events.push(
          e % 100 === 0
            ? {
                type: 'grow',
                time: time.toISOString(),
                runId,
                step: e / 100,
                epoch: e / 100,
                kind: 'grow',
                method: 'firefly',
                before: arch(25450),
                after: arch(26000),
                diff: [],
                selected: [],
                rejected: [],
                lossBefore: 0.5,
                lossAfter: 0.49,
                maxOutputChange: 1e-3,
                durationMs: 12,
              }
            : {
                type: 'metrics',
                time: time.toISOString(),
                runId,
                epoch: e,
                step: e * 100,
                trainLoss: 1 / e,
                trainAccuracy: 0.5,
                ...(e % 10 === 0 ? { testLoss: 0.3, testAccuracy: e / 1000 } : {}),
                params: 25450,
                samplesPerSecond: 1234.5,
                engine: 'onnxruntime',
                executionProvider: 'cpu',
                elapsedMs: e * 1000,
              },
        );
      }
      events.push({ type: 'status', time: time.toISOString(), runId, status: 'completed' });
      const text = `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
      bytes += text.length;
      fs.writeFileSync(path.join(run.dir, 'events.jsonl'), text);
    }
    const fresh = new RunStore(dir);
    const t1 = performance.now();
    const runs = fresh.listRuns();
    const t2 = performance.now();
    fresh.listRuns();
    const t3 = performance.now();
    for (const r of runs) fresh.readEvents(r.runId);
    const t4 = performance.now();
    if (runs.length !== 200) throw new Error(`listRuns found ${runs.length} runs`);
    return {
      runs: 200,
      eventsPerRun: 1000,
      mib: +(bytes / 2 ** 20).toFixed(1),
      firstCallMs: Math.round(t2 - t1),
      cachedCallMs: +(t3 - t2).toFixed(1),
      readEventsAllMs: Math.round(t4 - t3),
      target: 'first call < 1 s',
      met: t2 - t1 < 1000,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  if (only) {
    const result: Record<string, unknown> = {};
    if (only.includes('stop')) result.stopLatency = await stopLatency(quick ? 1 : 3);
    if (only.includes('listRuns')) result.listRuns = listRunsTiming();
    if (only.includes('vision')) result.vision = await benchVision({ quick });
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const data = await loadDataset({ name: 'mnist' }, { seed: 1 });
  const ort = await OrtExecutor.create();
  const tfjs = await TfjsExecutor.create('wasm');
  const models = [];
  for (const m of MODELS) {
    const onnx = await throughput(data, m.layers, m.batch, ort, quick ? 1 : 3);
    const tf = await throughput(data, m.layers, m.batch, tfjs, quick ? 1 : 3);
    models.push({
      model: m.name,
      batch: m.batch,
      onnxruntimeCpuSamplesPerSec: Math.round(onnx),
      tfjsSamplesPerSec: Math.round(tf),
      tfjsBackend: tfjs.provider,
      speedup: +(onnx / tf).toFixed(1),
      target: '>= 10x',
    });
  }

  // Streaming overhead: alternate runs with and without metric streaming; compare medians.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-bench-'));
  const on: number[] = [],
    off: number[] = [];
  for (let i = 0; i < (quick ? 2 : 6); i++) {
    off.push(await epochMs(false, dir));
    on.push(await epochMs(true, dir));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const overhead = median(on) / median(off) - 1;

  // Session build after a width change (train + eval graphs).
  const spec = specFromConfig({ layers: MODELS[0].layers, init: 'he' }, data.inputShape, 'classification', 10);
  const model = GrowableModel.create(spec, 1, ['momentum']);
  const tr = new Trainer(model, data, training(128), ort);
  await tr.ensureCompiled();
  const builds: number[] = [];
  for (let i = 0; i < 10; i++) {
    model.resizeLayer('dense_1', [...Array.from({ length: 256 + i }, (_, k) => k), -1], i);
    await tr.ensureCompiled();
    builds.push(tr.lastBuildMs);
  }
  await tr.dispose();

  const stop = await stopLatency(quick ? 1 : 3);
  const listRuns = listRunsTiming();
  const vision = await benchVision({ quick });

  const result = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    models,
    streaming: {
      epochMsWithMetrics: median(on),
      epochMsWithout: median(off),
      pairs: on.length,
      overheadPercent: +(overhead * 100).toFixed(2),
      target: '< 2%',
    },
    sessionBuildAfterWidthChangeMs: { median: +median(builds).toFixed(1), min: +Math.min(...builds).toFixed(1) },
    stopLatency: stop,
    listRuns,
    vision,
    pass: models.every((m) => m.speedup >= 10) && overhead < 0.02,
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});
