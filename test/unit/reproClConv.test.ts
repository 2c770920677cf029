import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { thinVgg16 } from '../../server/continual';
import { writeCifar100 } from '../helpers/visionFiles';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

test('repro:cl --model conv at small scale: every method on split Fashion-MNIST conv nets; Firefly CL forgets nothing, with fewer parameters than Progressive Networks', async () => {
  const outFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-cl-')), 'nested', 'conv.json');
  const args = [
    '--import',
    'tsx',
    'scripts/reproCl.ts',
    '--model',
    'conv',
    '--seeds',
    '1',
    '--train',
    '64',
    '--test',
    '64',
    '--epochs',
    '1',
    '--batch',
    '32',
    '--lr',
    '0.003',
    '--class-order',
    'ordered',
    '--channels',
    '4,8',
    '--initial-width',
    '4,8',
    '--eta',
    '2',
    '--candidates',
    '2',
    '--grow-rounds',
    '1',
    '--score-examples',
    '32',
    '--ewc-lambda',
    '100',
    '--threads',
    '1',
    '--out',
    outFile,
  ];
  const { stdout } = await run(process.execPath, args, { cwd: root, maxBuffer: 1 << 24 });
  assert.equal(fs.readFileSync(outFile, 'utf8'), stdout, '--out holds the JSON printed on stdout');
  const out = JSON.parse(stdout) as {
    stream: string;
    command: string;
    table: { method: string; forgetting: number; maxForgetting: number; parameters: number; averageAccuracy: number }[];
    fireflyCl: { split: number; unlocked: number; fresh: number }[][];
  };
  assert.equal(out.stream, 'split-fashion-mnist');
  assert.match(out.command, /--model conv --stream split-fashion-mnist/);
  const by = Object.fromEntries(out.table.map((r) => [r.method, r]));
  assert.deepEqual(Object.keys(by).sort(), ['ewc', 'finetune', 'firefly-cl', 'individual', 'progressive']);
  assert.equal(by['firefly-cl'].maxForgetting, 0);
  assert.equal(by.progressive.maxForgetting, 0);
  assert.ok(by['firefly-cl'].parameters < by.progressive.parameters, `${by['firefly-cl'].parameters} vs ${by.progressive.parameters}`);
  // Task 1 split or added channels, later tasks unlocked or added them: η = 2 per task.
  const log = out.fireflyCl[0];
  assert.equal(log.length, 5);
  assert.equal(log[0].unlocked, 0);
  log.forEach((l, t) => assert.equal(l.split + l.unlocked + l.fresh, 2, `task ${t + 1}`));
  assert.ok(log.slice(1).every((l) => l.split === 0));
  for (const r of out.table) assert.ok(r.averageAccuracy > 0 && r.averageAccuracy <= 100, `${r.method}: ${r.averageAccuracy}%`);
  console.log(out.table.map((r) => `${r.method} ${r.averageAccuracy}% ${r.parameters}`).join('; '));
});

test('repro:cl --stream split-cifar-100 --data DIR: 10 tasks of 10 classes from a CIFAR-100 binary folder, on the thin VGG-16; a missing folder or a bad --tasks is refused by name', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-c100-'));
  try {
    writeCifar100(path.join(dir, 'cifar-100-binary'), 1000, 300);
    const base = ['--import', 'tsx', 'scripts/reproCl.ts', '--stream', 'split-cifar-100'];
    const data = path.join(dir, 'cifar-100-binary');
    const args = [
      ...base,
      '--data',
      data,
      '--tasks',
      '10',
      '--vgg-scale',
      '0.0625',
      '--seeds',
      '1',
      '--train',
      '20',
      '--test',
      '10',
      '--epochs',
      '1',
      '--batch',
      '20',
      '--lr',
      '0.01',
      '--eta',
      '2',
      '--candidates',
      '1',
      '--grow-rounds',
      '1',
      '--score-examples',
      '16',
      '--methods',
      'firefly-cl',
      '--threads',
      '1',
    ];
    const { stdout } = await run(process.execPath, args, { cwd: root, maxBuffer: 1 << 24 });
    const out = JSON.parse(stdout) as {
      stream: string;
      command: string;
      settings: { model: string; conv: { channels: number[]; pool: boolean[] }; firefly: { initialWidth: number[] } };
      tasks: string[][];
      table: { method: string; maxForgetting: number }[];
    };
    assert.equal(out.stream, 'split-cifar-100');
    assert.ok(
      out.command.startsWith(`npm run repro:cl -- --model conv --stream split-cifar-100 --data ${data} --tasks 10 --vgg-scale 0.0625 `),
      out.command,
    );
    const vgg = thinVgg16([3, 32, 32], 0.0625);
    assert.equal(out.settings.model, 'conv');
    assert.deepEqual([out.settings.conv.channels, out.settings.conv.pool], [vgg.channels, vgg.pool]);
    assert.deepEqual(out.settings.firefly.initialWidth, [2, 2, 4, 4, 8, 8, 8, 16, 16, 16, 16, 16, 16], 'half the widths');
    const classes = out.tasks[0].map((n) =>
      n
        .replace(/^\d+: /, '')
        .split(',')
        .map(Number),
    );
    assert.equal(classes.length, 10);
    assert.deepEqual(
      classes.flat().sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.deepEqual(
      out.table.map((r) => [r.method, r.maxForgetting]),
      [['firefly-cl', 0]],
    );
    await assert.rejects(run(process.execPath, base, { cwd: root }), (e: { stderr: string }) =>
      /--data: split-cifar-100 reads the CIFAR-100 binary folder \(train\.bin, test\.bin\) given by --data DIR/.test(e.stderr),
    );
    await assert.rejects(run(process.execPath, [...base, '--data', path.join(dir, 'nowhere')], { cwd: root }), (e: { stderr: string }) =>
      /split-cifar-100: continual\.path ".*nowhere" \(.*nowhere\) is not a folder that exists/.test(e.stderr),
    );
    await assert.rejects(run(process.execPath, [...base, '--data', data, '--tasks', '7'], { cwd: root }), (e: { stderr: string }) =>
      /--tasks: split-cifar-100 has 10 or 20 tasks, got 7/.test(e.stderr),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('repro:cl refuses a bad command line by name and exits 2, before loading any data', async () => {
  const cases: [string[], RegExp][] = [
    [['--bogus', '1'], /unknown flag --bogus \(known: --model, /],
    [['--seeds', 'x'], /--seeds needs an integer ≥ 1, got x/],
    [['--epochs', '0'], /--epochs needs an integer ≥ 1, got 0/],
    [['--lr', '-1'], /--lr needs a number ≥ 0, got -1/],
    [['--epochs'], /--epochs needs a value/],
    [['--seeds', '1', '--seeds', '2'], /--seeds is given twice/],
    [['conv'], /unexpected argument conv/],
    [['--model', 'rnn'], /--model: rnn is not mlp or conv/],
    [['--hidden', '400,abc'], /--hidden: positive integers separated by commas, got 400,abc/],
  ];
  for (const [flags, message] of cases) {
    const err = await run(process.execPath, ['--import', 'tsx', 'scripts/reproCl.ts', ...flags], { cwd: root }).then(
      () => assert.fail(`${flags.join(' ')} was accepted`),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2, flags.join(' '));
    assert.match(err.stderr, message);
  }
});
