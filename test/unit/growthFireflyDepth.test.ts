// Firefly's depth growth as App. B.2 runs it: identity candidates per preset block, the
// two-neuron rule for keeping an inserted layer, and a combined wider + deeper step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrtExecutor, optimizerSlots } from '../../server/engine';
import type { ModelConfig } from '../../common/protocol';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig } from '../../server/model/spec';
import { Rng } from '../../server/random';
import { Trainer, optimizerSettings } from '../../server/trainer/trainer';
import { growContext } from '../../server/growth/context';
import { blockCandidates, fireflyDeeperMethod, selectDepth } from '../../server/growth/fireflyDeeper';
import { trainingConfig, randomDataset } from './fixtures';

const depthNet = (extra: Partial<ModelConfig> = {}): ModelConfig => ({ layers: [], init: 'he', preset: 'firefly-depth', ...extra });
const spec = (extra: Partial<ModelConfig> = {}) => specFromConfig(depthNet(extra), [1, 16, 16], 'classification', 3);

const cand = (layer: string, neuron: number, score: number) => ({ layer, neuron, score });
const ids = (cs: { layer: string; neuron: number }[]) => cs.map((c) => `${c.layer}:${c.neuron}`);

test('selectDepth: a layer with one selected neuron is dropped under minPerLayer 2 and its budget is not spent', () => {
  // scores: A gets 2 of the top 4, B 1 (the 3rd), C none within the budget of 4.
  const cs = [cand('A', 0, 0.9), cand('A', 1, 0.7), cand('B', 0, 0.8), cand('B', 1, 0.1), cand('C', 0, 0.6), cand('C', 1, 0.5)];
  const r = selectDepth(cs, 4, 3, 2);
  // greedy: A0 (0.9), B0 (0.8), A1 (0.7), C0 (0.6) = 4; B and C have one neuron each: both dropped.
  assert.deepEqual(ids(r.selected), ['A:0', 'A:1']);
  assert.deepEqual(r.layers, ['A']);
  assert.deepEqual(r.dropped, ['B', 'C']);
  assert.deepEqual(
    ids(r.rejected),
    ['B:0', 'C:0', 'C:1', 'B:1'],
    "dropped neurons first, then the rest by score; C1 is not taken in B0's place",
  );
  assert.equal(r.selected.length + r.rejected.length, cs.length);

  // minPerLayer 1 (plain §2.3): all four kept.
  const one = selectDepth(cs, 4, 3, 1);
  assert.deepEqual(ids(one.selected), ['A:0', 'B:0', 'A:1', 'C:0']);
  assert.deepEqual(one.dropped, []);

  // A budget of 5: C1 (0.5) joins C, which now has two and stays; B still has one.
  const five = selectDepth(cs, 5, 3, 2);
  assert.deepEqual(ids(five.selected), ['A:0', 'A:1', 'C:0', 'C:1']);
  assert.deepEqual(five.layers, ['A', 'C']);
  assert.deepEqual(five.dropped, ['B']);

  // The layer budget: at most 1 open layer, so B0 and C's neurons are skipped, A takes 2.
  const oneLayer = selectDepth(cs, 4, 1, 2);
  assert.deepEqual(ids(oneLayer.selected), ['A:0', 'A:1']);
  assert.deepEqual(oneLayer.dropped, []);

  // Ties keep candidate order.
  const tie = selectDepth([cand('X', 0, 1), cand('Y', 0, 1), cand('X', 1, 1)], 2, 2, 1);
  assert.deepEqual(ids(tie.selected), ['X:0', 'Y:0']);
});

test('blockCandidates: candidatesPerBlock identity layers at the end of every block, capped by maxBlockLayers', () => {
  const s = spec({ blocks: [2, 1, 1, 1] });
  const c = blockCandidates(s, 20, 3);
  assert.equal(c.length, 12);
  assert.deepEqual(
    c.map((x) => [x.block, x.position, x.offset]),
    [
      ['block1', 2, 0],
      ['block1', 2, 20],
      ['block1', 2, 40],
      ['block2', 3, 60],
      ['block2', 3, 80],
      ['block2', 3, 100],
      ['block3', 4, 120],
      ['block3', 4, 140],
      ['block3', 4, 160],
      ['block4', 5, 180],
      ['block4', 5, 200],
      ['block4', 5, 220],
    ],
  );
  assert.equal(new Set(c.map((x) => x.id)).size, 12, 'ids unique');
  assert.ok(c.every((x) => x.activation === 'relu'));
  // maxBlockLayers 3: block1 has 2 layers, so 1 candidate; the others 2.
  assert.deepEqual(
    blockCandidates(s, 20, 11, 3).map((x) => x.block),
    ['block1', 'block2', 'block2', 'block3', 'block3', 'block4', 'block4'],
  );
  assert.deepEqual(blockCandidates(s, 20, 11, 2).length, 3, 'block1 is full');
  const plain = specFromConfig({ layers: [{ type: 'dense', units: 4, activation: 'relu' }], init: 'he' }, [3], 'classification', 2);
  assert.throws(() => blockCandidates(plain, 5, 2), /needs a model made of preset blocks/);
});

test('firefly-deeper with App. B.2 options: wider + per-block identity candidates, every kept layer has ≥ 2 neurons', async () => {
  const ex = await OrtExecutor.create({ threads: 1 });
  const data = randomDataset([1, 16, 16], 3, 64, 2);
  const cfg = trainingConfig();
  const model = GrowableModel.create(spec({ channels: 4 }), 7, optimizerSlots(optimizerSettings(cfg)));
  const trainer = new Trainer(model, data, cfg, ex);
  for (let i = 0; i < 3; i++) await trainer.step(new Rng(i).permutation(64), 0, 16);
  const width0 = 16;
  const options = {
    wider: true,
    candidatesPerBlock: 2,
    maxBlockLayers: 3,
    newNeurons: 3,
    minNeuronsPerLayer: 2,
    ratio: 0.25,
    layerNeurons: 12,
    steps: 3,
    scoreBatch: 32,
  };
  const ctx = growContext(trainer, 5);
  const x = ctx.scoringBatch(16).x;
  const y0 = Float32Array.from(await trainer.predict(x));
  const ev = await fireflyDeeperMethod.apply(ctx, options);
  const y1 = await trainer.predict(x);
  const notes = ev.notes as {
    candidateLayers: number;
    budget: number;
    layersAdded: string[];
    layersDropped: string[];
    wider: { budget: number };
  };
  assert.equal(notes.candidateLayers, 8);
  assert.equal(notes.budget, 12, 'layerNeurons');
  assert.equal(notes.wider.budget, 4);
  const convs = model.spec.layers.filter((l) => l.type === 'conv2d');
  assert.equal(
    convs.reduce((a, l) => a + (l.type === 'conv2d' ? l.filters : 0), 0),
    width0 + 4,
    'the width part added its budget',
  );
  const residuals = model.spec.layers.filter((l) => l.type === 'residual');
  assert.deepEqual(
    residuals.map((l) => l.id),
    [...notes.layersAdded].sort((a, b) => model.spec.layers.findIndex((l) => l.id === a) - model.spec.layers.findIndex((l) => l.id === b)),
  );
  for (const l of residuals) {
    assert.ok(l.type === 'residual' && l.units >= 2, `${l.id} kept with ${l.type === 'residual' ? l.units : 0} neurons`);
    assert.ok(l.block?.startsWith('block'), `${l.id} belongs to a block`);
  }
  const depthSelected = ev.selected.filter((c) => c.layer.startsWith('residual'));
  assert.equal(
    depthSelected.length,
    residuals.reduce((a, l) => a + (l.type === 'residual' ? l.units : 0), 0),
  );
  assert.ok(depthSelected.length <= 12);
  assert.ok(notes.layersAdded.length >= 1 && notes.layersDropped.length >= 1, 'this seed both keeps and drops layers');
  let change = 0;
  for (let i = 0; i < y0.length; i++) change = Math.max(change, Math.abs(y1[i] - y0[i]));
  assert.ok(change < 0.1, `max output change ${change} with ϵ = 0.01`);
  assert.ok(
    ev.diff.filter((d) => d.inserted).every((d) => d.added.length >= 2),
    'inserted layers in the diff have ≥ 2 neurons',
  );
  await trainer.dispose();

  // bad options name themselves
  const m2 = GrowableModel.create(spec({ channels: 4 }), 7, optimizerSlots(optimizerSettings(cfg)));
  const t2 = new Trainer(m2, data, cfg, ex);
  const ctx2 = growContext(t2, 1);
  await assert.rejects(fireflyDeeperMethod.apply(ctx2, { maxBlockLayers: 3 }), /maxBlockLayers needs candidatesPerBlock/);
  await assert.rejects(fireflyDeeperMethod.apply(ctx2, { candidatesPerBlock: 0 }), /candidatesPerBlock must be an integer ≥ 1/);
  await assert.rejects(fireflyDeeperMethod.apply(ctx2, { minNeuronsPerLayer: 0 }), /minNeuronsPerLayer must be an integer ≥ 1/);
  await assert.rejects(fireflyDeeperMethod.apply(ctx2, { wider: 'yes' }), /option wider must be true or false/);
  await t2.dispose();
  assert.equal(ex.liveSessions(), 0);
});
