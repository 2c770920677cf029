import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

test('repro:cl --model conv at small scale: every method on split Fashion-MNIST conv nets; Firefly CL forgets nothing, with fewer parameters than Progressive Networks', async () => {
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
  ];
  const { stdout } = await run(process.execPath, args, { cwd: root, maxBuffer: 1 << 24 });
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
