// NASH (Elsken et al. 2017), the Firefly paper's depth baseline: random morphisms, neighbours trained, the best kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrtExecutor } from '../../server/engine';
import { GrowableModel } from '../../server/model/growable';
import { specFromConfig } from '../../server/model/spec';
import type { LayerConfig } from '../../common/protocol';
import { Rng } from '../../server/random';
import { Trainer } from '../../server/trainer/trainer';
import { growContext } from '../../server/growth/context';
import { growthMethod } from '../../server/growth';
import { runGrowStep } from '../../server/growth/step';
import { applyMorphisms, drawBlockMorphisms, drawMorphisms, nashMethod } from '../../server/growth/nash';
import { trainingConfig, randomDataset } from './fixtures';

const conv: LayerConfig[] = [
  { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
  { type: 'maxpool', size: 2 },
  { type: 'conv2d', filters: 8, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
  { type: 'flatten' },
  { type: 'dense', units: 8, activation: 'relu' },
];

async function setup(ex: OrtExecutor, seed = 3) {
  const data = randomDataset([1, 8, 8], 3, 64, 2);
  const model = GrowableModel.create(specFromConfig({ layers: conv, init: 'he' }, [1, 8, 8], 'classification', 3), 7, ['momentum']);
  const trainer = new Trainer(model, data, trainingConfig(), ex);
  for (let i = 0; i < 3; i++) await trainer.step(new Rng(i).permutation(64), 0, 16);
  return { model, trainer, ctx: growContext(trainer, seed) };
}

const widths = (m: GrowableModel): Record<string, number> =>
  Object.fromEntries(
    m.spec.layers
      .filter((l) => 'filters' in l || 'units' in l)
      .map((l) => [l.id, 'filters' in l ? l.filters : (l as { units: number }).units]),
  );

test('nash is registered as a grow method', () => {
  assert.equal(growthMethod('nash'), nashMethod);
  assert.equal(nashMethod.kind, 'grow');
});

test('morphisms: distinct layers, deeper inserts an identity layer and wider adds 25 %, both keep the function', async () => {
  const ex = await OrtExecutor.create();
  const { model, trainer, ctx } = await setup(ex);
  const rng = new Rng(5);
  const drawn = drawMorphisms(model, 3, rng);
  assert.equal(drawn.length, 3);
  assert.equal(new Set(drawn.map((m) => m.layer)).size, 3, 'no layer morphed twice');
  assert.deepEqual(drawMorphisms(model, 3, new Rng(5)), drawn, 'seeded');
  assert.equal(drawMorphisms(model, 10, new Rng(5)).length, 3, 'at most one per hidden dense/conv layer');

  const x = ctx.scoringBatch(16).x;
  const y0 = Float32Array.from(await trainer.predict(x));
  const w0 = widths(model);
  const morphs = [
    { type: 'wider' as const, layer: 'conv2d_2', seed: 11 },
    { type: 'deeper' as const, layer: 'dense_1', seed: 12 },
  ];
  const cand = model.clone();
  const { diff } = await applyMorphisms(ctx, cand, morphs, 0.25);
  const w1 = widths(cand);
  assert.equal(w1.conv2d_2, w0.conv2d_2 + 2, '25 % of 8 channels');
  assert.equal(cand.spec.layers.length, model.spec.layers.length + 1);
  assert.deepEqual(
    diff.map((d) => [d.id, d.inserted, d.split.length]),
    [
      ['conv2d_2', false, 4],
      ['dense_2', true, 0],
    ],
  );
  const t2 = new Trainer(cand, ctx.data, trainingConfig(), ex);
  const y1 = await t2.predict(x);
  let maxDiff = 0;
  for (let i = 0; i < y0.length; i++) maxDiff = Math.max(maxDiff, Math.abs(y0[i] - y1[i]));
  assert.ok(maxDiff < 1e-5, `function kept: max change ${maxDiff}`);
  await t2.dispose();
  await trainer.dispose();
  assert.equal(ex.liveSessions(), 0);
});

test('a nash step trains 4 neighbours, keeps the lowest-loss one with its trained weights, and reports the others as rejected', async () => {
  const ex = await OrtExecutor.create();
  const { model, trainer, ctx } = await setup(ex);
  const params0 = model.paramCount();
  const ev = await nashMethod.apply(ctx, { neighbours: 4, fineTuneSteps: 5, scoreBatch: 32 });
  const notes = ev.notes as { neighbourLosses: number[]; chosen: string[]; neighbourMorphisms: string[]; keptLoss: number };
  assert.equal(notes.neighbourLosses.length, 4);
  const best = Math.min(...notes.neighbourLosses);
  const bestIndex = notes.neighbourLosses.indexOf(best);
  assert.equal(notes.chosen.join(', '), notes.neighbourMorphisms[bestIndex]);
  assert.ok(ev.selected.length > 0 && ev.selected.every((c) => c.score === best));
  assert.ok(ev.rejected.every((c) => c.score >= best));
  assert.ok(model.paramCount() > params0, 'the network grew');
  assert.equal(ev.diff.length, 1, 'one morphism: one layer changed');
  assert.equal(notes.keptLoss, best, "the live model has the best neighbour's trained weights: the same loss on the scoring sample");
  assert.ok(new Set(notes.neighbourLosses).size > 1, 'neighbours differ');
  await trainer.dispose();
  assert.equal(ex.liveSessions(), 0);
});

test('nash refuses a model without a hidden dense or conv layer, and bad options, naming them', async () => {
  const model = GrowableModel.create(specFromConfig({ layers: [{ type: 'flatten' }], init: 'he' }, [1, 4, 4], 'classification', 3), 1, []);
  assert.match(nashMethod.unsupported!(model)!, /no dense or conv2d hidden layer/);
  const ex = await OrtExecutor.create();
  const { trainer, ctx } = await setup(ex);
  await assert.rejects(
    runGrowStep(ctx, nashMethod, { neighbours: 0 }, { runId: 't', step: 0, epoch: 0 }),
    /neighbours must be an integer ≥ 1/,
  );
  await assert.rejects(runGrowStep(ctx, nashMethod, { widenRatio: -1 }, { runId: 't', step: 0, epoch: 0 }), /widenRatio must be a number/);
  await trainer.dispose();
});

const depthNet = (blocks: number[]) =>
  specFromConfig({ layers: [], init: 'he', preset: 'firefly-depth', channels: 4, blocks }, [1, 16, 16], 'classification', 3);
const blockDepths = (m: GrowableModel): number[] =>
  ['block1', 'block2', 'block3', 'block4'].map((b) => m.spec.layers.filter((l) => l.block === b && l.type === 'conv2d').length);

test('drawBlockMorphisms (App. B.2): widen everything, then one identity layer after a random layer of each block; seeded', () => {
  const model = GrowableModel.create(depthNet([2, 1, 1, 1]), 7, []);
  const drawn = drawBlockMorphisms(model, new Rng(5));
  assert.deepEqual(
    drawn.map((m) => m.type),
    ['wider-all', 'deeper', 'deeper', 'deeper', 'deeper'],
  );
  assert.equal(drawn[0].layer, '*');
  const byId = new Map(model.spec.layers.map((l) => [l.id, l.block]));
  assert.deepEqual(
    drawn.slice(1).map((m) => byId.get(m.layer)),
    ['block1', 'block2', 'block3', 'block4'],
  );
  assert.deepEqual(drawBlockMorphisms(model, new Rng(5)), drawn, 'the same seed draws the same neighbour');
  // block1 has two layers: over seeds both are drawn, and the seeds of the morphisms differ between seeds.
  const firsts = new Set(Array.from({ length: 20 }, (_, s) => drawBlockMorphisms(model, new Rng(s))[1].layer));
  assert.equal(firsts.size, 2);
  const plain = GrowableModel.create(specFromConfig({ layers: conv, init: 'he' }, [1, 8, 8], 'classification', 3), 7, []);
  assert.throws(() => drawBlockMorphisms(plain, new Rng(1)), /perBlock needs a model made of preset blocks/);
});

test('a seeded perBlock nash step is reproducible: same neighbours, same choice, same weights; it widens by 25 % and deepens every block', async () => {
  const ex = await OrtExecutor.create({ threads: 1 });
  const data = randomDataset([1, 16, 16], 3, 64, 2);
  const run = async (seed: number) => {
    const model = GrowableModel.create(depthNet([1, 1, 1, 1]), 7, ['momentum']);
    const trainer = new Trainer(model, data, trainingConfig(), ex);
    for (let i = 0; i < 2; i++) await trainer.step(new Rng(i).permutation(64), 0, 16);
    const ev = await nashMethod.apply(growContext(trainer, seed), { perBlock: true, neighbours: 3, fineTuneSteps: 2, scoreBatch: 32 });
    const weights = model.params().map((p) => Array.from(model.tensors.get(p.name)!));
    await trainer.dispose();
    return { ev, model, weights };
  };
  const a = await run(4);
  const b = await run(4);
  const notes = (r: typeof a) => r.ev.notes as { neighbourLosses: number[]; chosen: string[]; neighbourMorphisms: string[] };
  assert.deepEqual(notes(b), notes(a));
  assert.deepEqual(b.weights, a.weights);
  assert.equal(notes(a).neighbourLosses.length, 3);
  assert.equal(notes(a).chosen.length, 5, 'wider-all + one deeper per block');
  assert.deepEqual(blockDepths(a.model), [2, 2, 2, 2]);
  // 16 channels + 25 % = 20, then each inserted identity conv copies its block's width.
  const widths = a.model.spec.layers.flatMap((l) => (l.type === 'conv2d' ? [l.filters] : []));
  assert.equal(
    widths.filter((_, i) => i % 2 === 0).reduce((x, y) => x + y, 0),
    20,
  );
  const c = await run(9);
  assert.notDeepEqual(notes(c).neighbourLosses, notes(a).neighbourLosses, 'another seed draws other neighbours (other replicas)');
  assert.equal(ex.liveSessions(), 0);
});

test('widenOnly nash (App. B.2 width protocol): every neighbour splits 30 % of the total width at random, no layer inserted; seeded', async () => {
  const ex = await OrtExecutor.create({ threads: 1 });
  const { model, trainer, ctx } = await setup(ex, 5);
  const before = widths(model);
  const layers0 = model.spec.layers.length;
  const ev = await nashMethod.apply(ctx, { widenOnly: true, widenRatio: 0.3, neighbours: 3, fineTuneSteps: 2, scoreBatch: 32 });
  const notes = ev.notes as { neighbourMorphisms: string[]; chosen: string[]; neighbourLosses: number[]; widenOnly: boolean };
  assert.equal(notes.widenOnly, true);
  assert.deepEqual(notes.neighbourMorphisms, ['wider-all *', 'wider-all *', 'wider-all *']);
  assert.equal(model.spec.layers.length, layers0, 'no layer inserted');
  const after = widths(model);
  const total = (w: Record<string, number>) =>
    Object.entries(w)
      .filter(([id]) => id !== 'out')
      .reduce((a, [, v]) => a + v, 0);
  // hidden widths 4 + 8 + 8 = 20: 30 % is 6 new neurons, shared in proportion to the widths.
  assert.equal(total(after) - total(before), 6, `${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  assert.equal(new Set(notes.neighbourLosses).size, 3, 'the neighbours split different neurons');
  await assert.rejects(
    runGrowStep(ctx, nashMethod, { widenOnly: true, perBlock: true }, { runId: 't', step: 0, epoch: 0 }),
    /widenOnly and perBlock exclude each other/,
  );
  await assert.rejects(
    runGrowStep(ctx, nashMethod, { widenOnly: 1 }, { runId: 't', step: 0, epoch: 0 }),
    /widenOnly must be true or false, got 1/,
  );
  await trainer.dispose();
  assert.equal(ex.liveSessions(), 0);
});
