/**
 * Issue 9, bad input and security against the real backend process: hostile experiment configs, run ids
 * that do not exist or try a path, export paths outside the run's folder; none of it may crash the
 * backend or change an existing run. Then: the backend listens on stdio only, and no server code hands a
 * value to a shell.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, Methods, RunSummary } from '../../common/protocol';
import { BackendClient, ROOT } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-faults-input-'));
const client = new BackendClient();
after(() => {
  client.kill();
  fs.rmSync(work, { recursive: true, force: true });
});
const runsDir = path.join(work, '.growth-lab', 'runs');

/** Every file under `dir` with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: number, pattern: RegExp, what: string): Promise<string> {
  try {
    await p;
  } catch (e: any) {
    assert.equal(e.code, code, `${what}: code ${e.code} (${e.message})`);
    assert.match(e.message, pattern, what);
    assert.ok(e.message.length < 20000, `${what}: the message is short (${e.message.length} chars)`);
    return e.message;
  }
  assert.fail(`${what}: was accepted`);
}

let existing: { runId: string }[] = [];
let before: Map<string, Buffer>;

test('setup: two finished runs whose files must not change', async () => {
  await client.initialize(work);
  const config = {
    dataset: { name: 'mnist', trainSize: 300, testSize: 100 },
    model: { layers: [{ type: 'dense', units: 8, activation: 'relu' }] },
    training: { epochs: 1 },
  };
  existing = [await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config })];
  await client.until(() => client.statusOf(existing[0].runId, 'completed'), 30000, 'run 1');
  existing.push(
    await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config: { ...config, training: { epochs: 3 } } }),
  );
  await client.until(() => client.metrics.find((m) => m.runId === existing[1].runId), 30000, 'run 2 metrics');
  await client.conn.sendRequest(Methods.stopExperiment, existing[1]);
  await client.until(() => client.statusOf(existing[1].runId, 'stopped'), 30000, 'run 2 stopped');
  before = snapshot(runsDir);
  assert.ok(before.size >= 8);
});

test('hostile startExperiment configs get invalidExperiment errors naming what is wrong', async (t) => {
  let deep: any = { type: 'dense', units: 4, activation: 'relu' };
  for (let i = 0; i < 2500; i++) deep = { nested: deep }; // deeper than this overflows the client's own JSON.stringify
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'mnist', /experiment|object/i],
    ['an array', [1, 2, 3], /object/i],
    ['null config', null, /experiment|object/i],
    ['wrong type: epochs as a string', { dataset: { name: 'mnist' }, training: { epochs: 'ten' } }, /training\.epochs/],
    ['wrong type: layers as an object', { dataset: { name: 'mnist' }, model: { layers: { a: 1 } } }, /model\.layers/],
    ['wrong type: dataset as a number', { dataset: 7 }, /dataset/],
    [
      'huge number: units 1e12',
      { dataset: { name: 'mnist' }, model: { layers: [{ type: 'dense', units: 1e12, activation: 'relu' }] } },
      /units/,
    ],
    ['huge number: epochs 1e300', { dataset: { name: 'mnist' }, training: { epochs: 1e300 } }, /training\.epochs/],
    [
      'huge number: batchSize Infinity as 1e309 text',
      JSON.parse('{"dataset":{"name":"mnist"},"training":{"batchSize":1e309}}'),
      /training\.batchSize/,
    ],
    [
      'negative size: units -5',
      { dataset: { name: 'mnist' }, model: { layers: [{ type: 'dense', units: -5, activation: 'relu' }] } },
      /units/,
    ],
    ['negative size: trainSize -1', { dataset: { name: 'mnist', trainSize: -1 } }, /dataset\.trainSize/],
    ['negative learning rate', { dataset: { name: 'mnist' }, training: { learningRate: -0.1 } }, /training\.learningRate/],
    ['fractional units', { dataset: { name: 'mnist' }, model: { layers: [{ type: 'dense', units: 2.5, activation: 'relu' }] } }, /units/],
    ['unknown field at the top', { dataset: { name: 'mnist' }, frobnicate: true }, /frobnicate/],
    [
      'unknown field in a layer',
      { dataset: { name: 'mnist' }, model: { layers: [{ type: 'dense', units: 4, activation: 'relu', colour: 'red' }] } },
      /colour/,
    ],
    ['unknown layer type', { dataset: { name: 'mnist' }, model: { layers: [{ type: 'quantum', units: 4 }] } }, /quantum|type/],
    ['unknown dataset', { dataset: { name: '../../etc/passwd' } }, /dataset\.name/],
    ['deep nesting (2500 levels) in a layer', { dataset: { name: 'mnist' }, model: { layers: [deep] } }, /model\.layers/],
    [
      'deep nesting (2500 levels) in growth.options',
      { dataset: { name: 'mnist' }, growth: { method: 'firefly', schedule: { every: 1 }, options: deep } },
      /growth|options|nest|deep/i,
    ],
    ['a 10 MB string as the name', { name: 'x'.repeat(10 * 1024 * 1024), dataset: { name: 'mnist' } }, /name/],
    ['a 10 MB string as the dataset', { dataset: { name: 'm'.repeat(10 * 1024 * 1024) } }, /dataset\.name/],
    ['a 10 MB string as an unknown key', { dataset: { name: 'mnist' }, ['k'.repeat(10 * 1024 * 1024)]: 1 }, /unknown|field|property/i],
    ['prototype pollution attempt', JSON.parse('{"dataset":{"name":"mnist"},"__proto__":{"polluted":true}}'), /__proto__|unknown/],
    ['csv path outside the workspace that does not exist', { dataset: { name: 'csv' }, model: {} }, /dataset\.path/],
  ];
  for (const [what, config, pattern] of cases) {
    const msg = await rejectsWith(
      client.conn.sendRequest(Methods.startExperiment, { config }),
      ErrorCodes.invalidExperiment,
      pattern,
      what,
    );
    t.diagnostic(`${what}: ${msg.split('\n').slice(1, 2).join(' ').slice(0, 160)}`);
  }
  assert.equal(({} as any).polluted, undefined);
  // params of the wrong type (or none) are invalidParams; a path string the backend cannot use is invalidExperiment
  await rejectsWith(client.conn.sendRequest(Methods.startExperiment, undefined as any), ErrorCodes.invalidParams, /config/, 'no params');
  await rejectsWith(
    client.conn.sendRequest(Methods.startExperiment, { config: { dataset: { name: 'mnist' } }, outDir: 42 }),
    ErrorCodes.invalidParams,
    /outDir must be a non-empty path string/,
    'outDir a number',
  );
  await rejectsWith(
    client.conn.sendRequest(Methods.startExperiment, { config: { dataset: { name: 'mnist' } }, configPath: { evil: true } }),
    ErrorCodes.invalidParams,
    /configPath must be a non-empty path string/,
    'configPath an object',
  );
  await rejectsWith(
    client.conn.sendRequest(Methods.startExperiment, { config: { dataset: { name: 'mnist' } }, outDir: 'a\0b' }),
    ErrorCodes.invalidExperiment,
    /outDir/,
    'outDir with a NUL byte',
  );
  // the backend is alive and well
  const runs = await client.conn.sendRequest<RunSummary[]>(Methods.listRuns, {});
  assert.equal(runs.length, 2, 'no run was created by a refused config');
  assert.equal(client.proc.exitCode, null);
});

test('run ids that do not exist or try a path are refused with unknownRun for every method; run ids that are not strings with invalidParams', async () => {
  const ids: unknown[] = [
    'no-such-run',
    '../../etc',
    '..',
    '.',
    '/etc/passwd',
    'a/../../b',
    '..\\..\\windows',
    '%2e%2e%2fetc',
    'x'.repeat(5000),
    '',
    42,
    null,
    { $ne: 1 },
    ['a'],
  ];
  const methods = [
    Methods.stopExperiment,
    Methods.pauseExperiment,
    Methods.resumeExperiment,
    Methods.getArchitecture,
    Methods.getRunHistory,
    Methods.grow,
    Methods.prune,
    Methods.resumeRun,
  ];
  for (const runId of ids) {
    const code = typeof runId === 'string' ? ErrorCodes.unknownRun : ErrorCodes.invalidParams;
    for (const m of methods) {
      await rejectsWith(client.conn.sendRequest(m, { runId }), code, /run/, `${m} ${JSON.stringify(runId)?.slice(0, 40)}`);
    }
    await rejectsWith(
      client.conn.sendRequest(Methods.export, { runId, format: 'json' }),
      code,
      /run/,
      `export ${JSON.stringify(runId)?.slice(0, 40)}`,
    );
  }
  assert.ok(!fs.existsSync(path.join(work, '.growth-lab', 'etc')));
});

test("export paths outside the run's folder are refused; other bad export params name the field", async () => {
  const runId = existing[0].runId;
  for (const p of ['../outside', '../../../../tmp/x', 'exports/../../escape', `..${path.sep}..`]) {
    await rejectsWith(
      client.conn.sendRequest(Methods.export, { runId, format: 'json', path: p }),
      ErrorCodes.exportFailed,
      /export path|outside|inside/,
      `export path ${p}`,
    );
  }
  await rejectsWith(
    client.conn.sendRequest(Methods.export, { runId, format: 'exe' }),
    ErrorCodes.exportFailed,
    /format must be one of/,
    'format',
  );
  await rejectsWith(
    client.conn.sendRequest(Methods.export, { runId, format: 'json', path: 7 }),
    ErrorCodes.invalidParams,
    /path must be a string/,
    'path type',
  );
  await rejectsWith(
    client.conn.sendRequest(Methods.export, { runId, format: 'json', force: 'yes' }),
    ErrorCodes.invalidParams,
    /force must be a boolean/,
    'force type',
  );
  assert.ok(!fs.existsSync(path.join(work, 'outside')));
  assert.ok(!fs.existsSync(path.join(work, 'escape')));
});

test('control requests on finished runs and bad grow params get typed errors', async () => {
  const runId = existing[0].runId;
  for (const m of [Methods.stopExperiment, Methods.pauseExperiment, Methods.resumeExperiment, Methods.grow, Methods.prune]) {
    await rejectsWith(
      client.conn.sendRequest(m, { runId }),
      ErrorCodes.invalidState,
      /it is completed|not running/,
      `${m} on a finished run`,
    );
  }
  await rejectsWith(
    client.conn.sendRequest(Methods.resumeRun, { runId }),
    ErrorCodes.invalidState,
    /has completed/,
    'resumeRun of a completed run',
  );
  await rejectsWith(client.conn.sendRequest('growthLab/noSuchMethod', {}), -32601, /Unhandled method|not found/i, 'unknown method');
});

test('after all of it: existing runs are byte-for-byte unchanged and the backend shuts down cleanly', async () => {
  const now = snapshot(runsDir);
  assert.deepEqual([...now.keys()].sort(), [...before.keys()].sort());
  for (const [f, bytes] of before) assert.ok(now.get(f)!.equals(bytes), `${f} unchanged`);
  const runs = await client.conn.sendRequest<RunSummary[]>(Methods.listRuns, {});
  assert.deepEqual(runs.map((r) => r.status).sort(), ['completed', 'stopped']);
});

test(
  'security: the backend listens on stdio only (no listening TCP, UDP or unix socket)',
  { skip: process.platform !== 'linux' && 'needs /proc' },
  async () => {
    const pid = client.proc.pid!;
    const inodes = new Set<string>();
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        /* fd closed meanwhile */
      }
    }
    const listening: string[] = [];
    for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
      const file = `/proc/${pid}/net/${proto}`;
      if (!fs.existsSync(file)) continue;
      for (const line of fs.readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // st 0A: LISTEN (tcp); any udp socket bound by the process counts
        if (inodes.has(f[9]) && (proto.startsWith('udp') || f[3] === '0A')) listening.push(`${proto} ${f[1]}`);
      }
    }
    for (const line of fs.readFileSync(`/proc/${pid}/net/unix`, 'utf8').trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // Flags 00010000: __SO_ACCEPTCON, a listening unix socket (stdio pipes are unconnected socketpairs)
      if (inodes.has(f[6]) && parseInt(f[3], 16) & 0x10000) listening.push(`unix ${f[7] ?? '(unnamed)'}`);
    }
    assert.deepEqual(listening, [], 'no listening sockets');
  },
);

test('security: no server or CLI code passes a value to a shell', () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js|mjs)$/.test(e.name)) files.push(p);
    }
  };
  for (const d of ['server', 'extension', 'bin']) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
  assert.ok(files.length > 20);
  const offences: string[] = [];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    const rel = path.relative(ROOT, f);
    if (/shell\s*:\s*true/.test(text)) offences.push(`${rel}: shell: true`);
    if (/\b(exec|execSync)\s*\(/.test(text.replace(/\.exec\(/g, ''))) offences.push(`${rel}: exec/execSync (runs a shell)`);
    if (/require\(['"](node:)?child_process['"]\)|from ['"](node:)?child_process['"]/.test(text)) {
      // child_process may only be used with an argument list (spawn/execFile without a shell)
      if (/\bexecSync\b|\bexec\b\s*[,}]/.test(text)) offences.push(`${rel}: imports exec`);
    }
  }
  assert.deepEqual(offences, []);
});
