/**
 * Run folders are untrusted, and one writer per run: hostile run folders (symlinks out of the workspace,
 * FIFOs, tampered config.json and events.jsonl) and a run locked by another live process, each driven
 * through the real backend (dist/cli.js serve). Every test asserts the clear error and that nothing
 * outside the run folder changed (the whole temp tree is hashed before and after, symlinks by target).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, Methods, RunEvent, RunSummary } from '../../common/protocol';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from '../../server/runs';
import { BackendClient, ROOT } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-faults-untrusted-'));
const runsDir = path.join(work, '.growth-lab', 'runs');
const outside = path.join(work, 'outside');
fs.mkdirSync(outside);
const client = new BackendClient();
let base = '';
let n = 0;
after(() => {
  client.kill();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Every entry under `dir`, not following symlinks: files by content hash, links by target, FIFOs by kind. */
function treeHash(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) out.set(p, `link:${fs.readlinkSync(p)}`);
    else if (st.isDirectory()) treeHash(p, out.set(p, 'dir'));
    else if (st.isFile()) out.set(p, createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    else out.set(p, 'special');
  }
  return out;
}

/** A copy of the stopped base run under a fresh id, to be made hostile. */
function copyOfBase(): string {
  const id = `${base}-copy${++n}`;
  fs.cpSync(path.join(runsDir, base), path.join(runsDir, id), { recursive: true });
  return id;
}

async function refused(method: string, params: object, code: number | undefined, message: RegExp): Promise<void> {
  await assert.rejects(client.conn.sendRequest(method, params), (err: any) => {
    if (code !== undefined) assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

async function listed(runId: string): Promise<{ all: RunSummary[]; run: RunSummary }> {
  const all = await client.conn.sendRequest<RunSummary[]>(Methods.listRuns, {});
  const run = all.find((r) => r.runId === runId);
  assert.ok(run, `${runId} is listed`);
  assert.ok(
    all.some((r) => r.runId === base && r.status === 'stopped'),
    'one bad run never hides the others',
  );
  return { all, run };
}

before(async () => {
  await client.initialize(work);
  const config = {
    dataset: { name: 'mnist', trainSize: 300, testSize: 100 },
    model: { layers: [{ type: 'dense', units: 8, activation: 'relu' }] },
    training: { epochs: 50 },
  };
  base = (await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config })).runId;
  await client.until(() => client.metrics.find((m) => m.runId === base && m.testAccuracy !== undefined), 30000, 'epoch 1');
  await client.conn.sendRequest(Methods.stopExperiment, { runId: base });
  await client.until(() => client.statusOf(base, 'stopped'), 30000, 'stopped');
  assert.ok(fs.readdirSync(path.join(runsDir, base, 'checkpoints')).some((f) => f.endsWith('.ckpt')));
  assert.equal(fs.existsSync(path.join(runsDir, base, 'run.lock')), false, 'the lock is removed when the run ends');
});

test('a symlinked events.jsonl is never followed: resume, history and listRuns refuse it, naming the file; the target is byte-identical', async () => {
  const id = copyOfBase();
  const target = path.join(outside, 'bashrc');
  fs.writeFileSync(target, 'export PATH=/usr/bin\n');
  const events = path.join(runsDir, id, 'events.jsonl');
  fs.cpSync(events, path.join(outside, 'events.jsonl'));
  fs.rmSync(events);
  fs.symlinkSync(target, events);
  const targetBytes = fs.readFileSync(target);
  const hashBefore = treeHash(work);

  const message = new RegExp(`refusing ${escape(events)}: it is a symbolic link`);
  await refused(Methods.resumeRun, { runId: id }, ErrorCodes.invalidState, message);
  await refused(Methods.getRunHistory, { runId: id }, ErrorCodes.internal, message);
  const { run } = await listed(id);
  assert.equal(run.status, 'failed');
  assert.match(run.unreadable ?? '', message);

  assert.deepEqual(fs.readFileSync(target), targetBytes, 'the symlink target is byte-identical');
  assert.deepEqual(treeHash(work), hashBefore, 'nothing in the workspace or temp tree changed');
});

test('a hostile digest.json (forged numbers, symlink, FIFO, oversized) never changes what listRuns reports, nor blocks it; nothing is written', async (t) => {
  // Each case on a fresh copy, so the backend has no earlier digest of it to continue from.
  const truthId = copyOfBase();
  fs.rmSync(path.join(runsDir, truthId, 'digest.json'));
  const truth = (await listed(truthId)).run;
  assert.ok(truth.epochsDone >= 1);
  const good = JSON.parse(fs.readFileSync(path.join(runsDir, base, 'digest.json'), 'utf8'));
  const forged = { ...good, digest: { ...good.digest, epochsDone: 1e6, params: 1e12 } };
  const hostile: [string, (digestPath: string) => void][] = [
    ['forged numbers under a wrong fingerprint', (p) => fs.writeFileSync(p, JSON.stringify({ ...forged, fingerprint: '0'.repeat(64) }))],
    [
      'a status that is no status',
      (p) =>
        fs.writeFileSync(p, JSON.stringify({ ...good, digest: { ...good.digest, status: '[x](command:workbench.action.terminal.new)' } })),
    ],
    [
      'a symlink to a forged file outside',
      (p) => {
        fs.writeFileSync(path.join(outside, 'forged.json'), JSON.stringify(forged));
        fs.rmSync(p);
        fs.symlinkSync(path.join(outside, 'forged.json'), p);
      },
    ],
    ['oversized', (p) => fs.writeFileSync(p, ' '.repeat(200 * 1024) + JSON.stringify(good))],
  ];
  if (process.platform !== 'win32') {
    hostile.push([
      'a FIFO',
      (p) => {
        fs.rmSync(p);
        assert.equal(spawnSync('mkfifo', [p]).status, 0);
      },
    ]);
  } else t.diagnostic('FIFO case skipped on Windows');
  for (const [what, make] of hostile) {
    const id = copyOfBase();
    make(path.join(runsDir, id, 'digest.json'));
    const before = treeHash(work);
    const { run } = await listed(id);
    assert.deepEqual({ ...run, runId: truthId }, truth, what);
    assert.deepEqual(treeHash(work), before, `${what}: nothing changed`);
  }
});

test('a symlinked checkpoints/ folder or checkpoint file is never followed: resume, export and getArchitecture refuse it', async () => {
  const id = copyOfBase();
  const ckpts = path.join(runsDir, id, 'checkpoints');
  const elsewhere = path.join(outside, `ckpts-${id}`);
  fs.renameSync(ckpts, elsewhere);
  fs.symlinkSync(elsewhere, ckpts);
  const hashBefore = treeHash(work);
  const message = new RegExp(`refusing ${escape(ckpts)}: it is a symbolic link`);
  await refused(Methods.resumeRun, { runId: id }, ErrorCodes.invalidState, message);
  await refused(Methods.export, { runId: id, format: 'onnx' }, undefined, message);
  await refused(Methods.getArchitecture, { runId: id }, undefined, message);
  const { run } = await listed(id);
  assert.match(run.unreadable ?? '', message);
  assert.deepEqual(treeHash(work), hashBefore);

  // one checkpoint file linked out of the folder: not read (the run has no other, so nothing to resume from)
  const id2 = copyOfBase();
  const dir2 = path.join(runsDir, id2, 'checkpoints');
  for (const f of fs.readdirSync(dir2).filter((f) => f.endsWith('.ckpt'))) {
    fs.renameSync(path.join(dir2, f), path.join(outside, `${id2}-${f}`));
    fs.symlinkSync(path.join(outside, `${id2}-${f}`), path.join(dir2, f));
  }
  const hash2 = treeHash(work);
  await refused(Methods.resumeRun, { runId: id2 }, ErrorCodes.internal, /it is a symbolic link/);
  assert.deepEqual(treeHash(work), hash2);
});

test('a symlinked run folder is never followed: listed as unreadable, resume and history refused', async () => {
  const id = `${base}-linked`;
  const real = path.join(outside, 'run-copy');
  fs.cpSync(path.join(runsDir, base), real, { recursive: true });
  fs.symlinkSync(real, path.join(runsDir, id));
  const hashBefore = treeHash(work);
  const message = new RegExp(`refusing ${escape(path.join(runsDir, id))}: the run folder is a symbolic link`);
  await refused(Methods.resumeRun, { runId: id }, ErrorCodes.invalidState, message);
  await refused(Methods.getRunHistory, { runId: id }, ErrorCodes.internal, message);
  const { run } = await listed(id);
  assert.match(run.unreadable ?? '', message);
  assert.deepEqual(treeHash(work), hashBefore);
});

test(
  'a FIFO as config.json or events.jsonl never blocks the backend: refused before it is opened',
  { skip: process.platform === 'win32' },
  async () => {
    const id = copyOfBase();
    const config = path.join(runsDir, id, 'config.json');
    fs.rmSync(config);
    assert.equal(spawnSync('mkfifo', [config]).status, 0);
    const id2 = copyOfBase();
    const events = path.join(runsDir, id2, 'events.jsonl');
    fs.rmSync(events);
    assert.equal(spawnSync('mkfifo', [events]).status, 0);
    const hashBefore = treeHash(work);
    const t0 = performance.now();
    const { run } = await listed(id);
    assert.match(run.unreadable ?? '', new RegExp(`refusing ${escape(config)}: it is not a regular file`));
    assert.match((await listed(id2)).run.unreadable ?? '', new RegExp(`refusing ${escape(events)}: it is not a regular file`));
    await refused(Methods.resumeRun, { runId: id }, ErrorCodes.invalidState, /not a regular file/);
    await refused(Methods.getRunHistory, { runId: id2 }, ErrorCodes.internal, /not a regular file/);
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `answered in ${ms.toFixed(0)} ms`);
    console.log(`# FIFO run folders: listRuns x2, resumeRun, getRunHistory answered in ${ms.toFixed(0)} ms`);
    assert.deepEqual(treeHash(work), hashBefore);
  },
);

test('a tampered config.json is validated on resume as a new experiment is: invalidExperiment naming the field, nothing written', async () => {
  const id = copyOfBase();
  const file = path.join(runsDir, id, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.training.epochs = 'ten';
  cfg.model.layers = { a: 1 };
  fs.writeFileSync(file, JSON.stringify(cfg));
  const hashBefore = treeHash(work);
  await refused(Methods.resumeRun, { runId: id }, ErrorCodes.invalidExperiment, /config\.json[\s\S]*training\.epochs[\s\S]*|model\.layers/);
  assert.deepEqual(treeHash(work), hashBefore);
});

test('events read back from events.jsonl are validated: bad status, numbers and names are dropped before the extension sees them', async () => {
  const id = copyOfBase();
  const file = path.join(runsDir, id, 'events.jsonl');
  const good = fs.readFileSync(file, 'utf8');
  const bad = [
    { type: 'status', time: 't', runId: id, status: '<img src=x onerror=alert(1)>' },
    { type: 'metrics', time: 't', runId: id, epoch: 'one', step: 1, params: 1, trainLoss: 1 },
    { type: 'metrics', time: 't', runId: '../../etc', epoch: 1, step: 1, params: 1, trainLoss: 1 },
    { type: 'checkpoint', time: 't', runId: id, epoch: 1, step: 1, file: '../../../.bashrc' },
    { type: 'grow', time: 't', runId: id, epoch: 1, step: 1, kind: 'explode', method: 'x', before: {}, after: {} },
  ];
  fs.writeFileSync(file, good + bad.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const history = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId: id });
  assert.equal(history.length, good.trim().split('\n').length, 'only the genuine events come back');
  assert.ok(!JSON.stringify(history).includes('onerror') && !JSON.stringify(history).includes('../'), 'no bad line came through');
  const { run } = await listed(id);
  assert.equal(run.status, 'stopped', 'the bad status line did not become the run status');
});

test('checkpoints are validated before use (spec, names, counts, finite values), even with valid CRCs: resume, export and getArchitecture refuse, nothing written', async () => {
  const cases: [string, (c: Checkpoint) => void, RegExp][] = [
    ['a NaN weight', (c) => (Object.values(c.tensors)[0][3] = NaN), /holds a non-finite value \(NaN\)/],
    ['an infinite weight', (c) => (Object.values(c.tensors)[1][0] = -Infinity), /non-finite value \(-Infinity\)/],
    [
      'a tensor cut short',
      (c) => {
        const k = Object.keys(c.tensors)[0];
        c.tensors[k] = c.tensors[k].subarray(1);
      },
      /has \d+ values, its shape needs \d+/,
    ],
    ['a tensor the model does not have', (c) => (c.tensors['../../evil'] = new Float32Array(1)), /is not part of the model/],
    ['a negative layer size', (c) => ((c.meta as any).spec.layers[0].units = -5), /units/],
    ['a layer type nobody knows', (c) => ((c.meta as any).spec.layers[0].type = 'rm -rf'), /not a layer type/],
    ['spec missing', (c) => delete (c.meta as any).spec, /spec/],
  ];
  for (const [what, tamper, message] of cases) {
    const id = copyOfBase();
    const dir = path.join(runsDir, id, 'checkpoints');
    const latest = JSON.parse(fs.readFileSync(path.join(dir, 'latest'), 'utf8')).file as string;
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.ckpt') && f !== latest)) fs.rmSync(path.join(dir, f));
    const { checkpoint } = decodeCheckpoint(fs.readFileSync(path.join(dir, latest)), latest);
    tamper(checkpoint);
    fs.writeFileSync(path.join(dir, latest), encodeCheckpoint(checkpoint, { seq: 1, createdAt: new Date().toISOString() }));
    const hashBefore = treeHash(work);
    await refused(
      Methods.resumeRun,
      { runId: id },
      ErrorCodes.invalidState,
      new RegExp(`checkpoint ${escape(latest)} is unusable: [\\s\\S]*${message.source}`),
    );
    await refused(Methods.getArchitecture, { runId: id }, ErrorCodes.invalidState, message);
    for (const format of ['onnx', 'json'])
      await refused(
        Methods.export,
        { runId: id, format },
        ErrorCodes.exportFailed,
        new RegExp(`checkpoint ${escape(latest)} is unusable: [\\s\\S]*${message.source}`),
      );
    assert.deepEqual(treeHash(work), hashBefore, `${what}: nothing written`);
  }
});

test('one writer per run: a run locked by another live process is listed as running elsewhere and not resumed; a stale lock is reclaimed', async () => {
  const id = copyOfBase();
  const dir = path.join(runsDir, id);
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => other.once('spawn', r));
  const lock = path.join(dir, 'run.lock');
  fs.writeFileSync(lock, JSON.stringify({ pid: other.pid, token: 'cli', since: new Date().toISOString() }));
  const hashBefore = treeHash(work);
  const { run } = await listed(id);
  assert.equal(run.runningElsewhere, other.pid);
  assert.equal(run.status, 'stopped');
  await refused(
    Methods.resumeRun,
    { runId: id },
    ErrorCodes.invalidState,
    new RegExp(`being trained by another process \\(pid ${other.pid}`),
  );
  assert.deepEqual(treeHash(work), hashBefore, 'the refused resume wrote nothing');

  other.kill('SIGKILL');
  await new Promise((r) => other.once('exit', r));
  assert.equal((await listed(id)).run.runningElsewhere, undefined, 'a dead owner does not hold the run');
  const t0 = performance.now();
  await client.conn.sendRequest(Methods.resumeRun, { runId: id });
  const mine = JSON.parse(fs.readFileSync(lock, 'utf8'));
  assert.equal(typeof mine.pid, 'number');
  assert.notEqual(mine.pid, other.pid, 'the stale lock was reclaimed by the backend');
  await client.conn.sendRequest(Methods.stopExperiment, { runId: id });
  await client.until(
    () => client.statuses.filter((s) => s.runId === id && s.status === 'stopped').length > 0,
    30000,
    'resumed run stopped',
  );
  for (let i = 0; i < 100 && fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100)); // the handle closes just after the status
  console.log(`# stale lock reclaimed, resumed and stopped in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(fs.existsSync(lock), false, 'the lock is removed when the run ends');
});

test('one writer per run, with the real CLI: while `growth-lab run` trains, the backend lists the run as running elsewhere and refuses to resume it; once the CLI is killed the run is resumable', async () => {
  const exp = path.join(work, 'cli.growth.json');
  fs.writeFileSync(
    exp,
    JSON.stringify({
      dataset: { name: 'mnist', trainSize: 300, testSize: 100 },
      model: { layers: [{ type: 'dense', units: 8, activation: 'relu' }] },
      training: { epochs: 500 },
    }),
  );
  const known = new Set(fs.readdirSync(runsDir));
  const cliProc = spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'growth-lab.js'), 'run', exp, '--json', '--out', path.join(work, '.growth-lab')],
    {
      stdio: 'ignore',
    },
  );
  try {
    let id: string | undefined;
    for (let i = 0; i < 300 && !id; i++) {
      await new Promise((r) => setTimeout(r, 100));
      id = fs.readdirSync(runsDir).find((f) => !known.has(f) && fs.existsSync(path.join(runsDir, f, 'checkpoints', 'latest')));
    }
    assert.ok(id, 'the CLI run wrote a checkpoint');
    const lock = JSON.parse(fs.readFileSync(path.join(runsDir, id, 'run.lock'), 'utf8'));
    assert.equal(lock.pid, cliProc.pid, 'the CLI holds the lock');
    const { run } = await listed(id);
    assert.equal(run.runningElsewhere, cliProc.pid);
    assert.equal(run.status, 'running');
    assert.equal(run.stale, undefined);
    await refused(
      Methods.resumeRun,
      { runId: id },
      ErrorCodes.invalidState,
      new RegExp(`being trained by another process \\(pid ${cliProc.pid}`),
    );

    cliProc.kill('SIGKILL');
    await new Promise((r) => cliProc.once('exit', r));
    const after = (await listed(id)).run;
    assert.equal(after.runningElsewhere, undefined);
    assert.equal(after.stale, true, 'left by a process that no longer runs');
    await client.conn.sendRequest(Methods.resumeRun, { runId: id });
    assert.equal(
      JSON.parse(fs.readFileSync(path.join(runsDir, id, 'run.lock'), 'utf8')).pid,
      client.proc.pid,
      'the stale lock was reclaimed',
    );
    await client.conn.sendRequest(Methods.stopExperiment, { runId: id });
    await client.until(() => client.statusOf(id, 'stopped'), 30000, 'stopped');
  } finally {
    if (cliProc.exitCode === null) cliProc.kill('SIGKILL');
  }
});

test("relative paths in config.json resolve on resume against the experiment file's folder, as on the first start", async () => {
  const expDir = path.join(work, 'experiments');
  fs.mkdirSync(expDir);
  const rows = ['a,b,label'];
  for (let i = 0; i < 200; i++) rows.push(`${(i % 7) / 7},${(i % 5) / 5},${i % 2}`);
  fs.writeFileSync(path.join(expDir, 'data.csv'), rows.join('\n') + '\n');
  const configPath = path.join(expDir, 'rel.growth.json');
  const config = {
    dataset: { name: 'csv', path: 'data.csv' },
    model: { layers: [{ type: 'dense', units: 4, activation: 'relu' }] },
    training: { epochs: 400 },
  };
  fs.writeFileSync(configPath, JSON.stringify(config));
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config, configPath });
  await client.until(() => client.metrics.find((m) => m.runId === runId && m.testAccuracy !== undefined), 30000, 'epoch 1');
  await client.conn.sendRequest(Methods.stopExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'stopped'), 30000, 'stopped');
  const before = client.statuses.length;
  await client.conn.sendRequest(Methods.resumeRun, { runId });
  const resumed = await client.until(
    () => client.statuses.slice(before).find((s) => s.runId === runId && (/resumed from/.test(s.message ?? '') || s.status === 'failed')),
    30000,
    'resumed',
  );
  assert.notEqual(resumed.status, 'failed', resumed.message);
  await client.conn.sendRequest(Methods.stopExperiment, { runId });
  await client.until(() => client.statuses.slice(before).find((s) => s.runId === runId && s.status === 'stopped'), 30000, 'stopped again');
});

test('getArchitecture and export read a genuine run as before (the guards refuse only what is hostile)', async () => {
  const arch = await client.conn.sendRequest<{ params: number }>(Methods.getArchitecture, { runId: base });
  assert.ok(arch.params > 0);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
