// `npm run repro:depth` at a small scale on a subset of real MNIST: the JSON's shape, and that Firefly's
// App. B.2 step grew the net deeper and wider and that the final nets learned (above chance).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '../..');

test('repro:depth at a small scale writes the table: Firefly grows depth and width, Firefly and scratch beat chance', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-depth-'));
  const out = path.join(dir, 'mnist.json');
  // 2 identity candidates per block instead of 11: the over-grown network of the step stays small.
  // 1 epoch of fine-tuning and 5 of final retrain instead of App. B.2's 40 and 200: seconds, not minutes.
  const args = ['--dataset', 'mnist', '--train', '600', '--test', '500', '--scale', '2', '--grow-steps', '1', '--candidates', '2'];
  args.push('--fine-tune-epochs', '1', '--final-epochs', '5');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/reproDepth.ts', ...args, '--methods', 'firefly,scratch', '--threads', '1', '--out', out],
    { cwd: root, encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stdout, /Firefly \(paper\)\s+12-12-12-12\s+1\.9M\s+99\.59/);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(j.dataset, 'mnist');
  assert.equal(j.complete, true, 'the last write is the finished report');
  assert.equal(fs.existsSync(out + '.tmp'), false);
  assert.deepEqual(j.settings.epochsAtScale1, {
    initial: 1,
    stepOne: 1,
    fineTune: 1,
    final: 5,
    nashNeighbour: 17,
    paper: { fineTune: 40, final: 200, nashNeighbour: 17 },
  });
  // round(2 · epochs · 600 / 128) minibatches of 128
  assert.deepEqual(j.settings.batches, { initial: 9, fireflyStepOne: 9, fineTune: 9, final: 47, nashNeighbour: 159 });
  assert.match(j.command, /--fine-tune-epochs 1 --final-epochs 5 /);
  assert.equal(j.data.train, 600);
  assert.equal(j.settings.firefly.options.candidatesPerBlock, 2);
  assert.deepEqual(
    j.table.map((t: { method: string }) => t.method),
    ['Firefly', 'Scratch (Firefly architecture)'],
  );
  for (const t of j.table) {
    assert.deepEqual(Object.keys(t).sort(), ['meanGrowStepSeconds', 'method', 'parameters', 'seconds', 'structure', 'testAccuracy']);
    assert.match(t.structure, /^\d+-\d+-\d+-\d+$/);
  }
  assert.deepEqual(
    j.paper.map((p: { method: string; accuracy: number }) => [p.method, p.accuracy]),
    [
      ['AutoGrow', 99.57],
      ['NASH', 99.5],
      ['Firefly', 99.59],
    ],
  );
  const [firefly, scratch] = j.runs;
  assert.equal(firefly.growStepSeconds.length, 1);
  assert.ok(firefly.meanGrowStepSeconds > 0);
  const depth = (s: string) => s.split('-').reduce((a, b) => a + Number(b), 0);
  assert.ok(depth(firefly.structure) > 4, `deeper than 1-1-1-1: ${firefly.structure}`);
  // 16 channels per block at the start: the width part adds 25 % of the total width (16 channels).
  assert.equal(firefly.history[0].widths.length, 4, 'the inserted layers are residual, the conv layers stay 4');
  assert.equal(
    firefly.history[0].widths.reduce((a: number, b: number) => a + b, 0),
    64 + 16,
    `wider by 25 %: ${firefly.history[0].widths}`,
  );
  for (const l of [firefly.history[0].lossBeforeGrow, firefly.history[0].lossAfterGrow])
    assert.ok(Number.isFinite(l) && l > 0, `the test loss around the grow step: ${l}`);
  assert.ok(firefly.parameters > 7290, 'more parameters than the 1-1-1-1 net of 16 channels');
  assert.equal(scratch.structure, firefly.structure);
  assert.equal(scratch.parameters, firefly.parameters);
  assert.equal(scratch.trainBatches, firefly.trainBatches, 'scratch trains as long as Firefly did');
  for (const run of [firefly, scratch]) assert.ok(run.testAccuracy > 20, `${run.method}: ${run.testAccuracy}% (chance 10%)`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("repro:depth's default methods: NASH stops growing at the first step that reaches Firefly's parameters", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-depth-nash-'));
  const out = path.join(dir, 'mnist.json');
  // no --methods: the default run, Firefly then NASH; NASH's neighbours untrained (--nash-epochs 0) for speed
  const args = ['--dataset', 'mnist', '--train', '600', '--test', '500', '--scale', '2', '--grow-steps', '4', '--candidates', '2'];
  args.push('--fine-tune-epochs', '1', '--final-epochs', '2', '--nash-epochs', '0', '--threads', '1', '--out', out);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reproDepth.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.match(j.command, /--methods firefly,nash --nash-stop firefly-params /);
  assert.equal(j.settings.nashStop, 'firefly-params');
  const [firefly, nash] = j.runs;
  assert.deepEqual([firefly.method, nash.method], ['Firefly', 'NASH']);
  assert.equal(firefly.history.length, 4);
  const steps = nash.history.map((h: { parameters: number }) => h.parameters);
  // every NASH neighbour is 25 % wider with a full-width layer per block: it outgrows Firefly's 2-candidate net early
  assert.ok(steps.length < 4, `NASH stopped before its 4 steps: ${steps} against Firefly's ${firefly.parameters}`);
  assert.ok(steps[steps.length - 1] >= firefly.parameters, `the last step reaches Firefly's parameters: ${steps}`);
  assert.ok(
    steps.slice(0, -1).every((p: number) => p < firefly.parameters),
    `no earlier step did: ${steps}`,
  );
  assert.equal(nash.parameters, steps[steps.length - 1]);
  assert.equal(nash.growStepSeconds.length, steps.length);
  // its last step's fine-tuning was the final retrain: 9 minibatches before the first grow, 9 after each
  // earlier step, round(2 · 2 · 600 / 128) = 19 after the last
  assert.equal(nash.trainBatches, 9 + 9 * (steps.length - 1) + 19);
  fs.rmSync(dir, { recursive: true, force: true });
});
