// "Charts that never lie": TensorBoard's debiased EMA, the extension-side downsampler for a chart's
// visible range, the x axes (fractional epoch, estimated training FLOPs), zoom math, the series
// store's answers, and the exports (CSV, JSON, SVG) with their exact contents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ChartViewportMessage, GrowEventParams, RunEvent } from '../../common/protocol';
import { downsampleView } from '../../common/monitor/downsample';
import { emaSmooth } from '../../common/monitor/smoothing';
import { chartSvg, linePath, SVG_HEADER } from '../../webview/svgExport';
import { clampRange, panBy, zoomAt } from '../../webview/zoom';
import { fractionalEpochs, RunSeries, SeriesStore, trainingFlops } from '../../extension/seriesStore';
import { csvCell, seriesCsv, seriesJson, seriesJsonValue } from '../../extension/seriesExport';

const close = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) <= 1e-15 * Math.max(1, Math.abs(b)), `${msg ?? ''} ${a} vs ${b}`);

// ---------------------------------------------------------------------------------------------
// smoothing
// ---------------------------------------------------------------------------------------------

test("emaSmooth: TensorBoard's debiased EMA, against hand-computed values", () => {
  // w = 0.5, y = 1, 2, 3: last = 0.5, 1.25, 2.125; debias 1 − 0.5^n = 0.5, 0.75, 0.875.
  const a = emaSmooth([1, 2, 3], 0.5);
  assert.equal(a[0], 1);
  close(a[1], 5 / 3);
  close(a[2], 17 / 7);
  // w = 0.9, y = 2, 0, 4: last = 0.2, 0.18, 0.562; debias 0.1, 0.19, 0.271.
  const b = emaSmooth([2, 0, 4], 0.9);
  close(b[0], 2);
  close(b[1], 18 / 19);
  close(b[2], 562 / 271);
  // Non-finite values pass through and are not counted: the third point is the second accumulated.
  const c = emaSmooth([1, NaN, 3, Infinity], 0.5);
  assert.equal(c[0], 1);
  assert.ok(Number.isNaN(c[1]));
  close(c[2], 7 / 3); // last = 0.25 + 1.5 = 1.75, debias 1 − 0.25 = 0.75
  assert.equal(c[3], Infinity);
  // Weight 0 is no smoothing; a constant series stays as it is (TensorBoard's shortcut).
  assert.deepEqual([...emaSmooth([3, 1, 4, 1, 5], 0)], [3, 1, 4, 1, 5]);
  assert.deepEqual([...emaSmooth([0.7, 0.7, 0.7], 0.99)], [0.7, 0.7, 0.7]);
  assert.deepEqual([...emaSmooth([], 0.6)], []);
});

// ---------------------------------------------------------------------------------------------
// downsampling for the visible range
// ---------------------------------------------------------------------------------------------

/** 100,000 points of a noisy decaying loss with spikes at known indices. */
function spiky(n = 100_000, spikes = [1_234, 31_337, 61_234, 99_001]): { xs: Float64Array; ys: Float64Array; spikes: number[] } {
  const xs = new Float64Array(n),
    ys = new Float64Array(n);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    xs[i] = i + 1;
    ys[i] = 2 * Math.exp(-i / 20000) + 0.05 * (seed / 2147483648);
  }
  for (const s of spikes) ys[s] = 9;
  return { xs, ys, spikes };
}

test('downsampleView: about 2 points per pixel, first and last kept, every spike kept at every zoom', () => {
  const { xs, ys, spikes } = spiky();
  for (const view of [
    { pixels: 400 },
    { xMin: 1000, xMax: 40000, pixels: 400 },
    { xMin: 31000, xMax: 31400, pixels: 300 },
    { xMin: 61000, xMax: 61300, pixels: 800 },
  ]) {
    const idx = downsampleView(xs, ys, view);
    assert.ok(idx.length <= 2 * view.pixels + 2, `${idx.length} points for ${view.pixels} px`);
    for (let k = 1; k < idx.length; k++) assert.ok(idx[k] > idx[k - 1], 'indices ascend');
    const inView = (i: number) => (view.xMin === undefined || xs[i] >= view.xMin) && (view.xMax === undefined || xs[i] <= view.xMax);
    for (const s of spikes) if (inView(s)) assert.ok(idx.includes(s), `spike at ${s} kept in ${JSON.stringify(view)}`);
    // The first point of the range and its neighbour outside (so the line reaches the edge), and the last.
    const first = view.xMin === undefined ? 0 : xs.findIndex((x) => x >= view.xMin!) - 1;
    const last = view.xMax === undefined ? xs.length - 1 : xs.findIndex((x) => x > view.xMax!);
    assert.equal(idx[0], first);
    assert.equal(idx[idx.length - 1], last);
  }
  // Few points: all of them.
  assert.deepEqual(downsampleView([1, 2, 3, 4], [5, 6, 7, 8], { pixels: 2 }), [0, 1, 2, 3]);
  assert.deepEqual(downsampleView([], [], { pixels: 10 }), []);
});

test('downsampleView: the points on both sides of every grow step are kept', () => {
  const n = 50_000;
  const xs = Float64Array.from({ length: n }, (_, i) => i + 1);
  const ys = Float64Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 101) / 1000);
  const grows = [10_000, 20_001, 33_333];
  const idx = downsampleView(xs, ys, { pixels: 100 }, grows);
  for (const g of grows) {
    assert.ok(idx.includes(g - 1), `point at step ${g} kept`);
    assert.ok(idx.includes(g - 2), `point before step ${g} kept`);
  }
  assert.ok(idx.length <= 2 * 100 + 2 + 2 * grows.length);
});

test('downsampleView: extremes of every pixel bucket survive (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 600 }),
      fc.integer({ min: 1, max: 50 }),
      (ys, pixels) => {
        const xs = ys.map((_, i) => i * 2);
        const idx = downsampleView(xs, ys, { pixels });
        const drawn = new Set(idx);
        assert.ok(idx.length <= Math.max(ys.length <= 2 * pixels ? ys.length : 0, 2 * pixels + 2));
        // The global minimum and maximum are always drawn.
        const min = Math.min(...ys),
          max = Math.max(...ys);
        assert.ok(idx.some((i) => ys[i] === min) && idx.some((i) => ys[i] === max));
        assert.ok(drawn.has(0) && drawn.has(ys.length - 1));
      },
    ),
    { numRuns: 200 },
  );
});

test('downsampleView: x that goes down (parameters after pruning) is bucketed by order', () => {
  const n = 1000;
  const xs = Array.from({ length: n }, (_, i) => (i < 500 ? 100 + i : 600 - (i - 500) / 2));
  const ys = Array.from({ length: n }, (_, i) => (i === 777 ? 50 : 1));
  const idx = downsampleView(xs, ys, { pixels: 20 });
  assert.ok(idx.includes(777) && idx.includes(0) && idx.includes(n - 1));
  assert.ok(idx.length <= 42);
  // A range keeps only the points inside it.
  const inRange = downsampleView(xs, ys, { xMin: 300, xMax: 400, pixels: 1000 });
  assert.ok(inRange.every((i) => xs[i] >= 300 && xs[i] <= 400));
  assert.equal(inRange.length, xs.filter((x) => x >= 300 && x <= 400).length);
});

// ---------------------------------------------------------------------------------------------
// x axes and zoom
// ---------------------------------------------------------------------------------------------

test('trainingFlops: 6 × forward mult-adds × batch size per step, phase by phase', () => {
  // 1000 mult-adds until step 10, then 1500; batch 8: 48,000 FLOPs per step, then 72,000.
  const f = trainingFlops(
    [1, 10, 11, 20],
    [
      { step: 0, multAdds: 1000 },
      { step: 10, multAdds: 1500 },
    ],
    8,
  );
  assert.deepEqual([...f], [48_000, 480_000, 552_000, 1_200_000]);
  assert.ok(Number.isNaN(trainingFlops([1], [{ step: 0, multAdds: 10 }], undefined)[0]), 'no batch size: unknown');
});

test('fractionalEpochs: step within the epoch, from the config or from completed epochs', () => {
  assert.deepEqual([...fractionalEpochs([375, 750, 1125, 1500, 1875], [1, 1, 1, 1, 2], 1500)], [0.25, 0.5, 0.75, 1, 1.25]);
  // No config: the first completed epoch (steps 1..100) gives 100 steps per epoch.
  assert.deepEqual([...fractionalEpochs([50, 100, 150, 200], [1, 1, 2, 2])], [0.5, 1, 1.5, 2]);
  // Still in epoch 1 and nothing known: the reported epoch.
  assert.deepEqual([...fractionalEpochs([5, 9], [1, 1])], [1, 1]);
});

test('zoom and pan stay inside the data and reset when they cover it', () => {
  const bounds = { min: 0, max: 100 };
  assert.deepEqual(zoomAt({ min: 0, max: 100 }, 50, 0.5, bounds), { min: 25, max: 75 });
  assert.deepEqual(zoomAt({ min: 0, max: 100 }, 0, 0.5, bounds), { min: 0, max: 50 });
  assert.deepEqual(zoomAt({ min: 20, max: 40 }, 30, 0.01, bounds, 4), { min: 28, max: 32 }, 'never narrower than minSpan');
  assert.equal(zoomAt({ min: 25, max: 75 }, 50, 4, bounds), undefined, 'zoomed out past the data: no zoom');
  assert.deepEqual(panBy({ min: 25, max: 75 }, 40, bounds), { min: 50, max: 100 });
  assert.deepEqual(panBy({ min: 25, max: 75 }, -40, bounds), { min: 0, max: 50 });
  assert.equal(clampRange({ min: 5, max: 5 }, bounds), undefined);
});

// ---------------------------------------------------------------------------------------------
// the store: what the extension answers a viewport request with
// ---------------------------------------------------------------------------------------------

const RUN = '20261123-120000-tiny-0001';
const arch = (flops: number, params: number) => ({ inputShape: [4], outputSize: 2, layers: [], params, flops });
const start: RunEvent = {
  type: 'start',
  time: 't0',
  runId: RUN,
  warnings: [],
  architecture: arch(100, 50),
  config: {
    name: 'tiny, "quoted"',
    seed: 1,
    dataset: { name: 'mnist', trainSize: 40 },
    model: { layers: [], init: 'he' },
    training: { epochs: 2, batchSize: 10 },
  } as never,
};
const metric = (step: number, epoch: number, trainLoss: number, extra: Partial<Record<string, number>> = {}): RunEvent =>
  ({
    type: 'metrics',
    time: 't',
    runId: RUN,
    epoch,
    step,
    trainLoss,
    params: step < 3 ? 50 : 80,
    samplesPerSecond: 1000 + step,
    learningRate: step === 4 ? 0.025 : 0.05,
    engine: 'onnxruntime',
    executionProvider: 'cpu',
    elapsedMs: step * 250,
    ...extra,
  }) as RunEvent;
const grow: RunEvent = {
  type: 'grow',
  time: 't',
  runId: RUN,
  step: 3,
  epoch: 1,
  kind: 'grow',
  method: 'splitting',
  before: arch(100, 50),
  after: arch(160, 80),
  diff: [],
  selected: [],
  rejected: [],
  lossBefore: 0.9,
  lossAfter: 0.95,
  maxOutputChange: 0.01,
  durationMs: 12,
} as RunEvent & GrowEventParams;
const tinyEvents: RunEvent[] = [
  start,
  metric(1, 1, 1.5),
  metric(2, 1, 1.25),
  grow,
  metric(3, 1, 1),
  metric(4, 1, 0.75, { testLoss: 0.8, testAccuracy: 0.5, trainAccuracy: 0.25 }),
];

test('SeriesStore: answers a viewport with typed arrays, counts, the data extent and marker positions', () => {
  const store = new SeriesStore();
  store.setHistory(RUN, tinyEvents);
  store.add([metric(4, 1, 0.75, { testLoss: 0.8, testAccuracy: 0.5, trainAccuracy: 0.25 })]); // a duplicate
  const req: ChartViewportMessage = {
    type: 'viewport',
    runId: RUN,
    chart: 'loss',
    series: ['trainLoss', 'testLoss'],
    xAxis: 'step',
    pixels: 100,
    smoothing: 0,
    seq: 7,
  };
  const a = store.view(req)!;
  assert.equal(a.type, 'chartData');
  assert.equal(a.seq, 7);
  assert.ok(a.series[0].xs instanceof Float64Array);
  assert.deepEqual([...a.series[0].xs], [1, 2, 3, 4]);
  assert.deepEqual([...a.series[0].ys], [1.5, 1.25, 1, 0.75]);
  assert.deepEqual(
    { total: a.series[0].total, drawn: a.series[0].drawn, visible: a.series[0].visible },
    { total: 4, drawn: 4, visible: 4 },
  );
  assert.deepEqual([...a.series[1].xs], [4]);
  assert.deepEqual([a.dataMin, a.dataMax], [1, 4]);
  assert.deepEqual(a.markerXs, [3]);
  // Wall time: seconds; FLOPs: 6 × 100 × 10 per step until the grow at step 3, then 6 × 160 × 10.
  assert.deepEqual([...store.view({ ...req, xAxis: 'time' })!.series[0].xs], [0.25, 0.5, 0.75, 1]);
  const flops = store.view({ ...req, xAxis: 'flops' })!;
  assert.deepEqual([...flops.series[0].xs], [6000, 12000, 18000, 27600]);
  assert.deepEqual(flops.markerXs, [18000]);
  // Epoch: 40 examples / batch 10 = 4 steps per epoch.
  assert.deepEqual([...store.view({ ...req, xAxis: 'epoch' })!.series[0].xs], [0.25, 0.5, 0.75, 1]);
  // Smoothing: the EMA of the full series comes with the raw points.
  const sm = store.view({ ...req, smoothing: 0.5 })!.series[0].smoothed!;
  assert.deepEqual([...sm.ys], [...emaSmooth([1.5, 1.25, 1, 0.75], 0.5)]);
  // A zoomed range: the points inside plus one neighbour each side; counts of what is inside.
  const z = store.view({ ...req, xMin: 2, xMax: 3, series: ['trainLoss'] })!;
  assert.deepEqual([...z.series[0].xs], [1, 2, 3, 4]);
  assert.equal(z.series[0].visible, 2);
  assert.equal(store.view({ ...req, runId: 'unknown-run' }), undefined);
});

// ---------------------------------------------------------------------------------------------
// exports
// ---------------------------------------------------------------------------------------------

test('seriesCsv: one row per metrics event with every column, exact text', () => {
  const run = RunSeries.fromEvents(RUN, tinyEvents);
  const other = RunSeries.fromEvents('run-b', [{ ...metric(1, 1, 2), runId: 'run-b' } as RunEvent], '=SUM(A1)');
  assert.equal(
    seriesCsv([run, other]),
    [
      'run_id,run_name,step,epoch,wall_time_s,params,flops_estimate,train_loss,test_loss,train_accuracy,test_accuracy,samples_per_second,learning_rate',
      `${RUN},"tiny, ""quoted""",1,1,0.25,50,6000,1.5,,,,1001,0.05`,
      `${RUN},"tiny, ""quoted""",2,1,0.5,50,12000,1.25,,,,1002,0.05`,
      `${RUN},"tiny, ""quoted""",3,1,0.75,80,18000,1,,,,1003,0.05`,
      `${RUN},"tiny, ""quoted""",4,1,1,80,27600,0.75,0.8,0.25,0.5,1004,0.025`,
      "run-b,'=SUM(A1),1,1,0.25,50,,2,,,,1001,0.05",
      '',
    ].join('\r\n'),
  );
  assert.equal(csvCell('plain'), 'plain');
  assert.equal(csvCell('-1'), "'-1");
});

test('seriesJson: columns with null where there is no value, and the grow events, exact', () => {
  const run = RunSeries.fromEvents(RUN, tinyEvents);
  const expected = {
    format: 'growth-lab-series',
    version: 1,
    runs: [
      {
        runId: RUN,
        name: 'tiny, "quoted"',
        columns: {
          step: [1, 2, 3, 4],
          epoch: [1, 1, 1, 1],
          elapsedMs: [250, 500, 750, 1000],
          params: [50, 50, 80, 80],
          flopsEstimate: [6000, 12000, 18000, 27600],
          trainLoss: [1.5, 1.25, 1, 0.75],
          testLoss: [null, null, null, 0.8],
          trainAccuracy: [null, null, null, 0.25],
          testAccuracy: [null, null, null, 0.5],
          samplesPerSecond: [1001, 1002, 1003, 1004],
          learningRate: [0.05, 0.05, 0.05, 0.025],
        },
        growEvents: [{ step: 3, kind: 'grow', method: 'splitting', paramsBefore: 50, paramsAfter: 80 }],
      },
    ],
  };
  assert.deepEqual(seriesJsonValue([run]), expected);
  assert.equal(seriesJson([run]), `${JSON.stringify(expected)}\n`);
  assert.deepEqual(JSON.parse(seriesJson([run])), expected);
});

test('chartSvg: vector lines, legend, ticks and markers from the drawn data', () => {
  const svg = chartSvg({
    width: 200,
    height: 100,
    title: 'Loss <train>',
    area: { left: 40, right: 190, top: 10, bottom: 80 },
    colors: { background: '#1f1f1f', foreground: '#cccccc', muted: '#9d9d9d', grid: 'rgba(204, 204, 204, 0.18)' },
    font: { family: 'Segoe WPC, sans-serif', size: 12 },
    xTitle: 'step',
    yTitle: 'loss',
    xTicks: [
      { px: 40, label: '0' },
      { px: 190, label: '100' },
    ],
    yTicks: [{ py: 80, label: '0' }],
    lines: [
      {
        label: 'train loss',
        color: '#3794ff',
        width: 1.5,
        points: [
          [40, 80],
          [100.04, 20.06],
          [NaN, 1],
          [190, 50],
        ],
        legend: true,
      },
      { label: 'train loss (raw)', color: '#3794ff', width: 1, opacity: 0.25, points: [[40, 70]], legend: false },
    ],
    markers: [{ px: 100, color: '#89d185', label: 'grow splitting at step 40' }],
  });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="144"'));
  assert.ok(!/<image|base64/.test(svg), 'no raster inside');
  assert.ok(
    svg.includes(
      `<path d="M40 ${80 + SVG_HEADER} L100 ${20.1 + SVG_HEADER} M190 ${50 + SVG_HEADER}" stroke="#3794ff" stroke-width="1.5"><title>train loss</title></path>`,
    ),
  );
  assert.ok(svg.includes('stroke-opacity="0.25"'), 'the raw line is faint');
  assert.ok(svg.indexOf('train loss (raw)') < svg.indexOf('<title>train loss</title>'), 'the raw line is drawn beneath');
  assert.ok(svg.includes('<text x="61" y="38.2" fill="#cccccc">train loss</text>'), 'legend entry');
  assert.equal((svg.match(/<g class="legend">[\s\S]*?<\/g>/)![0].match(/<text/g) ?? []).length, 1, 'only the main line in the legend');
  assert.ok(svg.includes('<title>Loss &lt;train&gt;</title>'));
  assert.ok(
    svg.includes(
      `<line x1="100" y1="${10 + SVG_HEADER}" x2="100" y2="${80 + SVG_HEADER}" stroke="#89d185"><title>grow splitting at step 40</title></line>`,
    ),
  );
  assert.ok(svg.includes('>100</text>') && svg.includes('>loss</text>'));
  assert.equal(
    linePath([
      [1, 2],
      [3, 4],
    ]),
    'M1 2 L3 4',
  );
});
