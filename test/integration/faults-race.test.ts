/**
 * Issue 9: control requests in any order, repeated and racing (a seeded random sequence of 200 requests
 * against one live run), and the memory bound of candidate scoring for a 1024-wide layer. Against the real
 * backend process.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, GrowEventParams, Methods, RunEvent, RunSummary } from '../../common/protocol';
import { Rng } from '../../server/random';
import { RunStore } from '../../server/runs';
import { architectureOf, ModelSpec } from '../../server/model/spec';
import { BackendClient } from './backendClient';
import { until } from '../helpers/until';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-faults-race-'));
const clients: BackendClient[] = [];
after(() => {
  clients.forEach((c) => c.kill());
  fs.rmSync(work, { recursive: true, force: true });
});

/** Number of racing requests and the PRNG seed (README "Reliability" quotes both). */
export const RACE_REQUESTS = 200;
const RACE_SEED = 9;
/** Peak RSS growth of the backend while a Firefly grow scores candidates for a 1024-wide dense layer. */
export const FIREFLY_1024_RSS_BOUND_MB = 256;

const codes = new Set<number>(Object.values(ErrorCodes));

test(`${RACE_REQUESTS} seeded random stop/pause/resume/grow/prune/export/resumeRun requests racing on one run`, async (t) => {
  const c = new BackendClient();
  clients.push(c);
  await c.initialize(work);
  const config = {
    seed: 3,
    dataset: { name: 'mnist', trainSize: 600, testSize: 100 },
    model: { layers: [{ type: 'dense', units: 12, activation: 'relu' }] },
    training: { epochs: 10000, batchSize: 50 },
  };
  const { runId } = await c.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
  await c.until(() => c.metrics.find((m) => m.runId === runId), 30000, 'first metrics');

  const rng = new Rng(RACE_SEED);
  const actions: [string, () => object][] = [
    [Methods.pauseExperiment, () => ({ runId })],
    [Methods.resumeExperiment, () => ({ runId })],
    [Methods.stopExperiment, () => ({ runId })],
    [Methods.resumeRun, () => ({ runId })],
    [
      Methods.grow,
      () => ({ runId, method: ['net2net-wider', 'firefly', 'random-split'][rng.int(3)], options: { neurons: 1 + rng.int(3) } }),
    ],
    [Methods.prune, () => ({ runId, options: { method: 'prune-taylor', neurons: 1 + rng.int(2) } })],
    [
      Methods.export,
      () => ({ runId, format: ['json', 'tfjs', 'onnx', 'pytorch'][rng.int(4)], force: true, path: `exports/race-${rng.int(3)}` }),
    ],
    [Methods.getArchitecture, () => ({ runId })],
    [Methods.getRunHistory, () => ({ runId })],
    [Methods.listRuns, () => ({})],
  ];
  const outcome = new Map<string, { ok: number; errors: Map<number, number> }>();
  let sent = 0;
  const all: Promise<void>[] = [];
  while (sent < RACE_REQUESTS) {
    // a burst of 1-6 requests sent at once (not awaiting each other), then a short random gap
    const burst = Math.min(RACE_REQUESTS - sent, 1 + rng.int(6));
    const pending: Promise<void>[] = [];
    for (let i = 0; i < burst; i++, sent++) {
      const [method, params] = actions[rng.int(actions.length)];
      const o = outcome.get(method) ?? { ok: 0, errors: new Map() };
      outcome.set(method, o);
      pending.push(
        c.conn.sendRequest(method, params()).then(
          () => void o.ok++,
          (e: any) => {
            assert.ok(codes.has(e.code), `${method}: untyped error ${e.code}: ${e.message}`);
            assert.notEqual(e.code, ErrorCodes.internal, `${method}: internal error (an unexpected exception): ${e.message}`);
            assert.ok(typeof e.message === 'string' && e.message.length > 0);
            o.errors.set(e.code, (o.errors.get(e.code) ?? 0) + 1);
          },
        ),
      );
    }
    all.push(...pending);
    if (rng.next() < 0.5) await Promise.all(pending);
    else await new Promise((r) => setTimeout(r, rng.int(30))); // scenario, not a wait: the next burst lands while these are in flight
    assert.equal(c.proc.exitCode, null, 'the backend is alive');
  }
  // let every request of the last bursts answer
  await Promise.all(all);
  assert.equal(
    [...outcome.values()].reduce((n, o) => n + o.ok + [...o.errors.values()].reduce((a, b) => a + b, 0), 0),
    RACE_REQUESTS,
    'every request was answered',
  );
  for (const [m, o] of outcome) t.diagnostic(`${m}: ${o.ok} ok, errors ${JSON.stringify(Object.fromEntries(o.errors))}`);
  const total = [...outcome.values()].reduce((n, o) => n + o.ok, 0);
  assert.ok(total > 40, `a good share of the requests succeeded (${total})`);
  assert.ok((outcome.get(Methods.grow)?.ok ?? 0) + (outcome.get(Methods.prune)?.ok ?? 0) > 0, 'some grow or prune went through');
  assert.ok(!/uncaught|unhandled/i.test(c.stderr), `no uncaught errors in the backend:\n${c.stderr.slice(-3000)}`);

  // end in a known state: stop if still live, and wait for the status
  try {
    await c.conn.sendRequest(Methods.stopExperiment, { runId });
  } catch (e: any) {
    assert.equal(e.code, ErrorCodes.invalidState, e.message);
  }
  const summary = await until(
    'the run to settle (neither running nor paused)',
    async () => {
      const s = (await c.conn.sendRequest<RunSummary[]>(Methods.listRuns, {})).find((r) => r.runId === runId)!;
      return s.status !== 'running' && s.status !== 'paused' ? s : undefined;
    },
    30000,
    50,
  );
  assert.ok(['stopped', 'failed'].includes(summary.status), summary.status);
  const failedWith = c.statuses.filter((s) => s.runId === runId && s.status === 'failed');
  assert.deepEqual(failedWith, [], 'no session of the run failed');

  // what the backend says agrees with what is on disk
  const history = await c.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  const lastStatus = history.filter((e) => e.type === 'status').pop()!;
  assert.equal(lastStatus.type === 'status' && lastStatus.status, summary.status);
  const store = new RunStore(path.join(work, '.growth-lab'));
  const latest = store.readLatestCheckpoint(runId)!;
  assert.deepEqual(latest.warnings, []);
  const arch = await c.conn.sendRequest<any>(Methods.getArchitecture, { runId });
  assert.deepEqual(
    arch,
    architectureOf((latest.checkpoint.meta as { spec: ModelSpec }).spec),
    "getArchitecture is the latest checkpoint's",
  );
  const grows = history.filter((e) => e.type === 'grow') as GrowEventParams[];
  assert.equal(summary.growSteps, grows.length);
  if (grows.length) assert.equal(arch.params, grows[grows.length - 1].after.params, 'the last grow or prune is in the latest checkpoint');
  assert.equal(summary.params, arch.params);
  const ckptSteps = history.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step);
  assert.deepEqual(
    ckptSteps,
    [...ckptSteps].sort((a, b) => a - b),
    'checkpoint steps never go back',
  );

  // and it reloads: a fresh backend resumes it from that checkpoint
  await c.shutdown();
  const d = new BackendClient();
  clients.push(d);
  await d.initialize(work);
  await d.conn.sendRequest(Methods.resumeRun, { runId });
  await d.until(() => d.metrics.find((m) => m.runId === runId), 30000, 'metrics after reload');
  assert.equal(d.metrics.find((m) => m.runId === runId)!.params, arch.params);
  assert.ok(d.metrics.find((m) => m.runId === runId)!.step > Number(latest.checkpoint.meta.step));
  await d.conn.sendRequest(Methods.stopExperiment, { runId });
  await d.until(() => d.statusOf(runId, 'stopped'), 30000, 'stopped again');
  assert.equal(await d.shutdown(), 0);
});

test(
  `a Firefly grow of a 1024-wide dense layer stays under ${FIREFLY_1024_RSS_BOUND_MB} MB of extra backend memory`,
  { skip: process.platform !== 'linux' && 'reads /proc' },
  async (t) => {
    const c = new BackendClient();
    clients.push(c);
    await c.initialize(work);
    const config = {
      dataset: { name: 'mnist', trainSize: 1000, testSize: 100 },
      model: { layers: [{ type: 'dense', units: 1024, activation: 'relu' }] },
      training: { epochs: 1000, batchSize: 100 },
    };
    const { runId } = await c.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
    await c.until(() => c.metrics.find((m) => m.runId === runId && m.testAccuracy !== undefined), 60000, 'epoch 1');
    await c.conn.sendRequest(Methods.pauseExperiment, { runId });
    await c.until(() => c.statusOf(runId, 'paused'), 10000, 'paused');
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${c.proc.pid}/status`, 'utf8'))![1]) / 1024;
    // the training step's buffers are warm; take the larger of a few samples as the baseline
    let base = 0;
    for (let i = 0; i < 5; i++) {
      base = Math.max(base, rss());
      await new Promise((r) => setTimeout(r, 20)); // sampling interval of the measurement, not a wait
    }
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, rss())), 5);
    const e = await c.conn.sendRequest<GrowEventParams>(Methods.grow, { runId, method: 'firefly', options: { ratio: 0.3 } });
    clearInterval(timer);
    peak = Math.max(peak, rss());
    const extra = peak - base;
    t.diagnostic(
      `firefly on dense 1024: ${e.before.params} -> ${e.after.params} params in ${e.durationMs} ms; RSS ${base.toFixed(0)} MB -> peak ${peak.toFixed(0)} MB (+${extra.toFixed(0)} MB)`,
    );
    assert.equal(e.before.layers[0].width, 1024);
    assert.ok(e.after.layers[0].width! > 1024);
    assert.ok(
      extra < FIREFLY_1024_RSS_BOUND_MB,
      `candidate scoring took ${extra.toFixed(0)} MB more (bound ${FIREFLY_1024_RSS_BOUND_MB} MB)`,
    );
    await c.conn.sendRequest(Methods.stopExperiment, { runId });
    assert.equal(await c.shutdown(), 0);
  },
);
