// The architecture view's blocks, without a browser: how a 23-layer VGG-19 is grouped, which block a
// grow step changed, and the layout of collapsed and expanded blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { architectureBlocks, BLOCK_THRESHOLD, blockCaption, initiallyExpanded } from '../../webview/archBlocks';
import { classifyArchitecture, layoutArchitecture } from '../../webview/architecture';
import { vgg19Architecture, vgg19GrowEvent } from '../helpers/vggArchitecture';
import { growLayerRows } from '../../webview/panelText';
import type { Architecture, GrowEventParams, LayerSummary } from '../../common/protocol';

test('a VGG-19 (23 layers) groups into its five stages, each closed by its max-pool; flatten and output stand alone', () => {
  const view = classifyArchitecture(vgg19Architecture());
  assert.equal(view.layers.length, 23);
  const blocks = architectureBlocks(view.layers);
  assert.deepEqual(
    blocks.map((b) => [b.label, b.layers.length, b.layers[0], b.layers[b.layers.length - 1]]),
    [
      ['stage 1', 3, 'conv2d_1', 'maxpool_1'],
      ['stage 2', 3, 'conv2d_3', 'maxpool_2'],
      ['stage 3', 5, 'conv2d_5', 'maxpool_3'],
      ['stage 4', 5, 'conv2d_9', 'maxpool_4'],
      ['stage 5', 5, 'conv2d_13', 'maxpool_5'],
    ],
  );
  // stage 1: conv 3->16 (448) + conv 16->16 (2,320)
  assert.equal(blocks[0].params, 3 * 16 * 9 + 16 + 16 * 16 * 9 + 16);
  assert.equal(blockCaption(blocks[2]), '5 layers · 16 wide');
  assert.ok(blocks.every((b) => !b.changed));
  assert.deepEqual([...initiallyExpanded(blocks)], [], 'nothing changed: every block starts collapsed');
});

test('a network of at most BLOCK_THRESHOLD layers has no blocks; named blocks group whatever the size', () => {
  const small = classifyArchitecture({ ...vgg19Architecture(), layers: vgg19Architecture().layers.slice(0, BLOCK_THRESHOLD) });
  assert.deepEqual(architectureBlocks(small.layers), []);
  const named = vgg19Architecture(undefined, true);
  const names = new Map(named.layers.filter((l) => l.block).map((l) => [l.id, l.block!]));
  const few = classifyArchitecture({ ...named, layers: named.layers.slice(0, 6) });
  assert.deepEqual(
    architectureBlocks(few.layers, names).map((b) => [b.label, b.layers]),
    [
      ['stage 1', ['conv2d_1', 'conv2d_2', 'maxpool_1']],
      ['stage 2', ['conv2d_3', 'conv2d_4', 'maxpool_2']],
    ],
  );
});

test('the blocks a grow step changed are marked with what changed and start expanded', () => {
  const ev = vgg19GrowEvent('r', 100, [6, 7]);
  const view = classifyArchitecture(ev.after, ev);
  const blocks = architectureBlocks(view.layers);
  const changed = blocks.filter((b) => b.changed);
  assert.deepEqual(
    changed.map((b) => [b.label, b.changes]),
    [['stage 3', ['conv2d_6 16 → 20', 'conv2d_7 16 → 20']]],
  );
  assert.equal(blockCaption(changed[0]), '5 layers · 16–20 wide');
  assert.deepEqual([...initiallyExpanded(blocks)], [changed[0].id]);
});

test('layout: collapsed blocks are one column each, an expanded block frames its layers, bands join the drawn columns', () => {
  const ev = vgg19GrowEvent('r', 100, [6]);
  const view = classifyArchitecture(ev.after, ev);
  const blocks = architectureBlocks(view.layers);
  const all = layoutArchitecture(view, { height: 320 });
  const some = layoutArchitecture(view, { height: 320, blocks, expanded: initiallyExpanded(blocks) });
  assert.equal(all.layers.length, 23);
  assert.equal(all.blocks.length, 0);
  // drawn: stage 3's five layers, four collapsed blocks, flatten, output
  assert.deepEqual(
    some.layers.map((l) => l.view.id),
    ['conv2d_5', 'conv2d_6', 'conv2d_7', 'conv2d_8', 'maxpool_3', 'flatten_1', 'output'],
  );
  assert.deepEqual(
    some.blocks.map((b) => [b.block.label, b.collapsed]),
    [
      ['stage 1', true],
      ['stage 2', true],
      ['stage 3', false],
      ['stage 4', true],
      ['stage 5', true],
    ],
  );
  assert.equal(some.bands.length, 1 + 4 + 7 - 1, 'input + 4 boxes + 7 layers = 12 columns, 11 bands');
  assert.ok(some.width < all.width * 0.6, `one stage open: ${some.width}px vs ${all.width}px`);
  const none = layoutArchitecture(view, { height: 320, blocks, expanded: new Set() });
  assert.ok(none.width < all.width * 0.4, `all collapsed: ${none.width}px vs ${all.width}px`);
  const frame = some.blocks[2].box;
  for (const l of some.layers.slice(0, 5))
    assert.ok(l.box.x > frame.x && l.box.x + l.box.w < frame.x + frame.w, `${l.view.id} inside the frame`);
  for (const l of some.layers.slice(5)) assert.ok(l.box.x > frame.x + frame.w, `${l.view.id} after the frame`);
  // columns strictly left to right, none overlapping
  const xs = [some.input, ...some.blocks.filter((b) => b.collapsed).map((b) => b.box), ...some.layers.map((l) => l.box)].sort(
    (a, b) => a.x - b.x,
  );
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i].x >= xs[i - 1].x + xs[i - 1].w, 'columns do not overlap');
});

/** A ResNet stage as the backend summarises it: a stem and three resblocks of one stage (width = hidden channels). */
function resnetStage(out: number, hidden: number[]): Architecture {
  const layers: LayerSummary[] = [
    {
      id: 'conv2d_1',
      index: 0,
      type: 'conv2d',
      width: 4,
      inputShape: [3, 8, 8],
      outputShape: [4, 8, 8],
      params: 112,
      flops: 0,
      block: 'stem',
    },
    ...hidden.map((h, k): LayerSummary => ({
      id: `resblock_${k + 1}`,
      index: k + 1,
      type: 'resblock',
      width: h,
      inputShape: [k === 0 ? 4 : out, 8, 8],
      outputShape: [out, 8, 8],
      params: 100 + h + out,
      flops: 0,
      block: 'stage2',
    })),
    { id: 'output', index: 4, type: 'output', width: 3, inputShape: [out], outputShape: [3], params: out * 3 + 3, flops: 0 },
  ];
  return { inputShape: [3, 8, 8], outputSize: 3, layers, params: layers.reduce((a, l) => a + l.params, 0), flops: 0 };
}

test("the grow diff shows a stage's output channels (<block>/out): the block that grew, its table row", () => {
  const ev: GrowEventParams = {
    ...vgg19GrowEvent('r', 5, []),
    before: resnetStage(8, [8, 8, 8]),
    after: resnetStage(11, [8, 8, 8]),
    diff: [{ id: 'resblock_1/out', kept: 8, split: [{ index: 8, parent: 2 }], added: [9, 10], removed: [], inserted: false }],
  };
  const view = classifyArchitecture(ev.after, ev);
  assert.deepEqual(view.ignored, []);
  assert.deepEqual(view.layers[1].output, { before: 8, after: 11, split: 1, added: 2, removed: 0 });
  assert.equal(view.layers[2].output, undefined);
  const names = new Map(ev.after.layers.filter((l) => l.block).map((l) => [l.id, l.block!]));
  const blocks = architectureBlocks(view.layers, names);
  assert.deepEqual(
    blocks.filter((b) => b.changed).map((b) => [b.label, b.changes]),
    [['stage2', ['resblock_1/out 8 → 11']]],
  );
  assert.deepEqual([...initiallyExpanded(blocks)], [blocks.find((b) => b.label === 'stage2')!.id]);
  // the grow detail's layer table: the block's own row (hidden channels unchanged), then its output channels
  const rows = growLayerRows(ev).map((r) => r.cells.slice(0, 7).join(' '));
  assert.deepEqual(rows.slice(1, 3), ['resblock_1 8 8 8 0 0 0', 'resblock_1/out 8 11 8 1 2 0']);
  assert.equal(rows.length, 6);
  // a diff naming an output of no layer is still reported
  assert.deepEqual(classifyArchitecture(ev.after, { ...ev, diff: [{ ...ev.diff[0], id: 'resblock_9/out' }] }).ignored, [
    'resblock_9/out: no such layer',
  ]);
});
