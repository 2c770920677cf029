import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Architecture, GrowEventParams } from '../../common/protocol';
import {
  BoundedStore,
  architectureYaml,
  diffNotes,
  parseReviewKey,
  parseReviewPath,
  reviewDocument,
  reviewKey,
  reviewPath,
  reviewTitle,
} from '../../extension/architectureYaml';

const before: Architecture = {
  inputShape: [784],
  outputSize: 10,
  params: 12730,
  flops: 12704,
  layers: [
    {
      id: 'dense_1',
      index: 0,
      type: 'dense',
      width: 16,
      activation: 'relu',
      inputShape: [784],
      outputShape: [16],
      params: 12560,
      flops: 12544,
    },
    { id: 'output', index: 1, type: 'output', width: 10, inputShape: [16], outputShape: [10], params: 170, flops: 160 },
  ],
};
const after: Architecture = {
  inputShape: [784],
  outputSize: 10,
  params: 19095,
  flops: 19056,
  layers: [
    {
      id: 'dense_1',
      index: 0,
      type: 'dense',
      width: 24,
      activation: 'relu',
      inputShape: [784],
      outputShape: [24],
      params: 18840,
      flops: 18816,
    },
    { id: 'output', index: 1, type: 'output', width: 10, inputShape: [24], outputShape: [10], params: 250, flops: 240 },
  ],
};
const event: GrowEventParams = {
  runId: 'r1',
  step: 1200,
  epoch: 3,
  kind: 'grow',
  method: 'firefly',
  before,
  after,
  diff: [
    {
      id: 'dense_1',
      kept: 16,
      split: [
        { index: 16, parent: 2 },
        { index: 17, parent: 5 },
      ],
      added: [18, 19, 20, 21, 22, 23],
      removed: [],
      inserted: false,
    },
    { id: 'output', kept: 10, split: [], added: [], removed: [], inserted: false },
  ],
  selected: [],
  rejected: [],
  lossBefore: 0.51234,
  lossAfter: 0.51301,
  maxOutputChange: 0.00123,
  durationMs: 40,
};

test('architectureYaml: exact text with header and notes', () => {
  assert.equal(
    architectureYaml(before, 'Before\nsecond', new Map([['output', '+1 new']])),
    `# Before
# second
inputShape: [784]
outputSize: 10
params: 12_730
flops: 12_704
layers:
  - id: dense_1
    type: dense
    width: 16
    activation: relu
    inputShape: [784]
    outputShape: [16]
    params: 12_560
    flops: 12_544
  - id: output  # +1 new
    type: output
    width: 10
    inputShape: [16]
    outputShape: [10]
    params: 170
    flops: 160
`,
  );
});

test('architectureYaml: width-free layers omit width and activation; odd ids are quoted', () => {
  const a: Architecture = {
    inputShape: [28, 28, 1],
    outputSize: 10,
    params: 0,
    flops: 0,
    layers: [{ id: 'flat 1', index: 0, type: 'flatten', inputShape: [28, 28, 1], outputShape: [784], params: 0, flops: 0 }],
  };
  assert.equal(
    architectureYaml(a),
    `inputShape: [28, 28, 1]
outputSize: 10
params: 0
flops: 0
layers:
  - id: "flat 1"
    type: flatten
    inputShape: [28, 28, 1]
    outputShape: [784]
    params: 0
    flops: 0
`,
  );
});

test('diffNotes and reviewDocument: the after side notes what changed', () => {
  assert.deepEqual([...diffNotes(event.diff)], [['dense_1', '+2 split, +6 new']]);
  assert.deepEqual(
    [
      ...diffNotes([
        { id: 'r', kept: 0, split: [], added: [0], removed: [], inserted: true },
        { id: 'd', kept: 3, split: [], added: [], removed: [1, 2], inserted: false },
      ]),
    ],
    [
      ['r', 'inserted, +1 new'],
      ['d', '-2 removed'],
    ],
  );
  const afterDoc = reviewDocument(event, 'after');
  assert.ok(
    afterDoc.startsWith('# After grow with firefly: run r1, step 1200, epoch 3\n# loss 0.5123 -> 0.5130, max output change 0.00123\n'),
  );
  assert.ok(afterDoc.includes('  - id: dense_1  # +2 split, +6 new\n    type: dense\n    width: 24\n'));
  const beforeDoc = reviewDocument(event, 'before', true);
  assert.ok(beforeDoc.startsWith('# Before proposed grow with firefly: run r1, step 1200, epoch 3\ninputShape: [784]\n'));
  assert.ok(!beforeDoc.includes('#  '));
});

test('review titles, keys and paths round-trip', () => {
  assert.equal(reviewTitle(event), 'Growth Lab: firefly grow at step 1200 (epoch 3): 12_730 → 19_095 params');
  assert.equal(reviewTitle(event, true), 'Growth Lab: firefly proposed grow at step 1200 (epoch 3): 12_730 → 19_095 params');
  const key = reviewKey(event, 'p/1');
  assert.equal(key, 'r1~1200~grow~firefly~p/1');
  assert.equal(reviewPath(key, 'after'), '/r1~1200~grow~firefly~p%2F1/after.yaml');
  assert.deepEqual(parseReviewPath(reviewPath(key, 'after')), { key, side: 'after' });
  assert.deepEqual(parseReviewPath(reviewPath('x', 'before')), { key: 'x', side: 'before' });
  assert.equal(parseReviewPath('/a/b/after.yaml'), undefined);
  assert.equal(parseReviewPath('/a/middle.yaml'), undefined);
  assert.deepEqual(parseReviewKey(reviewKey(event, 'p3')), { runId: 'r1', step: 1200, kind: 'grow', method: 'firefly', proposalId: 'p3' });
  assert.deepEqual(parseReviewKey(reviewKey(event)), { runId: 'r1', step: 1200, kind: 'grow', method: 'firefly' });
  assert.equal(parseReviewKey('a~b'), undefined);
  assert.equal(parseReviewKey('a~x~grow~m'), undefined);
});

test('BoundedStore keeps the newest entries', () => {
  const s = new BoundedStore<number>(2);
  s.set('a', 1);
  s.set('b', 2);
  s.set('a', 3);
  s.set('c', 4);
  assert.equal(s.get('b'), undefined);
  assert.equal(s.get('a'), 3);
  assert.equal(s.get('c'), 4);
  assert.equal(s.size, 2);
});
