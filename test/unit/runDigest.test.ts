/**
 * listRuns summarises a run without reading its whole history: the writer keeps digest.json (the
 * digest of events.jsonl up to a byte offset), a listing continues from there or from its own previous
 * digest, and an untrusted digest.json that does not check out is ignored (the file is scanned in full).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ExperimentConfig, RunEvent, RunSummary } from '../../common/protocol';
import { RunStore } from '../../server/runs/runStore';
import { DIGEST_FILE, validDigestRecord } from '../../server/runs/digestFile';

const roots: string[] = [];
after(() => {
  for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-digest-'));
  roots.push(dir);
  return dir;
}

const config = {
  name: 'digest',
  dataset: { name: 'mnist' },
  model: { layers: [{ type: 'dense', units: 8 }] },
  training: { epochs: 40 },
} as unknown as ExperimentConfig;
const arch = (params: number) => ({ inputShape: [784], outputSize: 10, layers: [], params, flops: params });
const metrics = (runId: string, epoch: number): RunEvent => ({
  type: 'metrics',
  time: `2026-12-01T10:00:${String(epoch % 60).padStart(2, '0')}.000Z`,
  runId,
  epoch,
  step: epoch * 10,
  trainLoss: 1 / epoch,
  trainAccuracy: 0.5,
  testLoss: 0.3,
  testAccuracy: epoch === 7 ? 0.99 : 0.5 + epoch / 1000,
  params: 100 + epoch,
  samplesPerSecond: 1000,
  engine: 'onnxruntime',
  executionProvider: 'cpu',
  elapsedMs: epoch,
});

/** A run of `epochs` metrics events written through the store (so the writer keeps digest.json). */
function writeRun(store: RunStore, epochs: number, status: 'completed' | 'stopped' = 'completed') {
  const handle = store.createRun(config, { now: new Date('2026-12-01T10:00:00Z') });
  handle.append({ type: 'start', time: '2026-12-01T10:00:00.000Z', runId: handle.runId, config, architecture: arch(100), warnings: [] });
  for (let e = 1; e <= epochs; e++) handle.append(metrics(handle.runId, e));
  handle.append({ type: 'status', time: '2026-12-01T11:00:00.000Z', runId: handle.runId, status });
  handle.close();
  return { runId: handle.runId, dir: handle.dir, events: path.join(handle.dir, 'events.jsonl') };
}

/** What a store that has never seen the run reports, reading everything (no digest.json). */
function fullSummary(outDir: string, runId: string, dir: string): RunSummary {
  const saved = path.join(dir, `${DIGEST_FILE}.saved`);
  const had = fs.existsSync(path.join(dir, DIGEST_FILE));
  if (had) fs.renameSync(path.join(dir, DIGEST_FILE), saved);
  try {
    const store = new RunStore(outDir);
    const s = store.listRuns().find((r) => r.runId === runId)!;
    assert.equal(
      store.digestBytesRead(runId),
      fs.statSync(path.join(dir, 'events.jsonl')).size,
      'without digest.json the whole file is read',
    );
    return s;
  } finally {
    if (had) fs.renameSync(saved, path.join(dir, DIGEST_FILE));
  }
}

test('the writer keeps digest.json; a new store lists the run reading none of events.jsonl, with the same summary', () => {
  const out = tempDir();
  const run = writeRun(new RunStore(out), 40);
  const record = validDigestRecord(JSON.parse(fs.readFileSync(path.join(run.dir, DIGEST_FILE), 'utf8')));
  assert.ok(record, 'digest.json is valid');
  assert.equal(record.eventsBytes, fs.statSync(run.events).size);
  assert.equal(record.digest.epochsDone, 40);
  assert.equal(record.digest.status, 'completed');

  const store = new RunStore(out);
  const [summary] = store.listRuns();
  assert.equal(store.digestBytesRead(run.runId), 0);
  assert.equal(summary.epochsDone, 40);
  assert.equal(summary.bestTestAccuracy, 0.99);
  assert.equal(summary.lastTestAccuracy, 0.5 + 40 / 1000);
  assert.equal(summary.params, 140);
  assert.equal(summary.status, 'completed');
  assert.equal(summary.endedAt, '2026-12-01T11:00:00.000Z');
  assert.deepEqual(summary, fullSummary(out, run.runId, run.dir));
});

test('a listing continues where the previous one stopped: only appended bytes are read, and a torn line is read again once complete', () => {
  const out = tempDir();
  const run = writeRun(new RunStore(out), 5);
  fs.rmSync(path.join(run.dir, DIGEST_FILE));
  const store = new RunStore(out);
  store.listRuns();
  const size = fs.statSync(run.events).size;
  assert.equal(store.digestBytesRead(run.runId), size);

  const line = `${JSON.stringify(metrics(run.runId, 6))}\n`;
  fs.appendFileSync(run.events, line);
  assert.equal(store.listRuns()[0].epochsDone, 6);
  assert.equal(store.digestBytesRead(run.runId), Buffer.byteLength(line));

  // Half a line (being written): it counts once it parses, and is read again when it is complete.
  const next = `${JSON.stringify(metrics(run.runId, 7))}\n`;
  const cut = 20;
  fs.appendFileSync(run.events, next.slice(0, cut));
  const partial = store.listRuns()[0];
  assert.equal(partial.epochsDone, 6);
  assert.equal(store.digestBytesRead(run.runId), cut);
  assert.match(store.warnings.join('\n'), /partial last line/);
  fs.appendFileSync(run.events, next.slice(cut));
  const whole = store.listRuns()[0];
  assert.equal(whole.epochsDone, 7);
  assert.equal(whole.bestTestAccuracy, 0.99);
  assert.equal(store.digestBytesRead(run.runId), Buffer.byteLength(next));
  assert.doesNotMatch(store.warnings.join('\n'), /partial last line/, 'the warning went with the line');
  assert.deepEqual(whole, fullSummary(out, run.runId, run.dir));
});

test('a resumed run keeps digest.json up to date from where it was', () => {
  const out = tempDir();
  const run = writeRun(new RunStore(out), 3, 'stopped');
  const store = new RunStore(out);
  const handle = store.openRun(run.runId);
  handle.append(metrics(run.runId, 4));
  handle.append({ type: 'status', time: '2026-12-01T12:00:00.000Z', runId: run.runId, status: 'completed' });
  handle.close();
  const fresh = new RunStore(out);
  const [s] = fresh.listRuns();
  assert.equal(fresh.digestBytesRead(run.runId), 0);
  assert.equal(s.epochsDone, 4);
  assert.equal(s.status, 'completed');
  assert.deepEqual(s, fullSummary(out, run.runId, run.dir));
});

test('an untrusted digest.json that does not check out is ignored: the file is read in full and the summary is the true one', (t) => {
  const out = tempDir();
  const run = writeRun(new RunStore(out), 12);
  const digestPath = path.join(run.dir, DIGEST_FILE);
  const good = JSON.parse(fs.readFileSync(digestPath, 'utf8'));
  const truth = fullSummary(out, run.runId, run.dir);
  const size = fs.statSync(run.events).size;
  const forged: [string, unknown][] = [
    ['a wrong fingerprint', { ...good, fingerprint: 'a'.repeat(64), digest: { ...good.digest, epochsDone: 999 } }],
    ['an offset past the end', { ...good, eventsBytes: size + 10 }],
    ['an offset inside a line', { ...good, eventsBytes: size - 5 }],
    ['a status that is no status', { ...good, digest: { ...good.digest, status: 'hacked' } }],
    ['a text number', { ...good, digest: { ...good.digest, params: '1e9' } }],
    ['a negative count', { ...good, digest: { ...good.digest, growSteps: -1 } }],
    ['too many warnings', { ...good, warnings: Array.from({ length: 21 }, () => 'w') }],
    ['another format', { ...good, formatVersion: 2 }],
    ['not an object', [good]],
  ];
  for (const [what, value] of forged) {
    fs.writeFileSync(digestPath, JSON.stringify(value));
    const store = new RunStore(out);
    const [s] = store.listRuns();
    assert.deepEqual(s, truth, what);
    assert.equal(store.digestBytesRead(run.runId), size, `${what}: read in full`);
  }
  // Oversized, and a symlink to a file outside (never read: the summary stays the true one).
  fs.writeFileSync(digestPath, ' '.repeat(70 * 1024) + JSON.stringify(good));
  assert.deepEqual(new RunStore(out).listRuns()[0], truth, 'oversized');
  const outside = path.join(tempDir(), 'elsewhere.json');
  fs.writeFileSync(outside, JSON.stringify({ ...good, digest: { ...good.digest, epochsDone: 999 } }));
  fs.rmSync(digestPath);
  fs.symlinkSync(outside, digestPath);
  const store = new RunStore(out);
  assert.deepEqual(store.listRuns()[0], truth, 'symlink');
  assert.equal(store.digestBytesRead(run.runId), size);
  if (process.platform !== 'win32') {
    fs.rmSync(digestPath);
    fs.symlinkSync('/dev/zero', digestPath);
    assert.deepEqual(new RunStore(out).listRuns()[0], truth, 'a device behind a link');
  } else t.diagnostic('device check skipped on Windows');
});

test('a digest.json whose offset lies on a line boundary but whose config fallback is needed: the start event is read', () => {
  const out = tempDir();
  const run = writeRun(new RunStore(out), 4);
  fs.writeFileSync(path.join(run.dir, 'config.json'), '{not json');
  const store = new RunStore(out);
  const [s] = store.listRuns();
  assert.equal(s.name, 'digest', 'named from the start event');
  assert.equal(s.epochsDone, 4);
  assert.match(store.warnings.join('\n'), /using the config of its start event/);
});

test('listing a 200,000-event run again after 10 more events reads only those 10 lines', () => {
  const out = tempDir();
  const store = new RunStore(out);
  const handle = store.createRun(config);
  handle.append({ type: 'start', time: '2026-12-01T10:00:00.000Z', runId: handle.runId, config, architecture: arch(100), warnings: [] });
  for (let e = 1; e <= 200_000; e++) handle.append(metrics(handle.runId, e));
  const before = fs.statSync(path.join(handle.dir, 'events.jsonl')).size;
  const fresh = new RunStore(out);
  fresh.listRuns();
  // The writer's digest.json lags by at most its 10 s interval: whatever it covers is not read.
  const firstRead = fresh.digestBytesRead(handle.runId)!;
  assert.ok(firstRead < before, `read ${firstRead} of ${before} bytes`);
  let added = 0;
  for (let e = 200_001; e <= 200_010; e++) {
    const event = metrics(handle.runId, e);
    handle.append(event);
    added += Buffer.byteLength(`${JSON.stringify(Object.assign({ type: event.type }, event))}\n`);
  }
  const [s] = fresh.listRuns();
  assert.equal(s.epochsDone, 200_010);
  assert.equal(fresh.digestBytesRead(handle.runId), added);
  handle.close();
});
