// The monitor's chart math, without a browser: downsampling, series from events, marker positions,
// diff classification and layout, control states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Architecture, GrowEventParams, LayerSummary, MetricsParams, RunEvent } from '../../common/protocol';
import { downsampleView } from '../../common/monitor/downsample';
import { growMarkers, markerAt, markerLines, markerPixels, neuronChanges } from '../../webview/markers';
import { accuracyPath, RunModel, Series, summaryView } from '../../common/monitor/runModel';
import { classCounts, classifyArchitecture, layoutArchitecture } from '../../webview/architecture';
import { controlMessage, controlStates } from '../../webview/controls';
import { formatDuration } from '../../webview/format';

const fixture = (name: string): RunEvent[] =>
  fs
    .readFileSync(path.join(__dirname, '..', 'webview', 'fixtures', `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

// ---------------------------------------------------------------------------------------------
// downsampling
// ---------------------------------------------------------------------------------------------

test("downsampleView: a spike (a grow step's loss jump) in 100,000 points survives at 400 pixels", () => {
  const n = 100_000;
  const xs = Array.from({ length: n }, (_, i) => i + 1);
  const ys = xs.map((x) => 1 / Math.sqrt(x));
  ys[61_234] = 5;
  const idx = downsampleView(xs, ys, { pixels: 400 });
  assert.ok(idx.length <= 802, `${idx.length}`);
  assert.ok(idx.includes(61_234));
  assert.deepEqual([idx[0], idx[idx.length - 1]], [0, n - 1]);
});

test('downsampleView: equal x values (one step, many points) keep the ends and the extremes', () => {
  const xs = new Array(100).fill(7);
  const ys = xs.map((_, i) => Math.sin(i));
  const idx = downsampleView(xs, ys, { pixels: 2 });
  const lo = ys.indexOf(Math.min(...ys)),
    hi = ys.indexOf(Math.max(...ys));
  assert.deepEqual(
    idx,
    [...new Set([0, lo, hi, 99])].sort((a, b) => a - b),
  );
});

test('downsampleView: a path whose x goes back (parameters after a prune) is cut in step order, keeping its best and worst', () => {
  const points = Array.from({ length: 5000 }, (_, i) => ({ params: 1000 + (i % 300) * 10, testAccuracy: 0.5 + 0.4 * Math.sin(i / 100) }));
  const idx = downsampleView(
    points.map((p) => p.params),
    points.map((p) => p.testAccuracy),
    { pixels: 50 },
  );
  assert.ok(idx.length <= 102, `${idx.length}`);
  for (let k = 1; k < idx.length; k++) assert.ok(idx[k] > idx[k - 1], 'step order');
  const kept = idx.map((i) => points[i].testAccuracy);
  assert.equal(Math.max(...kept), Math.max(...points.map((p) => p.testAccuracy)));
  assert.equal(Math.min(...kept), Math.min(...points.map((p) => p.testAccuracy)));
  assert.equal(idx[0], 0);
});

// ---------------------------------------------------------------------------------------------
// series from events
// ---------------------------------------------------------------------------------------------

const metrics = (step: number, extra: Partial<MetricsParams> = {}): RunEvent => ({
  type: 'metrics',
  time: 't',
  runId: 'r1',
  epoch: 1,
  step,
  trainLoss: 1 / step,
  trainAccuracy: 0.5,
  params: 100,
  samplesPerSecond: 1000,
  engine: 'onnxruntime',
  executionProvider: 'cpu',
  elapsedMs: step * 10,
  ...extra,
});

test('RunModel: one point per metric and series; evaluations only where measured', () => {
  const m = new RunModel('r1');
  m.addAll([
    metrics(1),
    metrics(2, { testLoss: 0.9, testAccuracy: 0.6 }),
    metrics(3),
    metrics(4, { testLoss: 0.8, testAccuracy: 0.7, params: 120 }),
  ]);
  assert.deepEqual(m.series.trainLoss.xs, [1, 2, 3, 4]);
  assert.deepEqual(m.series.testLoss.xs, [2, 4]);
  assert.deepEqual(m.series.testAccuracy.ys, [0.6, 0.7]);
  assert.deepEqual(m.series.params.ys, [100, 100, 100, 120]);
  assert.deepEqual(m.path, [
    { step: 2, params: 100, testAccuracy: 0.6 },
    { step: 4, params: 120, testAccuracy: 0.7 },
  ]);
  assert.equal(m.add(metrics(5, { runId: 'other' } as Partial<MetricsParams>)), false, "another run's event is not drawn");
});

test('RunModel: an event in both the history and the live stream counts once', () => {
  const m = new RunModel('r1');
  const history = [metrics(1), metrics(2), metrics(3)];
  m.addAll(history);
  const v = m.version;
  assert.equal(m.addAll([metrics(3), metrics(4)]), 1);
  assert.equal(m.duplicates, 1);
  assert.equal(m.series.trainLoss.length, 4);
  assert.ok(m.version > v);
  // The epoch-end metrics share the step of the last throttled one but are a different emission.
  assert.equal(m.add(metrics(4, { elapsedMs: 45, testLoss: 0.5 })), true);
  assert.equal(m.series.trainLoss.length, 5);
});

test('Series: a late point is inserted in step order', () => {
  const s = new Series();
  for (const x of [1, 2, 5, 6]) s.push(x, x);
  s.push(3, 3);
  s.push(6, 7);
  assert.deepEqual(s.xs, [1, 2, 3, 5, 6, 6]);
  assert.deepEqual(s.ys, [1, 2, 3, 5, 6, 7]);
});

test('RunModel and summary from a recorded run', () => {
  const events = fixture('grown-run');
  const m = new RunModel(events[0].runId);
  m.addAll(events);
  const ms = events.filter((e) => e.type === 'metrics') as (RunEvent & MetricsParams)[];
  assert.equal(m.series.trainLoss.length, ms.length);
  assert.equal(m.series.testAccuracy.length, ms.filter((e) => e.testAccuracy !== undefined).length);
  assert.equal(m.grows.length, events.filter((e) => e.type === 'grow').length);
  const s = summaryView(m);
  assert.equal(s.status, 'completed');
  assert.equal(s.dataset, 'fashion-mnist');
  assert.equal(s.engine, 'onnxruntime');
  assert.equal(s.bestTestAccuracy, Math.max(...ms.map((e) => e.testAccuracy ?? -1)));
  assert.equal(s.params, ms[ms.length - 1].params);
  assert.equal(s.epochs, 8);
  assert.equal(s.epochsDone, 8);
  assert.equal(s.growSteps + s.pruneSteps, m.grows.length);
  assert.equal(s.wallMs, ms[ms.length - 1].elapsedMs);
  assert.deepEqual(accuracyPath(m.runId, 'x', events).points, m.path);
  assert.equal(m.architecture, m.grows[m.grows.length - 1].after);
});

test('formatDuration', () => {
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(12_340), '12.3 s');
  assert.equal(formatDuration(245_000), '4 min 05 s');
  assert.equal(formatDuration(3_720_000), '1 h 02 min');
  assert.equal(formatDuration(undefined), '–');
});

// ---------------------------------------------------------------------------------------------
// markers
// ---------------------------------------------------------------------------------------------

const layer = (id: string, index: number, width: number | undefined, type: LayerSummary['type'] = 'dense'): LayerSummary => ({
  id,
  index,
  type,
  width,
  activation: 'relu',
  inputShape: [],
  outputShape: width === undefined ? [] : [width],
  params: (width ?? 0) * 10,
  flops: 0,
});
const arch = (...layers: LayerSummary[]): Architecture => ({
  inputShape: [4],
  outputSize: 2,
  layers,
  params: layers.reduce((a, l) => a + l.params, 0),
  flops: 0,
});

function growEvent(
  step: number,
  before: Architecture,
  after: Architecture,
  diff: GrowEventParams['diff'],
  kind: 'grow' | 'prune' = 'grow',
): GrowEventParams {
  return {
    runId: 'r1',
    step,
    epoch: 1,
    kind,
    method: kind === 'grow' ? 'firefly' : 'prune-taylor',
    before,
    after,
    diff,
    selected: [],
    rejected: [],
    lossBefore: 0.5,
    lossAfter: 0.45,
    maxOutputChange: 0.01,
    durationMs: 12,
  };
}

test('neuronChanges: splits add one neuron per extra copy; removals and inserted layers counted', () => {
  // sources [0, 1, 2, 0, -1]: neuron 0 split into 0 and 3, one brand-new neuron.
  const c = neuronChanges([
    {
      id: 'd1',
      kept: 2,
      split: [
        { index: 0, parent: 0 },
        { index: 3, parent: 0 },
      ],
      added: [4],
      removed: [],
      inserted: false,
    },
  ]);
  assert.deepEqual(c, { added: 2, removed: 0, split: 2, splitParents: 1, insertedLayers: 0 });
  const p = neuronChanges([
    { id: 'd1', kept: 3, split: [], added: [], removed: [1, 4], inserted: false },
    { id: 'd9', kept: 0, split: [], added: [0, 1, 2], removed: [], inserted: true },
  ]);
  assert.deepEqual(p, { added: 3, removed: 2, split: 0, splitParents: 0, insertedLayers: 1 });
});

test('neuronChanges matches the width change of every recorded grow event', () => {
  for (const e of fixture('grown-run').filter((x) => x.type === 'grow') as GrowEventParams[]) {
    const width = (a: Architecture) => a.layers.reduce((s, l) => s + (l.type !== 'output' && l.width !== undefined ? l.width : 0), 0);
    const c = neuronChanges(e.diff);
    assert.equal(c.added - c.removed, width(e.after) - width(e.before), e.method);
  }
});

test('markers: positions, hover and tooltip lines', () => {
  const a = arch(layer('d1', 0, 3)),
    b = arch(layer('d1', 0, 4));
  const markers = growMarkers([
    growEvent(100, a, b, [{ id: 'd1', kept: 3, split: [], added: [3], removed: [], inserted: false }]),
    growEvent(300, b, a, [{ id: 'd1', kept: 3, split: [], added: [], removed: [2], inserted: false }], 'prune'),
    growEvent(900, a, b, []),
  ]);
  const px = markerPixels(markers, (s) => 10 + s / 2, 10, 300);
  assert.deepEqual(
    px.map((p) => [p.step, p.px]),
    [
      [100, 60],
      [300, 160],
    ],
    'the one off the plot is not drawn',
  );
  assert.equal(markerAt(px, 63)?.step, 100);
  assert.equal(markerAt(px, 66), undefined);
  assert.equal(markerAt(px, 158, 5)?.step, 300);
  assert.deepEqual(markerLines(markers[0]), [
    'Grow: firefly',
    'step 100 · epoch 1',
    'neurons +1 / −0',
    'loss 0.5000 → 0.4500',
    'parameters 30 → 40',
  ]);
  assert.equal(markerLines(markers[1])[0], 'Prune: prune-taylor');
  assert.equal(markerLines(markers[1])[2], 'neurons +0 / −1');
});

// ---------------------------------------------------------------------------------------------
// diff classification and layout
// ---------------------------------------------------------------------------------------------

test('classifyArchitecture: each neuron gets exactly the class the diff names', () => {
  const before = arch(layer('d1', 0, 4), layer('d2', 1, 5), layer('output', 2, 2, 'output'));
  const after = arch(
    layer('d1', 0, 6),
    layer('d2', 1, 3),
    layer('d3', 2, 2),
    layer('flat', 3, undefined, 'flatten'),
    layer('output', 4, 2, 'output'),
  );
  const view = classifyArchitecture(
    after,
    growEvent(1, before, after, [
      {
        id: 'd1',
        kept: 2,
        split: [
          { index: 1, parent: 1 },
          { index: 4, parent: 1 },
        ],
        added: [5],
        removed: [3],
        inserted: false,
      },
      { id: 'd2', kept: 3, split: [], added: [], removed: [0, 2], inserted: false },
      { id: 'd3', kept: 0, split: [], added: [0, 1], removed: [], inserted: true },
      { id: 'nope', kept: 0, split: [], added: [1], removed: [], inserted: false },
    ]),
  );
  const states = (id: string) =>
    view.layers.find((l) => l.id === id)!.neurons.map((n) => n.state + (n.parent !== undefined ? `<${n.parent}` : ''));
  assert.deepEqual(states('d1'), ['kept', 'split<1', 'kept', 'kept', 'split<1', 'new']);
  assert.deepEqual(view.layers.find((l) => l.id === 'd1')!.removed, [3]);
  assert.deepEqual(states('d2'), ['kept', 'kept', 'kept']);
  assert.deepEqual(view.layers.find((l) => l.id === 'd2')!.removed, [0, 2]);
  assert.deepEqual(states('d3'), ['inserted', 'inserted']);
  assert.deepEqual(states('flat'), []);
  assert.deepEqual(view.ignored, ['nope: no such layer']);
  assert.deepEqual(classCounts(view), { kept: 2 + 1 + 3 + 2, split: 2, new: 1, removed: 3, inserted: 2 });
  // No event: everything kept.
  assert.deepEqual(classCounts(classifyArchitecture(after)), { kept: 6 + 3 + 2 + 2, split: 0, new: 0, removed: 0, inserted: 0 });
});

test('classifyArchitecture: indices outside the layer are ignored and reported, never drawn', () => {
  const a = arch(layer('d1', 0, 3));
  const view = classifyArchitecture(
    a,
    growEvent(1, a, a, [{ id: 'd1', kept: 3, split: [{ index: 7, parent: 0 }], added: [-1], removed: [9], inserted: false }]),
  );
  assert.deepEqual(classCounts(view), { kept: 3, split: 0, new: 0, removed: 0, inserted: 0 });
  assert.equal(view.ignored.length, 3);
});

test('layoutArchitecture: bars grow with width, wide layers wrap into columns, links join split copies', () => {
  const before = arch(layer('d1', 0, 4), layer('d2', 1, 600));
  const after = arch(layer('d1', 0, 8), layer('d2', 1, 600), layer('output', 2, 10, 'output'));
  const view = classifyArchitecture(
    after,
    growEvent(1, before, after, [
      {
        id: 'd1',
        kept: 2,
        split: [
          { index: 0, parent: 0 },
          { index: 4, parent: 0 },
          { index: 5, parent: 0 },
          { index: 1, parent: 1 },
          { index: 6, parent: 1 },
        ],
        added: [7],
        removed: [],
        inserted: false,
      },
    ]),
  );
  const l = layoutArchitecture(view, { height: 320 });
  const [d1, d2, out] = l.layers;
  assert.equal(d1.cells.length, 8);
  assert.equal(d2.cells.length, 600);
  assert.ok(d2.box.w > d1.box.w, 'a layer taller than the view wraps into several columns');
  assert.ok(d1.box.h > out.box.h * 0.7 && d1.box.h < out.box.h, 'height follows width (8 vs 10 neurons)');
  assert.deepEqual(
    l.links.map((k) => [k.parent, k.from, k.to]),
    [
      [0, 0, 4],
      [0, 0, 5],
      [1, 1, 6],
    ],
    "the copy that kept the parent's index anchors the others",
  );
  for (const c of [...d1.cells, ...d2.cells]) {
    assert.ok(c.x >= 0 && c.y >= 0 && c.y + c.size <= l.height && c.x + c.size <= l.width);
  }
  const ys = d2.cells.map((c) => c.y);
  assert.equal(new Set(d2.cells.map((c) => `${c.x},${c.y}`)).size, 600, 'no two cells overlap');
  assert.ok(Math.max(...ys) < 320);
  assert.equal(l.bands.length, 3);
});

// ---------------------------------------------------------------------------------------------
// controls
// ---------------------------------------------------------------------------------------------

test('controlStates: each control applies only where it fits', () => {
  const base = { runId: 'r1', growthMethods: ['firefly'], hasCheckpoint: true };
  assert.deepEqual(controlStates({ ...base, status: 'running' }), {
    start: true,
    pause: true,
    resume: false,
    stop: true,
    grow: true,
    prune: true,
    export: true,
  });
  assert.deepEqual(controlStates({ ...base, status: 'paused' }), {
    start: true,
    pause: false,
    resume: true,
    stop: true,
    grow: true,
    prune: true,
    export: true,
  });
  for (const status of ['completed', 'stopped', 'failed'] as const) {
    assert.deepEqual(controlStates({ ...base, status }), {
      start: true,
      pause: false,
      resume: false,
      stop: false,
      grow: false,
      prune: false,
      export: true,
    });
  }
  assert.deepEqual(controlStates({ ...base, status: 'running', stale: true }), {
    start: true,
    pause: false,
    resume: false,
    stop: false,
    grow: false,
    prune: false,
    export: true,
  });
  assert.equal(controlStates({ ...base, status: 'running', growthMethods: [] }).grow, false, 'no growth method: no Grow now');
  assert.equal(controlStates({ ...base, status: 'completed', hasCheckpoint: false }).export, false, 'nothing to export');
  assert.equal(controlStates({ ...base, status: 'running', hasCheckpoint: false }).export, true, 'a live run exports its current weights');
  assert.deepEqual(controlStates({ growthMethods: [], hasCheckpoint: false }), {
    start: true,
    pause: false,
    resume: false,
    stop: false,
    grow: false,
    prune: false,
    export: false,
  });
  assert.equal(controlStates({ ...base, status: 'running', busy: new Set(['grow'] as const) }).grow, false, 'waiting for the answer');
  assert.deepEqual(
    controlStates({ ...base, status: 'running', continual: true }),
    { start: true, pause: true, resume: false, stop: true, grow: false, prune: false, export: false },
    'continual runs grow by themselves',
  );
});

test('controlMessage', () => {
  assert.deepEqual(controlMessage('start', undefined), { type: 'start' });
  assert.equal(controlMessage('pause', undefined), undefined);
  assert.deepEqual(controlMessage('pause', 'r1'), { type: 'pause', runId: 'r1' });
  assert.deepEqual(controlMessage('grow', 'r1', { grow: 'splitting' }), { type: 'grow', runId: 'r1', method: 'splitting' });
  assert.equal(controlMessage('grow', 'r1', {}), undefined);
  assert.deepEqual(controlMessage('prune', 'r1'), { type: 'prune', runId: 'r1', method: 'prune-taylor' });
  assert.deepEqual(controlMessage('export', 'r1'), { type: 'export', runId: 'r1' });
});
