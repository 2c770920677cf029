import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ROOT } from './backendClient';

const BIN = path.join(ROOT, 'bin', 'growth-lab.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-cli-'));
function write(name: string, body: unknown): string {
  const f = path.join(work, name);
  fs.writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body, null, 2));
  return f;
}
function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 120000 });
}

test('run --json prints one JSON event per line ending with a summary; exit 0', () => {
  const f = write('ok.growth.json', {
    dataset: { name: 'mnist', trainSize: 1000, testSize: 200 },
    training: { epochs: 2, batchSize: 100 },
  });
  const r = cli('run', f, '--json', '--out', path.join(work, 'out'));
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(lines.every((l) => ['metrics', 'status', 'grow', 'summary'].includes(l.type)));
  const s = lines[lines.length - 1];
  assert.equal(s.type, 'summary');
  assert.equal(s.status, 'completed');
  assert.equal(s.params, 203530);
  assert.equal(s.growEvents, 0);
  assert.equal(s.engine, 'onnxruntime');
  assert.equal(s.executionProvider, 'cpu');
  assert.ok(s.finalTestAccuracy > 0.5 && s.finalTrainLoss > 0 && s.wallMs > 0);
  assert.deepEqual(
    s.architecture.layers.map((l: any) => l.width),
    [256, 10],
  );
  assert.ok(fs.existsSync(path.join(work, 'out', 'runs', s.runId, 'events.jsonl')));
});

test('an invalid experiment exits 2 with the field, value and rule on stderr', () => {
  const f = write('bad.growth.json', { dataset: { name: 'mnist' }, training: { learningRate: -1 } });
  const r = cli('run', f);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /training\.learningRate must be > 0, got -1/);
  assert.equal(r.stdout, '');
  assert.equal(cli('run', path.join(work, 'missing.growth.json')).status, 2);
  assert.equal(cli('run').status, 2);
  assert.equal(cli('frobnicate').status, 2);
});

test('a run that fails exits 1: NaN loss names the step and suggests a lower learning rate', () => {
  const f = write('nan.growth.json', {
    dataset: { name: 'mnist', trainSize: 1000, testSize: 100 },
    training: { learningRate: 1e38, epochs: 1 },
  });
  const r = cli('run', f, '--json');
  assert.equal(r.status, 1);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(s.status, 'failed');
  assert.match(s.message, /loss became NaN at step \d+.*lower learning rate/);
});

test('a missing CSV file fails the run with a clear message (exit 1)', () => {
  const f = write('csv.growth.json', { dataset: { name: 'csv', path: 'nope.csv' } });
  const r = cli('run', f);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nope\.csv/);
});
