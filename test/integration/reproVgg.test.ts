// `npm run repro:vgg` end to end on a small generated CIFAR-10 binary folder: the JSON's shape (Fig. 4a's
// size/accuracy per grow step, Fig. 4b's grow-step times), that every method changed VGG-19's widths as it
// should, and exit 2 with the download command where CIFAR-10 is missing, and on bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeCifar10 } from '../helpers/visionFiles';

const root = path.resolve(__dirname, '../..');
const script = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reproVgg.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });

test('repro:vgg on a generated CIFAR-10 folder: every method changes the widths, the JSON has Fig. 4a and 4b', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-vgg-'));
  writeCifar10(path.join(dir, 'cifar-10-batches-bin'), 8, 10);
  const out = path.join(dir, 'cifar-10.json');
  // 40 training images; scale 0.02 gives round(0.02 · 160 · 40 / 128) = 1 minibatch per segment. Narrow
  // seeds (4 channels, m' = 4, 2 neighbours) keep the over-grown networks and the neighbours small.
  const args = ['--dataset', 'cifar-10', '--data', dir, '--scale', '0.02', '--grow-steps', '1', '--channels', '4'];
  const r = script([...args, '--new-neurons', '4', '--neighbours', '2', '--threads', '1', '--out', out]);
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stdout, /Fig\. 4a: test accuracy against size \(% of the full VGG-19, 20040522 parameters\)/);
  assert.match(r.stdout, /Fig\. 4b: mean wall time of one grow step/);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(j.dataset, 'cifar-10');
  assert.deepEqual([j.data.train, j.data.test], [40, 10]);
  assert.deepEqual(j.data.inputShape, [3, 32, 32]);
  assert.equal(j.fullVgg19Parameters, 20040522, 'VGG-19 with batch norm on 3x32x32, 10 classes');
  assert.deepEqual(j.settings.batches, { initial: 1, fineTune: 1, fireflyStepOne: 1, nashNeighbour: 1, gaussNewtonPhase: 1 });
  assert.equal(j.settings.methods.firefly.options.newNeurons, 4);
  assert.equal(j.settings.methods.nash.options.widenOnly, true);
  const methods = ['firefly', 'splitting', 'net2net-wider', 'nash', 'gauss-newton'];
  assert.deepEqual(
    j.fig4a.map((m: { method: string }) => m.method),
    methods,
  );
  assert.deepEqual(
    j.fig4b.map((m: { method: string }) => m.method),
    methods,
  );
  assert.equal(j.fig4b[0].timesFirefly, 1);
  for (const run of j.runs) {
    assert.equal(run.steps.length, 2, `${run.method}: the seed and one grow step`);
    const [seed, grown] = run.steps;
    for (const s of run.steps) {
      assert.deepEqual(Object.keys(s).sort(), [
        'growSeconds',
        'lossAfterGrow',
        'lossBeforeGrow',
        'parameters',
        'sizePercent',
        'step',
        'testAccuracy',
        'widths',
      ]);
      assert.equal(s.sizePercent, Math.round((10000 * s.parameters) / j.fullVgg19Parameters) / 100);
      assert.ok(s.testAccuracy >= 0 && s.testAccuracy <= 100);
      assert.equal(s.widths.length, 16, 'VGG-19: 16 conv layers');
    }
    assert.equal(seed.growSeconds, null);
    assert.ok(grown.growSeconds > 0);
    assert.deepEqual([seed.lossBeforeGrow, seed.lossAfterGrow], [null, null], 'no grow step before the seed');
    for (const l of [grown.lossBeforeGrow, grown.lossAfterGrow]) assert.ok(Number.isFinite(l) && l > 0, `${run.method}: loss ${l}`);
    assert.equal(run.meanGrowSeconds, grown.growSeconds);
    const sum = (w: number[]) => w.reduce((a: number, b: number) => a + b, 0);
    if (run.method === 'net2net-wider') {
      assert.deepEqual(seed.widths, [8, 8, 16, 16, 32, 32, 32, 32, 64, 64, 64, 64, 64, 64, 64, 64], '0.125x the full widths');
      // 30 % of each layer, rounded: uniform widening.
      assert.deepEqual(grown.widths, [10, 10, 21, 21, 42, 42, 42, 42, 83, 83, 83, 83, 83, 83, 83, 83]);
    } else assert.deepEqual(seed.widths, new Array(16).fill(4), `${run.method}: 4 channels per layer`);
    if (run.method === 'gauss-newton') {
      // splits and prunes compete (Lawton et al. §3.3): the widths change, either way.
      assert.notDeepEqual(grown.widths, seed.widths, 'gauss-newton applied morphisms');
    } else {
      assert.ok(grown.parameters > seed.parameters, `${run.method} grew: ${seed.parameters} -> ${grown.parameters}`);
      // 30 % of the total width (64 channels): 19 more, where the method's budget is the total.
      if (run.method === 'firefly' || run.method === 'splitting' || run.method === 'nash')
        assert.ok(sum(grown.widths) > sum(seed.widths), `${run.method}: ${grown.widths}`);
    }
  }
  assert.equal(
    j.runs.find((r: { method: string }) => r.method === 'splitting').notes,
    'VGG-19 with tanh and no batch norm (see the script header)',
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('repro:vgg without CIFAR-10 in --data says how to download it and exits 2; bad flags exit 2 naming them', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-vgg-empty-'));
  const r = script(['--dataset', 'cifar-10', '--data', empty]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /CIFAR-10 is not in .*repro-vgg-empty-/);
  assert.match(r.stderr, new RegExp(`growth-lab data download cifar-10 --to ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.equal(r.stdout, '');
  const cases: [string[], RegExp][] = [
    [['--dataset', 'cifar-10'], /--dataset cifar-10 needs --data DIR/],
    [['--dataset', 'fashion-mnist', '--scale', '0'], /--scale needs a number > 0, got 0/],
    [['--dataset', 'fashion-mnist', '--methods', 'firefly,autogrow'], /--methods: unknown autogrow/],
    [['--dataset', 'fashion-mnist', '--speed', '2'], /unknown flag --speed/],
  ];
  for (const [args, msg] of cases) {
    const b = script(args);
    assert.equal(b.status, 2, `${args.join(' ')}: exit ${b.status} ${b.stderr}`);
    assert.match(b.stderr, msg);
  }
  fs.rmSync(empty, { recursive: true, force: true });
});
