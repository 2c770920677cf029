import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, Methods, type MetricsParams, type RunEvent } from '../../common/protocol';
import { FireflyCl, loadStream, type FireflyClState } from '../../server/continual';
import { OrtExecutor } from '../../server/engine';
import { Rng } from '../../server/random';
import { RunStore } from '../../server/runs';
import { writeCifar100 } from '../helpers/visionFiles';
import { BackendClient } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-cl-'));
const client = new BackendClient();
// Every test needs the backend (one test alone too, with --test-name-pattern).
before(() => client.initialize(work));
after(() => {
  client.kill();
  fs.rmSync(work, { recursive: true, force: true });
});

const small = { trainPerTask: 300, testPerTask: 200, epochs: 1 };

test('a continual experiment streams one metrics event per task and method, with the accuracy-matrix row', async () => {
  // No dataset field: it follows the stream.
  const config = { name: 'cl', seed: 3, continual: { stream: 'split-mnist', methods: ['firefly-cl', 'finetune'], ...small } };
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
  await client.until(() => client.statusOf(runId, 'completed') || client.statusOf(runId, 'failed'), 120000, 'run end');
  assert.equal(client.statusOf(runId, 'failed'), undefined, client.statuses.map((s) => s.message).join('\n'));
  const ms = client.metrics.filter((m) => m.runId === runId);
  assert.deepEqual(
    ms.map((m) => [m.continual?.method, m.task, m.step]),
    [
      ['firefly-cl', 0, 1],
      ['firefly-cl', 1, 2],
      ['firefly-cl', 2, 3],
      ['firefly-cl', 3, 4],
      ['firefly-cl', 4, 5],
      ['finetune', 0, 6],
      ['finetune', 1, 7],
      ['finetune', 2, 8],
      ['finetune', 3, 9],
      ['finetune', 4, 10],
    ],
  );
  for (const m of ms) {
    const c = m.continual!;
    assert.equal(c.tasks, 5);
    assert.equal(c.accuracies.length, m.task! + 1, 'a row of the accuracy matrix: every task seen so far');
    assert.ok(Math.abs(c.averageAccuracy - c.accuracies.reduce((a, b) => a + b, 0) / c.accuracies.length) < 1e-12);
    assert.equal(m.testAccuracy, c.averageAccuracy);
    assert.ok(Number.isFinite(m.trainLoss) && m.samplesPerSecond > 0);
  }
  assert.deepEqual(
    ms.slice(0, 5).map((m) => m.continual!.taskName),
    ['0/1', '2/3', '4/5', '6/7', '8/9'],
  );
  // Firefly CL: old tasks are evaluated through their own masks, so their accuracy never changes.
  const fire = ms.slice(0, 5);
  for (let t = 1; t < 5; t++) {
    assert.deepEqual(fire[t].continual!.accuracies.slice(0, t), fire[t - 1].continual!.accuracies, `task ${t}`);
    assert.equal(fire[t].continual!.forgetting, 0);
  }
  // The master network only grows.
  for (let t = 1; t < 5; t++) assert.ok(fire[t].params >= fire[t - 1].params);
  // The history holds the same events; a checkpoint per Firefly CL task, one when fine-tuning finished.
  const history = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  assert.deepEqual(
    history.filter((e) => e.type === 'metrics').map((e) => (e as MetricsParams).continual!.accuracies),
    ms.map((m) => m.continual!.accuracies),
  );
  // A checkpoint after every task of every method.
  assert.equal(history.filter((e) => e.type === 'checkpoint').length, 10);
  await assert.rejects(client.conn.sendRequest(Methods.getArchitecture, { runId }), (e: any) => /continual-learning run/.test(e.message));

  // Firefly CL's last checkpoint (master network + masks) restores a learner that scores every task
  // exactly as the run reported after its last task.
  const store = new RunStore(path.join(work, '.growth-lab'));
  const ckpt = store.readCheckpoint(runId, 'task-0005.ckpt');
  const meta = ckpt.meta.continual as { method: string; task: number; finished: string[]; learner: FireflyClState['meta'] };
  assert.deepEqual([meta.method, meta.task, meta.finished], ['firefly-cl', 4, ['firefly-cl']]);
  const stream = await loadStream('split-mnist', { seed: 3, trainPerTask: small.trainPerTask, testPerTask: small.testPerTask });
  const executor = await OrtExecutor.create({ threads: 1 });
  const ctx = {
    executor,
    features: 784,
    classes: 2,
    tasks: 5,
    rng: new Rng(3),
    settings: {
      hidden: [64, 64],
      epochs: 1,
      batchSize: 32,
      learningRate: 0.002,
      init: 'uniform' as const,
      optimizerState: 'keep' as const,
    },
  };
  const restored = FireflyCl.restore(ctx, { meta: meta.learner, tensors: ckpt.tensors });
  const scores: number[] = [];
  for (let t = 0; t < 5; t++) scores.push(await restored.evaluate(stream.tasks[t], t));
  assert.deepEqual(scores, fire[4].continual!.accuracies);
  assert.equal(restored.parameterCount(), fire[4].params);
});

test('classOrder shuffled: the run learns the digit pairs its seed draws; a bad classOrder is refused by name', async () => {
  const { splitClassOrder } = await import('../../server/continual');
  const config = {
    name: 'cl-shuffled',
    seed: 9,
    continual: { stream: 'split-mnist', classOrder: 'shuffled', methods: ['individual'], hidden: [8], ...small },
  };
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
  await client.until(() => client.statusOf(runId, 'completed') || client.statusOf(runId, 'failed'), 120000, 'run end');
  assert.equal(client.statusOf(runId, 'failed'), undefined, client.statuses.map((s) => s.message).join('\n'));
  const order = splitClassOrder('shuffled', 9);
  const names = [0, 1, 2, 3, 4].map((t) => `${order[2 * t]}/${order[2 * t + 1]}`);
  assert.notDeepEqual(names, ['0/1', '2/3', '4/5', '6/7', '8/9']);
  assert.deepEqual(
    client.metrics.filter((m) => m.runId === runId).map((m) => m.continual!.taskName),
    names,
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.startExperiment, { config: { ...config, continual: { ...config.continual, classOrder: 'random' } } }),
    (e: any) => /continual\.classOrder/.test(e.message),
  );
});

test('split-cifar-100 from an experiment file: the folder relative to the file, 10 tasks on a conv net; a missing folder fails the run by name', async () => {
  // The exact CIFAR-100 binary format (coarse label byte, fine label byte, 3,072 pixel bytes), 10
  // training and 3 test images per class, next to the experiment file.
  const expDir = path.join(work, 'c100-exp');
  writeCifar100(path.join(expDir, 'data', 'cifar-100-binary'), 1000, 300);
  const configPath = path.join(expDir, 'split-c100.growth.json');
  const continual = {
    stream: 'split-cifar-100',
    path: 'data/cifar-100-binary',
    methods: ['firefly-cl', 'individual'],
    trainPerTask: 50,
    testPerTask: 20,
    epochs: 1,
    batchSize: 25,
    conv: { channels: [4, 4], pool: [true, true] },
    firefly: { initialWidth: [2, 2], maxGrowRounds: 1, eta: 2, newCandidates: 1, stepOneIterations: 1, scoreExamples: 16, maskEpochs: 1 },
  };
  const config = { name: 'split-c100', seed: 2, continual };
  fs.writeFileSync(configPath, JSON.stringify(config));
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config, configPath });
  await client.until(() => client.statusOf(runId, 'completed') || client.statusOf(runId, 'failed'), 300000, 'run end');
  assert.equal(client.statusOf(runId, 'failed'), undefined, client.statuses.map((s) => s.message).join('\n'));
  const ms = client.metrics.filter((m) => m.runId === runId);
  assert.equal(ms.length, 20);
  const stream = await loadStream('split-cifar-100', { seed: 2, path: 'data/cifar-100-binary', baseDir: expDir, tasks: 10 });
  assert.deepEqual(
    ms.slice(0, 10).map((m) => m.continual!.taskName),
    stream.tasks.map((t) => t.name),
  );
  for (const m of ms) assert.equal(m.continual!.tasks, 10);
  const fire = ms.slice(0, 10);
  for (let t = 1; t < 10; t++) assert.deepEqual(fire[t].continual!.accuracies.slice(0, t), fire[t - 1].continual!.accuracies, `task ${t}`);
  // Individual: one conv net per task, (3·9 + 1)·4 + (4·9 + 1)·4 + (4 + 1)·10 parameters each.
  assert.equal(ms[19].params, 10 * ((3 * 9 + 1) * 4 + (4 * 9 + 1) * 4 + (4 + 1) * 10));
  // The start event shows the baselines' conv net on the stream's [3, 32, 32] images.
  const start = (await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId })).find((e) => e.type === 'start');
  assert.ok(start && start.type === 'start');
  assert.deepEqual(start.architecture.inputShape, [3, 32, 32]);
  assert.deepEqual(
    start.architecture.layers.map((l) => l.type),
    ['conv2d', 'maxpool', 'conv2d', 'maxpool', 'globalavgpool', 'output'],
  );

  // The folder is the user's: a wrong one fails the run with a message naming continual.path.
  const bad = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
    config: { ...config, continual: { ...continual, path: 'data/missing' } },
    configPath,
  });
  await client.until(() => client.statusOf(bad.runId, 'completed') || client.statusOf(bad.runId, 'failed'), 60000, 'bad run end');
  const failed = client.statusOf(bad.runId, 'failed') as { message?: string } | undefined;
  assert.ok(failed, 'the run fails');
  assert.match(
    failed.message ?? '',
    /split-cifar-100: continual\.path "data\/missing" \(.*missing\) is not a folder that exists; want the CIFAR-100 binary folder/,
  );
  // tasks other than 10 or 20 are refused before the run starts.
  await assert.rejects(
    client.conn.sendRequest(Methods.startExperiment, { config: { ...config, continual: { ...continual, tasks: 12 } }, configPath }),
    (e: any) => /continual\.tasks must be one of 10, 20, got 12/.test(e.message),
  );
});

/**
 * Runs `continual` once without interruption, then again stopped inside task 3 and resumed: the
 * resumed run must continue with the next task and report exactly what the uninterrupted one did.
 */
async function interruptAndResume(name: string, seed: number, continual: Record<string, unknown>): Promise<void> {
  const ref = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
    config: { name: `${name}-ref`, seed, continual },
  });
  await client.until(() => client.statusOf(ref.runId, 'completed'), 180000, 'reference run');
  const reference = client.metrics.filter((m) => m.runId === ref.runId);
  assert.equal(reference.length, 5);

  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, {
    config: { name: `${name}-cut`, seed, continual },
  });
  // Pause as soon as task 2 (index 1) is reported: the run halts inside task 3; stop it there.
  await client.until(() => client.metrics.find((m) => m.runId === runId && m.task === 1), 120000, 'task 2 learnt');
  await client.conn.sendRequest(Methods.pauseExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'paused'), 20000, 'paused');
  await client.conn.sendRequest(Methods.stopExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'stopped'), 20000, 'stopped');
  const before = client.metrics.filter((m) => m.runId === runId);
  const done = before.length;
  assert.ok(done >= 2 && done < 5, `${done} tasks reported before the stop`);

  await client.conn.sendRequest(Methods.resumeRun, { runId });
  await client.until(() => client.statusOf(runId, 'completed'), 180000, 'resumed run completes');
  const after = client.metrics.filter((m) => m.runId === runId).slice(done);
  assert.deepEqual(
    after.map((m) => m.task),
    Array.from({ length: 5 - done }, (_, i) => done + i),
    'continues with the next task, not from task 1',
  );
  const all = [...before, ...after];
  const pick = (m: MetricsParams) => [
    m.task,
    m.step,
    m.params,
    m.trainLoss,
    m.continual!.accuracies,
    m.continual!.taskParameters,
    m.continual!.forgetting,
  ];
  assert.deepEqual(all.map(pick), reference.map(pick), 'the same weights, losses and accuracies as without the interruption');
  const status = client.statuses.filter((s) => s.runId === runId && s.status === 'completed').pop()!;
  const method = (continual.methods as string[])[0];
  assert.match(status.message!, new RegExp(`${method} continued after task ${done}`));
}

test('an interrupted Firefly CL resumes from its checkpoint after the last finished task, bit for bit as an uninterrupted run', async () => {
  await interruptAndResume('cl', 6, { stream: 'split-mnist', methods: ['firefly-cl'], trainPerTask: 2500, testPerTask: 200, epochs: 2 });
});

test('an interrupted baseline resumes after its last finished task: EWC (trunk, Fisher anchors, the optimiser kept through the stream) and Progressive Networks (columns)', async () => {
  await interruptAndResume('cl-ewc', 7, { stream: 'split-mnist', methods: ['ewc'], trainPerTask: 2500, testPerTask: 200, epochs: 2 });
  await interruptAndResume('cl-pnn', 8, {
    stream: 'split-mnist',
    methods: ['progressive'],
    trainPerTask: 2500,
    testPerTask: 200,
    epochs: 2,
  });
});

test('grow requests on a continual run are refused by name; stop ends it between batches; resumeRun skips finished methods', async () => {
  const config = {
    name: 'cl-stop',
    seed: 4,
    continual: { stream: 'split-mnist', methods: ['finetune', 'individual'], trainPerTask: 2000, testPerTask: 200, epochs: 3 },
  };
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
  // Wait until fine-tuning has finished (its last task reported), then stop during Individual.
  await client.until(
    () => client.metrics.find((m) => m.runId === runId && m.continual?.method === 'finetune' && m.task === 4),
    120000,
    'finetune done',
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.grow, { runId, method: 'firefly' }),
    (e: any) => e.code === ErrorCodes.growthFailed && /continual-learning run/.test(e.message),
  );
  await client.conn.sendRequest(Methods.stopExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'stopped'), 20000, 'stopped');
  const before = client.metrics.filter((m) => m.runId === runId);
  assert.ok(before.filter((m) => m.continual!.method === 'individual').length < 5, 'stopped before Individual finished');

  await client.conn.sendRequest(Methods.resumeRun, { runId });
  await client.until(
    () => client.statuses.filter((s) => s.runId === runId && s.status === 'completed').length > 0,
    120000,
    'resumed run completes',
  );
  const resumed = client.metrics.filter((m) => m.runId === runId).slice(before.length);
  const individualDone = before.filter((m) => m.continual!.method === 'individual').length;
  assert.deepEqual(
    resumed.map((m) => [m.continual!.method, m.task]),
    [0, 1, 2, 3, 4].slice(individualDone).map((t) => ['individual', t]),
    'fine-tuning is not run again',
  );
  const done = client.statuses.find((s) => s.runId === runId && s.status === 'completed')!;
  assert.match(done.message!, /already finished: finetune/);
  assert.equal(await client.shutdown(), 0);
});
