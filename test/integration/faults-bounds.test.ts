/**
 * Bounded memory, time and message size against hostile input (issue "A cloned repository is untrusted
 * input" / "Memory and time stay bounded"): broken JSON-RPC framing on the backend's stdin, imports whose
 * files declare more bytes than they hold, error messages built from huge inputs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-faults-bounds-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Starts `growth-lab serve`, writes `input` to its stdin (left open), and resolves on its exit. */
function serveWith(input: Buffer | string): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'], cwd: work });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.stdout.resume();
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20000);
  proc.stdin.on('error', () => undefined);
  proc.stdin.write(input);
  return new Promise((resolve) =>
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - t0 });
    }),
  );
}

const framingCases: [string, string, RegExp][] = [
  ['garbage instead of headers', 'hello backend, this is not JSON-RPC\r\n\r\n', /header line without/],
  ['a header block without Content-Length', 'Content-Type: application/json\r\n\r\n{}', /without a Content-Length/],
  ['a Content-Length that is not a number', 'Content-Length: lots\r\n\r\n{}', /Content-Length is not a number/],
  [
    'a Content-Length of 4 GiB',
    `Content-Length: ${4 * 1024 ** 3}\r\n\r\n{"jsonrpc":"2.0"`,
    /Content-Length 4294967296 is over the limit of 67108864/,
  ],
  ['an endless header line', 'X'.repeat(100000), /header block longer than 8192 bytes/],
];
for (const [what, input, reason] of framingCases) {
  test(`framing: ${what} ends the backend with the reason on stderr`, async () => {
    const r = await serveWith(input);
    assert.equal(r.code, 2, `exit code (stderr: ${r.stderr.slice(-500)})`);
    assert.match(r.stderr, /malformed JSON-RPC framing on stdin/);
    assert.match(r.stderr, reason);
    assert.ok(r.ms < 15000, `exited in ${r.ms} ms`);
  });
}

test('framing: a well-formed message split across writes still works', async () => {
  const proc = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'], cwd: work });
  let stdout = '';
  proc.stdout.on('data', (d) => (stdout += d));
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'shutdown' });
  const msg = `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  for (const ch of msg) proc.stdin.write(ch);
  const exitBody = JSON.stringify({ jsonrpc: '2.0', method: 'exit' });
  const exited = new Promise<number | null>((r) => proc.once('exit', r));
  await new Promise<void>((r) => {
    const check = () => (stdout.includes('"id":1') ? r() : proc.stdout.once('data', check));
    check();
  });
  proc.stdin.write(`Content-Length: ${Buffer.byteLength(exitBody)}\r\n\r\n${exitBody}`);
  assert.equal(await exited, 0);
});

// ---- Imports whose files declare more than they hold, or are not regular files ----

/** The peak resident memory (VmHWM, bytes) of a live process. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmHWM in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

const MiB = 1024 * 1024;
const importDir = path.join(work, 'hostile');
fs.mkdirSync(importDir);
const spec = {
  inputShape: [256],
  task: 'classification',
  layers: [{ id: 'd1', type: 'dense', units: 1024, activation: 'relu' }],
  output: { id: 'output', units: 10 },
};
const writeJson = (name: string, v: unknown) => fs.writeFileSync(path.join(importDir, name), JSON.stringify(v));
/** A TF.js model.json of `spec` whose one group lists `paths`, declaring `bytes` of float32 weights. */
function tfjsModel(name: string, paths: string[], bytes: number): void {
  writeJson(name, {
    modelTopology: {},
    format: 'layers-model',
    userDefinedMetadata: { growthLab: { spec } },
    weightsManifest: [{ paths, weights: [{ name: 'd1/kernel', shape: [bytes / 4], dtype: 'float32' }] }],
  });
}
function architecture(name: string, weightsFile: string): void {
  writeJson(name, { format: 'growth-lab-architecture', spec, weights: { file: weightsFile, layout: 'pytorch-state-dict' } });
}

/** A stored-ZIP .npz of one 256 KiB array whose central directory lists it `copies` times. */
async function overlappingNpz(copies: number): Promise<Buffer> {
  const { encodeNpz } = await import('../../server/export/npz');
  const one = Buffer.from(encodeNpz([['w', { dtype: 'float32', shape: [65536], data: new Float32Array(65536) }]]));
  const eocd = one.length - 22;
  const cdAt = one.readUInt32LE(eocd + 16);
  const cd = one.subarray(cdAt, eocd);
  const end = Buffer.from(one.subarray(eocd));
  end.writeUInt16LE(copies, 8);
  end.writeUInt16LE(copies, 10);
  end.writeUInt32LE(cd.length * copies, 12);
  return Buffer.concat([one.subarray(0, cdAt), ...Array.from({ length: copies }, () => cd), end]);
}

test('import: one shard listed many times, an npz with overlapping entries, a FIFO or device as weights are refused before allocating', async () => {
  const { BackendClient } = await import('./backendClient');
  const client = new BackendClient();
  try {
    await client.initialize(work);
    const run = async (from: string) => {
      const config = { dataset: { name: 'rbf-toy' }, model: { init: { from } }, training: { epochs: 1 } };
      const { runId } = await client.conn.sendRequest<{ runId: string }>('growthLab/startExperiment', { config });
      const s = await client.until(() => client.statuses.find((x) => x.runId === runId && x.status !== 'running'), 30000, `run ${from}`);
      return s;
    };
    // Baseline: a plain run of the same dataset and the same import code path with a missing file.
    const base = await run(path.join(importDir, 'missing.json'));
    assert.match(base.message ?? '', /no such file/);
    const before = peakRss(client.proc.pid!);

    // 1 MiB shard listed 512 times: 512 MiB (twice, read and concatenated) without the check.
    fs.writeFileSync(path.join(importDir, 'shard.bin'), Buffer.alloc(MiB));
    tfjsModel('repeated.json', Array(512).fill('shard.bin'), 512 * MiB);
    const repeated = await run(path.join(importDir, 'repeated.json'));
    assert.equal(repeated.status, 'failed');
    assert.match(repeated.message ?? '', /repeated\.json: weight file shard\.bin is listed more than once/);

    // Distinct shards that hold less than the weights declare.
    tfjsModel('short.json', ['shard.bin'], 4 * MiB);
    assert.match(
      (await run(path.join(importDir, 'short.json'))).message ?? '',
      /declares more than the \d+ bytes of weights the model needs/,
    );

    // 2000 central-directory entries on one 256 KiB member: 500 MiB declared in a 1 MiB-sized file.
    fs.writeFileSync(path.join(importDir, 'overlap.npz'), await overlappingNpz(2000));
    architecture('overlap.json', 'overlap.npz');
    assert.match(
      (await run(path.join(importDir, 'overlap.json'))).message ?? '',
      /overlap\.npz: its entries declare more than the \d+ bytes the file holds/,
    );

    // A FIFO (would block the backend on open/read) and a link to a device (would read forever).
    execFileSync('mkfifo', [path.join(importDir, 'fifo.bin')]);
    tfjsModel('fifo.json', ['fifo.bin'], 4096);
    assert.match((await run(path.join(importDir, 'fifo.json'))).message ?? '', /weight file .*fifo\.bin is not a regular file/);
    architecture('fifo-arch.json', 'fifo.bin');
    assert.match((await run(path.join(importDir, 'fifo-arch.json'))).message ?? '', /weights file .*fifo\.bin is not a regular file/);
    fs.symlinkSync('/dev/zero', path.join(importDir, 'zero.npz'));
    architecture('zero.json', 'zero.npz');
    assert.match((await run(path.join(importDir, 'zero.json'))).message ?? '', /zero\.npz is a symbolic link/);
    fs.symlinkSync('/dev/zero', path.join(importDir, 'zero-model.json'));
    assert.match(
      (await run(path.join(importDir, 'zero-model.json'))).message ?? '',
      /zero-model\.json: not a regular file|is not a regular file/,
    );

    // The backend is alive and its peak memory barely moved: each hostile file declares 256 MiB or more,
    // the legitimate bytes involved are under 3 MiB; 64 MiB leaves room for GC and run bookkeeping.
    const after = peakRss(client.proc.pid!);
    process.stdout.write(`# import faults: VmHWM ${(before / MiB).toFixed(1)} MiB -> ${(after / MiB).toFixed(1)} MiB\n`);
    assert.ok(after - before < 64 * MiB, `peak RSS grew by ${((after - before) / MiB).toFixed(1)} MiB`);
  } finally {
    client.kill();
  }
});

// ---- Error messages stay short whatever the input ----

test('messages: a CSV with a million columns fails with a short message naming the file and the problem (CLI)', () => {
  const dir = path.join(work, 'wide');
  fs.mkdirSync(dir);
  const n = 1_000_000;
  const header = Array.from({ length: n }, (_, i) => `column_${i}`).join(',');
  const row = Array(n).fill('1').join(',');
  fs.writeFileSync(path.join(dir, 'wide.csv'), `${header}\n${row}\n${row}\n`); // 17.9 MB
  const junk = 'x'.repeat(1_000_000);
  fs.writeFileSync(path.join(dir, 'cell.csv'), `a,b,label\n1,2,0\n${junk},3,1\n4,5,0\n6,7,1\n8,9,0\n`);
  const cases: [string, object, RegExp][] = [
    [
      'wide',
      { name: 'csv', path: 'wide.csv', labelColumn: 'nope' },
      /wide\.csv: labelColumn "nope" does not exist; the header has "column_0", .* and 999990 more columns/,
    ],
    ['cell', { name: 'csv', path: 'cell.csv' }, /cell\.csv, line 3, column 1 \("a"\): "x{120}"… \(1000000 characters\) is not a number/],
  ];
  for (const [name, dataset, pattern] of cases) {
    const file = path.join(dir, `${name}.growth.json`);
    fs.writeFileSync(file, JSON.stringify({ dataset, training: { epochs: 1 } }));
    const r = spawnSync(process.execPath, [CLI, 'run', file, '--out', path.join(dir, 'out'), '--json'], {
      encoding: 'utf8',
      maxBuffer: 64 * MiB,
    });
    assert.equal(r.status, 1, `${name}: exit status (stderr ${r.stderr.slice(0, 500)})`);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!); // JSON lines: the summary last
    process.stdout.write(`# ${name}: message ${summary.message.length} chars, stdout ${r.stdout.length}, stderr ${r.stderr.length}\n`);
    assert.match(summary.message, pattern);
    assert.ok(summary.message.length < 4096, `${name}: message of ${summary.message.length} chars`);
    assert.ok(r.stdout.length + r.stderr.length < 16384, `${name}: output of ${r.stdout.length + r.stderr.length} chars`);
  }
});

test('messages: the error-to-code mapping cuts any message at 4096 characters (last guard)', async () => {
  const { toRequestError } = await import('../../server/requestErrors');
  const { formatErrors, configError } = await import('../../server/config/errors');
  const e = toRequestError(new Error(`boom ${'y'.repeat(10 * MiB)}`), 'growthLab/startExperiment');
  assert.ok(e.message.length <= 4096, `${e.message.length} chars`);
  assert.match(e.message, /^growthLab\/startExperiment failed: boom y+ … \(message cut: \d+ more characters\)$/);
  const many = Array.from({ length: 100 }, (_, i) => configError(['training'], `problem ${i} ${'z'.repeat(100000)}`, 'type'));
  many.push(configError([], '…and 400 more errors (only the first 100 are shown)', 'tooManyErrors'));
  const text = formatErrors(many);
  assert.ok(text.length < 8000, `${text.length} chars`);
  assert.match(text, /problem 19 z+ … \(message cut: \d+ more characters\)\n…and 480 more problems$/);
});

// ---- Activation memory is estimated before a run or a grown model trains ----

test('activation memory: a run and a grow over growthLab.maxActivationMemoryMB are refused naming the layer and size', async () => {
  const { BackendClient } = await import('./backendClient');
  const client = new BackendClient();
  try {
    await client.initialize(work, { maxActivationMemoryMB: 64 });
    const start = async (units: number, epochs: number) => {
      const config = {
        dataset: { name: 'rbf-toy', trainSize: 2000 },
        model: { layers: [{ type: 'dense', units, activation: 'relu' }] },
        training: { epochs, batchSize: 256, learningRate: 0.0001 },
      };
      return (await client.conn.sendRequest<{ runId: string }>('growthLab/startExperiment', { config })).runId;
    };
    // 65,536 units × max(256 × 6, 1000 × 2) copies × 4 bytes = 500 MB for the layer: refused before training.
    const big = await start(65536, 1);
    const failed = await client.until(() => client.statusOf(big, 'failed'), 30000, 'refused run');
    assert.match(
      failed.message ?? '',
      /needs about 501 MB of activations at batch size 256 \(layer \w+ alone 500 MB\), more than growthLab\.maxActivationMemoryMB \(64 MB\)/,
    );
    assert.ok(!client.metrics.some((m) => m.runId === big), 'no step was trained');

    // 4,096 units (31.3 MiB) fits; 8,192 more (93.8 MiB) would not: the grow is refused, the model kept.
    const runId = await start(4096, 1000);
    await client.until(() => client.metrics.find((m) => m.runId === runId), 60000, 'a step of the run that fits');
    assert.equal(client.statusOf(runId, 'failed'), undefined, JSON.stringify(client.statusOf(runId, 'failed')));
    await client.conn.sendRequest('growthLab/pauseExperiment', { runId });
    await client.until(() => client.statusOf(runId, 'paused'), 20000, 'paused');
    await assert.rejects(
      client.conn.sendRequest('growthLab/grow', { runId, method: 'net2net-wider', options: { neurons: 8192 } }),
      (e: any) => {
        assert.match(
          e.message,
          /net2net-wider would grow the model so that it needs about \d+ MB of activations .*\(64 MB\).*; the model is unchanged/,
        );
        return true;
      },
    );
    const arch = await client.conn.sendRequest<{ layers: { width?: number }[] }>('growthLab/getArchitecture', { runId });
    assert.equal(arch.layers[0].width, 4096);
    await client.conn.sendRequest('growthLab/stopExperiment', { runId });
  } finally {
    client.kill();
  }
});

// ---- getArchitecture of a finished run reads its checkpoint once ----

test('getArchitecture of a finished run reads its latest checkpoint once, again only after the checkpoints change', async () => {
  const { RunManager } = await import('../../server/runManager');
  const { RunStore } = await import('../../server/runs');
  const dir = path.join(work, 'arch-cache');
  const statuses: string[] = [];
  const manager = new RunManager(dir, { metrics: () => undefined, status: (s) => statuses.push(s.status), grow: () => undefined });
  const run = manager.start({
    config: {
      dataset: { name: 'rbf-toy', trainSize: 200, testSize: 50 },
      model: { layers: [{ type: 'dense', units: 16, activation: 'tanh' }] },
      training: { epochs: 2 },
    },
  });
  const runId = run.runId;
  await new Promise<void>((resolve) => {
    const check = () => (statuses.includes('completed') || statuses.includes('failed') ? resolve() : setTimeout(check, 20));
    check();
  });
  await manager.shutdown();
  const original = RunStore.prototype.readLatestCheckpoint;
  let reads = 0;
  RunStore.prototype.readLatestCheckpoint = function (this: InstanceType<typeof RunStore>, id: string) {
    reads++;
    return original.call(this, id);
  };
  try {
    // A manager that has not seen the run live (a later session), as after a restart.
    const later = new RunManager(dir, { metrics: () => undefined, status: () => undefined, grow: () => undefined });
    const first = later.architecture(runId);
    for (let i = 0; i < 5; i++) assert.deepEqual(later.architecture(runId), first);
    assert.equal(reads, 1, 'one checkpoint read for six calls');
    // A new file in the checkpoint folder (a resumed run's checkpoint) makes the next call read again.
    const ckDir = path.join(dir, 'runs', runId, 'checkpoints');
    fs.writeFileSync(path.join(ckDir, 'note.tmp'), 'x');
    assert.deepEqual(later.architecture(runId), first);
    assert.equal(reads, 2);
  } finally {
    RunStore.prototype.readLatestCheckpoint = original;
  }
});
