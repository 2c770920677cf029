// The monitor as a VS Code citizen: messages kept while the webview is hidden and replayed when it
// is shown (MonitorBuffer, MonitorController.setVisible), "Compare runs" state kept in the
// workspace state (colours persist), seed bands (mean ± sample std on the union of steps), chart
// summaries and tables for screen readers, and validation of the new webview messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  validateWebviewMessage,
  type ExtensionToWebviewMessage,
  type RequestTypes,
  type RunEvent,
  type RunSummary,
} from '../../common/protocol';
import { MonitorController, type MonitorHost } from '../../extension/monitorController';
import { MonitorBuffer } from '../../extension/monitorBuffer';
import { COMPARE_STATE_KEY, compareRunFromHistory, parseCompareState, type StateStore } from '../../extension/compareRuns';
import { configFields, flattenConfig, groupRuns, meanStd, seedBand } from '../../common/monitor/compareModel';
import { categoryTable, chartTable, summarizeCategories, summarizeChart } from '../../webview/chartSummary';
import { historyPage } from '../helpers/historyPage';

const RUN = '20261123-104512-mnist-a1b2';
const OTHER = '20261123-090000-old-beef';

const metrics = (step: number, runId = RUN, trainLoss = 1): RunEvent => ({
  type: 'metrics',
  time: 't',
  runId,
  epoch: 1,
  step,
  trainLoss,
  params: 10,
  samplesPerSecond: 1,
  engine: 'onnxruntime',
  executionProvider: 'cpu',
  elapsedMs: step,
});
const summary = (runId: string, status: RunSummary['status'], startedAt: string): RunSummary => ({
  runId,
  name: runId.split('-')[2] ?? runId,
  status,
  dataset: 'mnist',
  engine: 'onnxruntime',
  executionProvider: 'cpu',
  startedAt,
  epochs: 2,
  epochsDone: 1,
  params: 10,
  growSteps: 0,
});

/** workspaceState as VS Code's Memento keeps it: JSON in, JSON out. */
class Memento implements StateStore {
  readonly data = new Map<string, string>();
  get(key: string): unknown {
    const v = this.data.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }
  update(key: string, value: unknown): Promise<void> {
    this.data.set(key, JSON.stringify(value));
    return Promise.resolve();
  }
}

class Host implements MonitorHost {
  posted: ExtensionToWebviewMessage[] = [];
  requests: [string, unknown][] = [];
  runs: RunSummary[] = [summary(RUN, 'running', '2026-11-23T10:45:12Z'), summary(OTHER, 'completed', '2026-11-23T09:00:00Z')];
  history: Record<string, RunEvent[]> = { [RUN]: [metrics(1), metrics(2)], [OTHER]: [metrics(1, OTHER, 2), metrics(3, OTHER, 1)] };
  constructor(readonly workspaceState?: StateStore) {}
  post(msg: ExtensionToWebviewMessage): void {
    this.posted.push(msg);
  }
  async request<M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]> {
    this.requests.push([method, params]);
    const runId = (params as { runId?: string })?.runId;
    if (method === 'growthLab/listRuns') return this.runs as never;
    if (method === 'growthLab/getRunHistory') return historyPage(this.history[runId!] ?? [], params) as never;
    return { ok: true } as never;
  }
  startExperiment(): Promise<void> {
    return Promise.resolve();
  }
  growthMethods() {
    return ['firefly'];
  }
  activeRunId() {
    return RUN;
  }
  notify() {}
  log() {}
  errorText(err: unknown) {
    return (err as Error).message;
  }
}

// One event-loop turn: the controller's batched flush (queued as a microtask) has run; not a timed wait.
const tick = () => new Promise((r) => setTimeout(r, 0));
const steps = (msgs: ExtensionToWebviewMessage[]) =>
  msgs.flatMap((m) => (m.type === 'events' ? m.events.map((e) => (e as { step: number }).step) : []));

// --- hidden panels ---------------------------------------------------------------------------

test('MonitorBuffer: visible posts go out at once; hidden ones are kept, coalesced and replayed in order on show', () => {
  const sent: ExtensionToWebviewMessage[] = [];
  const b = new MonitorBuffer((m) => sent.push(m));
  b.post({ type: 'events', runId: RUN, events: [metrics(1)] });
  assert.equal(sent.length, 1);
  b.hide();
  b.post({ type: 'events', runId: RUN, events: [metrics(2)] });
  b.post({ type: 'runs', runs: [], selected: RUN });
  b.post({ type: 'events', runId: RUN, events: [metrics(3), metrics(4)] });
  b.post({ type: 'events', runId: RUN, events: [metrics(5)] });
  b.post({ type: 'actionResult', action: 'pause', runId: RUN, ok: true });
  b.post({ type: 'runs', runs: [summary(RUN, 'paused', 'x')], selected: RUN });
  assert.equal(sent.length, 1, 'nothing reaches a hidden page');
  assert.equal(b.show(), false);
  assert.deepEqual(
    sent.slice(1).map((m) => m.type),
    ['events', 'events', 'actionResult', 'runs'],
  );
  assert.deepEqual(steps(sent), [1, 2, 3, 4, 5], 'every event once, in order');
  assert.equal((sent[4] as { runs: RunSummary[] }).runs[0].status, 'paused', 'the latest run list only');
  assert.equal(b.size, 0);
  b.post({ type: 'events', runId: RUN, events: [metrics(6)] });
  assert.deepEqual(steps(sent), [1, 2, 3, 4, 5, 6], 'visible again: straight through');
});

test('MonitorBuffer: a history drops the events kept before it; too many events fall back to the history', () => {
  const sent: ExtensionToWebviewMessage[] = [];
  const b = new MonitorBuffer((m) => sent.push(m), 3);
  b.hide();
  b.post({ type: 'events', runId: RUN, events: [metrics(1)] });
  b.post({ type: 'history', runId: OTHER, events: [] });
  b.post({ type: 'events', runId: OTHER, events: [metrics(2, OTHER)] });
  b.show();
  assert.deepEqual(
    sent.map((m) => m.type),
    ['history', 'events'],
  );
  sent.length = 0;
  b.hide();
  b.post({ type: 'events', runId: RUN, events: [metrics(1), metrics(2)] });
  b.post({ type: 'actionResult', action: 'grow', runId: RUN, ok: true });
  b.post({ type: 'events', runId: RUN, events: [metrics(3), metrics(4)] });
  b.post({ type: 'events', runId: RUN, events: [metrics(5)] });
  assert.equal(b.overflowed, true);
  assert.equal(b.show(), true, 'the owner must send the history');
  assert.deepEqual(
    sent.map((m) => m.type),
    ['actionResult'],
    'no partial event stream',
  );
});

test('MonitorController: events while hidden arrive after show, in order, none lost, none duplicated', async () => {
  const host = new Host();
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready' });
  await tick();
  c.onRunEvent(metrics(3));
  await tick();
  const before = host.posted.length;
  c.setVisible(false);
  for (let s = 4; s <= 40; s++) {
    c.onRunEvent(metrics(s));
    if (s % 7 === 0) await tick(); // several flushes while hidden
  }
  c.onRunEvent(metrics(99, OTHER)); // not the shown run
  await tick();
  assert.equal(host.posted.length, before, 'nothing posted to the hidden webview');
  assert.equal(c.isVisible, false);
  c.setVisible(true);
  const after = host.posted.slice(before);
  assert.deepEqual(
    steps(after),
    Array.from({ length: 37 }, (_, i) => i + 4),
  );
  assert.ok(after.every((m) => m.type !== 'events' || m.runId === RUN));
  assert.deepEqual(steps(host.posted), [3, ...Array.from({ length: 37 }, (_, i) => i + 4)], 'the whole stream once');
  c.setVisible(true); // shown twice: nothing replayed twice
  assert.equal(host.posted.length, before + after.length);
});

test('MonitorController: a page reloaded on show (ready) starts over from the history, with nothing stale replayed', async () => {
  const host = new Host();
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready' });
  await tick();
  c.setVisible(false);
  c.onRunEvent(metrics(3));
  host.history[RUN].push(metrics(3)); // the backend's events.jsonl has it too
  await tick();
  c.setVisible(true);
  // VS Code reloaded the page: it posts ready with its saved state (MonitorManager resets first).
  host.posted = [];
  c.reset();
  await c.onMessage({ type: 'ready', state: { runId: RUN } });
  const history = host.posted.find((m) => m.type === 'history') as Extract<ExtensionToWebviewMessage, { type: 'history' }>;
  assert.deepEqual(
    history.events.map((e) => (e as { step: number }).step),
    [1, 2, 3],
  );
  assert.deepEqual(steps(host.posted), [], 'no replayed event after the history that holds it');
});

// --- Compare runs: state --------------------------------------------------------------------

test('Compare runs: the colour fixed for a run persists in the workspace state across controllers', async () => {
  const memento = new Memento();
  const host = new Host(memento);
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready' });
  await tick();
  assert.ok(!host.posted.some((m) => m.type === 'compare'), 'never used: nothing sent');
  await c.onMessage({ type: 'compareRuns', runIds: [RUN, OTHER] });
  await c.onMessage({ type: 'setRunColor', runId: OTHER, color: 'purple' });
  await c.onMessage({ type: 'setRunColor', runId: RUN, color: 'yellow' });
  await c.onMessage({ type: 'setRunColor', runId: RUN, color: null });
  assert.deepEqual(memento.get(COMPARE_STATE_KEY), { selected: [RUN, OTHER], colors: { [OTHER]: 'purple' } });
  c.dispose();

  // The panel (or the window) is reloaded: a new controller on the same workspace state.
  const host2 = new Host(memento);
  const c2 = new MonitorController(host2);
  await c2.onMessage({ type: 'ready' });
  await tick();
  await tick();
  const compare = host2.posted.find((m) => m.type === 'compare') as Extract<ExtensionToWebviewMessage, { type: 'compare' }>;
  assert.ok(compare, 'the compare state is sent on ready');
  assert.deepEqual(compare.colors, { [OTHER]: 'purple' });
  assert.deepEqual(compare.selected, [RUN, OTHER]);
  assert.deepEqual(
    compare.runs.map((r) => r.runId),
    [RUN, OTHER],
  );
  assert.deepEqual(compare.runs[1].series.trainLoss, { steps: [1, 3], values: [2, 1], total: 2 });
  // A finished run's history is read once; the running one every time.
  const reads = () => host2.requests.filter(([m]) => m === 'growthLab/getRunHistory').map(([, p]) => (p as { runId: string }).runId);
  const n = reads().length;
  await c2.onMessage({ type: 'setRunColor', runId: RUN, color: 'green' });
  assert.deepEqual(reads().slice(n), [RUN]);
  assert.deepEqual((host2.posted.at(-1) as Extract<ExtensionToWebviewMessage, { type: 'compare' }>).colors, {
    [OTHER]: 'purple',
    [RUN]: 'green',
  });
});

test('Compare runs: a malformed stored state is read defensively', () => {
  assert.deepEqual(parseCompareState(undefined), { selected: [], colors: {} });
  assert.deepEqual(parseCompareState({ selected: [RUN, RUN, '../x', 3], colors: { [RUN]: 'blue', [OTHER]: '#ff0000', '../y': 'red' } }), {
    selected: [RUN],
    colors: { [RUN]: 'blue' },
  });
});

test('Compare runs: webview messages are validated', () => {
  assert.deepEqual(validateWebviewMessage({ type: 'compareRuns', runIds: [RUN, OTHER, RUN], x: 1 }), {
    ok: true,
    message: { type: 'compareRuns', runIds: [RUN, OTHER] },
  });
  assert.deepEqual(validateWebviewMessage({ type: 'setRunColor', runId: RUN, color: 'orange' }), {
    ok: true,
    message: { type: 'setRunColor', runId: RUN, color: 'orange' },
  });
  assert.deepEqual(validateWebviewMessage({ type: 'setRunColor', runId: RUN, color: null }), {
    ok: true,
    message: { type: 'setRunColor', runId: RUN, color: null },
  });
  for (const bad of [
    { type: 'compareRuns' },
    { type: 'compareRuns', runIds: 'x' },
    { type: 'compareRuns', runIds: ['../x'] },
    { type: 'compareRuns', runIds: Array.from({ length: 25 }, (_, i) => `r${i}`) },
    { type: 'setRunColor', runId: RUN },
    { type: 'setRunColor', runId: RUN, color: '#ff0000' },
    { type: 'setRunColor', runId: RUN, color: 'var(--x)' },
    { type: 'setRunColor', color: 'blue' },
  ])
    assert.equal(validateWebviewMessage(bad).ok, false, JSON.stringify(bad));
});

test('compareRunFromHistory: series against step, config flattened, at most maxPoints per series', () => {
  const start: RunEvent = {
    type: 'start',
    time: 't',
    runId: RUN,
    warnings: [],
    architecture: { inputShape: [2], outputSize: 1, layers: [], params: 1, flops: 1 },
    config: { name: 'mlp', seed: 3, training: { learningRate: 0.01 }, model: { layers: [{ type: 'dense', units: 4 }] } } as never,
  };
  const events = [start, ...Array.from({ length: 1000 }, (_, i) => metrics(i, RUN, i === 500 ? 50 : 1 / (i + 1)))];
  const r = compareRunFromHistory(RUN, 'fallback', events, 100);
  assert.equal(r.name, 'mlp');
  assert.equal(r.config.seed, 3);
  assert.equal(r.config['training.learningRate'], 0.01);
  assert.equal(r.config['model.layers'], '[{"type":"dense","units":4}]');
  const s = r.series.trainLoss!;
  assert.equal(s.total, 1000);
  assert.ok(s.steps.length <= 100, `${s.steps.length}`);
  assert.ok(s.values.includes(50), 'the spike survives');
  assert.equal(s.steps[0], 0);
  assert.equal(s.steps.at(-1), 999);
  assert.equal(r.series.testLoss, undefined, 'no test loss recorded');
});

// --- Compare runs: grouping and bands -----------------------------------------------------------

test('flattenConfig, configFields and groupRuns by field and by regex', () => {
  assert.deepEqual(flattenConfig({ a: { b: 1, c: [1, 2] }, d: 'x', e: null, f: true }), { 'a.b': 1, 'a.c': '[1,2]', d: 'x', f: true });
  const runs: { runId: string; name: string; config: Record<string, string | number | boolean> }[] = [
    { runId: 'r1', name: 'lr01-seed1', config: { seed: 1, lr: 0.1, name: 'same' } },
    { runId: 'r2', name: 'lr01-seed2', config: { seed: 2, lr: 0.1, name: 'same' } },
    { runId: 'r3', name: 'lr001-seed1', config: { seed: 1, lr: 0.01, name: 'same' } },
    { runId: 'r4', name: 'other', config: { seed: 1, name: 'same' } },
  ];
  assert.deepEqual(configFields(runs), ['lr', 'seed', 'name'], 'varying fields first');
  assert.deepEqual(groupRuns(runs, { kind: 'field', field: 'lr' }), [
    { key: 'lr = 0.1', runIds: ['r1', 'r2'] },
    { key: 'lr = 0.01', runIds: ['r3'] },
    { key: 'lr = (none)', runIds: ['r4'] },
  ]);
  assert.deepEqual(groupRuns(runs, { kind: 'regex', pattern: '^(lr\\d+)-seed' }), [
    { key: 'lr01', runIds: ['r1', 'r2'] },
    { key: 'lr001', runIds: ['r3'] },
    { key: 'other (r4)', runIds: ['r4'] },
  ]);
  assert.deepEqual(
    groupRuns(runs, { kind: 'regex', pattern: 'seed\\d' }).map((g) => g.key),
    ['seed1', 'seed2', 'other (r4)'],
  );
  assert.deepEqual(
    groupRuns(runs, { kind: 'none' }).map((g) => g.runIds),
    [['r1'], ['r2'], ['r3'], ['r4']],
  );
  assert.throws(() => groupRuns(runs, { kind: 'regex', pattern: '(' }));
});

test('meanStd: mean and sample standard deviation (n − 1)', () => {
  assert.deepEqual(meanStd([2, 4, 4, 4, 5, 5, 7, 9]), { mean: 5, std: Math.sqrt(32 / 7) });
  assert.deepEqual(meanStd([1, 3]), { mean: 2, std: Math.SQRT2 });
  assert.deepEqual(meanStd([7]), { mean: 7, std: 0 });
  assert.ok(Number.isNaN(meanStd([]).mean));
});

test('seedBand: union of steps, linear interpolation inside each run, no extrapolation', () => {
  const band = seedBand([
    { xs: [0, 10, 20], ys: [1, 3, 5] },
    { xs: [0, 20], ys: [3, 7] }, // at 10: interpolated 5
    { xs: [5, 10], ys: [2, 4] }, // covers 5..10 only
  ]);
  assert.deepEqual(band.xs, [0, 5, 10, 20]);
  assert.deepEqual(band.n, [2, 3, 3, 2]);
  // step 0: {1, 3}; step 5: {2 (interp 1→3), 4 (interp 3→7), 2}; step 10: {3, 5, 4}; step 20: {5, 7}
  assert.deepEqual(band.mean, [2, 8 / 3, 4, 6]);
  const sd5 = Math.sqrt(((2 - 8 / 3) ** 2 * 2 + (4 - 8 / 3) ** 2) / 2);
  assert.deepEqual(band.std, [Math.SQRT2, sd5, 1, Math.SQRT2]);
  assert.ok(Math.abs(band.std[1] - 1.1547005383792515) < 1e-15);
  const gaps = seedBand([{ xs: [0, 1, 2], ys: [1, NaN, 3] }]);
  assert.deepEqual(gaps, { xs: [0, 2], mean: [1, 3], std: [0, 0], n: [1, 1] }, 'non-finite values are skipped');
});

// --- accessibility ---------------------------------------------------------------------------

test('summarizeChart: first → last value, extremes, span, points and grow events', () => {
  const s = summarizeChart(
    'Loss',
    [
      { label: 'train loss', xs: [0, 600, 1200], ys: [2.3, 0.05, 0.08] },
      { label: 'test loss', xs: [], ys: [] },
    ],
    { grows: 2, prunes: 1 },
  );
  assert.equal(s, 'Loss: train loss 2.3 → 0.08 (min 0.05) over 1,200 steps, 3 points; test loss: no data; 2 grow events, 1 prune event');
  assert.equal(
    summarizeChart('Accuracy', [{ label: 'acc', xs: [10, 11], ys: [0.5, 0.25] }], { format: (v) => `${v * 100}%` }),
    'Accuracy: acc 50% → 25% over 1 step, 2 points',
  );
  assert.equal(summarizeChart('Parameters', []), 'Parameters: no data');
  assert.equal(summarizeChart('P', [{ label: 'p', xs: [0, 5], ys: [1234567, 20000] }]), 'P: p 1.23e+6 → 20,000 over 5 steps, 2 points');
});

test('chartTable: one row per step with every series, thinned evenly keeping first, last and grow steps', () => {
  const t = chartTable('step', [
    { label: 'train', xs: [0, 1, 2, 3], ys: [4, 3, 2, 1] },
    { label: 'test', xs: [1, 3], ys: [3.5, 1.5] },
  ]);
  assert.deepEqual(t, {
    columns: ['step', 'train', 'test'],
    rows: [
      [0, 4, undefined],
      [1, 3, 3.5],
      [2, 2, undefined],
      [3, 1, 1.5],
    ],
    total: 4,
  });
  const xs = Array.from({ length: 1001 }, (_, i) => i);
  const big = chartTable('step', [{ label: 'y', xs, ys: xs.map((x) => x * 2) }], 11, [333]);
  assert.equal(big.total, 1001);
  // First, last and the grow step 333, then 8 evenly spaced positions (round(j · 1000 / 7)).
  assert.deepEqual(
    big.rows.map((r) => r[0]),
    [0, 143, 286, 333, 429, 571, 714, 857, 1000],
  );
  assert.ok(big.rows.every((r) => r[1] === (r[0] as number) * 2));
});

test('summarizeCategories and categoryTable: bar charts by category', () => {
  const cats = ['d1#0 split', 'd1#2 split', 'd2#1 new', 'd2#0 new'];
  const series = [
    { label: 'selected', values: [0.5, 0.9, undefined, undefined] },
    { label: 'best rejected', values: [undefined, undefined, 0.3, 0.2] },
  ];
  assert.equal(
    summarizeCategories('Candidate scores', cats, series),
    'Candidate scores: selected 2 bars, highest 0.9 (d1#2 split), lowest 0.5 (d1#0 split); best rejected 2 bars, highest 0.3 (d2#1 new), lowest 0.2 (d2#0 new)',
  );
  assert.equal(
    summarizeCategories(
      'S',
      ['a'],
      [
        { label: 'x', values: [1] },
        { label: 'y', values: [undefined] },
      ],
    ),
    'S: x 1 bar, 1 (a); y: none',
  );
  assert.equal(summarizeCategories('S', ['a', 'b'], [{ label: 'x', values: [0.5, 0.5] }]), 'S: x 2 bars, all 0.5');
  assert.deepEqual(categoryTable('candidate', cats, series), {
    columns: ['candidate', 'selected', 'best rejected'],
    rows: [
      ['d1#0 split', 0.5, undefined],
      ['d1#2 split', 0.9, undefined],
      ['d2#1 new', undefined, 0.3],
      ['d2#0 new', undefined, 0.2],
    ],
    total: 4,
  });
});
