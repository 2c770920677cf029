// The architecture timeline, layer details and the per-layer grow table, without a browser: exact
// widths, parameters and multiply-adds at every grow event of a recorded run, and hand-computed
// layers (conv included) checked against the backend's own architecture summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Architecture, LayerConfig, LayerSummary, RunEvent } from '../../common/protocol';
import { architectureOf, specFromConfig } from '../../server/model/spec';
import { RunModel } from '../../common/monitor/runModel';
import {
  architectureAtStep,
  layerTracks,
  pointAtStep,
  pointLabel,
  tickPositions,
  timelinePoints,
  trackPoints,
  widthsAt,
} from '../../webview/timeline';
import { convKernelSize, indexRanges, layerDetail, multAdds, splitText } from '../../webview/layerDetails';
import { layerDeltaRows, layerDeltaText, signedCount, widthChange } from '../../common/monitor/growDiff';
import { reviewDocument } from '../../extension/architectureYaml';

const fixture = (name: string): RunEvent[] =>
  fs
    .readFileSync(path.join(__dirname, '..', 'webview', 'fixtures', `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const events = fixture('grown-run');
const model = new RunModel(events[0].runId);
model.addAll(events);
const points = timelinePoints(model.startArchitecture, model.grows);

// The recorded run (test/webview/recordFixtures.ts): an MLP 24-12 grown and pruned six times.
const EXPECTED = [
  { step: 0, label: 'start', widths: { dense_1: 24, dense_2: 12, output: 10 } },
  { step: 3092, label: 'step 3092 · grow splitting', widths: { dense_1: 30, dense_2: 12, output: 10 } },
  { step: 4579, label: 'step 4579 · grow net2net-wider', widths: { dense_1: 30, dense_2: 16, output: 10 } },
  { step: 6225, label: 'step 6225 · grow net2net-deeper', widths: { dense_1: 30, dense_2: 16, residual_1: 16, output: 10 } },
  { step: 7708, label: 'step 7708 · prune prune-taylor', widths: { dense_1: 25, dense_2: 11, residual_1: 16, output: 10 } },
  { step: 9157, label: 'step 9157 · grow gauss-newton', widths: { dense_1: 24, dense_2: 13, residual_1: 16, output: 10 } },
  { step: 10668, label: 'step 10668 · grow random-split-new', widths: { dense_1: 26, dense_2: 15, residual_1: 16, output: 10 } },
];

test('timeline: the start and every grow event, with the exact widths per layer', () => {
  assert.equal(points.length, 7);
  assert.deepEqual(
    points.map((p) => p.step),
    EXPECTED.map((e) => e.step),
  );
  assert.deepEqual(
    points.map(pointLabel),
    EXPECTED.map((e) => e.label),
  );
  assert.deepEqual(
    points.map(widthsAt),
    EXPECTED.map((e) => e.widths),
  );
  assert.deepEqual(
    points.map((p) => p.growIndex),
    [-1, 0, 1, 2, 3, 4, 5],
  );
  assert.deepEqual(
    points.map((p) => p.architecture.params),
    [19270, 24052, 24216, 24760, 20410, 19750, 21486],
  );
  // each point after the start is its grow event's "after", and the event's "before" is the previous point
  for (let k = 1; k < points.length; k++) {
    assert.equal(points[k].event, model.grows[k - 1]);
    assert.deepEqual(points[k].event!.before, points[k - 1].architecture);
  }
});

test('timeline: the architecture in force at any step', () => {
  const at = (s: number) => widthsAt(pointAtStep(points, s)!);
  assert.deepEqual(at(0), EXPECTED[0].widths);
  assert.deepEqual(at(3091), EXPECTED[0].widths);
  assert.deepEqual(at(3092), EXPECTED[1].widths, 'a grow applies from its own step');
  assert.deepEqual(at(6224), EXPECTED[2].widths);
  assert.deepEqual(at(7708), EXPECTED[4].widths);
  assert.deepEqual(at(1e9), EXPECTED[6].widths);
  assert.equal(architectureAtStep(model.startArchitecture, model.grows, 5000)?.params, 24216);
  // no start event (history trimmed): the first event's "before" is the start
  assert.deepEqual(widthsAt(timelinePoints(undefined, model.grows)[0]), EXPECTED[0].widths);
  assert.deepEqual(timelinePoints(undefined, []), []);
  assert.equal(pointAtStep([], 10), undefined);
});

test('timeline: one track per layer in network order, width and parameters at every point', () => {
  const tracks = layerTracks(points);
  assert.deepEqual(
    tracks.map((t) => t.id),
    ['dense_1', 'dense_2', 'residual_1', 'output'],
    'the inserted layer sits where it was inserted',
  );
  assert.deepEqual(tracks[0].widths, [24, 30, 30, 30, 25, 24, 26]);
  assert.deepEqual(tracks[1].widths, [12, 12, 16, 16, 11, 13, 15]);
  assert.deepEqual(tracks[2].widths, [null, null, null, 16, 16, 16, 16]);
  assert.deepEqual(tracks[2].params, [null, null, null, 544, 379, 445, 511]);
  assert.deepEqual(tracks[0].params, [18840, 23550, 23550, 23550, 19625, 18840, 20410]);
  assert.deepEqual(tracks[3].params, [130, 130, 170, 170, 120, 140, 160]);
  assert.deepEqual(
    trackPoints(points, tracks[1].widths, 12000).map((p) => [p.x, p.y]),
    [
      [0, 12],
      [3092, 12],
      [4579, 16],
      [6225, 16],
      [7708, 11],
      [9157, 13],
      [10668, 15],
      [12000, 15],
    ],
  );
  assert.equal(trackPoints(points, tracks[1].widths, 10668).length, 7, 'no extra point when the run ends at the last event');
});

test('timeline: tick labels thin out evenly, always keeping the first and last', () => {
  assert.deepEqual(tickPositions(5, 8), [0, 1, 2, 3, 4]);
  assert.deepEqual(tickPositions(21, 5), [0, 5, 10, 15, 20]);
  assert.deepEqual(tickPositions(0, 5), []);
  assert.deepEqual(tickPositions(100, 2), [0, 99]);
});

// ---------------------------------------------------------------------------------------------
// layer details
// ---------------------------------------------------------------------------------------------

const layer = (l: Partial<LayerSummary> & Pick<LayerSummary, 'type' | 'inputShape' | 'outputShape' | 'params'>): LayerSummary => ({
  id: 'x',
  index: 0,
  flops: 0,
  ...l,
});

test('multAdds: the exact formula for dense and conv layers', () => {
  // dense on an image: flattened 1·28·28 = 784 inputs × 24 units
  assert.equal(multAdds(layer({ type: 'dense', width: 24, inputShape: [1, 28, 28], outputShape: [24], params: 784 * 24 + 24 })), 18816);
  assert.equal(multAdds(layer({ type: 'output', width: 10, inputShape: [16], outputShape: [10], params: 170 })), 160);
  // conv 3×3, 3 → 8 channels, 32×32 'same': 8·3·3·3·32·32
  const conv = layer({ type: 'conv2d', width: 8, inputShape: [3, 32, 32], outputShape: [8, 32, 32], params: 8 * 3 * 9 + 8 });
  assert.equal(convKernelSize(conv), 3);
  assert.equal(multAdds(conv), 221184);
  // conv 5×5 stride 2 valid, 1 → 6 channels, 28×28 → 12×12: 6·1·5·5·12·12
  const conv5 = layer({ type: 'conv2d', width: 6, inputShape: [1, 28, 28], outputShape: [6, 12, 12], params: 6 * 25 + 6 });
  assert.equal(convKernelSize(conv5), 5);
  assert.equal(multAdds(conv5), 21600);
  // params that fit no square kernel (batch norm, groups): the backend's own count
  assert.equal(
    multAdds(layer({ type: 'conv2d', width: 6, inputShape: [1, 28, 28], outputShape: [6, 12, 12], params: 7, flops: 1234 })),
    1234,
  );
  assert.equal(multAdds(layer({ type: 'residual', width: 16, inputShape: [16], outputShape: [16], params: 544 })), 512);
  assert.equal(multAdds(layer({ type: 'batchnorm', inputShape: [8, 4, 4], outputShape: [8, 4, 4], params: 16 })), 256);
  assert.equal(multAdds(layer({ type: 'maxpool', inputShape: [8, 4, 4], outputShape: [8, 2, 2], params: 0 })), 0);
  assert.equal(multAdds(layer({ type: 'flatten', inputShape: [8, 2, 2], outputShape: [32], params: 0 })), 0);
});

test('multAdds agrees with the backend on every layer of a conv network and of the recorded run', () => {
  const layers: LayerConfig[] = [
    { type: 'conv2d', filters: 8, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
    { type: 'batchnorm', momentum: 0.9, epsilon: 1e-5 },
    { type: 'maxpool', size: 2 },
    { type: 'conv2d', filters: 12, kernelSize: 5, stride: 2, padding: 'valid', activation: 'relu' },
    { type: 'residual', units: 4, activation: 'relu' },
    { type: 'flatten' },
    { type: 'dense', units: 20, activation: 'tanh' },
    { type: 'residual', units: 6, activation: 'relu' },
  ];
  const arch = architectureOf(specFromConfig({ layers, init: 'he' }, [3, 32, 32], 'classification', 10));
  const archs: Architecture[] = [arch, ...points.map((p) => p.architecture)];
  let n = 0;
  for (const a of archs)
    for (const l of a.layers) {
      assert.equal(multAdds(l), l.flops, `${l.id} [${l.inputShape}]`);
      n++;
    }
  assert.equal(n, 9 + 3 + 3 + 3 + 4 + 4 + 4 + 4);
  assert.deepEqual(arch.layers.filter((l) => l.type === 'conv2d').map(convKernelSize), [3, 5]);
});

test('layerDetail: shapes, parameters and their share, FLOPs at the start of the recorded run', () => {
  const d = layerDetail(points[0].architecture, 'dense_1')!;
  assert.deepEqual(
    {
      type: d.type,
      activation: d.activation,
      width: d.width,
      inputShape: d.inputShape,
      outputShape: d.outputShape,
      params: d.params,
      flops: d.flops,
    },
    { type: 'dense', activation: 'tanh', width: 24, inputShape: [1, 28, 28], outputShape: [24], params: 18840, flops: 18816 },
  );
  assert.equal(d.paramShare, 18840 / 19270);
  assert.equal(d.flopShare, 18816 / 19224);
  assert.equal(d.origins, undefined, 'no event: no origins');
  assert.equal(layerDetail(points[0].architecture, 'residual_1'), undefined);
});

test('layerDetail: which neurons came from where, from the grow event diff', () => {
  // splitting at step 3092: dense_1 24 → 30, six neurons split (each into itself and a copy at 24–29)
  const split = layerDetail(points[1].architecture, 'dense_1', points[1].event)!;
  assert.deepEqual(split.origins, {
    inserted: false,
    beforeWidth: 24,
    kept: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 17, 18, 22, 23],
    split: [11, 12, 16, 19, 20, 21]
      .map((p) => ({ index: p, parent: p }))
      .concat([11, 12, 16, 19, 20, 21].map((p, i) => ({ index: 24 + i, parent: p }))),
    added: [],
    removed: [],
  });
  assert.equal(split.params, 23550);
  assert.equal(split.flops, 23520);
  assert.equal(indexRanges(split.origins!.kept), '0–10, 13–15, 17–18, 22–23');
  assert.equal(splitText(split.origins!.split), '#11 → 11, 24; #12 → 12, 25; #16 → 16, 26; #19 → 19, 27; #20 → 20, 28; #21 → 21, 29');
  // dense_2 is named in the diff with nothing changed: all kept
  assert.deepEqual(layerDetail(points[1].architecture, 'dense_2', points[1].event)!.origins?.kept.length, 12);
  // the output layer is not in the diff: no origins
  assert.equal(layerDetail(points[1].architecture, 'output', points[1].event)!.origins, undefined);
  // net2net-deeper inserted residual_1: all 16 neurons are new
  const ins = layerDetail(points[3].architecture, 'residual_1', points[3].event)!;
  assert.deepEqual(ins.origins, { inserted: true, kept: [], split: [], added: [...Array(16).keys()], removed: [] });
  // prune-taylor removed five neurons of dense_1 (indices of the layer before)
  assert.deepEqual(layerDetail(points[4].architecture, 'dense_1', points[4].event)!.origins?.removed, [4, 5, 17, 21, 27]);
  // random-split-new: dense_2 gets one brand-new neuron (#14) and splits #3
  const rsn = layerDetail(points[6].architecture, 'dense_2', points[6].event)!.origins!;
  assert.deepEqual(
    [rsn.added, rsn.split, rsn.kept.length],
    [
      [14],
      [
        { index: 3, parent: 3 },
        { index: 13, parent: 3 },
      ],
      12,
    ],
  );
});

// ---------------------------------------------------------------------------------------------
// the per-layer grow table
// ---------------------------------------------------------------------------------------------

test('layerDeltaRows: kept / split / new / removed and parameter and FLOP deltas per layer', () => {
  const g = model.grows;
  const pick = (r: ReturnType<typeof layerDeltaRows>[number]) => [
    r.id,
    r.change,
    widthChange(r),
    r.kept,
    r.split,
    r.added,
    r.removed,
    r.paramsDelta,
    r.flopsDelta,
  ];
  assert.deepEqual(layerDeltaRows(g[0]).map(pick), [
    ['dense_1', 'changed', '24 → 30', 18, 12, 0, 0, 4710, 4704],
    ['dense_2', 'changed', '12', 12, 0, 0, 0, 72, 72],
    ['output', 'unchanged', '10', 10, 0, 0, 0, 0, 0],
  ]);
  assert.deepEqual(layerDeltaRows(g[2]).map(pick), [
    ['dense_1', 'unchanged', '30', 30, 0, 0, 0, 0, 0],
    ['dense_2', 'unchanged', '16', 16, 0, 0, 0, 0, 0],
    ['residual_1', 'inserted', 'new → 16', 0, 0, 16, 0, 544, 512],
    ['output', 'unchanged', '10', 10, 0, 0, 0, 0, 0],
  ]);
  assert.deepEqual(layerDeltaRows(g[3]).map(pick), [
    ['dense_1', 'changed', '30 → 25', 25, 0, 0, 5, -3925, -3920],
    ['dense_2', 'changed', '16 → 11', 11, 0, 0, 5, -210, -205],
    ['residual_1', 'changed', '16', 16, 0, 0, 0, -165, -160],
    ['output', 'changed', '10', 10, 0, 0, 0, -50, -50],
  ]);
  // the deltas add up to the model's
  for (const e of g) {
    const rows = layerDeltaRows(e);
    assert.equal(
      rows.reduce((a, r) => a + r.paramsDelta, 0),
      e.after.params - e.before.params,
    );
    assert.equal(
      rows.reduce((a, r) => a + r.flopsDelta, 0),
      e.after.flops - e.before.flops,
    );
  }
  // a layer the event removed entirely
  const removed = layerDeltaRows({
    before: g[3].before,
    after: { ...g[3].before, layers: g[3].before.layers.filter((l) => l.id !== 'residual_1') },
    diff: [],
  });
  assert.deepEqual(pick(removed[removed.length - 1]), ['residual_1', 'removed', '16 → removed', 0, 0, 0, 16, -544, -512]);
  assert.equal(signedCount(-3925), '−3,925');
  assert.equal(signedCount(4710), '+4,710');
});

test('the review document shows the per-layer table, the loss before and after and the output change', () => {
  const g = model.grows[0];
  assert.deepEqual(layerDeltaText(layerDeltaRows(g)), [
    'layer      width  kept  split  new  removed  params Δ  FLOPs Δ',
    'dense_1  24 → 30    18     12    0        0    +4,710   +4,704',
    'dense_2       12    12      0    0        0       +72      +72',
    'output        10    10      0    0        0         0        0',
  ]);
  const doc = reviewDocument(g, 'after');
  assert.ok(
    doc.startsWith(
      [
        '# After grow with splitting: run 20261123-112633-fashion-grown-96cc, step 3092, epoch 3',
        '# loss 0.5266 -> 0.5265, max output change 0.0165',
        '# per layer:',
        '#   layer      width  kept  split  new  removed  params Δ  FLOPs Δ',
        '#   dense_1  24 → 30    18     12    0        0    +4,710   +4,704',
        '#   dense_2       12    12      0    0        0       +72      +72',
        '#   output        10    10      0    0        0         0        0',
        'inputShape: [1, 28, 28]',
      ].join('\n'),
    ),
    doc.slice(0, 600),
  );
  assert.ok(!/width: \d/.test(doc.split('inputShape:')[0]), 'the table never reads as a YAML width');
});
