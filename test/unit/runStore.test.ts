import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Architecture, ExperimentConfig, RunEvent, RunStatus } from '../../common/protocol';
import { RunStore, type RunHandle } from '../../server/runs/runStore';
import { RunStoreError } from '../../server/runs/errors';
import { crc32 } from '../../server/runs/crc32';
import { isValidRunId, makeRunId, sanitizeName } from '../../server/runs/runId';
import { type Checkpoint, checkpointFileName, decodeCheckpoint, encodeCheckpoint } from '../../server/runs/checkpointFormat';
import { writeFileAtomic, writeFileAtomicData } from '../../server/runs/atomicFile';
import { EventsWriter } from '../../server/runs/eventsFile';
import { readRegularFile } from '../../server/runs/safeFs';

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const tempRoots: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-runstore-'));
  tempRoots.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempRoots) fs.rmSync(dir, { recursive: true, force: true });
});

function config(name = 'MNIST baseline', epochs = 10): ExperimentConfig {
  return {
    name,
    seed: 1,
    dataset: { name: 'mnist', normalize: true },
    model: { layers: [{ type: 'dense', units: 32, activation: 'relu' }], init: 'he' },
    training: {
      epochs,
      batchSize: 64,
      optimizer: 'adam',
      learningRate: 1e-3,
      momentum: 0.9,
      nesterov: false,
      weightDecay: 0,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      evalEvery: 1,
      shuffle: true,
    },
    engine: 'onnxruntime',
    executionProvider: 'cpu',
  };
}

function arch(params: number): Architecture {
  return { inputShape: [784], outputSize: 10, layers: [], params, flops: params };
}

const ev = {
  start: (runId: string, time: string, params = 25450): RunEvent => ({
    type: 'start',
    time,
    runId,
    config: config(),
    architecture: arch(params),
    warnings: [],
  }),
  metrics: (runId: string, epoch: number, testAccuracy?: number, params = 25450): RunEvent => ({
    type: 'metrics',
    time: `2026-11-23T10:${String(epoch).padStart(2, '0')}:00.000Z`,
    runId,
    epoch,
    step: epoch * 100,
    trainLoss: 1 / epoch,
    trainAccuracy: 0.5,
    ...(testAccuracy === undefined ? {} : { testLoss: 0.3, testAccuracy }),
    params,
    samplesPerSecond: 1234.5,
    engine: 'onnxruntime',
    executionProvider: 'cpu',
    elapsedMs: epoch * 1000,
  }),
  status: (runId: string, status: RunStatus, time = '2026-11-23T11:00:00.000Z'): RunEvent => ({ type: 'status', time, runId, status }),
  grow: (runId: string, step: number, before: number, afterParams: number): RunEvent => ({
    type: 'grow',
    time: '2026-11-23T10:30:00.000Z',
    runId,
    step,
    epoch: step,
    kind: 'grow',
    method: 'firefly',
    before: arch(before),
    after: arch(afterParams),
    diff: [],
    selected: [],
    rejected: [],
    lossBefore: 0.5,
    lossAfter: 0.49,
    maxOutputChange: 1e-3,
    durationMs: 12,
  }),
  checkpoint: (runId: string, epoch: number, file: string): RunEvent => ({
    type: 'checkpoint',
    time: '2026-11-23T10:40:00.000Z',
    runId,
    epoch,
    step: epoch * 100,
    file,
  }),
};

function sampleCheckpoint(seed = 1): Checkpoint {
  const special = new Float32Array([0, -0, 1, -1, Infinity, -Infinity, NaN, 1.401298464324817e-45, 3.4028234663852886e38, Math.PI]);
  // A NaN with a payload: only a byte-exact copy keeps it.
  new DataView(special.buffer).setUint32(6 * 4, 0x7fc0beef, true);
  const big = new Float32Array(10_000);
  let x = seed;
  for (let i = 0; i < big.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    big[i] = (x / 2 ** 32 - 0.5) * 10;
  }
  return {
    meta: {
      architecture: { layers: [{ id: 'dense_1', units: 32 }] },
      epoch: 3,
      step: 300,
      optimizer: 'adam',
      rng: [1, 2, 3, 4],
      note: 'ünïcödé ✓',
    },
    tensors: { special, 'dense_1/kernel': big, empty: new Float32Array(0), 'dense_1/bias': big.subarray(7, 39) },
  };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function assertCheckpointEqual(actual: Checkpoint, expected: Checkpoint): void {
  assert.deepEqual(actual.meta, expected.meta);
  assert.deepEqual(Object.keys(actual.tensors), Object.keys(expected.tensors));
  for (const [name, values] of Object.entries(expected.tensors)) {
    assert.ok(actual.tensors[name] instanceof Float32Array, name);
    assert.ok(sameBits(actual.tensors[name], values), `tensor ${name} is bit-identical`);
  }
}

function flipByte(file: string, offsetFromEnd: number): void {
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - offsetFromEnd] ^= 0x40;
  fs.writeFileSync(file, bytes);
}

// ---------------------------------------------------------------------------------------------
// Run ids
// ---------------------------------------------------------------------------------------------

test('crc32: standard check value and incremental use', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  const all = Buffer.from('The quick brown fox jumps over the lazy dog');
  assert.equal(crc32(all), 0x414fa339);
  assert.equal(crc32(all.subarray(10), crc32(all.subarray(0, 10))), crc32(all));
});

test('runId: sortable, readable, sanitized', () => {
  const id = makeRunId('MNIST Baseline (v2)!', new Date(Date.UTC(2026, 10, 23, 10, 45, 12)), 'a1b2');
  assert.equal(id, '20261123-104512-mnist-baseline-v2-a1b2');
  assert.match(makeRunId('x'), /^\d{8}-\d{6}-x-[0-9a-f]{4}$/);
  assert.equal(sanitizeName('Ünïcödé Ñet'), 'unicode-net');
  assert.equal(sanitizeName('../../etc/passwd'), 'etc-passwd');
  assert.equal(sanitizeName('***'), 'run');
  assert.equal(sanitizeName('a'.repeat(39) + '-bcd').length, 39); // trailing dash trimmed after the 40-char cut
  assert.ok(sanitizeName('x'.repeat(100)).length <= 40);
  assert.ok(isValidRunId(id));
  for (const bad of ['../../etc', 'a/b', 'a\\b', '.hidden', '..', '.', '', 'a b', 'x'.repeat(101), 'é']) {
    assert.equal(isValidRunId(bad), false, JSON.stringify(bad));
  }
  assert.ok(isValidRunId('x'.repeat(100)));
  assert.ok(isValidRunId('run_1.2-b'));
});

test('runId: every function taking a run id rejects invalid and unknown ids', () => {
  const store = new RunStore(tempDir());
  store.createRun(config()).close();
  const calls: [string, (id: string) => unknown][] = [
    ['openRun', (id) => store.openRun(id)],
    ['readEvents', (id) => store.readEvents(id)],
    ['readConfig', (id) => store.readConfig(id)],
    ['readLatestCheckpoint', (id) => store.readLatestCheckpoint(id)],
    ['readCheckpoint', (id) => store.readCheckpoint(id, 'epoch-0001.ckpt')],
    ['runDir', (id) => store.runDir(id)],
  ];
  for (const [name, call] of calls) {
    for (const bad of ['../../etc', 'a/b', '.hidden', '', '..']) {
      assert.throws(
        () => call(bad),
        (err: unknown) => {
          assert.ok(err instanceof RunStoreError, `${name}(${JSON.stringify(bad)})`);
          assert.equal(err.kind, 'invalidRunId');
          assert.equal(err.message, `invalid run id ${JSON.stringify(bad)}`);
          return true;
        },
      );
    }
    assert.throws(
      () => call('x'),
      (err: unknown) => err instanceof RunStoreError && err.kind === 'unknownRun' && err.message === 'unknown run "x"',
    );
  }
  assert.throws(() => store.readEvents('../../etc'), { message: 'invalid run id "../../etc"' });
  // A checkpoint file name cannot escape either.
  const id = store.listRuns()[0].runId;
  assert.throws(
    () => store.readCheckpoint(id, '../config.json'),
    (err: unknown) => err instanceof RunStoreError && err.kind === 'invalidArgument',
  );
  assert.throws(
    () => store.readCheckpoint(id, 'epoch-0009.ckpt'),
    (err: unknown) => err instanceof RunStoreError && err.kind === 'notFound',
  );
});

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

test('createRun: folder layout, config.json, and an events round trip', () => {
  const out = tempDir();
  const store = new RunStore(out);
  const cfg = config('MNIST baseline');
  const run = store.createRun(cfg, { configPath: '/ws/mnist.growth.json', now: new Date(Date.UTC(2026, 10, 23, 10, 45, 12)) });
  assert.match(run.runId, /^20261123-104512-mnist-baseline-[0-9a-f]{4}$/);
  assert.equal(run.dir, path.join(out, 'runs', run.runId));
  assert.equal(store.runsDir, path.join(out, 'runs'));
  assert.equal(fs.readFileSync(path.join(run.dir, 'config.json'), 'utf8'), `${JSON.stringify(cfg, null, 2)}\n`);
  assert.deepEqual(store.readConfig(run.runId), cfg);
  // run.lock: this process writes the run (removed when the run is closed)
  assert.deepEqual(fs.readdirSync(run.dir).sort(), ['checkpoints', 'config.json', 'events.jsonl', 'run.json', 'run.lock']);
  assert.equal(JSON.parse(fs.readFileSync(path.join(run.dir, 'run.lock'), 'utf8')).pid, process.pid);

  const events = [
    ev.start(run.runId, '2026-11-23T10:45:12.000Z'),
    ev.status(run.runId, 'running', '2026-11-23T10:45:12.001Z'),
    ev.metrics(run.runId, 1, 0.9),
    ev.grow(run.runId, 1, 25450, 26000),
    ev.checkpoint(run.runId, 1, 'epoch-0001.ckpt'),
    ev.status(run.runId, 'completed'),
  ];
  for (const e of events) run.append(e);
  // Readable while the run is still open.
  assert.deepEqual(store.readEvents(run.runId), { events, warnings: [] });
  run.close();
  run.close(); // idempotent
  assert.throws(
    () => run.append(events[0]),
    (err: unknown) => err instanceof RunStoreError && err.kind === 'invalidState',
  );

  const lines = fs.readFileSync(path.join(run.dir, 'events.jsonl'), 'utf8').split('\n');
  assert.equal(lines.length, events.length + 1);
  assert.equal(lines.at(-1), '');
  lines.slice(0, -1).forEach((line, i) => assert.ok(line.startsWith(`{"type":"${events[i].type}"`), line.slice(0, 30)));
  assert.deepEqual(new RunStore(out).readEvents(run.runId), { events, warnings: [] });

  // Resuming appends to the same file.
  const again = store.openRun(run.runId);
  assert.throws(
    () => store.openRun(run.runId),
    (err: unknown) => err instanceof RunStoreError && err.kind === 'invalidState',
  );
  again.append(ev.metrics(run.runId, 2, 0.95));
  again.close();
  assert.equal(store.readEvents(run.runId).events.length, events.length + 1);
});

test('readEvents: a torn last line is dropped with a warning; reopening keeps its bytes and appends cleanly', () => {
  const store = new RunStore(tempDir());
  const run = store.createRun(config());
  const events = [ev.start(run.runId, '2026-11-23T10:00:00.000Z'), ev.metrics(run.runId, 1, 0.8)];
  for (const e of events) run.append(e);
  run.close();
  const file = path.join(run.dir, 'events.jsonl');
  const torn = JSON.stringify(ev.metrics(run.runId, 2, 0.85)).slice(0, 57);
  fs.appendFileSync(file, torn);

  const read = store.readEvents(run.runId);
  assert.deepEqual(read.events, events);
  assert.equal(read.warnings.length, 1);
  assert.match(read.warnings[0], /partial last line \(line 3, 57 bytes\)/);

  // A complete last line that only lacks its newline is kept.
  const noNewline = path.join(tempDir(), 'x.jsonl');
  fs.writeFileSync(noNewline, `${JSON.stringify(events[0])}\n${JSON.stringify(events[1])}`);
  const writer = new EventsWriter(noNewline);
  writer.close();
  assert.equal(fs.readFileSync(noNewline, 'utf8').split('\n').length, 3, 'the writer ended the unterminated line');

  const resumed = store.openRun(run.runId);
  const next = ev.metrics(run.runId, 2, 0.86);
  resumed.append(next);
  resumed.close();
  const after = store.readEvents(run.runId);
  assert.deepEqual(after.events, [...events, next]);
  assert.deepEqual(after.warnings, ['events.jsonl: skipped corrupt line 3: not valid JSON']);
  assert.ok(fs.readFileSync(file, 'utf8').includes(`${torn}\n`), 'the torn bytes are kept, on their own line');
});

test('readEvents: corrupt lines in the middle are skipped with their line numbers; never throws on content', () => {
  const store = new RunStore(tempDir());
  const run = store.createRun(config());
  run.close();
  const a = ev.start(run.runId, '2026-11-23T10:00:00.000Z');
  const b = ev.metrics(run.runId, 1, 0.8);
  const c = ev.status(run.runId, 'completed');
  const text = [
    JSON.stringify(a),
    '{"type":"metrics","epoch":',
    '',
    JSON.stringify(b),
    '[1,2,3]',
    '{"type":"nonsense"}',
    '\u0000\u0000\u0000',
    `${JSON.stringify(c)}\r`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(run.dir, 'events.jsonl'), text);
  const read = store.readEvents(run.runId);
  assert.deepEqual(read.events, [a, b, c]);
  assert.deepEqual(read.warnings, [
    'events.jsonl: skipped corrupt line 2: not valid JSON',
    'events.jsonl: skipped corrupt line 5: not a run event (not an object)',
    'events.jsonl: skipped corrupt line 6: not a run event (unknown "type")',
    'events.jsonl: skipped corrupt line 7: not valid JSON',
  ]);
  fs.writeFileSync(path.join(run.dir, 'events.jsonl'), Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x7b]));
  assert.equal(store.readEvents(run.runId).events.length, 0);
  fs.rmSync(path.join(run.dir, 'events.jsonl'));
  assert.deepEqual(store.readEvents(run.runId), { events: [], warnings: [] });
});

test('events: a short write is truncated away and reported; later appends are clean', () => {
  let failNext = false;
  const io = {
    writeSync(fd: number, buffer: Uint8Array): number {
      if (!failNext) return fs.writeSync(fd, buffer);
      failNext = false;
      return fs.writeSync(fd, buffer, 0, Math.floor(buffer.length / 2));
    },
  };
  const store = new RunStore(tempDir(), { eventsIo: io });
  const run = store.createRun(config());
  const first = ev.start(run.runId, '2026-11-23T10:00:00.000Z');
  run.append(first);
  const file = path.join(run.dir, 'events.jsonl');
  const size = fs.statSync(file).size;
  failNext = true;
  assert.throws(
    () => run.append(ev.metrics(run.runId, 1, 0.5)),
    (err: unknown) => {
      assert.ok(err instanceof RunStoreError);
      assert.equal(err.code, 'ENOSPC');
      assert.ok(err.message.startsWith(`cannot append to ${path.join(run.dir, 'events.jsonl')}: disk full (ENOSPC): wrote `), err.message);
      return true;
    },
  );
  assert.equal(fs.statSync(file).size, size, 'the half line was truncated away');
  const second = ev.metrics(run.runId, 1, 0.6);
  run.append(second);
  run.close();
  assert.deepEqual(store.readEvents(run.runId), { events: [first, second], warnings: [] });
});

test('events: events.jsonl linked to a device (/dev/full) is refused on open, naming the file; the lock is released', (t) => {
  if (process.platform !== 'linux' || !fs.existsSync('/dev/full')) return t.skip('needs /dev/full (Linux)');
  const store = new RunStore(tempDir());
  const run = store.createRun(config());
  run.close();
  const file = path.join(run.dir, 'events.jsonl');
  fs.rmSync(file);
  fs.symlinkSync('/dev/full', file);
  assert.throws(
    () => store.openRun(run.runId),
    (err: unknown) => err instanceof RunStoreError && err.message === `refusing ${file}: it is a symbolic link`,
  );
  assert.equal(fs.existsSync(path.join(run.dir, 'run.lock')), false);
});

test('events: a resumed run never appends through a symlinked or hard-linked events.jsonl; the other file is byte-identical', () => {
  const out = tempDir();
  const store = new RunStore(out);
  const run = store.createRun(config());
  run.close();
  const file = path.join(run.dir, 'events.jsonl');
  const victim = path.join(out, 'bashrc');
  fs.writeFileSync(victim, 'export PATH=/usr/bin\n');
  fs.rmSync(file);
  fs.symlinkSync(victim, file);
  assert.throws(() => store.openRun(run.runId), { message: `refusing ${file}: it is a symbolic link` });
  fs.rmSync(file);
  fs.linkSync(victim, file);
  assert.throws(() => store.openRun(run.runId), { message: `refusing ${file}: it has 2 hard links (appending would change another file)` });
  assert.equal(fs.readFileSync(victim, 'utf8'), 'export PATH=/usr/bin\n');
  assert.equal(fs.existsSync(path.join(run.dir, 'run.lock')), false, 'the lock taken for the refused open is released');
});

test('safeFs: reads are capped, and a FIFO is refused before it is opened (never blocks)', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'big.json');
  fs.writeFileSync(file, 'x'.repeat(20));
  assert.throws(() => readRegularFile(file, 10), { message: `refusing ${file}: it is 20 bytes, more than the 10 allowed` });
  assert.equal(readRegularFile(file, 20).length, 20);
  if (process.platform === 'win32') return t.skip('no mkfifo');
  const fifo = path.join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  assert.throws(() => readRegularFile(fifo, 10), { message: `refusing ${fifo}: it is not a regular file (a FIFO)` });
});

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

test('checkpoints: round trip is bit-identical; names, latest pointer, no temp files left', () => {
  const store = new RunStore(tempDir());
  const run = store.createRun(config());
  const ckptDir = path.join(run.dir, 'checkpoints');
  assert.equal(store.readLatestCheckpoint(run.runId), undefined, 'no checkpoints yet');

  const c1 = sampleCheckpoint(1);
  const c2 = sampleCheckpoint(2);
  assert.equal(run.writeCheckpoint('epoch', 3, c1), 'epoch-0003.ckpt');
  assert.equal(run.writeCheckpoint('grow', 2, c2), 'grow-0002.ckpt');
  assert.equal(checkpointFileName('epoch', 12345), 'epoch-12345.ckpt');
  assert.throws(
    () => run.writeCheckpoint('../x', 1, c1),
    (err: unknown) => err instanceof RunStoreError && err.kind === 'invalidArgument',
  );
  assert.throws(
    () => run.writeCheckpoint('epoch', -1, c1),
    (err: unknown) => err instanceof RunStoreError && err.kind === 'invalidArgument',
  );
  assert.throws(
    () => run.writeCheckpoint('epoch', 1, { meta: {}, tensors: { w: [1, 2] as unknown as Float32Array } }),
    /is not a Float32Array/,
  );
  assert.throws(() => run.writeCheckpoint('epoch', 1, { meta: { n: 1n }, tensors: {} }), /not JSON-serializable/);

  assert.deepEqual(fs.readdirSync(ckptDir).sort(), ['epoch-0003.ckpt', 'grow-0002.ckpt', 'latest']);
  assert.equal(JSON.parse(fs.readFileSync(path.join(ckptDir, 'latest'), 'utf8')).file, 'grow-0002.ckpt');
  assertCheckpointEqual(store.readCheckpoint(run.runId, 'epoch-0003.ckpt'), c1);
  const latest = store.readLatestCheckpoint(run.runId);
  assert.ok(latest);
  assert.equal(latest.file, 'grow-0002.ckpt');
  assert.deepEqual(latest.warnings, []);
  assertCheckpointEqual(latest.checkpoint, c2);

  // Format: magic, header length, 4-byte aligned data.
  const bytes = fs.readFileSync(path.join(ckptDir, 'epoch-0003.ckpt'));
  assert.equal(bytes.subarray(0, 8).toString('latin1'), 'GLCKPT01');
  const headerLength = bytes.readUInt32LE(8);
  assert.equal((12 + headerLength) % 4, 0);
  const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8'));
  assert.deepEqual(
    header.tensors.map((t: { name: string }) => t.name),
    Object.keys(c1.tensors),
  );
  assert.equal(header.crc32, crc32(bytes.subarray(12 + headerLength)));
  assert.equal(bytes.length, 12 + headerLength + 4 * (10 + 10_000 + 0 + 32));

  // Overwriting a name replaces it atomically; a fresh store (resume) continues the seq.
  const c3 = sampleCheckpoint(3);
  run.close();
  const resumed = store.openRun(run.runId);
  resumed.writeCheckpoint('epoch', 3, c3);
  resumed.close();
  assertCheckpointEqual(store.readCheckpoint(run.runId, 'epoch-0003.ckpt'), c3);
  assert.equal(store.readLatestCheckpoint(run.runId)?.file, 'epoch-0003.ckpt');
  assert.deepEqual(
    fs.readdirSync(ckptDir).filter((n) => n.endsWith('.tmp')),
    [],
  );
  assert.deepEqual(
    fs.readdirSync(run.dir).filter((n) => n.startsWith('.')),
    [],
  );

  // encode/decode without files.
  assertCheckpointEqual(decodeCheckpoint(encodeCheckpoint(c1), 'mem.ckpt').checkpoint, c1);
});

test('checkpoints: CRC corruption is detected and readLatestCheckpoint falls back to the previous one', () => {
  const store = new RunStore(tempDir());
  const run = store.createRun(config());
  const ckptDir = path.join(run.dir, 'checkpoints');
  const c1 = sampleCheckpoint(1),
    c2 = sampleCheckpoint(2),
    c3 = sampleCheckpoint(3);
  run.writeCheckpoint('epoch', 1, c1);
  run.writeCheckpoint('epoch', 2, c2);
  run.writeCheckpoint('grow', 1, c3); // newest, though it sorts first by name
  run.close();
  const file = (name: string) => path.join(ckptDir, name);

  flipByte(file('grow-0001.ckpt'), 100); // a byte in the data section
  assert.throws(
    () => store.readCheckpoint(run.runId, 'grow-0001.ckpt'),
    (err: unknown) =>
      err instanceof RunStoreError && err.kind === 'corrupt' && err.message === 'checkpoint grow-0001.ckpt is corrupt: CRC mismatch',
  );
  const fallback = store.readLatestCheckpoint(run.runId);
  assert.ok(fallback);
  assert.equal(fallback.file, 'epoch-0002.ckpt');
  assertCheckpointEqual(fallback.checkpoint, c2);
  assert.deepEqual(fallback.warnings, [
    'latest checkpoint unusable: checkpoint grow-0001.ckpt is corrupt: CRC mismatch',
    'fell back to checkpoint epoch-0002.ckpt, the newest intact one',
  ]);

  // Truncated, bad magic, damaged header: each named.
  fs.truncateSync(file('epoch-0002.ckpt'), fs.statSync(file('epoch-0002.ckpt')).size - 3);
  assert.throws(
    () => store.readCheckpoint(run.runId, 'epoch-0002.ckpt'),
    /^RunStoreError: checkpoint epoch-0002\.ckpt is corrupt: truncated \(file is \d+ bytes, expected \d+\)$/,
  );
  const again = store.readLatestCheckpoint(run.runId);
  assert.equal(again?.file, 'epoch-0001.ckpt');
  assertCheckpointEqual(again.checkpoint, c1);
  assert.equal(again.warnings.length, 3);

  const bytes = fs.readFileSync(file('epoch-0001.ckpt'));
  const headerText = bytes.subarray(12, 12 + bytes.readUInt32LE(8)).toString('latin1');
  const epochAt = 12 + headerText.indexOf('"epoch":3');
  const patched = Buffer.from(bytes);
  patched[epochAt + 8] = '7'.charCodeAt(0); // meta.epoch 3 -> 7: valid JSON, wrong content
  fs.writeFileSync(file('x-0001.ckpt'), patched);
  assert.throws(() => store.readCheckpoint(run.runId, 'x-0001.ckpt'), {
    message: 'checkpoint x-0001.ckpt is corrupt: header CRC mismatch',
  });
  patched.write('GLCKPT99', 0, 'latin1');
  fs.writeFileSync(file('x-0001.ckpt'), patched);
  assert.throws(() => store.readCheckpoint(run.runId, 'x-0001.ckpt'), {
    message: 'checkpoint x-0001.ckpt is corrupt: bad magic (not a Growth Lab checkpoint)',
  });
  fs.writeFileSync(file('x-0001.ckpt'), Buffer.from('GLCK'));
  assert.throws(() => store.readCheckpoint(run.runId, 'x-0001.ckpt'), {
    message: 'checkpoint x-0001.ckpt is corrupt: truncated (file is 4 bytes)',
  });
  fs.rmSync(file('x-0001.ckpt'));

  // Pointer missing: the newest intact checkpoint by write order (seq), skipping damaged ones.
  fs.rmSync(file('latest'));
  const noPointer = store.readLatestCheckpoint(run.runId);
  assert.equal(noPointer?.file, 'epoch-0001.ckpt');
  assert.equal(noPointer.warnings[0], 'checkpoints/latest is missing');
  assert.equal(noPointer.warnings.at(-1), 'fell back to checkpoint epoch-0001.ckpt, the newest intact one');

  // Nothing intact left: a loud error rather than a silent fresh start.
  flipByte(file('epoch-0001.ckpt'), 1);
  assert.throws(
    () => store.readLatestCheckpoint(run.runId),
    (err: unknown) =>
      err instanceof RunStoreError &&
      err.kind === 'corrupt' &&
      /has no intact checkpoint: .*epoch-0001\.ckpt is corrupt: CRC mismatch/.test(err.message),
  );
});

test('checkpoints: the latest pointer decides, and a garbage pointer falls back by write order', () => {
  const store = new RunStore(tempDir());
  const run = store.createRun(config());
  run.writeCheckpoint('epoch', 9, sampleCheckpoint(9));
  run.writeCheckpoint('grow', 1, sampleCheckpoint(1));
  run.close();
  const latestFile = path.join(run.dir, 'checkpoints', 'latest');
  fs.writeFileSync(latestFile, '{"file":"../../../etc/passwd"}');
  const r = store.readLatestCheckpoint(run.runId);
  assert.equal(r?.file, 'grow-0001.ckpt');
  assert.deepEqual(r?.warnings, [
    'checkpoints/latest is unusable: it names no checkpoint file',
    'fell back to checkpoint grow-0001.ckpt, the newest intact one',
  ]);
  fs.writeFileSync(latestFile, '{"fi');
  assert.match(store.readLatestCheckpoint(run.runId)?.warnings[0] ?? '', /latest is not valid JSON/);
});

// ---------------------------------------------------------------------------------------------
// Write failures
// ---------------------------------------------------------------------------------------------

test('atomic writes: a failure mid-write leaves the old file and no temp file, and names folder and cause', () => {
  const dir = tempDir();
  writeFileAtomicData(dir, 'config.json', 'config', 'old');
  for (const code of ['ENOSPC', 'EROFS', 'EACCES']) {
    assert.throws(
      () =>
        writeFileAtomic(dir, 'config.json', 'config', (fd) => {
          fs.writeSync(fd, 'half of the new conf');
          throw Object.assign(new Error('boom'), { code });
        }),
      (err: unknown) => {
        assert.ok(err instanceof RunStoreError);
        assert.equal(err.code, code);
        const cause = { ENOSPC: 'disk full', EROFS: 'read-only file system', EACCES: 'permission denied' }[code];
        assert.equal(err.message, `cannot write config in ${dir}: ${cause} (${code})`);
        return true;
      },
    );
  }
  assert.deepEqual(fs.readdirSync(dir), ['config.json']);
  assert.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), 'old');
});

test('checkpoints: a read-only checkpoints folder gives a RunStoreError naming the folder', (t) => {
  const store = new RunStore(tempDir());
  const run = store.createRun(config());
  run.writeCheckpoint('epoch', 1, sampleCheckpoint(1));
  const ckptDir = path.join(run.dir, 'checkpoints');
  fs.chmodSync(ckptDir, 0o555);
  try {
    let writable = true;
    try {
      fs.accessSync(ckptDir, fs.constants.W_OK);
    } catch {
      writable = false;
    }
    if (writable) {
      return t.skip(
        'chmod 555 does not stop this user from writing (running as root, or a file system without permissions), so the failure cannot be provoked',
      );
    }
    assert.throws(
      () => run.writeCheckpoint('epoch', 2, sampleCheckpoint(2)),
      (err: unknown) => {
        assert.ok(err instanceof RunStoreError);
        assert.equal(err.message, `cannot write checkpoint in ${ckptDir}: permission denied (EACCES)`);
        return true;
      },
    );
    assert.deepEqual(fs.readdirSync(ckptDir).sort(), ['epoch-0001.ckpt', 'latest']);
    assert.equal(store.readLatestCheckpoint(run.runId)?.file, 'epoch-0001.ckpt');
  } finally {
    fs.chmodSync(ckptDir, 0o755);
    run.close();
  }
});

// ---------------------------------------------------------------------------------------------
// listRuns
// ---------------------------------------------------------------------------------------------

function makeRun(store: RunStore, name: string, startTime: string, build: (run: RunHandle) => void, close = true): string {
  const run = store.createRun(config(name), { configPath: `/ws/${name}.growth.json` });
  run.append(ev.start(run.runId, startTime));
  build(run);
  if (close) run.close();
  return run.runId;
}

test('listRuns: exact summaries, stale detection, newest first, non-runs skipped with warnings', () => {
  const out = tempDir();
  const live = new Set<string>();
  const store = new RunStore(out, { isLive: (id) => live.has(id) });
  assert.deepEqual(store.listRuns(), [], 'no runs folder yet');

  const done = makeRun(store, 'done', '2026-11-23T10:00:00.000Z', (r) => {
    r.append(ev.status(r.runId, 'running', '2026-11-23T10:00:00.001Z'));
    r.append(ev.metrics(r.runId, 1, 0.9));
    r.append(ev.metrics(r.runId, 2, 0.95));
    r.append(ev.grow(r.runId, 1, 25450, 27000));
    r.append(ev.metrics(r.runId, 3, 0.93, 27000));
    r.append(ev.grow(r.runId, 2, 27000, 28000));
    r.append(ev.metrics(r.runId, 4, undefined, 28000));
    r.append(ev.status(r.runId, 'completed', '2026-11-23T10:05:00.000Z'));
  });
  const crashed = makeRun(store, 'crashed', '2026-11-23T11:00:00.000Z', (r) => {
    r.append(ev.status(r.runId, 'running', '2026-11-23T11:00:00.001Z'));
    r.append(ev.metrics(r.runId, 1, 0.7));
  });
  const paused = makeRun(store, 'paused elsewhere', '2026-11-23T12:00:00.000Z', (r) => {
    r.append(ev.status(r.runId, 'paused', '2026-11-23T12:01:00.000Z'));
  });
  const open = makeRun(store, 'open here', '2026-11-23T13:00:00.000Z', () => {}, false);
  const stopped = makeRun(store, 'stopped', '2026-11-23T09:00:00.000Z', (r) => {
    r.append(ev.status(r.runId, 'stopped', '2026-11-23T09:30:00.000Z'));
  });
  live.add(paused);

  // Things in runs/ that are not runs.
  fs.mkdirSync(path.join(store.runsDir, 'notes'));
  fs.writeFileSync(path.join(store.runsDir, 'README.txt'), 'hi');
  fs.mkdirSync(path.join(store.runsDir, 'bad name'));
  fs.mkdirSync(path.join(store.runsDir, '.trash'));
  fs.mkdirSync(path.join(store.runsDir, 'broken'));
  fs.writeFileSync(path.join(store.runsDir, 'broken', 'config.json'), '{ nope');

  const runs = store.listRuns();
  assert.deepEqual(
    runs.map((r) => r.runId),
    [open, paused, crashed, done, stopped, 'broken'],
  );
  assert.equal(runs[5].status, 'failed');
  assert.equal(runs[5].unreadable, 'config.json is not valid JSON, and no start event holds the config');
  const base = { dataset: 'mnist', engine: 'onnxruntime', executionProvider: 'cpu', epochs: 10 } as const;
  assert.deepEqual(runs[0], {
    ...base,
    runId: open,
    name: 'open here',
    status: 'running',
    startedAt: '2026-11-23T13:00:00.000Z',
    epochsDone: 0,
    params: 25450,
    growSteps: 0,
    configPath: '/ws/open here.growth.json',
  });
  assert.deepEqual(runs[1], {
    ...base,
    runId: paused,
    name: 'paused elsewhere',
    status: 'paused',
    startedAt: '2026-11-23T12:00:00.000Z',
    epochsDone: 0,
    params: 25450,
    growSteps: 0,
    configPath: '/ws/paused elsewhere.growth.json',
  });
  assert.deepEqual(runs[2], {
    ...base,
    runId: crashed,
    name: 'crashed',
    status: 'failed',
    stale: true,
    startedAt: '2026-11-23T11:00:00.000Z',
    endedAt: '2026-11-23T10:01:00.000Z',
    epochsDone: 1,
    params: 25450,
    bestTestAccuracy: 0.7,
    lastTestAccuracy: 0.7,
    growSteps: 0,
    configPath: '/ws/crashed.growth.json',
  });
  assert.deepEqual(runs[3], {
    ...base,
    runId: done,
    name: 'done',
    status: 'completed',
    startedAt: '2026-11-23T10:00:00.000Z',
    endedAt: '2026-11-23T10:05:00.000Z',
    epochsDone: 4,
    params: 28000,
    bestTestAccuracy: 0.95,
    lastTestAccuracy: 0.93,
    growSteps: 2,
    configPath: '/ws/done.growth.json',
  });
  assert.equal(runs[4].status, 'stopped');
  assert.equal(runs[4].endedAt, '2026-11-23T09:30:00.000Z');
  assert.equal(runs[4].stale, undefined);

  assert.deepEqual([...store.warnings].sort(), [
    'run broken: config.json is not valid JSON, and no start event holds the config',
    'skipped runs/README.txt: not a folder',
    'skipped runs/bad name: not a valid run id',
    'skipped runs/notes: not a run (no config.json or events.jsonl)',
  ]);

  // Liveness is evaluated on every call (the digest cache does not freeze it).
  live.delete(paused);
  const later = store.listRuns();
  assert.equal(later.find((r) => r.runId === paused)?.status, 'failed');
  assert.equal(later.find((r) => r.runId === paused)?.stale, true);
  assert.equal(later.find((r) => r.runId === paused)?.endedAt, '2026-11-23T12:01:00.000Z');
  // A fresh store (a restarted backend) sees the open run as stale too.
  const fresh = new RunStore(out);
  assert.deepEqual(
    fresh
      .listRuns()
      .filter((r) => r.stale)
      .map((r) => r.runId),
    [open, paused, crashed],
  );

  // A corrupt config.json falls back to the start event's config; a torn events line is reported per run.
  fs.writeFileSync(path.join(store.runsDir, done, 'config.json'), '{');
  fs.appendFileSync(path.join(store.runsDir, done, 'events.jsonl'), '{"type":"met');
  const summary = store.listRuns().find((r) => r.runId === done);
  assert.equal(summary?.name, 'MNIST baseline'); // from the start event fixture
  assert.equal(summary?.growSteps, 2);
  assert.ok(store.warnings.some((w) => w === `run ${done}: config.json is not valid JSON; using the config of its start event`));
  assert.ok(store.warnings.some((w) => w.startsWith(`run ${done}: events.jsonl: dropped a partial last line`)));
});

test('listRuns: 200 runs x 1000 events', () => {
  // How long this takes is measured by `npm run bench` (listRuns), not asserted here.
  const out = tempDir();
  const store = new RunStore(out);
  for (let i = 0; i < 200; i++) {
    const run = store.createRun(config(`perf ${i}`, 1000), { now: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) });
    run.close();
    const lines = [JSON.stringify(ev.start(run.runId, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()))];
    for (let e = 1; e < 999; e++) {
      lines.push(
        JSON.stringify(
          e % 100 === 0 ? ev.grow(run.runId, e / 100, 25450, 26000) : ev.metrics(run.runId, e, e % 10 === 0 ? e / 1000 : undefined),
        ),
      );
    }
    lines.push(JSON.stringify(ev.status(run.runId, 'completed')));
    fs.writeFileSync(path.join(run.dir, 'events.jsonl'), `${lines.join('\n')}\n`);
  }
  const runs = store.listRuns();
  assert.deepEqual(store.listRuns(), runs, 'the cached call answers the same');
  for (const r of runs) assert.equal(store.readEvents(r.runId).events.length, 1000, `${r.runId}: every event read back`);
  assert.equal(runs.length, 200);
  assert.equal(runs[0].name, 'perf 199');
  assert.equal(runs[0].epochsDone, 998);
  assert.equal(runs[0].growSteps, 9);
  assert.equal(runs[0].bestTestAccuracy, 0.99);
  assert.equal(runs[0].status, 'completed');
});

test('runSummary: one run as listRuns reports it, without the others; not a run: undefined; a symlinked folder: unreadable', () => {
  const store = new RunStore(tempDir());
  const a = store.createRun(config('a'));
  a.close();
  const b = store.createRun(config('b'));
  b.close();
  const listed = store.listRuns();
  assert.deepEqual(
    store.runSummary(a.runId),
    listed.find((r) => r.runId === a.runId),
  );
  assert.deepEqual(
    store.runSummary(b.runId),
    listed.find((r) => r.runId === b.runId),
  );
  assert.equal(store.runSummary('no-such-run'), undefined);
  assert.throws(() => store.runSummary('../x'));
  const elsewhere = tempDir();
  fs.symlinkSync(elsewhere, path.join(store.runsDir, 'linked'));
  assert.match(store.runSummary('linked')!.unreadable!, /the run folder is a symbolic link/);
});
