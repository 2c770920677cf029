import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsParams, RunSummary } from '../../common/protocol';
import { RunTracker, chooseRunTarget, formatCount, noRunMessage, statusBarView } from '../../extension/runTracker';

function metrics(runId: string, over: Partial<MetricsParams> = {}): MetricsParams {
  return {
    runId,
    epoch: 1,
    step: 100,
    trainLoss: 0.5,
    trainAccuracy: 0.8,
    params: 109386,
    samplesPerSecond: 12000,
    engine: 'onnxruntime',
    executionProvider: 'cpu',
    elapsedMs: 1000,
    ...over,
  };
}

function summary(runId: string, over: Partial<RunSummary> = {}): RunSummary {
  return {
    runId,
    name: `exp-${runId}`,
    status: 'running',
    dataset: 'mnist',
    engine: 'onnxruntime',
    executionProvider: 'cpu',
    startedAt: '2025-01-01T00:00:00.000Z',
    epochs: 10,
    epochsDone: 0,
    params: 1000,
    growSteps: 0,
    ...over,
  };
}

test('RunTracker: a started run becomes active and keeps the latest status and metrics', () => {
  const t = new RunTracker();
  let changes = 0;
  t.onDidChange(() => changes++);
  t.started('r1', { name: 'mlp', epochs: 5 });
  assert.equal(t.active?.runId, 'r1');
  assert.equal(t.active?.name, 'mlp');
  t.onMetrics(metrics('r1', { epoch: 1, testAccuracy: 0.9 }));
  t.onMetrics(metrics('r1', { epoch: 2, params: 120000 }));
  const r = t.get('r1')!;
  assert.equal(r.metrics?.epoch, 2);
  assert.equal(r.params, 120000);
  assert.equal(r.testAccuracy, 0.9, 'metrics without an evaluation keep the previous test accuracy');
  t.onStatus({ runId: 'r1', status: 'paused' });
  assert.equal(t.active?.status, 'paused');
  t.onStatus({ runId: 'r1', status: 'completed', message: 'done' });
  assert.equal(t.active, undefined);
  assert.equal(t.get('r1')?.status, 'completed');
  assert.equal(t.get('r1')?.message, 'done');
  assert.equal(changes, 5);
});

test('RunTracker: notifications that arrive before the start result keep their status', () => {
  const t = new RunTracker();
  t.onStatus({ runId: 'r1', status: 'running', warnings: ['cuda unavailable: fell back to cpu'] });
  t.onMetrics(metrics('r1'));
  t.onStatus({ runId: 'r1', status: 'failed', message: 'out of memory' });
  t.started('r1', { name: 'big' });
  assert.equal(t.get('r1')?.status, 'failed');
  assert.equal(t.get('r1')?.name, 'big');
  assert.equal(t.active, undefined);
  assert.deepEqual(t.get('r1')?.warnings, ['cuda unavailable: fell back to cpu']);
});

test('RunTracker: warnings accumulate without duplicates', () => {
  const t = new RunTracker();
  t.onStatus({ runId: 'r1', status: 'running', warnings: ['a'] });
  t.onStatus({ runId: 'r1', status: 'running' });
  t.onStatus({ runId: 'r1', status: 'running', warnings: ['a', 'b'] });
  assert.deepEqual(t.get('r1')?.warnings, ['a', 'b']);
});

test('RunTracker: when the active run ends, the most recently updated live run takes over', () => {
  const t = new RunTracker();
  t.started('a');
  t.started('b');
  t.started('c');
  assert.equal(t.active?.runId, 'c');
  t.onMetrics(metrics('a'));
  assert.equal(t.active?.runId, 'c', 'updates to other runs do not steal the active run');
  t.onStatus({ runId: 'c', status: 'stopped' });
  assert.equal(t.active?.runId, 'a');
  t.onStatus({ runId: 'a', status: 'completed' });
  assert.equal(t.active?.runId, 'b');
  t.onStatus({ runId: 'b', status: 'failed' });
  assert.equal(t.active, undefined);
  assert.deepEqual(
    t.all().map((r) => r.runId),
    ['b', 'a', 'c'],
  );
});

test('RunTracker: unknown runs seen in notifications are tracked and become active when none is', () => {
  const t = new RunTracker();
  t.onMetrics(metrics('x'));
  assert.equal(t.active?.runId, 'x');
  assert.equal(t.get('x')?.name, 'x');
});

test('RunTracker: mergeSummaries fills names and totals; stale runs are never active', () => {
  const t = new RunTracker();
  t.started('r1');
  t.mergeSummaries([summary('r1', { name: 'mlp', epochs: 8, lastTestAccuracy: 0.5 }), summary('old', { status: 'running', stale: true })]);
  assert.equal(t.get('r1')?.name, 'mlp');
  assert.equal(t.get('r1')?.epochs, 8);
  assert.equal(t.get('r1')?.testAccuracy, 0.5);
  assert.equal(t.get('old')?.stale, true);
  assert.equal(t.get('old')?.params, 1000);
  t.onStatus({ runId: 'r1', status: 'completed' });
  assert.equal(t.active, undefined, 'a stale "running" run from a dead backend is not active');
  t.mergeSummaries([summary('loading', { params: 0 })]);
  assert.equal(t.get('loading')?.params, undefined, 'params 0 (model not built yet) is unknown');
  t.clear();
  assert.equal(t.all().length, 0);
});

test('chooseRunTarget: the active run when its status fits, else the fitting runs from listRuns', () => {
  const t = new RunTracker();
  t.started('r1');
  assert.deepEqual(chooseRunTarget('pause', t.active, []), { kind: 'run', runId: 'r1' });
  assert.deepEqual(chooseRunTarget('stop', t.active, []), { kind: 'run', runId: 'r1' });
  assert.deepEqual(chooseRunTarget('resume', t.active, []), { kind: 'none' });
  const runs = [
    summary('p1', { status: 'paused', startedAt: '2025-01-01T00:00:00Z' }),
    summary('p2', { status: 'paused', startedAt: '2025-01-02T00:00:00Z' }),
    summary('s', { status: 'paused', stale: true }),
    summary('done', { status: 'completed' }),
  ];
  const pick = chooseRunTarget('resume', t.active, runs);
  assert.equal(pick.kind, 'pick');
  assert.deepEqual(pick.kind === 'pick' && pick.runs.map((r) => r.runId), ['p2', 'p1']);
  assert.deepEqual(chooseRunTarget('resume', undefined, runs.slice(0, 1)), { kind: 'run', runId: 'p1' });
  assert.deepEqual(chooseRunTarget('pause', undefined, runs), { kind: 'none' });
  assert.match(noRunMessage('pause'), /no running experiment to pause/);
});

test('statusBarView: text, tooltip and warning background', () => {
  const t = new RunTracker();
  assert.equal(statusBarView(undefined), undefined);
  t.started('r1', { name: 'mnist-mlp', epochs: 10 });
  assert.equal(statusBarView(t.active)?.text, '$(pulse) Growth Lab: mnist-mlp');
  t.onMetrics(metrics('r1', { epoch: 3, trainAccuracy: 0.91234, params: 109386 }));
  let v = statusBarView(t.active)!;
  assert.equal(v.text, '$(pulse) Growth Lab: mnist-mlp epoch 3/10 · acc 91.2% · params 109,386 · ort/cpu');
  assert.equal(v.warning, false);
  t.onMetrics(metrics('r1', { epoch: 4, testAccuracy: 0.975, params: 110000 }));
  t.onStatus({ runId: 'r1', status: 'running', warnings: ['execution provider cuda is not available; using cpu'] });
  v = statusBarView(t.active)!;
  assert.equal(v.text, '$(pulse) Growth Lab: mnist-mlp epoch 4/10 · acc 97.5% · params 110,000 · $(warning) ort/cpu');
  assert.equal(v.warning, true);
  assert.match(v.tooltip, /cuda is not available/);
  assert.match(v.tooltip, /test accuracy 97\.5%/);
  t.onStatus({ runId: 'r1', status: 'paused' });
  assert.equal(
    statusBarView(t.active)?.text,
    '$(debug-pause) Growth Lab: mnist-mlp paused · epoch 4/10 · acc 97.5% · params 110,000 · $(warning) ort/cpu',
  );
  t.onStatus({ runId: 'r1', status: 'completed' });
  assert.equal(statusBarView(t.get('r1')), undefined);
  // regression runs have no accuracy; unknown totals show only the epoch
  const u = new RunTracker();
  u.onMetrics(metrics('reg', { epoch: 2, trainAccuracy: undefined, params: 5 }));
  assert.equal(statusBarView(u.active)?.text, '$(pulse) Growth Lab: reg epoch 2 · params 5 · ort/cpu');
  assert.equal(formatCount(1234567.4), '1,234,567');
  // continual runs: method and task, the average accuracy over the tasks seen
  const c = new RunTracker();
  c.started('cl', { name: 'split', epochs: 5 });
  c.onMetrics(
    metrics('cl', {
      epoch: 2,
      task: 1,
      testAccuracy: 0.9775,
      params: 31428,
      continual: {
        method: 'firefly-cl',
        tasks: 5,
        taskName: '2/3',
        accuracies: [0.995, 0.96],
        averageAccuracy: 0.9775,
        forgetting: 0,
        backwardTransfer: 0,
        taskParameters: [26242, 26417],
      },
    }),
  );
  const cv = statusBarView(c.active)!;
  assert.equal(cv.text, '$(pulse) Growth Lab: split firefly-cl task 2/5 · acc 97.8% · params 31,428 · ort/cpu');
  assert.match(cv.tooltip, /firefly-cl: task 2 of 5 \(2\/3\) learnt; average accuracy over the tasks seen 97\.8%, forgetting 0\.00 points/);
});
