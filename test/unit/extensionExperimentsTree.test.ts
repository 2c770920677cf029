import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Architecture, GrowEventParams, RunSummary } from '../../common/protocol';
import { buildExperimentTree, growNodes, runNode } from '../../extension/experimentsTree';

function summary(runId: string, over: Partial<RunSummary> = {}): RunSummary {
  return {
    runId,
    name: `exp-${runId}`,
    status: 'completed',
    dataset: 'mnist',
    engine: 'onnxruntime',
    executionProvider: 'cpu',
    startedAt: '2025-01-01T00:00:00.000Z',
    epochs: 10,
    epochsDone: 10,
    params: 12730,
    growSteps: 0,
    ...over,
  };
}

test('runNode: status icon, description, context value', () => {
  const n = runNode(summary('r1', { status: 'running', epochsDone: 3, bestTestAccuracy: 0.9712, growSteps: 2 }));
  assert.equal(n.label, 'r1');
  assert.equal(n.description, 'epoch 3/10 · 12,730 params · best 97.1% · 2 grows');
  assert.equal(n.icon, 'sync~spin');
  assert.equal(n.contextValue, 'run.running');
  const failed = runNode(summary('r2', { status: 'failed' }));
  assert.deepEqual(
    [failed.icon, failed.color, failed.contextValue, failed.description],
    ['error', 'testing.iconFailed', 'run.failed', 'epoch 10/10 · 12,730 params'],
  );
  const stale = runNode(summary('r3', { status: 'running', stale: true }));
  assert.deepEqual([stale.icon, stale.contextValue], ['warning', 'run.stale']);
  assert.match(stale.tooltip, /no longer runs/);
});

test('buildExperimentTree: files sorted, runs matched by configPath (newest first), other runs last', () => {
  const files = ['/ws/b/mlp.growth.json', '/ws/a.growth.json'];
  const runs = [
    summary('old', { configPath: '/ws/a.growth.json', startedAt: '2025-01-01', bestTestAccuracy: 0.8 }),
    summary('new', { configPath: '/ws/a.growth.json', startedAt: '2025-01-02', status: 'paused', bestTestAccuracy: 0.85 }),
    summary('cli', { configPath: '/elsewhere/x.growth.json' }),
    summary('none'),
  ];
  const tree = buildExperimentTree(files, runs, (f) => f.replace('/ws/', ''));
  assert.deepEqual(
    tree.map((n) => [n.label, n.description, n.icon, n.contextValue]),
    [
      ['a.growth.json', '2 runs · 1 live · best 85.0%', 'beaker~spin', 'experiment'],
      ['mlp.growth.json', 'b · no runs', 'beaker', 'experiment'],
      ['Other runs', '2 runs without a workspace file', 'history', 'otherRuns'],
    ],
  );
  assert.deepEqual(
    tree[0].runs.map((r) => r.runId),
    ['new', 'old'],
  );
  assert.equal(tree[0].path, '/ws/a.growth.json');
  assert.deepEqual(tree[2].runs.map((r) => r.runId).sort(), ['cli', 'none']);
  assert.equal(tree[2].path, undefined);
});

test('buildExperimentTree: no files and no runs is empty (the welcome content shows)', () => {
  assert.deepEqual(buildExperimentTree([], []), []);
});

test('buildExperimentTree: paths match across separators and case', () => {
  const tree = buildExperimentTree(['C:\\ws\\A.growth.json'], [summary('r', { configPath: 'c:/ws/a.growth.json' })]);
  assert.equal(tree[0].runs.length, 1);
});

test('growNodes: one child per grow or prune event', () => {
  const a = (params: number): Architecture => ({ inputShape: [2], outputSize: 1, layers: [], params, flops: params });
  const e = (kind: 'grow' | 'prune', before: number, after: number, step: number): GrowEventParams => ({
    runId: 'r',
    step,
    epoch: step / 100,
    kind,
    method: kind === 'grow' ? 'firefly' : 'prune-taylor',
    before: a(before),
    after: a(after),
    diff: [],
    selected: [],
    rejected: [],
    lossBefore: 0.5,
    lossAfter: 0.49,
    maxOutputChange: 0,
    durationMs: 1,
  });
  const nodes = growNodes('r', [e('grow', 1000, 1500, 100), e('prune', 1500, 1400, 200)]);
  assert.deepEqual(
    nodes.map((n) => [n.label, n.description, n.icon]),
    [
      ['Grow 1: firefly', 'epoch 1 · 1,000 → 1,500 (+500)', 'add'],
      ['Prune 2: prune-taylor', 'epoch 2 · 1,500 → 1,400 (−100)', 'remove'],
    ],
  );
  assert.equal(new Set(nodes.map((n) => n.id)).size, 2);
  assert.equal(nodes[0].event.step, 100);
});
